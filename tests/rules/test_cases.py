"""Every rule case in ``cases/<rule-id>/<verdict>-<case>.json`` gets the verdict its file name says.

The cases are items of the demo estate as phiwatch collects them (``snapshot.py`` regenerates
them); each runs through the same path as a scan (:func:`phiwatch.rules.active.run_rule`) with the
rule's default parameters, at the time the case was judged, seeing the other items it looked at.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from phiwatch.model import ConfigurationItem
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue

CASES = Path(__file__).with_name("cases")
#: a file name's verdict; ``not_applicable``: the rule returned NOT_APPLICABLE, or does not apply at all (None)
VERDICTS = ("compliant", "non_compliant", "insufficient_data", "not_applicable")
FILES = sorted(CASES.glob("*/*.json"))


def test_there_are_cases_of_each_verdict():
    assert len(FILES) > 100
    found = {path.name.split("-", 1)[0] for path in FILES}
    assert {"compliant", "non_compliant", "not_applicable"} <= found <= set(VERDICTS)
    assert {path.parent.name for path in FILES} <= set(catalogue())  # no case of a rule that is gone


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_case(path: Path):
    rule = catalogue()[path.parent.name]
    expected = path.name.split("-", 1)[0]
    case = json.loads(path.read_text())
    item = ConfigurationItem.from_dict(case["item"])
    others = {t: [ConfigurationItem.from_dict(i) for i in items] for t, items in case["others"].items()}

    def lookup(resource_type: str) -> list[ConfigurationItem]:
        return others.get(resource_type, [item] if resource_type == item.resourceType else [])

    now = dt.datetime.fromisoformat(case["now"].replace("Z", "+00:00"))
    result = run_rule(ActiveRule(rule, rule.defaults(), None), item, RuleContext(now=now, lookup=lookup))
    verdict = result.compliance.lower() if result else "not_applicable"
    assert verdict == expected, result.annotation if result else "the rule does not apply"
    if result is not None:
        assert result.annotation == case["annotation"]
