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

import re
from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ec2 import INSTANCE
from phiwatch.resources.ssm import ASSOCIATION_COMPLIANCE, DOCUMENT, MANAGED_INSTANCE, PATCH_COMPLIANCE
from phiwatch.rules._account import account_value
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule


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


# -- the managed node's inventory and platform (AWS Config managed rules outside the HIPAA pack) --------
INVENTORY = "supplementaryConfiguration.Inventory"


def _version(text: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(text or "")))


def _applications(value: Any) -> list[tuple[str, str | None]]:
    """applicationNames ``Chrome:0.5.3, Firefox`` as ``[("Chrome", "0.5.3"), ("Firefox", None)]``."""
    out = []
    for entry in csv_list(value):
        name, _, version = entry.partition(":")
        if name.strip():
            out.append((name.strip(), version.strip() or None))
    return out


def _other_platform(item: ConfigurationItem, params: dict) -> Result | None:
    wanted = (params.get("platformType") or "").strip()
    actual = get(item, "configuration.PlatformType") or ""
    if wanted and wanted.lower() != str(actual).lower():
        return not_applicable(f"platform {actual or 'unknown'} is not {wanted}")
    return None


def _installed(item: ConfigurationItem) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for app in (get(item, INVENTORY) or {}).get("Applications") or []:
        out.setdefault(str(app.get("Name")), []).append(str(app.get("Version") or ""))
    return out


@rule(
    "ec2-managedinstance-applications-blacklisted",
    reads={INVENTORY: "GetInventory"},
    aws_identifier="EC2_MANAGEDINSTANCE_APPLICATIONS_BLACKLISTED",
    service="AWS Systems Manager",
    resource_types=(MANAGED_INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when=(
        "None of applicationNames is installed on the managed node (an application given with ':version' only at that "
        "version or older); with platformType, nodes of other platforms are not applicable."
    ),
    parameters={"applicationNames": ("str", REQUIRED), "platformType": ("str", None)},
)
def ec2_managedinstance_applications_blacklisted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Names are matched exactly (no wildcards, as AWS documents); AWS: "Newer versions will not be denylisted",
    so ``Chrome:0.5.3`` denies 0.5.3 and older. Versions compare by their numbers. applicationNames is
    required: the rule does not run without it."""
    wanted = _applications(params.get("applicationNames"))
    if not wanted:
        return None
    other = _other_platform(item, params)
    if other is not None:
        return other
    installed = _installed(item)
    found = [
        name
        for name, version in wanted
        if name in installed and (version is None or any(_version(v) <= _version(version) for v in installed[name]))
    ]
    if found:
        return non_compliant(f"denied application(s) installed: {', '.join(found)}")
    return compliant("no denied application is installed")


@rule(
    "ec2-managedinstance-applications-required",
    reads={INVENTORY: "GetInventory"},
    aws_identifier="EC2_MANAGEDINSTANCE_APPLICATIONS_REQUIRED",
    service="AWS Systems Manager",
    resource_types=(MANAGED_INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when=(
        "Every application of applicationNames is installed on the managed node (at least at the ':version' given); "
        "with platformType, nodes of other platforms are not applicable."
    ),
    parameters={"applicationNames": ("str", REQUIRED), "platformType": ("str", None)},
)
def ec2_managedinstance_applications_required(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Names are matched exactly; a version given is the minimum acceptable one (versions compare by their numbers).
    applicationNames is required: the rule does not run without it."""
    wanted = _applications(params.get("applicationNames"))
    if not wanted:
        return None
    other = _other_platform(item, params)
    if other is not None:
        return other
    installed = _installed(item)
    missing = [
        name if version is None else f"{name}:{version}"
        for name, version in wanted
        if name not in installed or (version is not None and not any(_version(v) >= _version(version) for v in installed[name]))
    ]
    if missing:
        return non_compliant(f"required application(s) missing or too old: {', '.join(missing)}")
    return compliant("every required application is installed")


@rule(
    "ec2-managedinstance-inventory-blacklisted",
    reads={INVENTORY: "GetInventory"},
    aws_identifier="EC2_MANAGEDINSTANCE_INVENTORY_BLACKLISTED",
    service="AWS Systems Manager",
    resource_types=(MANAGED_INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when=(
        "Systems Manager collects none of the inventoryNames types (AWS:Network, AWS:WindowsUpdate, ...) for the managed "
        "node; with platformType, nodes of other platforms are not applicable."
    ),
    parameters={"inventoryNames": ("str", REQUIRED), "platformType": ("str", None)},
)
def ec2_managedinstance_inventory_blacklisted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Inventory type names are compared exactly. inventoryNames is required: the rule does not run without it."""
    denied = csv_list(params.get("inventoryNames"))
    if not denied:
        return None
    other = _other_platform(item, params)
    if other is not None:
        return other
    collected = set((get(item, INVENTORY) or {}).get("TypeNames") or [])
    found = [name for name in denied if name in collected]
    if found:
        return non_compliant(f"denied inventory type(s) collected: {', '.join(found)}")
    return compliant("no denied inventory type is collected")


PLATFORM_SETTINGS = (
    ("platformType", "PlatformType"),
    ("platformVersion", "PlatformVersion"),
    ("agentVersion", "AgentVersion"),
    ("platformName", "PlatformName"),
)


@rule(
    "ec2-managedinstance-platform-check",
    reads={},
    aws_identifier="EC2_MANAGEDINSTANCE_PLATFORM_CHECK",
    service="AWS Systems Manager",
    resource_types=(MANAGED_INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="The managed node's platform type (and platformVersion, agentVersion, platformName when given) are the ones given.",
    parameters={
        "platformType": ("str", REQUIRED),
        "platformVersion": ("str", None),
        "agentVersion": ("str", None),
        "platformName": ("str", None),
    },
)
def ec2_managedinstance_platform_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Values are compared without regard to case or surrounding spaces; versions exactly. platformType is required:
    the rule does not run without it."""
    if not (params.get("platformType") or "").strip():
        return None
    wrong = [
        f"{key} is {get(item, f'configuration.{key}') or 'not reported'}, not {params[name]}"
        for name, key in PLATFORM_SETTINGS
        if (params.get(name) or "").strip()
        and str(get(item, f"configuration.{key}") or "").strip().lower() != str(params[name]).strip().lower()
    ]
    if wrong:
        return non_compliant("; ".join(wrong))
    return compliant("the managed node's platform is the one required")
