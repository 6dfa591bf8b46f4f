"""`phiwatch demo`, the Quick start's first command, end to end in a real process."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from phiwatch.remediate.audit import verify
from phiwatch.store import Store
from phiwatch.store.tables import findings, resources

_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]


@pytest.mark.server
def test_demo_runs_the_whole_loop(tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"COLUMNS": "200"}
    run = subprocess.run([*PHIWATCH, "demo", "--db", db], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "Traceback" not in run.stderr and "Traceback" not in out
    for expected in (
        "Embedded AWS emulator running at http://127.0.0.1:",
        "resources name their owner in tag InstanceOwnerEmail",
        "resources by Security Rule section",
        "164.312(b)",
        "arrived on the queue",
        "Remediation plan (mode dry-run",
        "hash chain intact",
        "Evidence for the auditor",
        "verified: every hash and signature checks out",
    ):
        assert expected in out, expected
    assert "0 could not check" in out  # every collector's calls work on the embedded emulator

    # "Try it yourself": every command runs as printed, from where the demo was run
    tail = out.split("Try it yourself against the same store:", 1)[1]
    commands = [ln.strip() for ln in tail.splitlines() if ln.startswith("  ")]
    assert len(commands) >= 5, tail
    for command in commands:
        ran = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert ran.returncode == 0, (command, ran.stderr[-2000:])
        assert "Traceback" not in ran.stderr

    # the counts agree: step 8 explains the change in non-compliant evaluations, step 9's alerts
    # are what step 8 and the route's severity filter predict
    before, after = map(int, re.search(r"8\. Re-scan: (\d+) non-compliant evaluations before, (\d+) after", out).groups())
    fixed, applied = map(int, re.search(r"(\d+) fixed by their runbook \((\d+) applied", out).groups())
    side = re.search(r"(\d+) fixed as a side effect", out)
    new = re.search(r"(\d+) newly non-compliant", out)
    assert fixed == applied > 0
    assert before - fixed - (int(side.group(1)) if side else 0) + (int(new.group(1)) if new else 0) == after
    expect_applied, expect_resolved = map(int, re.search(r"expect (\d+) remediation_applied .* and (\d+) resolved", out).groups())
    step9 = out.split("9. Alerts of the second scan", 1)[1]
    arrived = re.search(r"(\d+) arrived on the queue: (.*)", step9)
    events = {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", arrived.group(2))}
    assert events.get("remediation_applied", 0) == expect_applied
    assert events.get("resolved", 0) == expect_resolved
    assert int(arrived.group(1)) == expect_applied + expect_resolved

    store = Store(db)
    try:
        with store.engine.connect() as conn:
            status = dict(conn.execute(select(findings.c.status, func.count()).group_by(findings.c.status)).all())
            types = conn.execute(select(func.count(func.distinct(resources.c.resource_type)))).scalar_one()
            chain = verify(conn)
        assert status.get("open", 0) > 0 and status.get("remediated", 0) == applied, status
        assert types >= 30
        assert chain.ok and chain.entries > 0
    finally:
        store.close()
