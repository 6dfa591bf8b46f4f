"""CloudFormation rules (AWS Config managed-rule semantics) on stacks.

Items are described in :mod:`phiwatch.resources.cloudformation`: DescribeStacks' element.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.cloudformation import STACK
from phiwatch.rules.base import Result, RuleContext, compliant, get, insufficient, non_compliant, rule

TOPIC_PARAMETERS = ("snsTopic1", "snsTopic2", "snsTopic3", "snsTopic4", "snsTopic5")


@rule(
    "cloudformation-stack-drift-detection-check",
    reads={},
    aws_identifier="CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK",
    service="AWS CloudFormation",
    resource_types=(STACK,),
    trigger="change+periodic",
    severity="medium",
    compliant_when="The stack's last drift detection found it IN_SYNC.",
    parameters={"cloudformationRoleArn": ("str", None)},
)
def cloudformation_stack_drift_detection_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's rule runs DetectStackDrift itself, as ``cloudformationRoleArn``. phiwatch only reads:
    it judges the stack's ``DriftInformation.StackDriftStatus`` as of the last detection anyone ran
    (the parameter is accepted and not used). IN_SYNC is COMPLIANT and DRIFTED NON_COMPLIANT;
    NOT_CHECKED (never detected), UNKNOWN (detection failed) or no drift information at all is
    INSUFFICIENT_DATA: drift cannot be known without a detection."""
    drift = get(item, "configuration.DriftInformation") or {}
    status = str(drift.get("StackDriftStatus") or "NOT_CHECKED")
    checked = drift.get("LastCheckTimestamp")
    when = f" (detected {checked})" if checked else ""
    if status == "IN_SYNC":
        return compliant(f"stack is in sync with its template{when}")
    if status == "DRIFTED":
        return non_compliant(f"stack has drifted from its template{when}")
    return insufficient(f"could not check: drift status is {status}; run drift detection on the stack (phiwatch only reads)")


@rule(
    "cloudformation-stack-notification-check",
    reads={},
    aws_identifier="CLOUDFORMATION_STACK_NOTIFICATION_CHECK",
    service="AWS CloudFormation",
    resource_types=(STACK,),
    trigger="change",
    severity="low",
    compliant_when="The stack sends its events to an SNS topic (one of snsTopic1..5 when any is given).",
    parameters={name: ("str", None) for name in TOPIC_PARAMETERS},
)
def cloudformation_stack_notification_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """With topics given, the stack must notify at least one of them (others may be added)."""
    topics = [str(t) for t in get(item, "configuration.NotificationARNs") or []]
    if not topics:
        return non_compliant("stack sends no event notifications")
    wanted = {str(params[p]).strip() for p in TOPIC_PARAMETERS if params.get(p) and str(params[p]).strip()}
    if wanted and not wanted & set(topics):
        return non_compliant("stack sends event notifications, but to none of the snsTopic parameters")
    return compliant(f"stack sends event notifications to {len(topics)} SNS topic(s)")
