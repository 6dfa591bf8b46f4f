"""EFS rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.efs`: ``configuration`` is DescribeFileSystems' element
(an item exists only when the listing succeeded).

The AWS Backup rules of EFS (``efs-in-backup-plan`` and the others) are in :mod:`phiwatch.rules.backup`.
The file system's own backup policy (``supplementaryConfiguration.BackupPolicy``) is not the same
thing: those rules ask whether AWS Backup covers the file system.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.efs import ACCESS_POINT, FILE_SYSTEM
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, rule

CONF = "configuration."


@rule(
    "efs-encrypted-check",
    reads={CONF + "Encrypted": "DescribeFileSystems"},
    aws_identifier="EFS_ENCRYPTED_CHECK",
    service="Amazon EFS",
    resource_types=(FILE_SYSTEM,),
    trigger="periodic",
    severity="high",
    compliant_when="The EFS file system is encrypted with AWS KMS (and with KmsKeyId if that parameter is set).",
    parameters={"KmsKeyId": ("str", None)},
)
def efs_encrypted_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "Encrypted") is not True:
        return non_compliant("file system is not encrypted")
    wanted = params.get("KmsKeyId")
    actual = str(get(item, CONF + "KmsKeyId") or "")
    if wanted and not (actual == wanted or actual.endswith("/" + wanted)):
        return non_compliant("file system is encrypted with a KMS key other than KmsKeyId")
    return compliant("file system is encrypted with AWS KMS")


@rule(
    "efs-access-point-enforce-root-directory",
    reads={},
    aws_identifier="EFS_ACCESS_POINT_ENFORCE_ROOT_DIRECTORY",
    service="Amazon EFS",
    resource_types=(ACCESS_POINT,),
    trigger="change",
    severity="medium",
    compliant_when="The access point enforces a root directory other than '/' (one of approvedDirectories when that parameter is set).",
    parameters={"approvedDirectories": ("str", None)},
)
def efs_access_point_enforce_root_directory(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Paths are compared without a trailing '/' (``/data/`` is ``/data``)."""
    path = str(get(item, CONF + "RootDirectory.Path") or "/")
    normal = path.rstrip("/") or "/"
    if normal == "/":
        return non_compliant("the access point's root directory is the file system's root '/'")
    approved = [p.rstrip("/") or "/" for p in csv_list(params.get("approvedDirectories"))]
    if approved and normal not in approved:
        return non_compliant(f"root directory {normal} is not one of approvedDirectories")
    return compliant(f"the access point enforces root directory {normal}")


@rule(
    "efs-access-point-enforce-user-identity",
    reads={},
    aws_identifier="EFS_ACCESS_POINT_ENFORCE_USER_IDENTITY",
    service="Amazon EFS",
    resource_types=(ACCESS_POINT,),
    trigger="change",
    severity="medium",
    compliant_when="The access point enforces a POSIX user (its Uid in approvedUids and Gid in approvedGids when those parameters are set).",
    parameters={"approvedUids": ("str", None), "approvedGids": ("str", None)},
)
def efs_access_point_enforce_user_identity(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """approvedGids is matched against the user's Gid (secondary groups are not required to be approved)."""
    user = get(item, CONF + "PosixUser")
    if not user:
        return non_compliant("the access point does not enforce a user identity (no PosixUser)")
    uid, gid = str(user.get("Uid")), str(user.get("Gid"))
    uids, gids = csv_list(params.get("approvedUids")), csv_list(params.get("approvedGids"))
    if uids and uid not in uids:
        return non_compliant(f"enforced Uid {uid} is not one of approvedUids")
    if gids and gid not in gids:
        return non_compliant(f"enforced Gid {gid} is not one of approvedGids")
    return compliant(f"the access point enforces Uid {uid} and Gid {gid}")
