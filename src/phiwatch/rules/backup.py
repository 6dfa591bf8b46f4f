"""AWS Backup rules: the HIPAA pack's and AWS Config's other managed backup rules, including every
service's ``*-resources-protected-by-backup-plan`` and ``*-last-backup-recovery-point-created``.

Items are described in :mod:`phiwatch.resources.backup`:

* ``AWS::Backup::BackupPlan``: ``configuration.Rules`` (``ScheduleExpression`` ``cron(...)``,
  ``EnableContinuousBackup``, ``Lifecycle.DeleteAfterDays``; no ``DeleteAfterDays`` = kept forever).
* ``AWS::Backup::RecoveryPoint``: ``configuration.IsEncrypted``, ``ResourceArn``, ``BackupVaultName``,
  ``Status``, ``CreationDate``, ``Lifecycle`` and ``CalculatedLifecycle``.
* ``AWS::Backup::BackupVault``: ``supplementaryConfiguration.AccessPolicy`` (policy text or ``None``);
  ``configuration.Locked``, ``MinRetentionDays`` and ``MaxRetentionDays`` (its vault lock).
* The account item of each region: ``backupSelections`` (every selection of every plan) and
  ``backupProtectedResourceArns`` (resources with a recovery point, ListProtectedResources).

"In a backup plan" (``*-in-backup-plan``) means a backup selection covers the resource: its ARN
matches one of the selection's ``Resources`` (``*`` wildcards) or its tags match one of
``ListOfTags``; it matches none of ``NotResources``; and every ``Conditions`` entry holds.
An Aurora DB instance is also covered through its cluster's ARN.

"Protected" (``*-resources-protected-by-backup-plan``) means AWS Backup holds a recovery point of
it (ListProtectedResources). Their parameters: ``backupVaultLockCheck`` ('True'/'False', or a
boolean), ``minRetentionDays`` and ``maxRetentionDays`` ask for a usable recovery point of it in a
locked vault whose lock keeps recovery points at least ``minRetentionDays`` and at most
``maxRetentionDays``; ``crossRegionList`` and ``crossAccountList`` (comma-separated) ask that a
backup plan selecting it copies to a vault in every listed region and account (its rules'
``CopyActions``), as AWS Backup Audit Manager's cross-Region and cross-account controls check the
backup selection. ``*-last-backup-recovery-point-created`` reads the newest COMPLETED (or
AVAILABLE) recovery point of the resource in its region's vaults. ``resourceTags`` (a JSON object)
and ``resourceId`` (id, name or ARN) narrow both families: others are NOT_APPLICABLE.

Known limits: resource-type opt-in (DescribeRegionSettings) is not read, so a selected resource
of a type not opted in reads as in a plan; recovery points in logically air-gapped vaults shared
from another account are not listed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.backup import PLAN, RECOVERY_POINT, VAULT
from phiwatch.resources.backupgateway import VIRTUAL_MACHINE
from phiwatch.resources.dynamodb import TABLE
from phiwatch.resources.ec2 import INSTANCE as EC2_INSTANCE
from phiwatch.resources.ec2 import VOLUME
from phiwatch.resources.efs import FILE_SYSTEM
from phiwatch.resources.fsx import FILE_SYSTEM as FSX_FILE_SYSTEM
from phiwatch.resources.rds import CLUSTER, INSTANCE
from phiwatch.resources.s3 import BUCKET
from phiwatch.resources.storagegateway import VOLUME as SG_VOLUME
from phiwatch.rules._account import account_value
from phiwatch.rules.base import (
    Result,
    RuleContext,
    as_list,
    compliant,
    csv_list,
    describe_failure,
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


# -- protection and last recovery point (AWS Backup's recovery points of the resource) -----------
#
# Both rule families judge another service's item against AWS Backup's data of the same account
# and region: the account item's ``backupProtectedResourceArns`` (ListProtectedResources), the
# ``AWS::Backup::RecoveryPoint`` items (ListRecoveryPointsByBackupVault, per vault) and, for the
# parameters, the vaults' lock settings and the plans that select the resource.

#: recovery point states that hold a usable backup (AVAILABLE is the newer name of COMPLETED)
USABLE = ("COMPLETED", "AVAILABLE")
LOCK_PARAMS = ("backupVaultLockCheck", "minRetentionDays", "maxRetentionDays")
COPY_PARAMS = ("crossRegionList", "crossAccountList")
POINTS_API = "ListRecoveryPointsByBackupVault"
PROTECTED_PARAMETERS: dict[str, tuple[str, Any]] = {
    "resourceTags": ("str", None),
    "resourceId": ("str", None),
    "crossRegionList": ("str", None),
    "crossAccountList": ("str", None),
    "maxRetentionDays": ("int", None),
    "minRetentionDays": ("int", None),
    "backupVaultLockCheck": ("bool", None),
}
LAST_POINT_PARAMETERS: dict[str, tuple[str, Any]] = {
    "resourceTags": ("str", None),
    "resourceId": ("str", None),
    "recoveryPointAgeValue": ("int", 1),
    "recoveryPointAgeUnit": ("str", "days"),
}
#: the longest age AWS accepts per unit (744 hours, 31 days)
AGE_LIMITS = {"hours": 744, "days": 31}


def _tags_wanted(value: Any) -> dict[str, str] | None:
    """The resourceTags parameter ``{"key": "value"}`` as a map; None when it is not a JSON object."""
    if not value:
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return None
    return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else None


def _out_of_scope(item: ConfigurationItem, params: dict) -> Result | None:
    """NOT_APPLICABLE when resourceTags or resourceId leave the item out (INSUFFICIENT_DATA for an unreadable resourceTags)."""
    wanted_tags = _tags_wanted(params.get("resourceTags"))
    if wanted_tags is None:
        return insufficient('could not check: parameter resourceTags is not a JSON object such as {"tagkey": "tagValue"}')
    if wanted_tags and any(item.tags.get(k) != v for k, v in wanted_tags.items()):
        return not_applicable("outside the resourceTags scope")
    wanted_id = str(params.get("resourceId") or "").strip()
    if wanted_id and wanted_id not in (item.resourceId, item.resourceName, item.arn):
        return not_applicable("not the resourceId in scope")
    return None


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


_POINT_INDEX: dict[str, Any] = {"items": None, "index": {}}


def _points_by_resource(ctx: RuleContext) -> dict[tuple[str | None, str | None, str], list[ConfigurationItem]]:
    """Recovery point items by (account, region, ResourceArn), built once per evaluation (the
    evaluator hands out the same list for a type throughout one run)."""
    items = ctx.lookup(RECOVERY_POINT)
    if _POINT_INDEX["items"] is not items:
        index: dict[tuple[str | None, str | None, str], list[ConfigurationItem]] = {}
        for point in items:
            arn = get(point, "configuration.ResourceArn")
            if isinstance(arn, str) and arn:
                index.setdefault((point.accountId, point.awsRegion, arn), []).append(point)
        _POINT_INDEX.update(items=items, index=index)
    index_now: dict[tuple[str | None, str | None, str], list[ConfigurationItem]] = _POINT_INDEX["index"]
    return index_now


_SET_CACHE: dict[str, Any] = {"list": None, "set": frozenset()}


def _as_set(values: list[str]) -> frozenset[str]:
    """``values`` as a set, kept while the same list is asked again (one account item, many resources)."""
    if _SET_CACHE["list"] is not values:
        _SET_CACHE.update(list=values, set=frozenset(values))
    found: frozenset[str] = _SET_CACHE["set"]
    return found


def _vaults_read(item: ConfigurationItem, ctx: RuleContext) -> Result | bool:
    """Whether the region's vaults (and so its recovery points) were listed: True, False (AWS
    Backup was not collected there), or INSUFFICIENT_DATA when ListBackupVaults failed."""
    for account in ctx.items(ACCOUNT_TYPE, account_id=item.accountId, region=item.awsRegion):
        if "backupProtectedResourceArns" in account.configuration or "ListProtectedResources" in account.failed_apis():
            return True
        if "ListBackupVaults" in account.failed_apis():
            return insufficient(describe_failure(account, ["ListBackupVaults"]))
    return False


def _usable_points(item: ConfigurationItem, ctx: RuleContext, arns: list[str]) -> list[ConfigurationItem]:
    index = _points_by_resource(ctx)
    found = [p for arn in arns if arn for p in index.get((item.accountId, item.awsRegion, arn), [])]
    return [p for p in found if str(get(p, "configuration.Status") or "").upper() in USABLE]


def _unread_vaults(item: ConfigurationItem, ctx: RuleContext) -> list[ConfigurationItem]:
    """The region's vaults whose recovery points could not be listed."""
    return [v for v in ctx.items(VAULT, account_id=item.accountId, region=item.awsRegion) if POINTS_API in v.failed_apis()]


