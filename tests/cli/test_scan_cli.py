"""`phiwatch scan` end to end: a real subprocess against moto's server."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run(args, endpoint=None, extra_env=None, **kw):
    env = dict(
        os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", **(extra_env or {})
    )
    cmd = [sys.executable, "-m", "phiwatch.cli", *args]
    if endpoint:
        cmd += ["--endpoint-url", endpoint]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, **kw)


def test_scan_json_output_and_fail_on_findings(aws_env, tmp_path):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-logging-off")
    db = f"sqlite:///{tmp_path / 'p.db'}"
    out = tmp_path / "scan.json"
    result = run(["scan", "--db", db, "-s", "s3", "--format", "json", "--output", str(out)], aws_env.endpoint)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    logging = [e for e in data["evaluations"] if e["rule_id"] == "s3-bucket-logging-enabled"]
    assert logging[0]["resource_id"] == "bucket-logging-off" and logging[0]["compliance"] == "NON_COMPLIANT"
    assert data["errors"] == []
    collection = data["collection"]  # how the collection went: requests, retries, each task
    assert collection["requests"] == sum(t["requests"] for t in collection["tasks"]) > 0
    assert [(t["service"], t["region"]) for t in collection["tasks"]] == [("s3", "global")]
    assert collection["tasks"][0]["items"] >= 1
    assert collection["retries"]["retries"] == 0 and collection["retries"]["budget_left"] == collection["retries"]["budget"]
    failing = run(["scan", "--db", db, "-s", "s3", "--fail-on-findings"], aws_env.endpoint)
    assert failing.returncode == 1
    assert "164.312(b)" in failing.stdout  # summary by HIPAA section
    findings = run(["findings", "--db", db, "--json"])
    assert any(f["rule_id"] == "s3-bucket-logging-enabled" and f["status"] == "open" for f in json.loads(findings.stdout))


def test_scan_bad_policy_exits_2(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  restricted-common-ports:\n    parameters: {blockedPort1: ssh}\n")
    result = run(["scan", "--policy", str(policy), "--no-collect", "--db", f"sqlite:///{tmp_path / 'p.db'}"])
    assert result.returncode == 2
    assert f"{policy}:3: rules.restricted-common-ports.parameters.blockedPort1" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_commands():
    listed = json.loads(run(["rules", "list", "--json"]).stdout)
    ids = {r["id"] for r in listed}
    assert {"s3-bucket-logging-enabled", "iam-password-policy", "s3-phi-bucket-object-lock-enabled"} <= ids
    assert sum(1 for r in listed if r["pack"] == "hipaa") == 130
    shown = json.loads(run(["rules", "show", "restricted-common-ports", "--json"]).stdout)
    assert shown["parameters"]["blockedPort1"] == {"type": "int", "default": 20, "required": False}
    assert run(["rules", "show", "no-such-rule"]).returncode == 2


def test_scan_output_to_a_pipe_writes_into_it_and_leaves_it_a_pipe(aws_env, tmp_path):
    """``-o /dev/null`` or a named pipe is written to, never replaced by a regular file."""
    import stat
    import threading

    aws_env.client("s3").create_bucket(Bucket="bucket-to-a-pipe")
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    db = f"sqlite:///{tmp_path / 'p.db'}"
    result = run(["scan", "--db", db, "-s", "s3", "--format", "json", "--output", str(fifo)], aws_env.endpoint)
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode) and not (tmp_path / "report.fifo.tmp").exists()
    assert any(e["resource_id"] == "bucket-to-a-pipe" for e in json.loads(received[0])["evaluations"])


def test_rules_list_fits_the_terminal_and_filters_by_pack_service_and_section():
    listed = {r["id"]: r for r in json.loads(run(["rules", "list", "--pack", "aws-managed", "--json"]).stdout)}
    assert all("aws-managed" in r["packs"] for r in listed.values()) and "s3-bucket-logging-enabled" in listed
    assert listed["s3-bucket-logging-enabled"]["packs"] == ["hipaa", "aws-managed"]
    for columns in ("80", "60", "200"):
        table = run(["rules", "list", "--pack", "aws-managed"], extra_env={"COLUMNS": columns})
        assert table.returncode == 0, table.stderr
        lines = table.stdout.splitlines()
        assert max(len(line) for line in lines) <= max(int(columns), 56)  # never wider than the terminal (or the longest id)
        words = {w for line in lines for w in line.split()}
        assert set(listed) <= words, sorted(set(listed) - words)[:5]  # every id whole, never wrapped mid-word
    s3 = json.loads(run(["rules", "list", "--service", "s3", "--json"]).stdout)
    assert s3 and all("S3" in r["service"] or any(t.startswith("AWS::S3::") for t in r["resource_types"]) for r in s3)
    audit = json.loads(run(["rules", "list", "--section", "164.312(b)", "--json"]).stdout)
    assert audit and all(any(s.startswith("164.312(b)") for s in r["hipaa_sections"]) for r in audit)
    wider = json.loads(run(["rules", "list", "--section", "164.312", "--json"]).stdout)
    assert {r["id"] for r in audit} < {r["id"] for r in wider}
    bad = run(["rules", "list", "--pack", "nope"])
    assert bad.returncode == 2 and "unknown pack 'nope'" in bad.stderr
