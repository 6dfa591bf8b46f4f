"""Systems Manager rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.ssm`:

* ``ec2-instance-managed-by-systems-manager`` judges each ``AWS::EC2::Instance`` against the
  account item's ``ssmManagedInstances`` (``{node id: PingStatus}`` per region): a running
  instance must be a managed node whose agent is ``Online``; stopped instances are not judged.
  The ``AWS::SSM::ManagedInstanceInventory`` items themselves get no result.
* ``AWS::SSM::AssociationCompliance`` / ``AWS::SSM::PatchCompliance``: ``configuration.Status``
  COMPLIANT|NON_COMPLIANT and the ``NonCompliantSummary`` counts.
* ``AWS::SSM::Document`` (documents the account owns): ``supplementaryConfiguration.DocumentPermission``
  (``AccountIds`` holding ``"all"`` means public).

Known limit: the managed-instance rule is change-triggered; an agent that stops reporting is
seen when the instance is next re-evaluated (a full scan re-evaluates at once).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ec2 import INSTANCE
from phiwatch.resources.ssm import ASSOCIATION_COMPLIANCE, DOCUMENT, MANAGED_INSTANCE, PATCH_COMPLIANCE
from phiwatch.rules._account import account_value
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, not_applicable, rule


@rule(
    "ec2-instance-managed-by-systems-manager",
    aws_identifier="EC2_INSTANCE_MANAGED_BY_SSM",
    service="Amazon EC2 / EBS",
    resource_types=(
        INSTANCE,
        MANAGED_INSTANCE,
    ),
    trigger="change",
    severity="low",
    compliant_when="The EC2 instance is a Systems Manager managed instance.",
    aws_runbook="AWS-SetupManagedInstance",
)
def ec2_instance_managed_by_systems_manager(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.resourceType != INSTANCE:
        return None
    state = (get(item, "configuration.State") or {}).get("Name")
    if state != "running":
        return not_applicable(f"instance is {state or 'not running'}")
    nodes, failure = account_value(item, ctx, "ssmManagedInstances", ("DescribeInstanceInformation",))
    if failure is not None or not isinstance(nodes, dict):
        return failure
    if item.resourceId not in nodes:
        return non_compliant("running instance is not a Systems Manager managed node")
    ping = nodes[item.resourceId]
    if ping != "Online":
        return non_compliant(f"SSM Agent is not reporting (PingStatus {ping})")
    return compliant("managed by Systems Manager, agent online")


def _compliance(item: ConfigurationItem, what: str) -> Result:
    status = get(item, "configuration.Status")
    if status == "COMPLIANT":
        return compliant(f"{what} compliance is COMPLIANT")
    count = (get(item, "configuration.NonCompliantSummary") or {}).get("NonCompliantCount")
    detail = f" ({count} non-compliant)" if count else ""
    return non_compliant(f"{what} compliance is {status or 'unknown'}{detail}")


@rule(
    "ec2-managedinstance-association-compliance-status-check",
    reads={"configuration.Status": "ListResourceComplianceSummaries"},
    aws_identifier="EC2_MANAGEDINSTANCE_ASSOCIATION_COMPLIANCE_STATUS_CHECK",
    service="Amazon EC2 / EBS",
    resource_types=(ASSOCIATION_COMPLIANCE,),
    trigger="change",
    severity="low",
    compliant_when="The Systems Manager association compliance status of the instance is COMPLIANT.",
)
def ec2_managedinstance_association_compliance_status_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _compliance(item, "association")


@rule(
    "ec2-managedinstance-patch-compliance-status-check",
    reads={"configuration.Status": "ListResourceComplianceSummaries"},
    aws_identifier="EC2_MANAGEDINSTANCE_PATCH_COMPLIANCE_STATUS_CHECK",
    service="Amazon EC2 / EBS",
    resource_types=(PATCH_COMPLIANCE,),
    trigger="change",
    severity="low",
    compliant_when="The Systems Manager patch compliance status of the instance is COMPLIANT.",
    aws_runbook="AWS-PatchInstanceWithRollback",
)
def ec2_managedinstance_patch_compliance_status_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _compliance(item, "patch")


@rule(
    "ssm-document-not-public",
    reads={"supplementaryConfiguration.DocumentPermission": "DescribeDocumentPermission"},
    aws_identifier="SSM_DOCUMENT_NOT_PUBLIC",
    service="AWS Systems Manager",
    resource_types=(DOCUMENT,),
    trigger="periodic",
    severity="critical",
    compliant_when="No Systems Manager document owned by the account ('Self') is shared publicly.",
)
def ssm_document_not_public(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    accounts = (get(item, "supplementaryConfiguration.DocumentPermission") or {}).get("AccountIds") or []
    if any(str(a).lower() == "all" for a in accounts):
        return non_compliant("document is shared publicly (all accounts)")
    if accounts:
        return compliant(f"shared with {len(accounts)} specific account(s), not public")
    return compliant("document is not shared")