def _lock_problem(item: ConfigurationItem, params: dict, ctx: RuleContext, arns: list[str]) -> Result | str | None:
    """backupVaultLockCheck / minRetentionDays / maxRetentionDays: a usable recovery point of the
    resource is in a locked vault whose lock keeps recovery points at least minRetentionDays and at
    most maxRetentionDays. None when it holds, the reason when not, INSUFFICIENT_DATA when unknown."""
    given = [p for p in LOCK_PARAMS if params.get(p) not in (None, "")]
    wanted_min, wanted_max = params.get("minRetentionDays"), params.get("maxRetentionDays")
    wanted_min = None if wanted_min in (None, "") else int(wanted_min)
    wanted_max = None if wanted_max in (None, "") else int(wanted_max)
    lock_asked = str(params.get("backupVaultLockCheck")).strip().lower() == "true"  # a boolean or AWS's 'True'/'False' text
    if not lock_asked and wanted_min is None and wanted_max is None:
        return None  # backupVaultLockCheck False (or no lock parameter): nothing asked
    points = _usable_points(item, ctx, arns)
    vaults = {v.resourceId: v for v in ctx.items(VAULT, account_id=item.accountId, region=item.awsRegion)}
    outside = set()
    for point in points:
        vault = vaults.get(str(get(point, "configuration.BackupVaultName") or ""))
        if vault is None or get(vault, "configuration.Locked") is not True:
            continue
        lock_min, lock_max = get(vault, "configuration.MinRetentionDays"), get(vault, "configuration.MaxRetentionDays")
        if wanted_min is not None and (lock_min is None or int(lock_min) < wanted_min):
            outside.add(vault.resourceId)
            continue
        if wanted_max is not None and (lock_max is None or int(lock_max) > wanted_max):
            outside.add(vault.resourceId)
            continue
        return None
    unread = _unread_vaults(item, ctx)
    if unread:
        return insufficient(describe_failure(unread[0], [POINTS_API]))
    if not points:
        return insufficient(
            f"could not check {', '.join(given)}: AWS Backup lists the resource as protected but none of its recovery points was read"
        )
    if outside:
        return (
            f"its locked vault {', '.join(sorted(outside)[:3])} does not keep recovery points between minRetentionDays and maxRetentionDays"
        )
    return "no recovery point of it is in a locked backup vault"


