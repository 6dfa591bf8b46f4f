"""`phiwatch demo`, the Quick start's first command, end to end in a real process."""

from __future__ import annotations

import os
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
    for expected in ("Embedded AWS emulator running at http://127.0.0.1:", "resources name their owner in tag InstanceOwnerEmail",
                     "resources by Security Rule section", "164.312(b)", "arrived on the queue", "Remediation plan (mode dry-run",
                     "hash chain intact"):
        assert expected in out, expected
    assert "0 could not check" in out  # every collector's calls work on the embedded emulator

    store = Store(db)
    try:
        with store.engine.connect() as conn:
            status = dict(conn.execute(select(findings.c.status, func.count()).group_by(findings.c.status)).all())
            types = conn.execute(select(func.count(func.distinct(resources.c.resource_type)))).scalar_one()
            chain = verify(conn)
        assert status.get("open", 0) > 0 and status.get("remediated", 0) > 0, status
        assert types >= 30
        assert chain.ok and chain.entries > 0
    finally:
        store.close()
