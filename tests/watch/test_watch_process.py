"""`phiwatch watch` as a real process: SIGTERM finishes the work in flight and exits 0; events
sent while it is down are processed after a restart (nothing lost, nothing processed twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_watch_service import MALLORY, OPEN_SSH, OPS, WatchEnv

from phiwatch.collect.runner import collect
from phiwatch.store import Store

_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]

pytestmark = pytest.mark.server


def _start(watch: WatchEnv, db: str, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    args = [
        "watch",
        "--queue-url",
        watch.queue_url,
        "--endpoint-url",
        watch.env.endpoint,
        "--db",
        db,
        "--region",
        "us-east-1",
        "--wait-seconds",
        "1",
        "--no-sweep-on-start",
        "--full-sweep-hours",
        "0",
        "--periodic-minutes",
        "0",
        "--log-format",
        "json",
    ]
    return subprocess.Popen([*PHIWATCH, *args], env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("ab"))


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def _stop(proc: subprocess.Popen, log_path: Path) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"watch did not stop on SIGTERM:\n{log_path.read_text()[-2000:]}")


def test_sigterm_stops_cleanly_and_a_restart_resumes_from_the_queue(aws_env, tmp_path):
    db = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(db)
    watch = WatchEnv(aws_env, store)
    sg = watch.security_group("records-api")
    collect(watch.aws, store, services=["ec2"])
    log_path = tmp_path / "watch.log"

    def versions() -> list[dict]:
        return watch.history(sg)

    proc = _start(watch, db, log_path)
    try:
        watch.ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=OPEN_SSH)
        watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": sg}, actor=MALLORY)
        assert _wait_for(lambda: len(versions()) == 2 and watch.queued() == 0), log_path.read_text()[-2000:]
    finally:
        code = _stop(proc, log_path)
    assert code == 0, log_path.read_text()[-2000:]
    assert versions()[1]["changed_by"] == MALLORY

    # a change while the watcher is down waits on the queue ...
    watch.ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=OPEN_SSH)
    watch.put("ec2.amazonaws.com", "RevokeSecurityGroupIngress", {"groupId": sg}, actor=OPS)
    assert _wait_for(lambda: watch.queued() == 1, timeout=10)
    assert len(versions()) == 2

    # ... and is processed after a restart
    proc = _start(watch, db, log_path)
    try:
        assert _wait_for(lambda: len(versions()) == 3 and watch.queued() == 0), log_path.read_text()[-2000:]
    finally:
        code = _stop(proc, log_path)
    assert code == 0
    history = versions()
    assert [v["changed_by"] for v in history] == [None, MALLORY, OPS]
    assert not any(p.get("FromPort") == 22 for p in history[-1]["item"]["configuration"]["IpPermissions"])
    assert "Traceback" not in log_path.read_text()
    store.close()
