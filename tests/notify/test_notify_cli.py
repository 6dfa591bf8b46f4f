"""`phiwatch notify test`, `phiwatch notifications`, `phiwatch notify send` and alerts sent by
`phiwatch scan`, as real subprocesses against a local webhook receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from notify_support import bucket, receiver, verify_signature, write  # noqa: F401 - fixtures
from phiwatch.store import Store

KEY = "cli-signing-key-42"


def subprocess_run(args, **env):
    full_env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", **env)
    return subprocess.run([sys.executable, "-m", "phiwatch.cli", *args], env=full_env, capture_output=True, text=True, timeout=120)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys, monkeypatch):
    """`phiwatch ARGS` in this process through the CLI's own main() (exit codes and error lines included)."""
    from phiwatch.cli import main

    def invoke(args, **env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "argv", ["phiwatch", *args])
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code or 0
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return invoke


def test_notify_test_scan_alerts_and_delivery_log(tmp_path, receiver, run):
    db = f"sqlite:///{tmp_path / 'p.db'}"
    store = Store(db)
    write(store, bucket("bucket-logging-off", logging=False), bucket("bucket-logging-on", logging=True))
    store.close()
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "notifications:\n"
        f"  - name: hook\n    channel: webhook\n    target: {receiver.url}/hook\n    secret_env: HOOK_KEY\n"
        "    when: {rules: [s3-bucket-logging-enabled]}\n"
        f"  - name: broken\n    channel: webhook\n    target: {receiver.url}/broken\n    secret_env: HOOK_KEY\n"
        "    when: {rules: [iam-password-policy]}\n"  # no account item in the store: never matches
    )
    ok = subprocess_run(["notify", "test", "--route", "hook", "--policy", str(policy), "--db", db], HOOK_KEY=KEY)
    assert ok.returncode == 0, ok.stderr
    assert "sent a test message on route hook (webhook)" in ok.stdout
    [req] = receiver.requests
    assert verify_signature(req, KEY) and json.loads(req["body"])["event"] == "test"

    receiver.statuses = [500]
    failed = run(["notify", "test", "--route", "broken", "--policy", str(policy), "--db", db], HOOK_KEY=KEY)
    assert failed.returncode == 3
    assert "test message on route 'broken' (webhook) was not delivered: HTTP 500 from 127.0.0.1" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert failed.stderr.count("HTTP 500") == 1  # one error line, not a logged warning as well
    unknown = run(["notify", "test", "--route", "nope", "--policy", str(policy), "--db", db])
    assert unknown.returncode == 2 and "no route named 'nope'" in unknown.stderr and "routes: hook, broken" in unknown.stderr

    scan = run(["scan", "--no-collect", "--policy", str(policy), "--db", db], HOOK_KEY=KEY)
    assert scan.returncode == 0, scan.stderr
    assert "alerts: 1 sent on 1 route(s)" in scan.stderr
    alert = json.loads(receiver.requests[-1]["body"])
    assert (alert["event"], alert["resource_id"]) == ("opened", "bucket-logging-off")
    again = run(["scan", "--no-collect", "--policy", str(policy), "--db", db], HOOK_KEY=KEY)
    assert again.returncode == 0 and "alerts:" not in again.stderr  # nothing changed, nothing sent
    assert len(receiver.requests) == 3

    log = json.loads(run(["notifications", "--json", "--db", db]).stdout)
    assert [(e["route"], e["event"], e["status"]) for e in log] == [
        ("hook", "opened", "sent"),
        ("broken", "test", "failed"),
        ("hook", "test", "sent"),
    ]
    assert log[1]["attempts"] == 1 and log[1]["last_error"].startswith("HTTP 500 from 127.0.0.1")
    assert log[0]["rule_id"] == "s3-bucket-logging-enabled" and log[0]["resource_id"] == "bucket-logging-off"
    table = run(["notifications", "--db", db, "--status", "failed"])
    assert table.returncode == 0 and "broken" in table.stdout and "HTTP 500" in table.stdout and "opened" not in table.stdout
    assert run(["notifications", "--db", db, "--status", "lost"]).returncode == 2
