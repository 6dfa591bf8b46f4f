"""KMS rules (AWS Config managed-rule semantics), and KMS key matching shared by other rules.

Items are described in :mod:`phiwatch.resources.kms`: ``configuration`` is DescribeKey's ``KeyMetadata``
(only ``KeyId``/``Arn`` when DescribeKey failed); ``supplementaryConfiguration.KeyRotationStatus``
is ``None`` for keys that cannot rotate automatically, absent when GetKeyRotationStatus failed.
AWS managed keys produce no items.

:func:`key_matches` compares a key reference a resource names (key ARN, key id, alias name or
alias ARN) with a rule parameter's list of references, resolving ids and aliases through the
inventory's key items of the same account and region.
"""

from __future__ import annotations

import re

from phiwatch.model import ConfigurationItem
from phiwatch.resources.kms import KEY
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule

SUP = "supplementaryConfiguration."
PENDING_DELETION = ("PendingDeletion", "PendingReplicaDeletion")

_KEY_ARN = re.compile(r"^arn:(?P<partition>[^:]+):kms:(?P<region>[^:]*):(?P<account>[^:]*):key/(?P<id>.+)$")
_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def _partition(item: ConfigurationItem) -> str:
    parts = (item.arn or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" else "aws"


def _key_index(ctx: RuleContext, account: str, region: str) -> dict[str, str]:
    """Every name of the inventory's keys in one account and region -> the key ARN."""
    index: dict[str, str] = {}
    for key in ctx.items(KEY, account_id=account, region=region):
        arn = key.arn or get(key, "configuration.Arn")
        if not arn:
            continue
        partition = _partition(key)
        index[arn] = arn
        index[key.resourceId] = arn
        for alias in get(key, SUP + "Aliases") or []:
            index[alias] = arn
            index[f"arn:{partition}:kms:{region}:{account}:{alias}"] = arn
    return index


def resolve_key(reference: str, item: ConfigurationItem, ctx: RuleContext, index: dict[str, str] | None = None) -> str | None:
    """The key ARN ``reference`` names, seen from ``item`` (same account and region), or None."""
    if not reference:
        return None
    index = _key_index(ctx, item.accountId, item.awsRegion) if index is None else index
    if reference in index:
        return index[reference]
    if _KEY_ARN.match(reference):
        return reference
    if _KEY_ID.match(reference):
        return f"arn:{_partition(item)}:kms:{item.awsRegion}:{item.accountId}:key/{reference}"
    return None  # an alias the inventory does not know (e.g. an AWS managed key's)


def key_matches(reference: str, allowed: list[str], item: ConfigurationItem, ctx: RuleContext) -> bool:
    """Whether ``reference`` names the same key as one of ``allowed`` (ARNs, ids, aliases)."""
    if reference in allowed:
        return True
    index = _key_index(ctx, item.accountId, item.awsRegion)
    target = resolve_key(reference, item, ctx, index)
    return target is not None and any(resolve_key(a, item, ctx, index) == target for a in allowed)


def _names(item: ConfigurationItem) -> set[str]:
    names = {item.resourceId, item.arn or "", get(item, "configuration.Arn") or ""}
    names.update(get(item, SUP + "Aliases") or [])
    return {n for n in names if n}


@rule(
    "kms-cmk-not-scheduled-for-deletion",
    reads={"configuration.KeyState": "DescribeKey"},
    aws_identifier="KMS_CMK_NOT_SCHEDULED_FOR_DELETION",
    service="AWS KMS",
    resource_types=(KEY,),
    trigger="periodic",
    severity="high",
    compliant_when="No KMS key is scheduled for deletion.",
    parameters={"kmsKeyIds": ("str", None)},
    aws_runbook="AWSConfigRemediation-CancelKeyDeletion",
)
def kms_cmk_not_scheduled_for_deletion(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    wanted = csv_list(params.get("kmsKeyIds"))
    if wanted and not (_names(item) & set(wanted)):
        return None  # only the listed keys are checked
    state = get(item, "configuration.KeyState")
    if state in PENDING_DELETION:
        when = get(item, "configuration.DeletionDate")
        return non_compliant(f"key is {state}" + (f" (deletion date {str(when)[:10]})" if when else ""))
    return compliant(f"key is {state}, not scheduled for deletion")


@rule(
    "cmk-backing-key-rotation-enabled",
    reads={"configuration.KeyState": "DescribeKey", SUP + "KeyRotationStatus": "GetKeyRotationStatus"},
    aws_identifier="CMK_BACKING_KEY_ROTATION_ENABLED",
    service="AWS KMS",
    resource_types=(KEY,),
    trigger="periodic",
    severity="medium",
    compliant_when="Automatic key rotation is enabled for every customer managed symmetric KMS key (AWS managed rule cmk-backing-key-rotation-enabled). Asymmetric, HMAC, imported and pending-deletion keys are not applicable.",
    remediation="phiwatch-EnableKmsKeyRotation",
)
def cmk_backing_key_rotation_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    state = get(item, "configuration.KeyState")
    if state in PENDING_DELETION:
        return not_applicable(f"key is {state}")
    status = get(item, SUP + "KeyRotationStatus")
    if status is None:
        spec = get(item, "configuration.KeySpec") or get(item, "configuration.CustomerMasterKeySpec")
        origin = get(item, "configuration.Origin")
        return not_applicable(f"automatic rotation is not supported for this key ({spec}, {origin})")
    if not status.get("KeyRotationEnabled"):
        return non_compliant("automatic key rotation is off")
    period = status.get("RotationPeriodInDays")
    return compliant("automatic key rotation is on" + (f" (every {period} days)" if period else ""))
