"""EFS rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.efs`: ``configuration`` is DescribeFileSystems' element
(an item exists only when the listing succeeded).

Not implemented here: ``efs-in-backup-plan`` needs AWS Backup plans and selections, which
phiwatch does not collect (and moto does not implement). The file system's own backup policy
(``supplementaryConfiguration.BackupPolicy``) is not the same thing: AWS's rule asks whether an
AWS Backup plan covers the file system.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.efs import FILE_SYSTEM
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule

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
