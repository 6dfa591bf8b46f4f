"""Rules that need a parameter without a default: AWS Config does not deploy them without it, nor does phiwatch.

Selected by a pack and left unset, such a rule does not run and the scan says so once; configured
in the policy without it, the policy is refused (file, line, field).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phiwatch.cli import app
from phiwatch.errors import UsageError
from phiwatch.policy import parse_policy
from phiwatch.rules.active import active_rules, resolve_rules, waiting_for_parameters
from phiwatch.rules.base import REQUIRED, Param, params_from_meta
from phiwatch.rules.registry import catalogue
from phiwatch.store import Store

REFERENCE = Path(__file__).with_name("data") / "config-managed-rules.json"
#: AWS requires it because its rule runs drift detection as that role; phiwatch only reads the last detection
NOT_NEEDED_BY_PHIWATCH = {("cloudformation-stack-drift-detection-check", "cloudformationRoleArn")}


def policy(text: str):
    return parse_policy(textwrap.dedent(text), source="policy.yaml")


def test_required_is_declared_with_the_sentinel_or_a_mapping():
    params = params_from_meta({"a": ("str", REQUIRED), "b": {"type": "int", "required": True}, "c": ("str", None)})
    assert params["a"] == Param("a", "str", None, required=True)
    assert params["b"].required and params["b"].default is None
    assert not params["c"].required
    with pytest.raises(ValueError, match="has no default"):
        params_from_meta({"d": {"type": "int", "required": True, "default": 3}})
    with pytest.raises(ValueError, match="true or false"):
        params_from_meta({"d": {"type": "int", "required": "yes"}})


def test_required_parameters_are_the_ones_aws_requires_without_a_default():
    """Every managed rule marks required exactly the parameters AWS's list marks not optional and phiwatch gives no default."""
    rules = catalogue()
    for entry in json.loads(REFERENCE.read_text()):
        rule = rules.get(entry["id"])
        if rule is None or not rule.implemented:
            continue
        for p in entry["parameters"]:
            ours = rule.parameters[p["name"]]
            aws_requires = not p["optional"] and p.get("default") in (None, "") and ours.default is None
            expected = aws_requires and (entry["id"], p["name"]) not in NOT_NEEDED_BY_PHIWATCH
            assert ours.required == expected, (entry["id"], p["name"])


def test_a_pack_rule_without_its_parameter_does_not_run_and_is_named():
    pol = policy("packs: [aws-managed]\n")
    rules = resolve_rules(pol)
    running = {a.rule.id for a in active_rules(pol, rules)}
    waiting = waiting_for_parameters(pol, rules)
    assert waiting["eks-cluster-supported-version"] == ["oldestVersionSupported"]
    assert waiting["fms-shield-resource-policy-check"] == ["webACLId", "resourceTypes"]
    assert "eks-cluster-supported-version" not in running and "eks-endpoint-no-public-access" in running
    assert not set(waiting) & running
    # every rule that waits requires something, and nothing with all its parameters waits
    assert all(rules[r].missing_parameters(rules[r].defaults()) == names for r, names in waiting.items())


def test_giving_the_parameter_runs_the_rule():
    pol = policy(
        """
        packs: [aws-managed]
        rules:
          eks-cluster-supported-version: {parameters: {oldestVersionSupported: "1.29"}}
        """
    )
    rules = resolve_rules(pol)
    [active] = [a for a in active_rules(pol, rules) if a.rule.id == "eks-cluster-supported-version"]
    assert active.params == {"oldestVersionSupported": "1.29"}
    assert "eks-cluster-supported-version" not in waiting_for_parameters(pol, rules)


@pytest.mark.parametrize(
    ("settings", "line", "field"),
    [
        ("{enabled: true}", 4, "rules.eks-cluster-supported-version"),
        ("{scope: {tags: {PHI: 'Yes'}}}", 4, "rules.eks-cluster-supported-version"),
        ("{parameters: {oldestVersionSupported: '  '}}", 4, "rules.eks-cluster-supported-version.parameters"),
    ],
)
def test_configuring_the_rule_without_its_parameter_is_a_policy_error(settings, line, field):
    """Enabled by hand (the hipaa pack does not hold it), or configured while aws-managed selects it."""
    pack = "hipaa" if "enabled" in settings else "aws-managed"
    pol = policy(
        f"""
        packs: [{pack}]
        rules:
          eks-cluster-supported-version: {settings}
        """
    )
    with pytest.raises(UsageError) as err:
        resolve_rules(pol)
    text = str(err.value)
    assert f"policy.yaml:{line}" in text and field in text
    assert "needs parameter oldestVersionSupported" in text


