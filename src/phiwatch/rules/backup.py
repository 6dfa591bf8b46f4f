"""AWS Backup rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.backup`:

* ``AWS::Backup::BackupPlan``: ``configuration.Rules`` (``ScheduleExpression`` ``cron(...)``,
  ``EnableContinuousBackup``, ``Lifecycle.DeleteAfterDays``; no ``DeleteAfterDays`` = kept forever).
* ``AWS::Backup::RecoveryPoint``: ``configuration.IsEncrypted``.
* ``AWS::Backup::BackupVault``: ``supplementaryConfiguration.AccessPolicy`` (policy text or ``None``).
* The account item of each region: ``backupSelections`` (every selection of every plan) and
  ``backupProtectedResourceArns`` (resources with a recovery point, ListProtectedResources).

"In a backup plan" (``*-in-backup-plan``) means a backup selection covers the resource: its ARN
matches one of the selection's ``Resources`` (``*`` wildcards) or its tags match one of
``ListOfTags``; it matches none of ``NotResources``; and every ``Conditions`` entry holds.
An Aurora DB instance is also covered through its cluster's ARN. "Protected"
(``*-resources-protected-by-backup-plan``) means AWS Backup holds a recovery point of it.

Known limits: resource-type opt-in (DescribeRegionSettings) is not read, so a selected resource
of a type not opted in reads as in a plan; the protection rules' crossRegionList,
crossAccountList, min/maxRetentionDays and backupVaultLockCheck parameters are not checked (a
protected resource then gets INSUFFICIENT_DATA saying so).
"""

from __future__ import annotations

import json
import re
from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.backup import PLAN, RECOVERY_POINT, VAULT
from phiwatch.resources.dynamodb import TABLE
from phiwatch.resources.ec2 import INSTANCE as EC2_INSTANCE
from phiwatch.resources.ec2 import VOLUME
from phiwatch.resources.efs import FILE_SYSTEM
from phiwatch.resources.rds import CLUSTER, INSTANCE
from phiwatch.rules._account import account_value
from phiwatch.rules.base import (
    Result,
    RuleContext,
    as_list,
    compliant,
    get,
    insufficient,
    non_compliant,
    not_applicable,
    principal_is_everyone,
    rule,
)

SUP = "supplementaryConfiguration."
SELECTION_APIS = ("ListBackupPlans", "ListBackupSelections", "GetBackupSelection")
PROTECTED_APIS = ("ListBackupVaults", "ListProtectedResources")
UNCHECKED_PARAMS = ("crossRegionList", "crossAccountList", "maxRetentionDays", "minRetentionDays", "backupVaultLockCheck")
DELETION_ACTIONS = ("backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle", "backup:PutBackupVaultAccessPolicy")
TAG_PREFIX = "aws:ResourceTag/"


# -- selections ---------------------------------------------------------------------------------


def _wildcard(pattern: str, value: str) -> bool:
    regex = ".*".join(re.escape(part) for part in str(pattern).split("*"))
    return re.fullmatch(regex, value or "") is not None


def _tag_key(key: Any) -> str:
    key = str(key or "")
    return key[len(TAG_PREFIX) :] if key.startswith(TAG_PREFIX) else key


def _condition_holds(kind: str, condition: dict[str, Any], tags: dict[str, str]) -> bool:
    value = tags.get(_tag_key(condition.get("ConditionKey")))
    wanted = str(condition.get("ConditionValue", ""))
    if kind == "StringEquals":
        return value == wanted
    if kind == "StringNotEquals":
        return value != wanted
    if kind == "StringLike":
        return value is not None and _wildcard(wanted, value)
    if kind == "StringNotLike":
        return value is None or not _wildcard(wanted, value)
    return False


def selection_covers(selection: dict[str, Any], arns: list[str], tags: dict[str, str]) -> bool:
    """Whether a backup selection assigns the resource known by ``arns`` (and ``tags``) to its plan."""
    by_arn = any(_wildcard(p, arn) for p in selection.get("Resources") or [] for arn in arns)
    by_tag = any(
        str(t.get("ConditionType", "STRINGEQUALS")).upper() == "STRINGEQUALS"
        and tags.get(_tag_key(t.get("ConditionKey"))) == str(t.get("ConditionValue", ""))
        for t in selection.get("ListOfTags") or []
    )
    if not (by_arn or by_tag):
        return False
    if any(_wildcard(p, arn) for p in selection.get("NotResources") or [] for arn in arns):
        return False
    conditions = selection.get("Conditions") or {}
    return all(_condition_holds(kind, c, tags) for kind, entries in conditions.items() for c in entries or [])


