"""The remediation section of the policy file: modes as users write them in YAML."""

from __future__ import annotations

import pytest

from phiwatch.errors import UsageError
from phiwatch.policy import parse_policy


def test_bare_off_means_off_not_false():
    policy = parse_policy("remediation:\n  mode: off\n  rules:\n    restricted-ssh: {mode: off}\n")
    assert policy.remediation.mode == "off"
    assert policy.remediation.rules["restricted-ssh"].mode == "off"


def test_unknown_mode_names_the_line_and_field():
    with pytest.raises(UsageError) as err:
        parse_policy("packs: [hipaa]\nremediation:\n  mode: yes\n")
    assert "policy.yaml:3: remediation.mode" in str(err.value)


def test_an_unknown_placeholder_in_a_remediation_parameter_names_the_line_and_field():
    from phiwatch.rules.active import resolve_rules

    text = (
        "packs: [hipaa]\nremediation:\n  rules:\n    s3-bucket-logging-enabled:\n      mode: dry-run\n"
        "      parameters:\n        TargetBucket: 'logs-{acount_id}-{region}'\n"
    )
    with pytest.raises(UsageError) as err:
        resolve_rules(parse_policy(text))
    message = str(err.value)
    assert "policy.yaml:7: remediation.rules.s3-bucket-logging-enabled.parameters.TargetBucket" in message
    assert "unknown placeholder {acount_id}" in message and "{account_id}" in message
    for bad, why in (("logs-{region:>9}", "unknown placeholder {region:>9}"), ("logs-{", "Single '{'")):
        with pytest.raises(UsageError) as err:
            resolve_rules(parse_policy(text.replace("logs-{acount_id}-{region}", bad)))
        assert why in str(err.value)
    good = parse_policy(text.replace("acount_id", "account_id").replace("-{region}", "-{region}-{{literal}}"))
    resolve_rules(good)


def test_placeholders_are_filled_per_finding():
    from phiwatch.policy import fill_placeholders

    values = {"account_id": "123456789012", "region": "eu-west-1", "resource_id": "vol-1", "resource_name": "data"}
    assert fill_placeholders("logs-{account_id}-{region}", values) == "logs-123456789012-eu-west-1"
    assert fill_placeholders(["{resource_id}", "{{x}}", 7], values) == ["vol-1", "{x}", 7]
    assert fill_placeholders(30, values) == 30
