"""DynamoDB rules: the HIPAA pack's and other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.dynamodb`: ``configuration`` is DescribeTable's
``Table`` (``{}`` when that call failed), point-in-time recovery and the table's Application
Auto Scaling setup are in ``supplementaryConfiguration``, and the region's account limits
(DescribeLimits) are on the region's ``AWS::::Account`` item. A missing key means its read
failed.

The AWS Backup rules of DynamoDB (``dynamodb-in-backup-plan`` and the others) are in
:mod:`phiwatch.rules.backup`.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.dynamodb import TABLE
from phiwatch.rules.base import (
    Result,
    RuleContext,
    compliant,
    csv_list,
    describe_failure,
    get,
    insufficient,
    non_compliant,
    rule,
)

CONF = "configuration."
SUP = "supplementaryConfiguration."
AUTOSCALING_APIS = ("DescribeScalableTargets", "DescribeScalingPolicies")


@rule(
    "dynamodb-pitr-enabled",
    reads={SUP + "ContinuousBackupsDescription": "DescribeContinuousBackups"},
    aws_identifier="DYNAMODB_PITR_ENABLED",
    service="Amazon DynamoDB",
    resource_types=(TABLE,),
    trigger="change",
    severity="medium",
    compliant_when="Point-in-time recovery is enabled on the DynamoDB table.",
    remediation="phiwatch-EnableDynamoDbPitr",
    aws_runbook="AWSConfigRemediation-EnablePITRForDynamoDbTable",
)
def dynamodb_pitr_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    backups = get(item, SUP + "ContinuousBackupsDescription") or {}
    status = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus")
    if status == "ENABLED":
        return compliant("point-in-time recovery is enabled")
    return non_compliant(f"point-in-time recovery is {str(status or 'disabled').lower()}")


def _number(params: dict, name: str, kind: type) -> Any:
    """A numeric parameter (the pack types these as strings); None when not set."""
    value = params.get(name)
    if value is None or str(value).strip() == "":
        return None
    try:
        return kind(str(value).strip())
    except ValueError as exc:
        raise ValueError(name) from exc


@rule(
    "dynamodb-autoscaling-enabled",
    reads={CONF + "TableName": "DescribeTable"},
    aws_identifier="DYNAMODB_AUTOSCALING_ENABLED",
    service="Amazon DynamoDB",
    resource_types=(TABLE,),
    trigger="periodic",
    severity="low",
    compliant_when="The DynamoDB table (and its GSIs) uses Auto Scaling or on-demand capacity.",
    parameters={
        "minProvisionedReadCapacity": ("str", None),
        "maxProvisionedReadCapacity": ("str", None),
        "targetReadUtilization": ("str", None),
        "minProvisionedWriteCapacity": ("str", None),
        "maxProvisionedWriteCapacity": ("str", None),
        "targetWriteUtilization": ("str", None),
    },
    aws_runbook="AWS-EnableDynamoDbAutoscaling",
)
def dynamodb_autoscaling_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    billing = (get(item, CONF + "BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    if billing == "PAY_PER_REQUEST":
        return compliant("on-demand capacity (PAY_PER_REQUEST)")
    scaling = get(item, SUP + "AutoScaling")
    if scaling is None:
        failed = [api for api in AUTOSCALING_APIS if api in item.failed_apis()]
        return insufficient(describe_failure(item, failed)) if failed else None
    try:
        wanted = {
            "Read": (
                _number(params, "minProvisionedReadCapacity", int),
                _number(params, "maxProvisionedReadCapacity", int),
                _number(params, "targetReadUtilization", float),
            ),
            "Write": (
                _number(params, "minProvisionedWriteCapacity", int),
                _number(params, "maxProvisionedWriteCapacity", int),
                _number(params, "targetWriteUtilization", float),
            ),
        }
    except ValueError as exc:
        return insufficient(f"parameter {exc} is not a number")
    name = get(item, CONF + "TableName")
    resources = [(f"table/{name}", "table", "table")]
    for index in get(item, CONF + "GlobalSecondaryIndexes") or []:
        resources.append((f"table/{name}/index/{index.get('IndexName')}", "index", f"index {index.get('IndexName')}"))
    targets = {(t.get("ResourceId"), t.get("ScalableDimension")): t for t in scaling.get("ScalableTargets") or []}
    policies: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for p in scaling.get("ScalingPolicies") or []:
        policies.setdefault((p.get("ResourceId"), p.get("ScalableDimension")), []).append(p)
    problems = []
    for resource_id, kind, label in resources:
        for direction, (low, high, utilization) in wanted.items():
            dimension = f"dynamodb:{kind}:{direction}CapacityUnits"
            target = targets.get((resource_id, dimension))
            found = policies.get((resource_id, dimension), [])
            what = f"{label} {direction.lower()} capacity"
            if target is None or not found:
                problems.append(f"{what} has no auto scaling")
                continue
            suspended = target.get("SuspendedState") or {}
            if suspended.get("DynamicScalingInSuspended") or suspended.get("DynamicScalingOutSuspended"):
                problems.append(f"{what}: dynamic scaling is suspended")
            if low is not None and target.get("MinCapacity") != low:
                problems.append(f"{what}: minimum {target.get('MinCapacity')}, not {low}")
            if high is not None and target.get("MaxCapacity") != high:
                problems.append(f"{what}: maximum {target.get('MaxCapacity')}, not {high}")
            if utilization is not None and not any(
                p.get("TargetValue") is not None and float(p["TargetValue"]) == utilization for p in found
            ):
                problems.append(f"{what}: no target tracking policy at {utilization:g}% utilization")
    if problems:
        return non_compliant("; ".join(problems[:4]) + (f" (+{len(problems) - 4} more)" if len(problems) > 4 else ""))
    return compliant("provisioned capacity with auto scaling on reads and writes")


@rule(
    "dynamodb-throughput-limit-check",
    reads={CONF + "dynamodbLimits": "DescribeLimits"},
    aws_identifier="DYNAMODB_THROUGHPUT_LIMIT_CHECK",
    service="Amazon DynamoDB",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="low",
    compliant_when="Provisioned DynamoDB RCU/WCU in the account stay below 80% (docs default) of the account limits.",
    parameters={"accountRCUThresholdPercentage": ("int", 80), "accountWCUThresholdPercentage": ("int", 80)},
)
def dynamodb_throughput_limit_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """One verdict per account and region (the region's account item): DynamoDB's account limits are
    regional, so are the tables summed (tables and their GSIs). A threshold is NON_COMPLIANT once it
    is reached (provisioned units at or above the percentage), as AWS's page says of both parameters."""
    limits = get(item, CONF + "dynamodbLimits") or {}
    totals = {"Read": 0, "Write": 0}
    unreadable = []
    for table in ctx.items(TABLE, account_id=item.accountId, region=item.awsRegion):
        if "DescribeTable" in table.failed_apis() or not table.configuration:
            unreadable.append(table.resourceId)
            continue
        throughputs = [get(table, CONF + "ProvisionedThroughput") or {}]
        throughputs += [i.get("ProvisionedThroughput") or {} for i in get(table, CONF + "GlobalSecondaryIndexes") or []]
        for direction in totals:
            totals[direction] += sum(int(t.get(f"{direction}CapacityUnits") or 0) for t in throughputs)
    if unreadable:
        return insufficient(f"could not check: DescribeTable failed for {len(unreadable)} table(s) in the region")
    problems, parts = [], []
    for direction, unit in (("Read", "RCU"), ("Write", "WCU")):
        limit = limits.get(f"AccountMax{direction}CapacityUnits")
        threshold = params.get(f"account{unit}ThresholdPercentage")
        if threshold is None:
            threshold = 80
        if not limit:
            return insufficient(f"DescribeLimits gave no AccountMax{direction}CapacityUnits")
        percent = 100.0 * totals[direction] / float(limit)
        parts.append(f"{totals[direction]} of {limit} {unit} ({percent:.1f}%)")
        if percent >= threshold:  # AWS: "when this value is reached, the rule is marked as noncompliant"
            problems.append(
                f"provisioned {unit} {totals[direction]} is {percent:.1f}% of the account limit {limit}, at or above {threshold}%"
            )
    if problems:
        return non_compliant("; ".join(problems))
    return compliant("provisioned " + ", ".join(parts))


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------

#: SSEDescription.Status values under which the table is encrypted with its KMS key
KMS_IN_USE = ("ENABLED", "ENABLING", "UPDATING")


@rule(
    "dynamodb-table-encryption-enabled",
    reads={CONF + "TableName": "DescribeTable"},
    aws_identifier="DYNAMODB_TABLE_ENCRYPTION_ENABLED",
    service="Amazon DynamoDB",
    resource_types=(TABLE,),
    trigger="change",
    severity="medium",
    compliant_when="The DynamoDB table's server-side encryption (SSEDescription) status is ENABLED or ENABLING.",
)
def dynamodb_table_encryption_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS reads the status of the table's SSEDescription, which DynamoDB gives only for encryption with
    a KMS key (AWS managed or customer managed). A table with the default AWS owned key has none and
    is NON_COMPLIANT, as in AWS Config (its data is still encrypted at rest; the annotation says so).
    Any status other than ENABLED or ENABLING (UPDATING, DISABLING, DISABLED) is NON_COMPLIANT, as the
    page says."""
    sse = get(item, CONF + "SSEDescription") or {}
    status = str(sse.get("Status") or "")
    if not status:
        return non_compliant("no SSEDescription: encrypted only with the AWS owned key")
    if status in ("ENABLED", "ENABLING"):
        return compliant(f"server-side encryption is {status.lower()}")
    return non_compliant(f"server-side encryption status is {status}")


@rule(
    "dynamodb-table-encrypted-kms",
    reads={CONF + "TableName": "DescribeTable"},
    aws_identifier="DYNAMODB_TABLE_ENCRYPTED_KMS",
    service="Amazon DynamoDB",
    resource_types=(TABLE,),
    trigger="change",
    severity="medium",
    compliant_when="The DynamoDB table is encrypted with an AWS KMS key (one of kmsKeyArns when set).",
    parameters={"kmsKeyArns": ("str", None)},
)
def dynamodb_table_encrypted_kms(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """SSEType KMS with status ENABLED, ENABLING or UPDATING (a key change) is encryption with KMS; the
    default AWS owned key (no SSEDescription) is not. kmsKeyArns entries are matched against
    KMSMasterKeyArn, by ARN or key id."""
    sse = get(item, CONF + "SSEDescription") or {}
    status = str(sse.get("Status") or "")
    if not sse:
        return non_compliant("encrypted with the AWS owned key, not a KMS key")
    if sse.get("SSEType") != "KMS" or status not in KMS_IN_USE:
        return non_compliant(f"not encrypted with a KMS key (SSE {sse.get('SSEType') or 'type unknown'}, status {status or 'unknown'})")
    keys = csv_list(params.get("kmsKeyArns"))
    key = str(sse.get("KMSMasterKeyArn") or "")
    if keys and not any(key == k or key.endswith("/" + k) for k in keys):
        return non_compliant("encrypted with a KMS key that is not one of kmsKeyArns")
    return compliant("encrypted with a KMS key")