def _in_backup_plan(item: ConfigurationItem, ctx: RuleContext, arns: list[str]) -> Result | None:
    selections, failure = account_value(item, ctx, "backupSelections", SELECTION_APIS)
    if failure is not None or not isinstance(selections, list):
        return failure
    plans = sorted({str(s.get("BackupPlanName") or s.get("BackupPlanId")) for s in selections if selection_covers(s, arns, item.tags)})
    if plans:
        return compliant(f"in backup plan {', '.join(plans[:3])}")
    return non_compliant("not in any AWS Backup plan")


@rule(
    "ebs-in-backup-plan",
    aws_identifier="EBS_IN_BACKUP_PLAN",
    service="Amazon EC2 / EBS",
    resource_types=(VOLUME,),
    trigger="periodic",
    severity="medium",
    compliant_when="The EBS volume is included in at least one AWS Backup plan.",
)
def ebs_in_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    return _in_backup_plan(item, ctx, [item.arn or ""])


@rule(
    "efs-in-backup-plan",
    aws_identifier="EFS_IN_BACKUP_PLAN",
    service="Amazon EFS",
    resource_types=(FILE_SYSTEM,),
    trigger="periodic",
    severity="medium",
    compliant_when="The EFS file system is included in at least one AWS Backup plan.",
)
def efs_in_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    return _in_backup_plan(item, ctx, [item.arn or ""])


@rule(
    "dynamodb-in-backup-plan",
    aws_identifier="DYNAMODB_IN_BACKUP_PLAN",
    service="Amazon DynamoDB",
    resource_types=(TABLE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The DynamoDB table is included in at least one AWS Backup plan.",
)
def dynamodb_in_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    return _in_backup_plan(item, ctx, [item.arn or ""])


@rule(
    "rds-in-backup-plan",
    reads={"configuration.Engine": "DescribeDBInstances"},
    aws_identifier="RDS_IN_BACKUP_PLAN",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The RDS database is included in at least one AWS Backup plan (docs: Aurora DB instances only).",
)
def rds_in_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if not str(get(item, "configuration.Engine") or "").lower().startswith("aurora"):
        return not_applicable("not an Aurora DB instance (the rule applies to Aurora DB instances only)")
    arns = [item.arn or ""]
    cluster = get(item, "configuration.DBClusterIdentifier")
    if cluster and item.arn and ":db:" in item.arn:
        arns.append(item.arn.split(":db:", 1)[0] + f":cluster:{cluster}")
    return _in_backup_plan(item, ctx, arns)


# -- protection (recovery points exist) ---------------------------------------------------------


def _tags_wanted(value: Any) -> dict[str, str]:
    if not value:
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}