def _copy_problem(item: ConfigurationItem, params: dict, ctx: RuleContext, arns: list[str]) -> Result | str | None:
    """crossRegionList / crossAccountList: a backup plan selecting the resource copies its recovery
    points to a vault in every listed region and every listed account (a rule's CopyActions)."""
    regions, accounts = csv_list(params.get("crossRegionList")), csv_list(params.get("crossAccountList"))
    if not regions and not accounts:
        return None
    selections, failure = account_value(item, ctx, "backupSelections", SELECTION_APIS)
    if failure is not None:
        return failure
    if not isinstance(selections, list):
        return insufficient("could not check crossRegionList/crossAccountList: the backup plans were not read")
    plan_ids = {str(s.get("BackupPlanId")) for s in selections if selection_covers(s, arns, item.tags)}
    plans = {p.resourceId: p for p in ctx.items(PLAN, account_id=item.accountId, region=item.awsRegion)}
    destinations: list[str] = []
    for plan_id in sorted(plan_ids):
        plan = plans.get(plan_id)
        rules = get(plan, "configuration.Rules") if plan is not None else None
        if not isinstance(rules, list):
            return insufficient(
                describe_failure(plan, ["GetBackupPlan"]) if plan is not None else "could not check: a selecting backup plan was not read"
            )
        destinations += [str(c.get("DestinationBackupVaultArn") or "") for r in rules for c in r.get("CopyActions") or []]
    parts = [d.split(":") for d in destinations if d.count(":") >= 5]
    missing = [r for r in regions if r not in {p[3] for p in parts}] + [a for a in accounts if a not in {p[4] for p in parts}]
    if missing:
        return f"no backup plan selecting it copies its recovery points to {', '.join(missing)}"
    return None


