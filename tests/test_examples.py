"""The shipped examples stay valid: the example policy loads, its custom rules register, and its
routes and remediation modes mean what its comments say."""

from __future__ import annotations

from pathlib import Path

from phiwatch.policy import load_policy
from phiwatch.rules.active import active_rules, resolve_rules

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_example_policy_loads_with_its_custom_rules():
    policy = load_policy(str(EXAMPLES / "policy.yaml"))
    rules = resolve_rules(policy)
    active = {a.rule.id: a for a in active_rules(policy, rules)}
    assert "s3-bucket-replication-enabled" not in active  # disabled in the example
    assert active["restricted-common-ports"].params["blockedPort1"] == 22
    custom = {r.id for r in rules.values() if r.pack == "custom"}
    assert len(custom) >= 2, custom  # the Python and the YAML example
    assert {r.name: r.channel for r in policy.notifications} == {"security-team": "sns", "siem": "webhook"}
    assert policy.remediation.mode == "dry-run"
    assert policy.remediation.rules["ec2-ebs-encryption-by-default"].mode == "auto"


def test_example_policy_runs_the_managed_rules_the_guidance_names():
    """AWS Config's healthcare guidance: encrypted PHI volumes, no orphaned Elastic IPs, the tags an
    audit needs, PROD instances in the hardened VPC."""
    from phiwatch.model import utcnow
    from phiwatch.rules.active import run_rule
    from phiwatch.rules.base import RuleContext
    from rule_runner import built_item

    policy = load_policy(str(EXAMPLES / "policy.yaml"))
    active = {a.rule.id: a for a in active_rules(policy, resolve_rules(policy))}
    assert {"eip-attached", "required-tags", "encrypted-volumes", "ec2-instances-in-vpc"} <= set(active)
    assert active["encrypted-volumes"].scope.tags == {"PHI": "Yes"}
    tags = active["required-tags"]
    assert "AWS::EC2::Instance" in tags.scope.resource_types and not tags.scope.matches(built_item("AWS::SNS::Topic"))
    volume = built_item("AWS::EC2::Volume", {"VolumeId": "vol-1", "Encrypted": True})
    volume.tags = {"PHI": "Yes", "Environment": "PROD"}  # no InstanceOwnerEmail
    result = run_rule(tags, volume, RuleContext(now=utcnow()))
    assert result is not None and result.compliance.value == "NON_COMPLIANT" and "InstanceOwnerEmail" in result.annotation
