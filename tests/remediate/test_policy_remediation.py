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
