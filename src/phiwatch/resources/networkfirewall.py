"""AWS Network Firewall: firewalls (AWS::NetworkFirewall::Firewall), firewall policies
(AWS::NetworkFirewall::FirewallPolicy) and rule groups (AWS::NetworkFirewall::RuleGroup), regional.

Item layout (resourceId and resourceName the resource's name, arn its ARN):

* ``AWS::NetworkFirewall::Firewall`` (ListFirewalls, then DescribeFirewall): ``configuration`` =
  ``{"Firewall": {...}, "FirewallStatus": {...}}`` as DescribeFirewall returns them. Keys rules
  read: ``Firewall.SubnetMappings`` (``[{"SubnetId", "IPAddressType"}]``), ``Firewall.FirewallPolicyArn``,
  ``FirewallStatus.SyncStates`` (one entry per Availability Zone the firewall has an endpoint in).
* ``AWS::NetworkFirewall::FirewallPolicy`` (ListFirewallPolicies, then DescribeFirewallPolicy):
  ``configuration`` = ``{"FirewallPolicyResponse": {...}, "FirewallPolicy": {...}}``. Keys rules read:
  ``FirewallPolicy.StatelessDefaultActions``, ``FirewallPolicy.StatelessFragmentDefaultActions``
  (``aws:pass`` | ``aws:drop`` | ``aws:forward_to_sfe`` plus custom action names),
  ``FirewallPolicy.StatelessRuleGroupReferences`` and ``FirewallPolicy.StatefulRuleGroupReferences``
  (``[{"ResourceArn", ...}]``).
* ``AWS::NetworkFirewall::RuleGroup`` (ListRuleGroups of the account, then DescribeRuleGroup):
  ``configuration`` = ``{"RuleGroupResponse": {...}, "RuleGroup": {...}}``. Keys rules read:
  ``RuleGroupResponse.Type`` (``STATELESS`` | ``STATEFUL``), ``RuleGroupResponse.NumberOfRules``,
  ``RuleGroup.RulesSource.StatelessRulesAndCustomActions.StatelessRules``.

When the describe call failed, ``configuration`` is the listing element (``Name``/``Arn``, or
``FirewallName``/``FirewallArn``) and the error is on the item. The ``UpdateToken`` of each answer
is not recorded (it changes with every update). ``tags``: the described resource's ``Tags``.
No account-level keys; collected by the generic collector from these specs.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on, relation

FIREWALL = "AWS::NetworkFirewall::Firewall"
FIREWALL_POLICY = "AWS::NetworkFirewall::FirewallPolicy"
RULE_GROUP = "AWS::NetworkFirewall::RuleGroup"

SOURCE = "network-firewall.amazonaws.com"


def _arn_name(kind: str) -> R:
    """The resource name in a ``resourceArn`` of ``kind`` (``firewall``, ``firewall-policy``, ``state(less|ful)-rulegroup``)."""
    return R("requestParameters.resourceArn", rf"^arn:[^:]+:network-firewall:[^:]*:[^:]*:{kind}/(.+)$")


def _firewall_relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    firewall = configuration.get("Firewall") or {}
    out = relation("AWS::EC2::VPC", firewall.get("VpcId"), "Is contained in Vpc")
    out += relation(FIREWALL_POLICY, firewall.get("FirewallPolicyArn"), "Is associated with FirewallPolicy")
    return out + [
        r
        for mapping in firewall.get("SubnetMappings") or []
        for r in relation("AWS::EC2::Subnet", (mapping or {}).get("SubnetId"), "Is attached to Subnet")
    ]


def _policy_relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    policy = configuration.get("FirewallPolicy") or {}
    references = (policy.get("StatelessRuleGroupReferences") or []) + (policy.get("StatefulRuleGroupReferences") or [])
    return [r for ref in references for r in relation(RULE_GROUP, (ref or {}).get("ResourceArn"), "Is associated with RuleGroup")]


SERVICE = Service(
    "networkfirewall",
    resources=(
        ResourceSpec(
            FIREWALL,
            client="network-firewall",
            listing=Call("ListFirewalls", "network-firewall:ListFirewalls", result="Firewalls"),
            id="FirewallName",
            arn="FirewallArn",
            describe=Call("DescribeFirewall", "network-firewall:DescribeFirewall", {"FirewallArn": "FirewallArn"}),
            gone=("ResourceNotFoundException",),
            tags="Firewall.Tags",
            drop=("UpdateToken",),
            relationships=_firewall_relationships,
            events=(
                on(
                    SOURCE,
                    (
                        "CreateFirewall DeleteFirewall AssociateSubnets DisassociateSubnets AssociateFirewallPolicy "
                        "UpdateFirewallDeleteProtection UpdateFirewallDescription UpdateFirewallPolicyChangeProtection "
                        "UpdateSubnetChangeProtection UpdateFirewallEncryptionConfiguration UpdateLoggingConfiguration "
                        "UpdateAvailabilityZoneChangeProtection AssociateAvailabilityZones DisassociateAvailabilityZones"
                    ),
                    P("requestParameters.firewallName"),
                    P("requestParameters.firewallArn"),
                    P("responseElements.firewall.firewallArn"),
                ),
                on(SOURCE, "TagResource UntagResource", _arn_name("firewall"), optional=True),
            ),
        ),
        ResourceSpec(
            FIREWALL_POLICY,
            client="network-firewall",
            listing=Call("ListFirewallPolicies", "network-firewall:ListFirewallPolicies", result="FirewallPolicies"),
            id="Name",
            arn="Arn",
            describe=Call("DescribeFirewallPolicy", "network-firewall:DescribeFirewallPolicy", {"FirewallPolicyArn": "Arn"}),
            gone=("ResourceNotFoundException",),
            tags="FirewallPolicyResponse.Tags",
            drop=("UpdateToken",),
            relationships=_policy_relationships,
            events=(
                on(
                    SOURCE,
                    "CreateFirewallPolicy UpdateFirewallPolicy DeleteFirewallPolicy",
                    P("requestParameters.firewallPolicyName"),
                    P("requestParameters.firewallPolicyArn"),
                    P("responseElements.firewallPolicyResponse.firewallPolicyArn"),
                ),
                on(SOURCE, "TagResource UntagResource", _arn_name("firewall-policy"), optional=True),
            ),
        ),
        ResourceSpec(
            RULE_GROUP,
            client="network-firewall",
            listing=Call("ListRuleGroups", "network-firewall:ListRuleGroups", result="RuleGroups"),
            id="Name",
            arn="Arn",
            describe=Call("DescribeRuleGroup", "network-firewall:DescribeRuleGroup", {"RuleGroupArn": "Arn"}),
            gone=("ResourceNotFoundException",),
            tags="RuleGroupResponse.Tags",
            drop=("UpdateToken",),
            events=(
                on(
                    SOURCE,
                    "CreateRuleGroup UpdateRuleGroup DeleteRuleGroup",
                    P("requestParameters.ruleGroupName"),
                    P("requestParameters.ruleGroupArn"),
                    P("responseElements.ruleGroupResponse.ruleGroupArn"),
                ),
                on(SOURCE, "TagResource UntagResource", _arn_name("state(?:less|ful)-rulegroup"), optional=True),
            ),
        ),
    ),
)
