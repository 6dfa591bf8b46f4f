"""AWS Network Firewall rules: AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.networkfirewall`: each ``configuration`` is the
describe call's answer (``Firewall``/``FirewallStatus``, ``FirewallPolicyResponse``/``FirewallPolicy``,
``RuleGroupResponse``/``RuleGroup``); when that call failed the item holds only the listing element
and the rules report "could not check".

Decisions where AWS's documentation leaves room:

* netfw-multi-az-enabled: the zones are those of ``FirewallStatus.SyncStates`` (one entry per zone
  with a firewall endpoint); when AWS gives none (a firewall still being provisioned, or an
  emulator), the zones of the firewall's subnets as recorded (``AWS::EC2::Subnet`` items), and
  "could not check" when a subnet is not recorded. Without ``availabilityZones`` more than one zone
  is required; with it, at least that many.
* netfw-policy-default-action-*: the parameter lists the allowed standard actions (``aws:pass``,
  ``aws:drop``, ``aws:forward_to_sfe``; at most two). The policy's standard action (its one
  ``aws:`` entry; custom action names are ignored) must be one of them. The parameter is required:
  AWS does not deploy the rule without it, and phiwatch does not run it without it.
* netfw-stateless-rule-group-not-empty: a stateful rule group is NOT_APPLICABLE; the rules are
  counted in ``RulesSource.StatelessRulesAndCustomActions.StatelessRules`` (``NumberOfRules`` when
  the rule group's body is not recorded).
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.networkfirewall import FIREWALL, FIREWALL_POLICY, RULE_GROUP
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, not_applicable, rule

CONF = "configuration."
SUBNET = "AWS::EC2::Subnet"


def _zones(item: ConfigurationItem, ctx: RuleContext) -> tuple[set[str] | None, str]:
    """(the firewall's Availability Zones, why they are unknown)."""
    synced = get(item, CONF + "FirewallStatus.SyncStates") or {}
    if isinstance(synced, dict) and synced:
        return set(synced), ""
    subnets = [str(m["SubnetId"]) for m in get(item, CONF + "Firewall.SubnetMappings") or [] if isinstance(m, dict) and m.get("SubnetId")]
    if not subnets:
        return set(), ""
    recorded = {
        s.resourceId: get(s, CONF + "AvailabilityZone") for s in ctx.items(SUBNET, account_id=item.accountId, region=item.awsRegion)
    }
    unknown = [s for s in subnets if not recorded.get(s)]
    if unknown:
        return None, f"could not check: the Availability Zone of subnet {', '.join(sorted(unknown)[:3])} is not recorded"
    return {str(recorded[s]) for s in subnets}, ""


@rule(
    "netfw-multi-az-enabled",
    reads={CONF + "Firewall": "DescribeFirewall"},
    aws_identifier="NETFW_MULTI_AZ_ENABLED",
    service="AWS Network Firewall",
    resource_types=(FIREWALL,),
    trigger="change",
    severity="medium",
    compliant_when="The firewall has endpoints in more than one Availability Zone (at least availabilityZones when set).",
    parameters={"availabilityZones": ("int", None)},
)
def netfw_multi_az_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    zones, reason = _zones(item, ctx)
    if zones is None:
        return insufficient(reason)
    wanted = params.get("availabilityZones")
    wanted = int(wanted.strip()) if isinstance(wanted, str) and wanted.strip().isdigit() else wanted
    if isinstance(wanted, int) and wanted > 0:
        if len(zones) < wanted:
            return non_compliant(f"deployed in {len(zones)} Availability Zone(s), fewer than availabilityZones {wanted}")
    elif len(zones) < 2:
        return non_compliant(f"deployed in {len(zones)} Availability Zone(s)")
    return compliant(f"deployed in {len(zones)} Availability Zones ({', '.join(sorted(zones))})")


def _default_action(item: ConfigurationItem, key: str, param: str, params: dict[str, Any]) -> Result | None:
    allowed = {a.lower() for a in csv_list(params.get(param))}
    if not allowed:
        return None
    actions = [str(a) for a in get(item, f"{CONF}FirewallPolicy.{key}") or []]
    standard = [a.lower() for a in actions if a.lower().startswith("aws:")]
    if not standard:
        return non_compliant(f"the policy has no standard {key} action")
    outside = sorted(set(standard) - allowed)
    if outside:
        return non_compliant(f"{key} is {', '.join(outside)}, not one of {param}")
    return compliant(f"{key} is {', '.join(standard)}")


@rule(
    "netfw-policy-default-action-fragment-packets",
    reads={CONF + "FirewallPolicy": "DescribeFirewallPolicy"},
    aws_identifier="NETFW_POLICY_DEFAULT_ACTION_FRAGMENT_PACKETS",
    service="AWS Network Firewall",
    resource_types=(FIREWALL_POLICY,),
    trigger="change",
    severity="medium",
    compliant_when="The firewall policy's stateless default action for fragmented packets is one of statelessFragmentDefaultActions.",
    parameters={"statelessFragmentDefaultActions": ("str", REQUIRED)},
)
def netfw_policy_default_action_fragment_packets(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    return _default_action(item, "StatelessFragmentDefaultActions", "statelessFragmentDefaultActions", params)


@rule(
    "netfw-policy-default-action-full-packets",
    reads={CONF + "FirewallPolicy": "DescribeFirewallPolicy"},
    aws_identifier="NETFW_POLICY_DEFAULT_ACTION_FULL_PACKETS",
    service="AWS Network Firewall",
    resource_types=(FIREWALL_POLICY,),
    trigger="change",
    severity="medium",
    compliant_when="The firewall policy's stateless default action for full packets is one of statelessDefaultActions.",
    parameters={"statelessDefaultActions": ("str", REQUIRED)},
)
def netfw_policy_default_action_full_packets(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    return _default_action(item, "StatelessDefaultActions", "statelessDefaultActions", params)


@rule(
    "netfw-policy-rule-group-associated",
    reads={CONF + "FirewallPolicy": "DescribeFirewallPolicy"},
    aws_identifier="NETFW_POLICY_RULE_GROUP_ASSOCIATED",
    service="AWS Network Firewall",
    resource_types=(FIREWALL_POLICY,),
    trigger="change",
    severity="medium",
    compliant_when="The firewall policy references at least one stateful or stateless rule group.",
)
def netfw_policy_rule_group_associated(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    policy = get(item, CONF + "FirewallPolicy") or {}
    stateless = len(policy.get("StatelessRuleGroupReferences") or [])
    stateful = len(policy.get("StatefulRuleGroupReferences") or [])
    if stateless + stateful == 0:
        return non_compliant("the policy has no stateful or stateless rule group")
    return compliant(f"the policy has {stateless} stateless and {stateful} stateful rule group(s)")


@rule(
    "netfw-stateless-rule-group-not-empty",
    reads={CONF + "RuleGroupResponse": "DescribeRuleGroup"},
    aws_identifier="NETFW_STATELESS_RULE_GROUP_NOT_EMPTY",
    service="AWS Network Firewall",
    resource_types=(RULE_GROUP,),
    trigger="change",
    severity="medium",
    compliant_when="The stateless rule group contains at least one rule.",
)
def netfw_stateless_rule_group_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    kind = str(get(item, CONF + "RuleGroupResponse.Type") or "").upper()
    if kind != "STATELESS":
        return not_applicable(f"the rule group is {kind.lower() or 'of no recorded type'}, not stateless")
    rules = get(item, CONF + "RuleGroup.RulesSource.StatelessRulesAndCustomActions.StatelessRules")
    count = len(rules) if isinstance(rules, list) else int(get(item, CONF + "RuleGroupResponse.NumberOfRules") or 0)
    if count == 0:
        return non_compliant("the stateless rule group has no rules")
    return compliant(f"the stateless rule group has {count} rule(s)")
