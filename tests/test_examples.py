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
    custom = {r.id for r in rules.values() if r.pack not in ("hipaa", "hipaa-extras")}
    assert len(custom) >= 2, custom  # the Python and the YAML example
    assert {r.name: r.channel for r in policy.notifications} == {"security-team": "sns", "siem": "webhook"}
    assert policy.remediation.mode == "dry-run"
    assert policy.remediation.rules["ec2-ebs-encryption-by-default"].mode == "auto"
