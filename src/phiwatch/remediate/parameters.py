"""Runbook parameters of a finding: translated from its item and its rule's parameters
(:func:`runbook_parameters`), and checked before a run (:func:`parameter_problem`)."""

from __future__ import annotations

import re
from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.remediate.modes import region_of
from phiwatch.remediate.results import Target
from phiwatch.runbooks.document import RunbookError

#: runbook -> parameter -> (other parameter, value): parameters a runbook declares optional (SSM has
#: no conditional requirement) but needs when the other parameter has that value
NEEDED_WHEN: dict[str, dict[str, tuple[str, str]]] = {
    "phiwatch-EnableVpcFlowLogs": {
        "DeliverLogsPermissionArn": ("LogDestinationType", "cloud-watch-logs"),
        "LogDestination": ("LogDestinationType", "s3"),
    },
}

# CloudWatch Logs' allowed retention values (days)
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def _open_ingress_ports(rule_id: str, params: dict[str, Any]) -> dict[str, Any]:
    if rule_id == "restricted-ssh":
        return {"Ports": ["22"]}
    if rule_id == "restricted-common-ports":
        ports = [str(params[k]) for k in sorted(params) if k.startswith("blockedPort") and params[k] is not None]
        return {"Ports": ports} if ports else {}
    if rule_id == "vpc-sg-open-only-to-authorized-ports":
        return {"Ports": ["all"]}
    return {}


def _retention(params: dict[str, Any]) -> dict[str, Any]:
    minimum = params.get("MinRetentionTime", params.get("minRetentionTime"))
    if minimum is None:
        return {}
    return {"RetentionInDays": next((d for d in LOG_RETENTION_DAYS if d >= int(minimum)), LOG_RETENTION_DAYS[-1])}


def _kms_key(params: dict[str, Any]) -> dict[str, Any]:
    keys = params.get("kmsKeyArns")
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    # SSE-KMS with the given key, else the AWS managed key for S3 (any KMS key satisfies the rule)
    return {"KmsKeyId": keys[0] if keys else "alias/aws/s3"}


#: rule id -> runbook parameters derived from the rule's parameters (where names do not simply match)
RULE_PARAMETERS: dict[str, Any] = {
    "restricted-ssh": lambda item, p: _open_ingress_ports("restricted-ssh", p),
    "restricted-common-ports": lambda item, p: _open_ingress_ports("restricted-common-ports", p),
    "vpc-sg-open-only-to-authorized-ports": lambda item, p: _open_ingress_ports("vpc-sg-open-only-to-authorized-ports", p),
    # each rule deactivates only the keys it judges: old keys, or unused ones (0 = no limit)
    "access-keys-rotated": lambda item, p: {"MaxCredentialUsageAge": 0},
    "iam-user-unused-credentials-check": lambda item, p: {"MaxAccessKeyAge": 0},
    "s3-default-encryption-kms": lambda item, p: _kms_key(p),
    "cw-loggroup-retention-period-check": lambda item, p: _retention(p),
}

#: resource type -> runbook parameters that depend on it
TYPE_PARAMETERS: dict[str, dict[str, Any]] = {
    "AWS::RDS::DBSnapshot": {"SnapshotType": "DBSnapshot"},
    "AWS::RDS::DBClusterSnapshot": {"SnapshotType": "DBClusterSnapshot"},
}


def runbook_parameters(
    doc: Any, item: ConfigurationItem, rule_params: dict[str, Any], default_region: str, rule_id: str | None = None
) -> dict[str, Any]:
    """The runbook's parameters for this finding.

    From the item: ``ResourceId`` (AWS Config's id), ``AccountId``, ``Region`` (the item's, the
    default region for account-global items), ``ResourceName``, ``ResourceArn``, ``ResourceType``,
    and ``UserName`` (an IAM user's name); :data:`TYPE_PARAMETERS` by resource type. From the
    rule: :data:`RULE_PARAMETERS` where a rule needs a translation (ports of the open-ingress
    rules, which keys an access-key rule deactivates, the KMS key), then every rule parameter
    whose name matches a runbook parameter (exactly, or but for the case of the first letter:
    ``targetBucket`` fills ``TargetBucket``) and is set. Only parameters the runbook declares
    are passed; the others keep the runbook's defaults.
    """
    declared = set(doc.parameters)
    base: dict[str, Any] = {
        "ResourceId": item.resourceId,
        "AccountId": item.accountId,
        "Region": region_of(item, default_region),
        "ResourceName": item.resourceName,
        "ResourceArn": item.arn,
        "ResourceType": item.resourceType,
    }
    if item.resourceType == "AWS::IAM::User":
        base["UserName"] = item.resourceName
    base.update(TYPE_PARAMETERS.get(item.resourceType, {}))
    if rule_id in RULE_PARAMETERS:
        base.update(RULE_PARAMETERS[rule_id](item, rule_params or {}))
    values: dict[str, Any] = {}
    for name, value in base.items():
        if name in declared and value not in (None, ""):
            values[name] = value
    lowered = {n[:1].lower() + n[1:]: n for n in declared}
    for name, value in (rule_params or {}).items():
        if value is None:
            continue
        target = name if name in declared else lowered.get(name[:1].lower() + name[1:])
        if target is not None and target not in values:
            values[target] = value
    return values


def parameter_problem(doc: Any, params: dict[str, Any], target: Target, rule: Any, verb: str = "plan") -> str | None:
    """Why the runbook cannot run with this finding's parameters (each one required and not
    given, or invalid, and where the policy gives it), or None."""
    head = f"cannot {verb} {target.runbook_id} for finding {target.finding_id[:12]} ({target.rule_id})"
    where = f"remediation.rules.{target.rule_id}.parameters"
    missing = {name: "" for name, spec in doc.parameters.items() if spec.required and params.get(name) in (None, "")}
    for name, (other, value) in NEEDED_WHEN.get(target.runbook_id, {}).items():
        spec = doc.parameters.get(name)
        given = params.get(other, doc.parameters[other].default if other in doc.parameters else None)
        if spec is not None and given == value and params.get(name, spec.default) in (None, ""):
            missing[name] = f" when {other} is {value}"
    if missing:
        rule_names = {n[:1].lower() + n[1:]: n for n in (getattr(rule, "parameters", None) or {})}
        hints = []
        for name, condition in missing.items():
            spec = doc.parameters[name]
            hint = f"runbook parameter {name} ({spec.type}) is required{condition} and not given"
            if spec.description:
                hint += f" [{re.sub(r'^[(]Required[^)]*[)] ', '', spec.description).rstrip('.')}]"
            hints.append(hint)
        alternatives = [
            f"rules.{target.rule_id}.parameters.{rule_names[n[:1].lower() + n[1:]]}" for n in missing if n[:1].lower() + n[1:] in rule_names
        ]
        return (
            f"{head}: {'; '.join(hints)}. Give it in the policy file (--policy FILE or PHIWATCH_POLICY) under "
            + ", ".join(f"{where}.{n}" for n in missing)
            + (f" (or the rule's parameter {', '.join(alternatives)})" if alternatives else "")
        )
    try:
        doc.bind(params)
    except RunbookError as exc:
        return f"{head}: {exc}. Check {where} in the policy file (--policy FILE or PHIWATCH_POLICY)"
    return None
