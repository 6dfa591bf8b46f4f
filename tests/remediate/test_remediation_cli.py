"""`phiwatch remediate FINDING` and `phiwatch audit show --finding` from the command line, on moto's server.

A plan that cannot be made (a runbook parameter no policy gives) is refused with exit status 2,
naming the parameter and where the policy gives it, and leaves no trace in the store; audit
entries are found by a unique prefix of the finding id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from phiwatch.errors import UsageError
from phiwatch.policy import parse_policy
from phiwatch.remediate import audit
from phiwatch.scan import remediator, run_scan
from phiwatch.store.tables import audit_log, finding_events, findings, outbox, remediations, resources

_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]
RULE = "multi-region-cloudtrail-enabled"
TRAIL_BUCKET = "phi-trail-logs"
NEEDED = f"remediation.rules.{RULE}.parameters.S3BucketName"


def _cli(args: list[str], store_url: str, aws_env, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PHIWATCH_DB=store_url, AWS_ENDPOINT_URL=aws_env.endpoint, AWS_REGION="us-east-1")
    env.pop("PHIWATCH_POLICY", None)
    return subprocess.run([*PHIWATCH, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _count(store, table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _finding(store, rule_id: str) -> str:
    with store.engine.connect() as conn:
        fid = conn.execute(
            select(findings.c.id)
            .join(resources, resources.c.id == findings.c.resource_pk)
            .where(findings.c.rule_id == rule_id, resources.c.region == "us-east-1")
        ).scalar()
    assert fid is not None, rule_id
    return fid


def _trail_finding(aws_env, store, services: tuple[str, ...] = ("cloudtrail",)) -> str:
    """Scan (remediation off) an account without a multi-Region trail; the finding's id."""
    aws_env.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    run_scan(aws_env.context(), store, parse_policy("remediation: {mode: 'off'}\n"), services=list(services))
    return _finding(store, RULE)


def _records(store) -> dict[str, int]:
    return {t.name: _count(store, t) for t in (remediations, audit_log, finding_events, outbox)}


def test_a_plan_missing_a_runbook_parameter_is_refused_and_records_nothing(aws_env, store, store_url, tmp_path):
    fid = _trail_finding(aws_env, store, ("cloudtrail", "vpc"))  # moto's default VPC has no flow log
    before = _records(store)
    assert before["remediations"] == before["audit_log"] == 0

    no_policy = _cli(["remediate", fid[:10]], store_url, aws_env, tmp_path)
    assert no_policy.returncode == 2, no_policy.stdout + no_policy.stderr
    message = " ".join(no_policy.stderr.split())
    assert "S3BucketName" in message and NEEDED in message and "--policy" in message, message
    assert f"rules.{RULE}.parameters.s3BucketName" in message  # the rule's own parameter gives it too
    assert "Traceback" not in no_policy.stderr

    # a policy that lacks it: neither the plan nor an approval is made (UsageError: exit status 2)
    lacking = parse_policy(f"remediation:\n  rules:\n    {RULE}: {{mode: manual}}\n")
    for act in (remediator(aws_env.context(), store, lacking).plan_for, remediator(aws_env.context(), store, lacking).approve):
        with pytest.raises(UsageError) as refused:
            act(fid[:10])
        assert NEEDED in str(refused.value)
    # a parameter the runbook needs only for the chosen destination (flow logs to S3: the bucket)
    to_s3 = parse_policy("remediation:\n  rules:\n    vpc-flow-logs-enabled: {mode: manual, parameters: {LogDestinationType: s3}}\n")
    with pytest.raises(UsageError) as refused:
        remediator(aws_env.context(), store, to_s3).plan_for(_finding(store, "vpc-flow-logs-enabled")[:10])
    assert "LogDestination (String) is required when LogDestinationType is s3" in str(refused.value)
    assert "remediation.rules.vpc-flow-logs-enabled.parameters.LogDestination" in str(refused.value)
    # nothing stored, audited or announced; nothing changed in the account
    assert _records(store) == before
    assert aws_env.client("cloudtrail").describe_trails()["trailList"] == []

    # given in the policy, the plan is made, shown and recorded once
    giving = tmp_path / "giving.yaml"
    giving.write_text(f"remediation:\n  rules:\n    {RULE}:\n      mode: manual\n      parameters: {{S3BucketName: {TRAIL_BUCKET}}}\n")
    shown = _cli(["remediate", fid[:10], "--policy", str(giving)], store_url, aws_env, tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "would call cloudtrail:CreateTrail" in shown.stdout and f"phiwatch remediate {fid[:12]} --approve" in shown.stdout
    with store.engine.connect() as conn:
        assert [(r.status, r.executed) for r in conn.execute(select(remediations.c.status, remediations.c.executed))] == [
            ("planned", False)
        ]
        assert [e["action"] for e in audit.entries(conn)] == ["plan"]
    assert aws_env.client("cloudtrail").describe_trails()["trailList"] == []

    # a scan in dry-run mode cannot stop at the missing parameter: it records the plan as failed, saying why
    run_scan(aws_env.context(), store, parse_policy("remediation: {mode: dry-run}\n"), services=["cloudtrail"])
    with store.engine.connect() as conn:
        latest = conn.execute(
            select(remediations.c.status, remediations.c.reason)
            .where(remediations.c.finding_id == fid)
            .order_by(remediations.c.created_at.desc())
            .limit(1)
        ).one()
    assert latest.status == "failed" and NEEDED in latest.reason


def _show(args: list[str], store_url: str, aws_env, cwd: Path) -> tuple[subprocess.CompletedProcess, Any]:
    done = _cli(["audit", "show", "--json", *args], store_url, aws_env, cwd)
    return done, json.loads(done.stdout) if done.returncode == 0 else None


def test_audit_show_takes_a_unique_prefix_of_the_finding_id(aws_env, store, store_url, tmp_path):
    fid = _trail_finding(aws_env, store)
    policy = parse_policy(f"rules:\n  {RULE}: {{parameters: {{s3BucketName: {TRAIL_BUCKET}}}}}\n")
    assert remediator(aws_env.context(), store, policy).plan_for(fid[:10])[1].status == "planned"
    # an entry about another finding whose id shares the first six characters
    other = fid[:6] + ("0" if fid[6] != "0" else "1") + fid[7:]
    with store.engine.begin() as conn:
        audit.Chain(conn).append("plan", {"rule_id": RULE, "note": "another finding"}, actor="alice", caller_arn=None, finding_id=other)

    done, rows = _show(["--finding", fid[:8]], store_url, aws_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [(r["action"], r["finding_id"]) for r in rows] == [("plan", fid)]
    ambiguous = _cli(["audit", "show", "--finding", fid[:6]], store_url, aws_env, tmp_path)
    assert ambiguous.returncode == 2
    assert "matches several findings" in ambiguous.stderr and fid[:16] in ambiguous.stderr and other[:16] in ambiguous.stderr

    # the same resolution, on the store: full id, prefix in either case, the other finding's prefix
    with store.engine.connect() as conn:
        assert [audit.resolve_finding(conn, given) for given in (fid, fid[:8].upper(), other[:8])] == [fid, fid, other]
        for given, why in (("ffff" if not fid.startswith("ffff") else "eeee", "no finding with id"), ("zz", "at least 4 hex characters")):
            with pytest.raises(UsageError, match=why):
                audit.resolve_finding(conn, given)
    with store.engine.connect() as conn:
        assert audit.verify(conn).ok