def test_switching_it_off_needs_no_parameter():
    pol = policy(
        """
        packs: [aws-managed]
        rules:
          eks-cluster-supported-version: {enabled: false}
        """
    )
    rules = resolve_rules(pol)
    assert "eks-cluster-supported-version" not in waiting_for_parameters(pol, rules)


def test_remediation_or_alerts_for_a_waiting_rule_name_the_parameter():
    pol = policy(
        """
        packs: [aws-managed]
        notifications:
          - name: ops
            channel: webhook
            target: https://hooks.example.org/phiwatch
            when: {rules: [netfw-policy-default-action-full-packets]}
        """
    )
    with pytest.raises(UsageError, match=r"policy\.yaml:7.*does not run: it needs parameter statelessDefaultActions"):
        resolve_rules(pol)


def test_a_custom_rule_may_require_a_parameter(tmp_path):
    (tmp_path / "rules.yaml").write_text(
        textwrap.dedent(
            """
            rules:
              - id: team-max-volume-size
                resource_types: [AWS::EC2::Volume]
                parameters: {maxGiB: {type: int, required: true}}
                condition: "configuration.Size <= params.maxGiB"
            """
        )
    )
    pol = parse_policy(f"packs: []\ncustom_rules: [{tmp_path / 'rules.yaml'}]\n", source="policy.yaml")
    rules = resolve_rules(pol)
    assert rules["team-max-volume-size"].parameters["maxGiB"].required
    assert waiting_for_parameters(pol, rules) == {"team-max-volume-size": ["maxGiB"]}
    assert active_rules(pol, rules) == []


def test_scan_says_once_which_rules_did_not_run(tmp_path):
    (tmp_path / "policy.yaml").write_text("packs: [hipaa, aws-managed]\n")
    db = f"sqlite:///{tmp_path}/p.db"
    Store(db, create=True).close()
    cli = CliRunner()
    args = ["scan", "--no-collect", "--policy", str(tmp_path / "policy.yaml"), "--db", db]
    as_json = cli.invoke(app, [*args, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    scan = json.loads(as_json.stdout)
    not_run = {r["rule_id"]: r["needs_parameters"] for r in scan["rules_not_run"]}
    assert not_run["eks-cluster-supported-version"] == ["oldestVersionSupported"]
    table = CliRunner().invoke(app, [*args], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    flat = " ".join(table.output.split())  # the message may wrap on a narrow terminal
    assert flat.count("did not run") == 1 and f"{len(not_run)} rule(s) of the selected packs did not run" in flat
    first = sorted(not_run)[0]
    assert f"{first} ({', '.join(not_run[first])})" in flat and f"and {len(not_run) - 6} more" in flat


@pytest.mark.parametrize("blank", ["", "  ", "\t"])
def test_an_empty_parameter_is_not_given(blank):
    """AWS Config reads an empty parameter as not given: the default applies, and a required one is missing."""
    pol = policy(
        f"""
        packs: [hipaa, aws-managed]
        rules:
          access-keys-rotated: {{parameters: {{maxAccessKeyAge: "{blank}"}}}}
          emr-kerberos-enabled: {{parameters: {{TicketLifetimeInHours: "{blank}"}}}}
          approved-amis-by-id: {{enabled: false, parameters: {{amiIds: "{blank}"}}}}
        """
    )
    rules = resolve_rules(pol)
    params = {a.rule.id: a.params for a in active_rules(pol, rules)}
    assert params["access-keys-rotated"]["maxAccessKeyAge"] == 90
    assert params["emr-kerberos-enabled"]["TicketLifetimeInHours"] == rules["emr-kerberos-enabled"].defaults()["TicketLifetimeInHours"]


def test_booleans_and_numbers_given_as_text_with_spaces():
    pol = policy(
        """
        packs: [hipaa]
        rules:
          ecs-task-definition-user-for-host-mode-check: {parameters: {SkipInactiveTaskDefinitions: " TRUE "}}
          access-keys-rotated: {parameters: {maxAccessKeyAge: " 45 "}}
        """
    )
    rules = resolve_rules(pol)
    params = {a.rule.id: a.params for a in active_rules(pol, rules)}
    assert params["ecs-task-definition-user-for-host-mode-check"]["SkipInactiveTaskDefinitions"] is True
    assert params["access-keys-rotated"]["maxAccessKeyAge"] == 45
    assert Param("x", "float", None).coerce(" 2.5 ") == 2.5 and Param("x", "float", None).coerce(".5") == 0.5
    with pytest.raises(ValueError, match="true or false"):
        Param("x", "bool", None).coerce("yes")
    with pytest.raises(ValueError, match="a number"):
        Param("x", "float", None).coerce("1.2.3")