def _protected(item: ConfigurationItem, params: dict, ctx: RuleContext, arns: list[str] | None = None) -> Result | None:
    scoped = _out_of_scope(item, params)
    if scoped is not None:
        return scoped
    arns = arns or [item.arn or ""]
    protected, failure = account_value(item, ctx, "backupProtectedResourceArns", PROTECTED_APIS)
    if failure is not None or not isinstance(protected, list):
        return failure
    if not any(arn in _as_set(protected) for arn in arns):
        return non_compliant("AWS Backup holds no recovery point of this resource")
    problems = []
    for check in (_lock_problem, _copy_problem):
        found = check(item, params, ctx, arns)
        if isinstance(found, Result):
            return found
        if found:
            problems.append(found)
    if problems:
        return non_compliant("; ".join(problems))
    return compliant("protected by AWS Backup (a recovery point exists)")


def _max_age(params: dict) -> tuple[dt.timedelta | None, Result | None]:
    unit = str(params.get("recoveryPointAgeUnit") or "days").strip().lower()
    value = params.get("recoveryPointAgeValue")
    value = 1 if value in (None, "") else value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if unit not in AGE_LIMITS:
        return None, insufficient(f"could not check: parameter recoveryPointAgeUnit is {unit!r}, not hours or days")
    if not isinstance(value, int) or not 1 <= value <= AGE_LIMITS[unit]:
        return None, insufficient(
            f"could not check: parameter recoveryPointAgeValue must be between 1 and {AGE_LIMITS[unit]} {unit}, got {value!r}"
        )
    return (dt.timedelta(hours=value) if unit == "hours" else dt.timedelta(days=value)), None


def _last_recovery_point(item: ConfigurationItem, params: dict, ctx: RuleContext, arns: list[str] | None = None) -> Result | None:
    scoped = _out_of_scope(item, params)
    if scoped is not None:
        return scoped
    max_age, bad = _max_age(params)
    if bad is not None or max_age is None:
        return bad
    read = _vaults_read(item, ctx)
    if isinstance(read, Result) or not read:
        return read if isinstance(read, Result) else None
    created = [
        when for p in _usable_points(item, ctx, arns or [item.arn or ""]) if (when := _as_datetime(get(p, "configuration.CreationDate")))
    ]
    latest = max(created, default=None)
    if latest is not None and ctx.now - latest <= max_age:
        return compliant(f"last recovery point created {_age(ctx.now - latest)} ago")
    unread = _unread_vaults(item, ctx)
    if unread:
        return insufficient(describe_failure(unread[0], [POINTS_API]))
    if latest is None:
        return non_compliant("AWS Backup holds no recovery point of this resource")
    return non_compliant(f"last recovery point created {_age(ctx.now - latest)} ago (allowed: {_age(max_age)})")


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def _running(item: ConfigurationItem) -> Result | None:
    # the state only decides whether the rule applies (the verdict comes from AWS Backup's data):
    # read with dict.get so an instance recorded without configuration is still judged, not
    # turned into "no configuration recorded"
    state_value = dict.get(item.configuration, "State") if isinstance(item.configuration, dict) else None
    state = state_value.get("Name") if isinstance(state_value, dict) else None
    if state is not None and state != "running":
        return not_applicable(f"instance is {state} (the rule judges running instances only)")
    return None


