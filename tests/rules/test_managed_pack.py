"""The aws-managed pack: AWS's managed rules by AWS's id, trigger, types and parameters; one rule
listed by several packs; what a policy runs (packs, ``enabled``), and settings naming a rule it
does not run."""

from __future__ import annotations

import pytest
from managed_pack import main as check_pack
from managed_pack import reference

from phiwatch.errors import UsageError
from phiwatch.policy import parse_policy
from phiwatch.rules.active import active_rules, resolve_rules
from phiwatch.rules.registry import catalogue, load_pack_files
from rule_runner import built_item

REFERENCE = {entry["id"]: entry for entry in reference()}
#: phiwatch re-judges these periodically too: the data they read (routes, open ports) can change without an event
ALSO_PERIODIC = {"no-unrestricted-route-to-igw", "vpc-sg-open-only-to-authorized-ports"}
#: parameters AWS's current rule page adds to the 2023 reference
NEWER_PARAMETERS = {"restricted-common-ports": {"blockedPorts"}}


def test_the_pack_file_lists_every_managed_rule_phiwatch_implements():
    assert check_pack(["--check"]) == 0, "run .venv/bin/python tests/rules/managed_pack.py"
    ids = [entry["id"] for entry in load_pack_files()["aws-managed"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) >= 132
    assert "required-tags" in REFERENCE and "eip-attached" in REFERENCE


@pytest.mark.parametrize("rule_id", sorted(e["id"] for e in load_pack_files()["aws-managed"]))
def test_a_managed_rule_has_aws_identifier_trigger_types_and_parameters(rule_id):
    rule, aws = catalogue()[rule_id], REFERENCE[rule_id]
    assert rule.aws_identifier == aws["source_identifier"]
    if aws["trigger"] == "Periodic":
        assert rule.trigger == "periodic"
    elif aws["trigger"] == "Configuration changes":
        assert rule.trigger == ("change+periodic" if rule_id in ALSO_PERIODIC else "change")
    else:
        assert rule.trigger == "change+periodic"
    assert set(aws["resource_types"]) <= set(rule.resource_types)  # phiwatch may read more types than it judges
    assert set(rule.parameters) - NEWER_PARAMETERS.get(rule_id, set()) == {p["name"] for p in aws["parameters"]}
    for param in aws["parameters"]:
        if param["default"] not in (None, ""):
            assert str(rule.parameters[param["name"]].default).lower() == str(param["default"]).lower(), param["name"]


def test_a_rule_of_two_packs_is_one_rule_listed_by_both():
    rules = catalogue()
    shared = rules["s3-bucket-logging-enabled"]
    assert shared.pack == "hipaa" and shared.packs == ("hipaa", "aws-managed")
    assert shared.hipaa_sections  # from the HIPAA pack's mapping
    extra = rules["cmk-backing-key-rotation-enabled"]  # a managed rule outside AWS's HIPAA pack
    assert extra.packs == ("hipaa-extras", "aws-managed")
    assert rules["s3-phi-bucket-object-lock-enabled"].packs == ("hipaa-extras",)  # phiwatch's own: not managed


def _running(text: str) -> set[str]:
    policy = parse_policy(text)
    return {a.rule.id for a in active_rules(policy, resolve_rules(policy))}


def test_packs_and_enabled_decide_what_runs():
    hipaa = _running("packs: [hipaa]\n")
    managed = _running("packs: [aws-managed]\n")
    assert "s3-bucket-logging-enabled" in hipaa & managed
    assert "cmk-backing-key-rotation-enabled" in managed - hipaa
    assert "s3-phi-bucket-object-lock-enabled" not in managed
    # enabled: true runs a rule whatever pack holds it; enabled: false switches it off in every pack
    enabled = _running("packs: [hipaa]\nrules:\n  cmk-backing-key-rotation-enabled: {enabled: true}\n")
    assert enabled - hipaa == {"cmk-backing-key-rotation-enabled"}
    off = _running("packs: [hipaa, aws-managed]\nrules:\n  s3-bucket-logging-enabled: {enabled: false}\n")
    assert "s3-bucket-logging-enabled" not in off and "cmk-backing-key-rotation-enabled" in off


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (
            "packs: [hipaa]\nremediation:\n  rules:\n    cmk-backing-key-rotation-enabled: {mode: auto}\n",
            4,
            "remediation.rules.cmk-backing-key-rotation-enabled",
        ),
        (
            "packs: [hipaa]\nnotifications:\n  - name: keys\n    channel: webhook\n    target: https://hooks.example.org/x\n    when:\n      rules: [cmk-backing-key-rotation-enabled]\n",
            7,
            "notifications.0.when.rules.0",
        ),
        (
            "packs: [hipaa]\nrules:\n  s3-bucket-logging-enabled: {enabled: false}\nremediation:\n  rules:\n"
            "    s3-bucket-logging-enabled: {mode: dry-run}\n",
            6,
            "remediation.rules.s3-bucket-logging-enabled",
        ),
    ],
)
def test_settings_for_a_rule_the_policy_does_not_run_are_errors(text, line, field):
    policy = parse_policy(text, "policy.yaml")
    with pytest.raises(UsageError) as exc:
        resolve_rules(policy)
    assert f"policy.yaml:{line}: {field}" in str(exc.value)
    assert "does not run rule" in str(exc.value) and "enabled: true" in str(exc.value)


def test_remediation_off_for_a_rule_not_run_is_allowed():
    policy = parse_policy("packs: [hipaa]\nremediation:\n  rules:\n    cmk-backing-key-rotation-enabled: {mode: 'off'}\n")
    resolve_rules(policy)


def test_scope_resource_types_limits_the_types_a_rule_judges():
    policy = parse_policy(
        "packs: [hipaa]\nrules:\n  cloudwatch-alarm-action-check:\n    scope: {resource_types: ['AWS::CloudWatch::Alarm']}\n"
    )
    active = {a.rule.id: a for a in active_rules(policy, resolve_rules(policy))}
    scope = active["cloudwatch-alarm-action-check"].scope
    assert scope.matches(built_item("AWS::CloudWatch::Alarm"))
    assert not scope.matches(built_item("AWS::S3::Bucket"))
    wrong = parse_policy("rules:\n  s3-bucket-logging-enabled:\n    scope:\n      resource_types: ['AWS::EC2::Volume']\n", "p.yaml")
    with pytest.raises(UsageError) as exc:
        resolve_rules(wrong)
    assert "p.yaml:4: rules.s3-bucket-logging-enabled.scope.resource_types.0" in str(exc.value)
    assert "does not judge AWS::EC2::Volume" in str(exc.value)
