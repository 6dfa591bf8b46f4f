"""Regenerate the rule cases in ``tests/rules/cases/<rule-id>/<verdict>-<case>.json`` from the demo estate.

Starts the embedded emulator, seeds the demo estate (whose resource names say what they show),
collects it and runs every rule on every item of its resource types. For each rule and verdict
(``compliant``, ``non_compliant``, ``insufficient_data``; ``not_applicable`` when the rule does not
apply) it keeps up to ``--per-verdict`` cases, named after the resource. A case holds the item, the
items of other types the rule looked at, and the time it was judged at; ``test_cases.py`` runs each
one and checks the verdict its file name says.

Run it after changing a rule, a collector or the demo estate, then read the diff: a case whose
verdict changed moves to another file name::

    .venv/bin/python tests/rules/snapshot.py                 # every rule
    .venv/bin/python tests/rules/snapshot.py RULE-ID [...]   # only these rules
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

from phiwatch.aws.session import AwsContext
from phiwatch.collect.runner import collect
from phiwatch.demo.estate import seed_estate
from phiwatch.emulator import Emulator
from phiwatch.model import ConfigurationItem, isoformat, utcnow
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue
from phiwatch.store import Store

CASES = Path(__file__).with_name("cases")
REGION = "us-east-1"
#: the largest item kept as a case (characters of JSON): IAM's authorization details can be large
MAX_CASE = 60_000


def verdict_of(result) -> str:
    return "not_applicable" if result is None else result.compliance.lower()


def case_name(item: ConfigurationItem) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", item.resourceName or item.resourceId).strip("-")[:80] or "resource"


def snapshot(per_verdict: int = 2, only: frozenset[str] | None = None) -> dict[str, int]:
    """Write the cases of every rule, or only of the rules in ``only`` (the others' cases stay)."""
    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        seed_estate(emu.session(REGION), emu.endpoint, REGION)
        store = Store(f"sqlite:///{tmp}/cases.db")
        try:
            collect(AwsContext(endpoint_url=emu.endpoint, regions=[REGION], session=emu.session(REGION)), store)
            by_type: dict[str, list[ConfigurationItem]] = {}
            for item in store.current_items():
                by_type.setdefault(item.resourceType, []).append(item)
        finally:
            store.close()
    now = utcnow().replace(microsecond=0)
    rules = catalogue()
    unknown = sorted((only or frozenset()) - set(rules))
    if unknown:
        raise SystemExit(f"unknown rule id: {', '.join(unknown)}")
    if only is None:
        shutil.rmtree(CASES, ignore_errors=True)
    written: dict[str, int] = {}
    for rule_id, rule in sorted(rules.items()):
        if only is not None and rule_id not in only:
            continue
        shutil.rmtree(CASES / rule_id, ignore_errors=True)
        if rule.fn is None or rule.missing_parameters(rule.defaults()):
            continue  # a rule that needs a parameter without a default does not run on the estate as it is
        kept: dict[str, int] = {}
        for resource_type in rule.resource_types:
            for item in sorted(by_type.get(resource_type, []), key=lambda i: (case_name(i), i.resourceId)):
                looked: dict[str, list[ConfigurationItem]] = {}

                def lookup(t: str, looked: dict[str, list[ConfigurationItem]] = looked) -> list[ConfigurationItem]:
                    looked[t] = by_type.get(t, [])
                    return looked[t]

                result = run_rule(ActiveRule(rule, rule.defaults(), None), item, RuleContext(now=now, lookup=lookup))
                verdict = verdict_of(result)
                if kept.get(verdict, 0) >= per_verdict:
                    continue
                case = {
                    "now": isoformat(now),
                    "annotation": result.annotation if result else "",
                    "item": item.to_dict(),
                    "others": {
                        t: [i.to_dict() for i in items] for t, items in sorted(looked.items()) if t != item.resourceType or len(items) > 1
                    },
                }
                text = json.dumps(case, indent=1, sort_keys=True, default=str)
                if len(text) > MAX_CASE:
                    continue
                path = CASES / rule_id / f"{verdict}-{case_name(item)}.json"
                if path.exists():
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text + "\n")
                kept[verdict] = kept.get(verdict, 0) + 1
        written[rule_id] = sum(kept.values())
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-verdict", type=int, default=2, help="cases kept per rule and verdict (default 2)")
    parser.add_argument("rules", nargs="*", help="rule ids whose cases to regenerate (default: all, and stale ones removed)")
    args = parser.parse_args()
    written = snapshot(args.per_verdict, frozenset(args.rules) if args.rules else None)
    print(f"{sum(written.values())} cases for {sum(1 for n in written.values() if n)} rules in {CASES}")
    empty = sorted(r for r, n in written.items() if not n)
    if empty:
        print(f"no case in the demo estate for {len(empty)} rules: {', '.join(empty)}")


if __name__ == "__main__":
    main()