def _not_aurora_instance(item: ConfigurationItem) -> Result | None:
    if str(get(item, "configuration.Engine") or "").lower().startswith("aurora"):
        return not_applicable("Aurora DB instance: AWS Backup backs Aurora up per cluster (aurora-* rules judge the cluster)")
    return None


def _aurora_cluster(item: ConfigurationItem) -> Result | None:
    if not str(get(item, "configuration.Engine") or "").lower().startswith("aurora"):
        return not_applicable("not an Aurora DB cluster")
    return None


@rule(
    "ec2-resources-protected-by-backup-plan",
    aws_identifier="EC2_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon EC2 / EBS",
    resource_types=(EC2_INSTANCE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The running EC2 instance has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def ec2_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Running instances only, as AWS's page says: a stopped instance is NOT_APPLICABLE."""
    return _running(item) or _protected(item, params, ctx)


@rule(
    "ec2-last-backup-recovery-point-created",
    aws_identifier="EC2_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon EC2 / EBS",
    resource_types=(EC2_INSTANCE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The running EC2 instance has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def ec2_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Running instances only (AWS Backup Audit Manager, whose control this rule is, evaluates active resources only: a stopped instance is NOT_APPLICABLE)."""
    return _running(item) or _last_recovery_point(item, params, ctx)


@rule(
    "ebs-resources-protected-by-backup-plan",
    aws_identifier="EBS_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon EC2 / EBS",
    resource_types=(VOLUME,),
    trigger="periodic",
    severity="medium",
    compliant_when="The EBS volume has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def ebs_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Any volume state: AWS's page names no exception."""
    return _protected(item, params, ctx)


@rule(
    "ebs-last-backup-recovery-point-created",
    aws_identifier="EBS_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon EC2 / EBS",
    resource_types=(VOLUME,),
    trigger="periodic",
    severity="medium",
    compliant_when="The EBS volume has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def ebs_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Any volume state: AWS's page names no exception."""
    return _last_recovery_point(item, params, ctx)


@rule(
    "aurora-resources-protected-by-backup-plan",
    reads={"configuration.Engine": "DescribeDBClusters"},
    aws_identifier="AURORA_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="medium",
    compliant_when="The Aurora DB cluster has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def aurora_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Aurora clusters only: another engine's DB cluster (Neptune, DocumentDB, Multi-AZ DB clusters) is NOT_APPLICABLE."""
    return _aurora_cluster(item) or _protected(item, params, ctx)


@rule(
    "aurora-last-backup-recovery-point-created",
    reads={"configuration.Engine": "DescribeDBClusters"},
    aws_identifier="AURORA_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="medium",
    compliant_when="The Aurora DB cluster has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def aurora_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Aurora clusters only: another engine's DB cluster (Neptune, DocumentDB, Multi-AZ DB clusters) is NOT_APPLICABLE."""
    return _aurora_cluster(item) or _last_recovery_point(item, params, ctx)


@rule(
    "rds-resources-protected-by-backup-plan",
    reads={"configuration.Engine": "DescribeDBInstances"},
    aws_identifier="RDS_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The RDS DB instance has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def rds_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS Backup backs an Aurora database up per cluster, so an Aurora DB instance never has a recovery point of its own: it is NOT_APPLICABLE here and its cluster is judged by the aurora-* rule."""
    return _not_aurora_instance(item) or _protected(item, params, ctx)


@rule(
    "rds-last-backup-recovery-point-created",
    reads={"configuration.Engine": "DescribeDBInstances"},
    aws_identifier="RDS_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The RDS DB instance has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def rds_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS Backup backs an Aurora database up per cluster, so an Aurora DB instance never has a recovery point of its own: it is NOT_APPLICABLE here and its cluster is judged by the aurora-* rule."""
    return _not_aurora_instance(item) or _last_recovery_point(item, params, ctx)


@rule(
    "dynamodb-resources-protected-by-backup-plan",
    aws_identifier="DYNAMODB_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon DynamoDB",
    resource_types=(TABLE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The DynamoDB table has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def dynamodb_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """resourceId is the table's name (or its ARN)."""
    return _protected(item, params, ctx)


@rule(
    "dynamodb-last-backup-recovery-point-created",
    aws_identifier="DYNAMODB_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon DynamoDB",
    resource_types=(TABLE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The DynamoDB table has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def dynamodb_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """resourceId is the table's name (or its ARN)."""
    return _last_recovery_point(item, params, ctx)


@rule(
    "efs-resources-protected-by-backup-plan",
    aws_identifier="EFS_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon EFS",
    resource_types=(FILE_SYSTEM,),
    trigger="periodic",
    severity="medium",
    compliant_when="The EFS file system has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def efs_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """EFS's automatic backups (the aws/efs/automatic-backup-plan) count: they are AWS Backup recovery points."""
    return _protected(item, params, ctx)


@rule(
    "efs-last-backup-recovery-point-created",
    aws_identifier="EFS_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon EFS",
    resource_types=(FILE_SYSTEM,),
    trigger="periodic",
    severity="medium",
    compliant_when="The EFS file system has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def efs_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """EFS's automatic backups (the aws/efs/automatic-backup-plan) count: they are AWS Backup recovery points."""
    return _last_recovery_point(item, params, ctx)


@rule(
    "fsx-resources-protected-by-backup-plan",
    aws_identifier="FSX_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon FSx",
    resource_types=(FSX_FILE_SYSTEM,),
    trigger="periodic",
    severity="medium",
    compliant_when="The FSx file system has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def fsx_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """FSx's own automatic daily backups are not AWS Backup recovery points and do not count."""
    return _protected(item, params, ctx)


@rule(
    "fsx-last-backup-recovery-point-created",
    aws_identifier="FSX_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon FSx",
    resource_types=(FSX_FILE_SYSTEM,),
    trigger="periodic",
    severity="medium",
    compliant_when="The FSx file system has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def fsx_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """FSx's own automatic daily backups are not AWS Backup recovery points and do not count."""
    return _last_recovery_point(item, params, ctx)


@rule(
    "s3-resources-protected-by-backup-plan",
    aws_identifier="S3_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="periodic",
    severity="medium",
    compliant_when="The S3 bucket has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def s3_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """resourceId is the bucket's name; the bucket is judged in its own region, where its recovery points are."""
    return _protected(item, params, ctx)


@rule(
    "s3-last-backup-recovery-point-created",
    aws_identifier="S3_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="periodic",
    severity="medium",
    compliant_when="The S3 bucket has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def s3_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """resourceId is the bucket's name. A continuous backup's recovery point counts from its creation date, as ListRecoveryPointsByBackupVault gives it."""
    return _last_recovery_point(item, params, ctx)


@rule(
    "storagegateway-resources-protected-by-backup-plan",
    aws_identifier="STORAGEGATEWAY_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="AWS Storage Gateway",
    resource_types=(SG_VOLUME,),
    trigger="periodic",
    severity="medium",
    compliant_when="The Storage Gateway volume has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def storagegateway_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """The emulator has no Storage Gateway: tested on constructed items."""
    return _protected(item, params, ctx)


@rule(
    "storagegateway-last-backup-recovery-point-created",
    aws_identifier="STORAGEGATEWAY_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="AWS Storage Gateway",
    resource_types=(SG_VOLUME,),
    trigger="periodic",
    severity="medium",
    compliant_when="The Storage Gateway volume has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def storagegateway_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """The emulator has no Storage Gateway: tested on constructed items."""
    return _last_recovery_point(item, params, ctx)


@rule(
    "virtualmachine-resources-protected-by-backup-plan",
    aws_identifier="VIRTUALMACHINE_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    service="AWS Backup",
    resource_types=(VIRTUAL_MACHINE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The Backup gateway virtual machine has a recovery point in AWS Backup (with the parameters: one in a locked vault within the lock retention bounds, and plans copying it to every listed region and account).",
    parameters=PROTECTED_PARAMETERS,
)
def virtualmachine_resources_protected_by_backup_plan(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """The emulator has no Backup gateway: tested on constructed items."""
    return _protected(item, params, ctx)


@rule(
    "virtualmachine-last-backup-recovery-point-created",
    aws_identifier="VIRTUALMACHINE_LAST_BACKUP_RECOVERY_POINT_CREATED",
    service="AWS Backup",
    resource_types=(VIRTUAL_MACHINE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The Backup gateway virtual machine has an AWS Backup recovery point created within recoveryPointAgeValue recoveryPointAgeUnit (default 1 day).",
    parameters=LAST_POINT_PARAMETERS,
)
def virtualmachine_last_backup_recovery_point_created(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """The emulator has no Backup gateway: tested on constructed items."""
    return _last_recovery_point(item, params, ctx)


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
    """A plan complies when one of its rules satisfies both bounds (AWS's page: "has a backup rule that
    satisfies"). requiredFrequencyUnit is 'hours' or 'days' (any case) and requiredFrequencyValue at most
    24 hours or 31 days, as AWS accepts them; other values are 'could not check', not read as days."""
    unit = str(params.get("requiredFrequencyUnit") or "days").strip().lower()
    unit = {"hour": "hours", "day": "days"}.get(unit, unit)
    if unit not in ("hours", "days"):
        return insufficient(
            f"could not check: parameter requiredFrequencyUnit is {params.get('requiredFrequencyUnit')!r}, not hours or days"
        )
    value = params.get("requiredFrequencyValue")
    value = 1 if value in (None, "") else int(value)
    limit = 24 if unit == "hours" else 31
    if not 1 <= value <= limit:
        return insufficient(f"could not check: parameter requiredFrequencyValue must be between 1 and {limit} {unit}, got {value}")
    required_hours = value * (1 if unit == "hours" else 24)
    required_days = params.get("requiredRetentionDays")
    required_days = 35 if required_days in (None, "") else int(required_days)
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


@rule(
    "backup-recovery-point-minimum-retention-check",
    aws_identifier="BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
    service="AWS Backup",
    resource_types=(RECOVERY_POINT,),
    trigger="change",
    severity="medium",
    compliant_when="The recovery point is kept at least requiredRetentionDays (default 35) after its creation, or has no expiry.",
    parameters={"requiredRetentionDays": ("int", 35)},
)
def backup_recovery_point_minimum_retention_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """The retention is the lifecycle's ``DeleteAfterDays`` (counted from creation, cold storage
    included); without it, ``CalculatedLifecycle.DeleteAt`` minus ``CreationDate``; a recovery
    point with neither never expires and is COMPLIANT."""
    required = params.get("requiredRetentionDays")
    required = 35 if required in (None, "") else int(required)
    days: float | None = None
    after = get(item, "configuration.Lifecycle.DeleteAfterDays")
    if isinstance(after, (int, float)) and not isinstance(after, bool):
        days = float(after)
    else:
        delete_at = _as_datetime(get(item, "configuration.CalculatedLifecycle.DeleteAt"))
        created = _as_datetime(get(item, "configuration.CreationDate"))
        if delete_at is not None and created is not None:
            days = (delete_at - created).total_seconds() / 86400
    if days is None:
        return compliant("the recovery point has no expiry")
    if days < required:
        return non_compliant(f"the recovery point is kept {days:g} days (< {required})")
    return compliant(f"the recovery point is kept {days:g} days (>= {required})")


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
