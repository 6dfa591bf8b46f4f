"""Crash safety of the alert outbox with a real process killed between the outbox write and the
send, and bad routes in the policy file stopping `phiwatch scan` with file, line and exit 2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

from test_notify_cli import run, subprocess_run  # noqa: F401 - fixtures

from notify_support import bucket, outbox_rows, receiver, verify_signature, write  # noqa: F401 - fixtures
from phiwatch.store import Store

KEY = "crash-signing-key-7"

# Evaluates the store (the finding and its alert are committed together), says so, then waits
# to be killed before any delivery starts.
SCAN_THEN_WAIT = textwrap.dedent(
    """
    import sys
    from phiwatch.evaluation import Evaluator
    from phiwatch.policy import load_policy
    from phiwatch.store import Store

    summary = Evaluator(Store(sys.argv[1]), load_policy(sys.argv[2])).evaluate()
    print("queued", summary.queued_alerts, flush=True)
    sys.stdin.read()
    """
)


def test_process_killed_after_outbox_write_alert_sent_exactly_once_by_next_run(tmp_path, receiver):
    db = f"sqlite:///{tmp_path / 'p.db'}"
    store = Store(db)
    write(store, bucket("bucket-logging-off", logging=False), bucket("bucket-logging-on", logging=True))
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "notifications:\n"
        f"  - {{name: hook, channel: webhook, target: '{receiver.url}/hook', secret_env: HOOK_KEY, "
        "when: {rules: [s3-bucket-logging-enabled]}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", SCAN_THEN_WAIT, db, str(policy)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.split() == ["queued", "1"], proc.stderr.read() if not line else line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    [row] = outbox_rows(store)
    assert (row["status"], row["attempts"], row["event"]) == ("pending", 0, "opened")
    assert receiver.requests == []

    sent = subprocess_run(["notify", "send", "--policy", str(policy), "--db", db, "--json"], HOOK_KEY=KEY)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] == 1
    again = subprocess_run(["notify", "send", "--policy", str(policy), "--db", db, "--json"], HOOK_KEY=KEY)
    assert json.loads(again.stdout)["sent"] == 0
    rescan = subprocess_run(["scan", "--no-collect", "--policy", str(policy), "--db", db], HOOK_KEY=KEY)
    assert rescan.returncode == 0, rescan.stderr
    [req] = receiver.requests  # exactly once
    assert verify_signature(req, KEY)
    body = json.loads(req["body"])
    assert (body["event"], body["resource_id"], body["finding_id"]) == ("opened", "bucket-logging-off", row["finding_id"])
    [row] = outbox_rows(store)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    store.close()


def test_bad_routes_stop_the_scan_with_file_line_and_exit_2(tmp_path, run):
    db = f"sqlite:///{tmp_path / 'p.db'}"
    cases = {
        "unknown-channel.yaml": (
            "notifications:\n  - name: teams\n    channel: teams\n    target: x\n",
            "unknown-channel.yaml:3: notifications.0.channel: Input should be 'sns', 'email', 'slack', 'webhook' or 'apprise'",
        ),
        "bad-arn.yaml": (
            "packs: [hipaa]\nnotifications:\n  - name: security\n    channel: sns\n    target: arn:aws:sns:us-east-1:hipaa-alerts\n",
            "bad-arn.yaml:5: notifications.0.target: malformed SNS topic ARN 'arn:aws:sns:us-east-1:hipaa-alerts'",
        ),
        "unknown-rule.yaml": (
            "notifications:\n  - name: s3\n    channel: sns\n    target: arn:aws:sns:us-east-1:123456789012:t\n"
            "    when:\n      rules: [s3-bucket-logging-enabled, s3-bucket-loging-enabled]\n",
            "unknown-rule.yaml:6: notifications.0.when.rules.1: unknown rule id 's3-bucket-loging-enabled'",
        ),
        "duplicate.yaml": (
            "notifications:\n  - {name: a, channel: sns, target: 'arn:aws:sns:us-east-1:123456789012:t'}\n"
            "  - {name: a, channel: sns, target: 'arn:aws:sns:us-east-1:123456789012:u'}\n",
            "duplicate.yaml:3: notifications.1.name: duplicate route name 'a'",
        ),
        "severity.yaml": (
            "notifications:\n  - name: s\n    channel: sns\n    target: arn:aws:sns:us-east-1:123456789012:t\n"
            "    when: {severity: [High]}\n",
            "severity.yaml:5: notifications.0.when.severity: unknown severity High",
        ),
        "no-smtp.yaml": (
            "notifications:\n  - name: mail\n    channel: email\n    target: sec@example.org\n",
            "no-smtp.yaml:2: notifications.0.smtp: an email route needs smtp",
        ),
    }
    for name, (text, expected) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        ran = run(["scan", "--no-collect", "--policy", str(path), "--db", db])
        assert ran.returncode == 2, (name, ran.stdout, ran.stderr)
        assert expected in " ".join(ran.stderr.split()), (name, ran.stderr)
        assert "Traceback" not in ran.stderr
