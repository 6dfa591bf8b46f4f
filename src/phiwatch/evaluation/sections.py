"""The HIPAA section summary of a scan: per section, resources compliant, non-compliant, excepted, could not check."""

from __future__ import annotations

import re
from typing import Any

from phiwatch.rules.base import Rule


def summary_by_section(scan: dict[str, Any], rules: dict[str, Rule]) -> list[dict[str, Any]]:
    """Per HIPAA section: rules run, resources compliant / non-compliant / excepted / could not check."""
    excepted = {(x["rule_id"], x["resource_id"]) for x in scan.get("excepted", [])}
    sections: dict[str, dict[str, Any]] = {}
    for rule_id in scan["rules_run"]:
        rule = rules.get(rule_id)
        for section in rule.hipaa_sections if rule else ():
            sections.setdefault(
                section,
                {"section": section, "rules": set(), "compliant": set(), "non_compliant": set(), "excepted": set(), "insufficient": set()},
            )["rules"].add(rule_id)
    for e in scan["evaluations"]:
        key = (e["resource_type"], e["account_id"], e["region"], e["resource_id"])
        for section in e["hipaa_sections"]:
            s = sections.get(section)
            if s is None:
                continue
            if e["compliance"] == "COMPLIANT":
                s["compliant"].add(key)
            elif e["compliance"] == "NON_COMPLIANT":
                (s["excepted"] if (e["rule_id"], e["resource_id"]) in excepted else s["non_compliant"]).add(key)
            elif e["compliance"] == "INSUFFICIENT_DATA":
                s["insufficient"].add(key)
    out = []
    for section in sorted(sections, key=_section_key):
        s = sections[section]
        # a resource failing any rule of the section is non-compliant for it
        failing = s["non_compliant"]
        out.append(
            {
                "section": section,
                "rules": len(s["rules"]),
                "compliant": len(s["compliant"] - failing - s["insufficient"] - s["excepted"]),
                "non_compliant": len(failing),
                "excepted": len(s["excepted"] - failing),
                "could_not_check": len(s["insufficient"] - failing),
            }
        )
    return out


def _section_key(section: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"\d+|[a-z]+|[A-Z]+", section)]
