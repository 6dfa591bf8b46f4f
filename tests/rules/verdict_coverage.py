"""Which verdicts the rule tests make each built-in rule return: every rule needs COMPLIANT and NON_COMPLIANT.

Runs the rule and collector tests with this file as a pytest plugin that records, per rule, the
verdicts its function returned, then lists the rules that never returned one of them::

    .venv/bin/python tests/rules/verdict_coverage.py            # tests/rules and tests/resources
    .venv/bin/python tests/rules/verdict_coverage.py tests/rules/test_managed_edge.py

Exit status 1 when a rule lacks a COMPLIANT or a NON_COMPLIANT case.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
_SEEN: dict[str, set[str]] = {}


def pytest_configure(config: Any) -> None:
    """Plugin side: wrap every rule function to record the verdicts it returns (one file per process)."""
    from phiwatch.rules import base
    from phiwatch.rules.registry import import_builtin_rules

    import_builtin_rules()
    for rule_id, entry in base.FUNCTIONS.items():
        entry.fn = _recording(rule_id, entry.fn)
    out = Path(os.environ["PHIWATCH_VERDICTS_DIR"]) / f"seen-{os.getpid()}.json"
    atexit.register(lambda: out.write_text(json.dumps({k: sorted(v) for k, v in _SEEN.items()})))


def _recording(rule_id: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def run(item: Any, params: Any, ctx: Any) -> Any:
        result = fn(item, params, ctx)
        verdict = "none" if result is None else str(getattr(result.compliance, "value", result.compliance))
        _SEEN.setdefault(rule_id, set()).add(verdict)
        return result

    return run


def main(argv: list[str]) -> int:
    from phiwatch.rules.registry import catalogue

    targets = argv or ["tests/rules", "tests/resources"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PHIWATCH_VERDICTS_DIR": tmp, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "verdict_coverage", "-n", "2", *targets]
        code = subprocess.call(cmd, cwd=ROOT, env=env)
        seen: dict[str, set[str]] = {}
        for path in Path(tmp).glob("seen-*.json"):
            for rule_id, verdicts in json.loads(path.read_text()).items():
                seen.setdefault(rule_id, set()).update(verdicts)
    rules = [r for r in catalogue().values() if r.implemented and r.packs and "custom" not in r.packs]
    lacking = {
        r.id: [v for v in ("COMPLIANT", "NON_COMPLIANT") if v not in seen.get(r.id, set())] for r in sorted(rules, key=lambda r: r.id)
    }
    lacking = {k: v for k, v in lacking.items() if v}
    print(f"{len(rules)} built-in rules; {len(rules) - len(lacking)} returned both COMPLIANT and NON_COMPLIANT in the tests")
    for rule_id, missing in lacking.items():
        print(f"  {rule_id}: never {' nor '.join(missing)}")
    return 1 if lacking or code else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