def _protected(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    wanted_tags = _tags_wanted(params.get("resourceTags"))
    if wanted_tags and any(item.tags.get(k) != v for k, v in wanted_tags.items()):
        return not_applicable("outside the resourceTags scope")
    if params.get("resourceId") and params["resourceId"] not in (item.resourceId, item.resourceName, item.arn):
        return not_applicable("not the resourceId in scope")
    protected, failure = account_value(item, ctx, "backupProtectedResourceArns", PROTECTED_APIS)
    if failure is not None or not isinstance(protected, list):
        return failure
    if item.arn not in set(protected):
        return non_compliant("AWS Backup holds no recovery point of this resource")
    unchecked = [p for p in UNCHECKED_PARAMS if params.get(p) not in (None, "")]
    if unchecked:
        return insufficient(f"recovery points exist; {', '.join(unchecked)} not checked by phiwatch")
    return compliant("protected by AWS Backup (recovery point exists)")


@rule(
    "ec2-resources-protected-by-backup-plan",
    aws_identifier="EC2_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon EC2 / EBS",
    resource_types=(EC2_INSTANCE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The EC2 instance is protected by an AWS Backup plan.",
    parameters={
        "resourceTags": ("str", None),
        "resourceId": ("str", None),
        "crossRegionList": ("str", None),
        "crossAccountList": ("str", None),
        "maxRetentionDays": ("int", None),
        "minRetentionDays": ("int", None),
        "backupVaultLockCheck": ("bool", None),
    },
)
def ec2_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    return _protected(item, params, ctx)


@rule(
    "aurora-resources-protected-by-backup-plan",
    reads={"configuration.Engine": "DescribeDBClusters"},
    aws_identifier="AURORA_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="medium",
    compliant_when="The Aurora DB cluster is protected by an AWS Backup plan.",
    parameters={
        "resourceTags": ("str", None),
        "resourceId": ("str", None),
        "crossRegionList": ("str", None),
        "crossAccountList": ("str", None),
        "maxRetentionDays": ("int", None),
        "minRetentionDays": ("int", None),
        "backupVaultLockCheck": ("bool", None),
    },
)
def aurora_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if not str(get(item, "configuration.Engine") or "").lower().startswith("aurora"):
        return not_applicable("not an Aurora DB cluster")
    return _protected(item, params, ctx)


# -- plans, recovery points, vaults --------------------------------------------------------------


def _expand(field: str, low: int, high: int, names: dict[str, int] | None = None) -> list[int] | None:
    """Values of one cron field (``*``, ``a``, ``a-b``, ``a/n``, ``*/n``, lists); None if unreadable."""
    values: set[int] = set()
    for part in field.split(","):
        part = part.strip().upper()
        for name, number in (names or {}).items():
            part = part.replace(name, str(number))
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                return None
            step = int(step_text)
        if part in ("*", "?", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                return None
            start, end = int(a), int(b)
        elif part.isdigit():
            start = int(part)
            end = high if step > 1 else start
        else:
            return None  # L, W, # and other forms
        values.update(range(start, end + 1, step))
    return sorted(v for v in values if low <= v <= high) or None


def _max_gap(values: list[int], cycle: int) -> int:
    """Largest distance between consecutive values, wrapping around ``cycle``."""
    gaps = [b - a for a, b in zip(values, values[1:])]
    gaps.append(values[0] + cycle - values[-1])
    return max(gaps)


DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def schedule_interval_hours(expression: str | None) -> float | None:
    """Longest time in hours between two runs of an AWS Backup ``cron(...)`` schedule; None if unreadable."""
    match = re.fullmatch(r"\s*cron\((.+)\)\s*", expression or "")
    if not match:
        return None
    fields = match.group(1).split()
    if len(fields) < 5:
        return None
    _minute, hour, dom, month, dow = fields[:5]
    hours = _expand(hour, 0, 23)
    if hours is None:
        return None
    if month.strip() not in ("*", "?"):
        months = _expand(
            month,
            1,
            12,
            {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12},
        )
        if months is None:
            return None
        if len(months) < 12:
            return _max_gap(months, 12) * 31 * 24.0
    if dow.strip() not in ("*", "?"):
        days = _expand(dow, 1, 7, DAYS)
        if days is None:
            return None
        day_gap = _max_gap(days, 7)
    elif dom.strip() not in ("*", "?"):
        dates = _expand(dom, 1, 31)
        if dates is None:
            return None
        day_gap = _max_gap(dates, 31)
    else:
        day_gap = 1
    return day_gap * 24.0 if day_gap > 1 else float(_max_gap(hours, 24))


@rule(
    "backup-plan-min-frequency-and-min-retention-check",
    reads={"configuration.Rules": "GetBackupPlan"},
    aws_identifier="BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
    service="AWS Backup",
    resource_types=(PLAN,),
    trigger="change",
    severity="medium",
    compliant_when="The backup plan has a rule creating recovery points at least every requiredFrequencyValue requiredFrequencyUnit (default 1 day) retained at least requiredRetentionDays (default 35).",
    parameters={"requiredFrequencyValue": ("int", 1), "requiredRetentionDays": ("int", 35), "requiredFrequencyUnit": ("str", "days")},
)
def backup_plan_min_frequency_and_min_retention_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    unit = str(params.get("requiredFrequencyUnit") or "days").lower()
    value = int(params.get("requiredFrequencyValue") or 1)
    required_hours = value * (1 if unit.startswith("hour") else 24)
    required_days = int(params.get("requiredRetentionDays") or 0)
    reasons = []
    for plan_rule in get(item, "configuration.Rules") or []:
        name = plan_rule.get("RuleName", "?")
        interval = 0.0 if plan_rule.get("EnableContinuousBackup") else schedule_interval_hours(plan_rule.get("ScheduleExpression"))
        retention = (plan_rule.get("Lifecycle") or {}).get("DeleteAfterDays")
        if interval is None:
            reasons.append(f"rule {name}: schedule not readable")
            continue
        if interval > required_hours:
            reasons.append(f"rule {name}: runs every {interval:g} h (> {required_hours} h)")
            continue
        if retention is not None and int(retention) < required_days:
            reasons.append(f"rule {name}: keeps {retention} days (< {required_days})")
            continue
        return compliant(f"rule {name} backs up at least every {required_hours} h and keeps at least {required_days} days")
    if not reasons:
        return non_compliant("the plan has no backup rule")
    return non_compliant("; ".join(reasons[:3]))


@rule(
    "backup-recovery-point-encrypted",
    reads={"configuration.IsEncrypted": "ListRecoveryPointsByBackupVault"},
    aws_identifier="BACKUP_RECOVERY_POINT_ENCRYPTED",
    service="AWS Backup",
    resource_types=(RECOVERY_POINT,),
    trigger="change",
    severity="high",
    compliant_when="The AWS Backup recovery point is encrypted.",
)
def backup_recovery_point_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, "configuration.IsEncrypted") is True:
        return compliant("recovery point is encrypted")
    return non_compliant("recovery point is not encrypted")


def _covers_action(actions: list[str], wanted: str) -> bool:
    return any(_wildcard(a.lower(), wanted.lower()) for a in actions)


def _only_excepts(condition: Any, allowed: set[str]) -> bool:
    """A condition is acceptable when it only exempts principals listed in principalArnList."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, clauses in condition.items():
        if operator not in ("ArnNotEquals", "ArnNotLike", "StringNotEquals", "StringNotLike") or not isinstance(clauses, dict):
            return False
        for key, values in clauses.items():
            if key.lower() != "aws:principalarn" or not set(map(str, as_list(values))) <= allowed:
                return False
    return True


@rule(
    "backup-recovery-point-manual-deletion-disabled",
    reads={SUP + "AccessPolicy": "GetBackupVaultAccessPolicy"},
    aws_identifier="BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
    service="AWS Backup",
    resource_types=(VAULT,),
    trigger="change",
    severity="medium",
    compliant_when="The backup vault has a resource policy that Denies backup:DeleteRecoveryPoint, backup:UpdateRecoveryPointLifecycle and backup:PutBackupVaultAccessPolicy (wildcard Principal/Resource).",
    parameters={"principalArnList": ("str", None)},
)
def backup_recovery_point_manual_deletion_disabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    text = get(item, SUP + "AccessPolicy")
    if not text:
        return non_compliant("the vault has no access policy denying manual deletion")
    try:
        policy = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return non_compliant("the vault access policy is not readable JSON")
    allowed = {a.strip() for a in str(params.get("principalArnList") or "").split(",") if a.strip()}
    denied: set[str] = set()
    for st in as_list((policy or {}).get("Statement")):
        if st.get("Effect") != "Deny" or not principal_is_everyone(st.get("Principal")):
            continue
        if "*" not in as_list(st.get("Resource")) and not any(_wildcard(str(r), item.arn or "") for r in as_list(st.get("Resource"))):
            continue
        if not _only_excepts(st.get("Condition"), allowed):
            continue
        actions = [str(a) for a in as_list(st.get("Action"))]
        denied.update(a for a in DELETION_ACTIONS if _covers_action(actions, a))
    missing = [a for a in DELETION_ACTIONS if a not in denied]
    if missing:
        return non_compliant(f"the vault access policy does not deny {', '.join(missing)} to everyone")
    return compliant("the vault access policy denies manual deletion of recovery points")
