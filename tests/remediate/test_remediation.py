"""Remediation end to end on moto's server: plan, approve, apply, verify, audit, limits, faults.

Every fix is checked with an independent boto3 read (not phiwatch's own view); excepted and
out-of-scope resources must be untouched; the audit chain must verify after every test that acts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from sqlalchemy import select

from phiwatch.model import ConfigurationItem
from phiwatch.policy import parse_policy
from phiwatch.remediate import audit
from phiwatch.remediate.parameters import runbook_parameters
from phiwatch.rules.active import resolve_rules
from phiwatch.scan import remediator, run_scan
from phiwatch.store.tables import finding_events, findings, outbox, remediations, resources

_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]
ACCOUNT = "123456789012"
LOG_BUCKET = "phi-access-logs"


# -- the estate ------------------------------------------------------------------------------


def seed_violations(aws_env) -> dict[str, str]:
    """S3 logging off (one bucket in scope, one excepted, one out of scope), EBS encryption by
    default off (moto's default), SSH open to the world (one group excepted)."""
    s3 = aws_env.client("s3")
    tags = {
        "phi-records-logging-off": [("PHI", "Yes"), ("Environment", "PROD")],
        "public-site-logging-off": [("PHI", "No"), ("Environment", "PROD")],
        "dev-scratch-logging-off": [("PHI", "No"), ("Environment", "DEV")],
        LOG_BUCKET: [("PHI", "No"), ("Environment", "PROD")],
    }
    for name, kv in tags.items():
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in kv]})
    # the log bucket lets S3's logging service write (what AWS requires of a logging target)
    s3.put_bucket_policy(
        Bucket=LOG_BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": ["s3:PutObject"],
                        "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
                    }
                ],
            }
        ),
    )
    s3.put_bucket_logging(Bucket=LOG_BUCKET, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": LOG_BUCKET, "TargetPrefix": "self/"}})
    ec2 = aws_env.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    groups = {}
    for name in ("sg-ssh-open-world", "sg-ssh-open-excepted"):
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=gid,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            ],
        )
        groups[name] = gid
    return groups


def policy_text(mode: str = "off", rules_modes: dict[str, str] | None = None, extra: str = "", groups: dict[str, str] | None = None) -> str:
    excepted_sg = (groups or {}).get("sg-ssh-open-excepted", "sg-none")
    modes = "\n".join(f'    {r}: {{mode: "{m}"}}' for r, m in (rules_modes or {}).items())
    return f"""
packs: [hipaa]
rules:
  s3-bucket-logging-enabled:
    parameters: {{targetBucket: {LOG_BUCKET}}}
    scope: {{tags: {{Environment: PROD}}}}
exceptions:
  - rule: s3-bucket-logging-enabled
    resource: public-site-logging-off
    justification: Static website, holds no PHI
    owner: web@example.org
    expires: 2030-12-31
  - rule: restricted-ssh
    resource: {excepted_sg}
    justification: Bastion under change ticket CHG-1234
    owner: ops@example.org
    expires: 2030-12-31
notifications:
  - name: security-team
    channel: webhook
    target: http://127.0.0.1:9/hook
    when: {{events: [remediation_planned, remediation_applied, remediation_failed]}}
remediation:
  mode: "{mode}"
{extra}
  rules:
{modes or "    {}"}
"""


AUTO3 = {"s3-bucket-logging-enabled": "auto", "ec2-ebs-encryption-by-default": "auto", "restricted-ssh": "auto"}


def scan(aws_env, store, text: str, services=("s3", "ec2"), **kw: Any):
    pol = parse_policy(text)
    return run_scan(aws_env.context(), store, pol, services=list(services), **kw)


def finding_for(store, rule_id: str, resource_id: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = (
            conn.execute(
                select(findings)
                .join(resources, resources.c.id == findings.c.resource_pk)
                .where(findings.c.rule_id == rule_id, resources.c.resource_id == resource_id)
            )
            .mappings()
            .first()
        )
    assert row is not None, f"no finding for {rule_id} on {resource_id}"
    return dict(row)


def rows(store, table, *where) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]


def logging_of(aws_env, bucket: str) -> dict | None:
    return aws_env.client("s3").get_bucket_logging(Bucket=bucket).get("LoggingEnabled")


def world_open_ports(aws_env, group_id: str) -> list[int]:
    perms = aws_env.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    return sorted(p.get("FromPort", -1) for p in perms if any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", [])))


def assert_audit_ok(store) -> audit.Verification:
    with store.engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok, result.reason
    return result


# -- auto ------------------------------------------------------------------------------------


def test_auto_mode_fixes_verifies_and_audits(aws_env, store):
    groups = seed_violations(aws_env)
    outcome = scan(aws_env, store, policy_text("off", AUTO3, groups=groups))
    report = outcome.remediation
    applied = {(o.rule_id, o.resource_id) for o in report.by_status("applied")}
    assert applied == {
        ("s3-bucket-logging-enabled", "phi-records-logging-off"),
        ("ec2-ebs-encryption-by-default", ACCOUNT),
        ("restricted-ssh", groups["sg-ssh-open-world"]),
    }, [(o.status, o.rule_id, o.resource_id, o.reason) for o in report.outcomes]

    # independent reads: fixed
    assert logging_of(aws_env, "phi-records-logging-off") == {"TargetBucket": LOG_BUCKET, "TargetPrefix": "phi-records-logging-off/"}
    assert aws_env.client("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    assert world_open_ports(aws_env, groups["sg-ssh-open-world"]) == []
    # the same group's other rule (HTTPS from 10/8) is kept
    perms = aws_env.client("ec2").describe_security_groups(GroupIds=[groups["sg-ssh-open-world"]])["SecurityGroups"][0]["IpPermissions"]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in perms] == [(443, "10.0.0.0/8")]
    # excepted and out-of-scope resources: untouched
    assert logging_of(aws_env, "public-site-logging-off") is None
    assert logging_of(aws_env, "dev-scratch-logging-off") is None
    assert world_open_ports(aws_env, groups["sg-ssh-open-excepted"]) == [22]

    # findings: remediated (not merely resolved); the excepted one stays excepted
    for rule_id, rid in applied:
        f = finding_for(store, rule_id, rid)
        assert f["status"] == "remediated" and f["resolved_at"] is not None
    assert finding_for(store, "s3-bucket-logging-enabled", "public-site-logging-off")["status"] == "excepted"
    assert finding_for(store, "restricted-ssh", groups["sg-ssh-open-excepted"])["status"] == "excepted"
    with pytest.raises(AssertionError):
        finding_for(store, "s3-bucket-logging-enabled", "dev-scratch-logging-off")  # out of scope: never a finding
    # the scan's evaluations already show the fixed state
    by_key = {(e["rule_id"], e["resource_id"]): e["compliance"] for e in outcome.scan["evaluations"]}
    assert by_key[("s3-bucket-logging-enabled", "phi-records-logging-off")] == "COMPLIANT"
    assert by_key[("restricted-ssh", groups["sg-ssh-open-world"])] == "COMPLIANT"

    # events in finding_events and in the alert outbox
    for rule_id, rid in applied:
        fid = finding_for(store, rule_id, rid)["id"]
        assert [e["event"] for e in rows(store, finding_events, finding_events.c.finding_id == fid)][-1] == "remediation_applied"
        queued = rows(store, outbox, outbox.c.finding_id == fid, outbox.c.event == "remediation_applied")
        assert len(queued) == 1 and queued[0]["payload"]["rule_id"] == rule_id
        assert "now compliant" in queued[0]["payload"]["annotation"]
    assert {e["event"] for e in outcome.scan["events"]} >= {"opened", "remediation_applied"}

    # remediation rows and the resource's history say who changed it
    done = rows(store, remediations, remediations.c.status == "applied")
    assert len(done) == 3 and all(r["executed"] and r["state_before"] != r["state_after"] for r in done)
    row = store.resolve("phi-records-logging-off", "AWS::S3::Bucket")
    assert store.history(row["id"])[-1]["changed_by"].startswith("phiwatch remediation ")

    # audit: one execute entry per fix, with who, inputs, each call and its result, states
    result = assert_audit_ok(store)
    with store.engine.connect() as conn:
        entries = audit.entries(conn)
    assert result.entries == len(entries) == 3
    for e in entries:
        assert e["action"] == "execute"
        assert e["actor"] == audit.os_user()
        assert e["caller_arn"].startswith("arn:aws:") and ACCOUNT in e["caller_arn"]
        data = e["data"]
        assert data["status"] == "applied" and data["compliance_after"] == "COMPLIANT"
        assert data["state_before"] and data["state_after"] and data["state_before"] != data["state_after"]
        assert data["parameters"]["ResourceId"] == data["resource_id"]
        assert all(c["result"] in ("ok", "planned (not sent)") for s in data["steps"] for c in s["calls"])
    logging_entry = next(e for e in entries if e["data"]["rule_id"] == "s3-bucket-logging-enabled")
    puts = [c for s in logging_entry["data"]["steps"] for c in s["calls"] if c["api"] == "PutBucketLogging"]
    assert puts and puts[0]["params"]["Bucket"] == "phi-records-logging-off"
    assert puts[0]["params"]["BucketLoggingStatus"]["LoggingEnabled"]["TargetBucket"] == LOG_BUCKET


def test_the_same_remediation_twice_changes_nothing(aws_env, store):
    groups = seed_violations(aws_env)
    text = policy_text("off", AUTO3, groups=groups)
    scan(aws_env, store, text)
    before_versions = {r["resource_id"]: (r["version"], r["state_id"]) for r in store.inventory()}
    before_remediations = len(rows(store, remediations))
    second = scan(aws_env, store, text)
    assert second.remediation.by_status("applied") == []
    assert len(rows(store, remediations)) == before_remediations
    assert {r["resource_id"]: (r["version"], r["state_id"]) for r in store.inventory()} == before_versions

    # the runbook itself is idempotent: run again on the fixed bucket, it writes nothing
    from phiwatch.remediate.executor import execute
    from phiwatch.runbooks.document import builtin

    doc = builtin("phiwatch-EnableS3BucketLogging")
    again = execute(
        doc, {"ResourceId": "phi-records-logging-off", "TargetBucket": LOG_BUCKET}, aws_env.context(), "us-east-1", dry_run=False
    )
    assert again.status == "Success", again.error
    assert [c.api for c in again.write_calls] == []
    assert logging_of(aws_env, "phi-records-logging-off")["TargetBucket"] == LOG_BUCKET
    assert_audit_ok(store)


# -- dry-run and manual ----------------------------------------------------------------------


def test_dry_run_changes_nothing_and_stores_the_plan(aws_env, store):
    groups = seed_violations(aws_env)
    text = policy_text("off", {r: "dry-run" for r in AUTO3}, groups=groups)
    first = scan(aws_env, store, text)
    planned = {(o.rule_id, o.resource_id): o for o in first.remediation.by_status("planned")}
    assert set(planned) == {
        ("s3-bucket-logging-enabled", "phi-records-logging-off"),
        ("ec2-ebs-encryption-by-default", ACCOUNT),
        ("restricted-ssh", groups["sg-ssh-open-world"]),
    }
    # nothing changed in AWS
    assert logging_of(aws_env, "phi-records-logging-off") is None
    assert aws_env.client("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
    assert world_open_ports(aws_env, groups["sg-ssh-open-world"]) == [22]
    # the stored plan: each write call with its interpolated parameters
    plan = planned[("s3-bucket-logging-enabled", "phi-records-logging-off")].plan
    writes = [c for c in plan if c["write"]]
    assert writes[0]["api"] == "PutBucketLogging" and writes[0]["sent"] is False
    assert writes[0]["params"] == {
        "Bucket": "phi-records-logging-off",
        "BucketLoggingStatus": {"LoggingEnabled": {"TargetBucket": LOG_BUCKET, "TargetPrefix": "phi-records-logging-off/"}},
    }
    ssh = [c for c in planned[("restricted-ssh", groups["sg-ssh-open-world"])].plan if c["write"]]
    assert ssh[0]["api"] == "RevokeSecurityGroupIngress" and ssh[0]["params"]["GroupId"] == groups["sg-ssh-open-world"]
    stored = rows(store, remediations)
    assert len(stored) == 3 and {r["status"] for r in stored} == {"planned"} and not any(r["executed"] for r in stored)
    assert {r["finding_id"] for r in stored} == {finding_for(store, *k)["id"] for k in planned}
    for key in planned:
        assert finding_for(store, *key)["status"] == "open"
    events = rows(store, finding_events, finding_events.c.event == "remediation_planned")
    assert len(events) == 3
    assert len(rows(store, outbox, outbox.c.event == "remediation_planned")) == 3
    assert [e["action"] for e in _audit_entries(store)] == ["plan"] * 3

    # a second scan repeats no plan, no event, no audit entry
    second = scan(aws_env, store, text)
    assert all(not o.new for o in second.remediation.outcomes if o.status == "planned")
    assert len(rows(store, remediations)) == 3
    assert len(rows(store, finding_events, finding_events.c.event == "remediation_planned")) == 3
    assert len(_audit_entries(store)) == 3
    assert_audit_ok(store)


def test_new_plans_supersede_the_old_and_the_newest_read_at_once_are_those_read_one_by_one(aws_env, store):
    from phiwatch.store import remediations as rem_store

    groups = seed_violations(aws_env)
    scan(aws_env, store, policy_text("off", {r: "dry-run" for r in AUTO3}, groups=groups))
    scan(aws_env, store, policy_text("off", {r: "manual" for r in AUTO3}, groups=groups))  # new plans supersede
    ids = [r["finding_id"] for r in rows(store, remediations)]
    assert len(ids) == 6 and len(set(ids)) == 3
    with store.engine.connect() as conn:
        together = rem_store.latest_remediations(conn, [*ids, "no-such-finding"], chunk=2)
        assert together == {fid: rem_store.latest_remediation(conn, fid) for fid in set(ids)}
    assert {r["mode"] for r in together.values()} == {"manual"}
    assert {r["status"] for r in together.values()} == {"planned"}
    # the first scan's plans were replaced: superseded, one planned row per finding
    older = [r for r in rows(store, remediations) if r["id"] not in {n["id"] for n in together.values()}]
    assert len(older) == 3 and {(r["mode"], r["status"]) for r in older} == {("dry-run", "superseded")}


def test_plans_written_in_batches_chain_their_audit_entries_and_refer_to_them(aws_env, store, monkeypatch):
    from phiwatch.remediate import planning

    monkeypatch.setattr(planning, "PLAN_BATCH", 2)  # three plans: a batch of two, then one
    groups = seed_violations(aws_env)
    with store.engine.connect() as conn:
        audit.Chain(conn).append("skip", {"note": "an entry before the scan"}, actor="someone", caller_arn=None)
        conn.commit()
    outcome = scan(aws_env, store, policy_text("off", {r: "dry-run" for r in AUTO3}, groups=groups))
    planned = [o for o in outcome.remediation.outcomes if o.new]
    assert len(planned) == 3
    entries = sorted(_audit_entries(store), key=lambda e: e["id"])
    assert [e["action"] for e in entries] == ["skip", "plan", "plan", "plan"]
    assert [e["id"] for e in entries] == [1, 2, 3, 4]
    for before, entry in zip(entries, entries[1:], strict=False):
        assert entry["prev_hash"] == before["hash"]  # each batch chains on the entry before it, in memory or read
    by_remediation = {e["remediation_id"]: e for e in entries[1:]}
    for row in rows(store, remediations):
        assert (row["audit_id"], row["audit_hash"]) == (by_remediation[row["id"]]["id"], by_remediation[row["id"]]["hash"])
    assert assert_audit_ok(store).entries == 4


def test_the_findings_of_chosen_rules_are_those_of_all_findings_of_those_rules(aws_env, store):
    from phiwatch.store import remediations as rem_store

    groups = seed_violations(aws_env)
    scan(aws_env, store, policy_text("off", {r: "dry-run" for r in AUTO3}, groups=groups))
    with store.engine.connect() as conn:
        every = rem_store.finding_rows(conn)
        chosen = set(sorted(AUTO3)[:2])
        assert len({r["rule_id"] for r in every} - chosen) > 0  # other rules' findings exist, and are left out
        assert rem_store.finding_rows(conn, rule_ids=chosen) == [r for r in every if r["rule_id"] in chosen] != []
        assert rem_store.finding_rows(conn, rule_ids=[]) == []


def _audit_entries(store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return audit.entries(conn)


def _cli(
    args: list[str], store_url: str, aws_env, cwd: Path, timeout: float = 120, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PHIWATCH_DB=store_url, AWS_ENDPOINT_URL=aws_env.endpoint, AWS_REGION="us-east-1", **(env_extra or {}))
    return subprocess.run([*PHIWATCH, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_manual_mode_needs_approve(aws_env, store, store_url, tmp_path):
    groups = seed_violations(aws_env)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy_text("off", {"s3-bucket-logging-enabled": "manual"}, groups=groups))
    scanned = _cli(["scan", "--policy", str(policy_file), "-s", "s3"], store_url, aws_env, tmp_path)
    assert scanned.returncode == 0, scanned.stderr
    fid = finding_for(store, "s3-bucket-logging-enabled", "phi-records-logging-off")["id"]
    assert f"phiwatch remediate {fid[:12]} --approve" in scanned.stdout
    assert "would call s3:PutBucketLogging" in scanned.stdout
    assert logging_of(aws_env, "phi-records-logging-off") is None

    shown = _cli(["remediate", fid[:8], "--policy", str(policy_file)], store_url, aws_env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "PutBucketLogging" in shown.stdout and "--approve" in shown.stdout
    assert logging_of(aws_env, "phi-records-logging-off") is None  # showing the plan changes nothing

    excepted = finding_for(store, "s3-bucket-logging-enabled", "public-site-logging-off")["id"]
    refused = _cli(["remediate", excepted[:10], "--approve", "--policy", str(policy_file)], store_url, aws_env, tmp_path)
    assert refused.returncode == 2 and "excepted" in refused.stderr
    assert logging_of(aws_env, "public-site-logging-off") is None

    approved = _cli(["remediate", fid[:10], "--approve", "--policy", str(policy_file), "--json"], store_url, aws_env, tmp_path)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    body = json.loads(approved.stdout)
    assert [o["status"] for o in body["outcomes"]] == ["applied"]
    assert logging_of(aws_env, "phi-records-logging-off")["TargetBucket"] == LOG_BUCKET
    assert finding_for(store, "s3-bucket-logging-enabled", "phi-records-logging-off")["status"] == "remediated"

    entries = _audit_entries(store)
    # showing the unchanged plan again added nothing; the refused approval neither
    assert [e["action"] for e in entries] == ["plan", "approve", "execute"]
    assert entries[2]["data"]["state_before"] != entries[2]["data"]["state_after"]
    approve = next(e for e in entries if e["action"] == "approve")
    assert approve["actor"] == audit.os_user() and approve["finding_id"] == fid
    verified = _cli(["audit", "verify"], store_url, aws_env, tmp_path)
    assert verified.returncode == 0, verified.stderr
    listed = _cli(["remediate", "--json"], store_url, aws_env, tmp_path)
    assert listed.returncode == 0 and "applied" in {r["status"] for r in json.loads(listed.stdout)}
    table = _cli(["remediate"], store_url, aws_env, tmp_path, env_extra={"COLUMNS": "250"})
    assert table.returncode == 0, table.stderr
    assert "remediations (newest first)" in table.stdout and fid[:12] in table.stdout and "applied" in table.stdout


# -- limits ----------------------------------------------------------------------------------


def _versioning_off_buckets(aws_env, n: int) -> list[str]:
    s3 = aws_env.client("s3")
    names = [f"phi-versioning-off-{i}" for i in range(n)]
    for name in names:
        s3.create_bucket(Bucket=name)
    return names


def _versioned(aws_env, names: list[str]) -> list[str]:
    s3 = aws_env.client("s3")
    return [n for n in names if s3.get_bucket_versioning(Bucket=n).get("Status") == "Enabled"]


def test_max_per_run_and_max_per_hour(aws_env, store):
    names = _versioning_off_buckets(aws_env, 3)
    text = policy_text("off", {"s3-bucket-versioning-enabled": "auto"}, extra="  max_per_run: 2")
    first = scan(aws_env, store, text, services=("s3",))
    assert len(first.remediation.by_status("applied")) == 2
    deferred = first.remediation.by_status("deferred")
    assert len(deferred) == 1 and "max_per_run (2)" in deferred[0].reason
    assert len(_versioned(aws_env, names)) == 2
    assert finding_for(store, "s3-bucket-versioning-enabled", deferred[0].resource_id)["status"] == "open"
    # the next scan takes the one left over
    second = scan(aws_env, store, text, services=("s3",))
    assert [o.resource_id for o in second.remediation.by_status("applied")] == [deferred[0].resource_id]
    assert _versioned(aws_env, names) == names

    more = _versioning_off_buckets(aws_env, 5)[3:]  # phi-versioning-off-3, -4
    hourly = policy_text("off", {"s3-bucket-versioning-enabled": "auto"}, extra="  max_per_hour: 4")
    third = scan(aws_env, store, hourly, services=("s3",))
    # 3 executions in the last hour already: one more is allowed
    assert len(third.remediation.by_status("applied")) == 1
    assert [o.reason for o in third.remediation.by_status("deferred")] == ["max_per_hour (4) reached: left for a later scan"]
    assert len(_versioned(aws_env, more)) == 1
    assert_audit_ok(store)


def test_a_run_missing_a_runbook_parameter_fails_before_counting_against_the_limits(aws_env, store):
    names = _versioning_off_buckets(aws_env, 1)
    # the trail rule (high) comes before versioning (medium), and no policy gives the trail's bucket
    modes = {"multi-region-cloudtrail-enabled": "auto", "s3-bucket-versioning-enabled": "auto"}
    text = policy_text("off", modes, extra="  max_per_run: 1\n  max_per_hour: 1")
    report = scan(aws_env, store, text, services=("cloudtrail", "s3")).remediation

    assert [o.rule_id for o in report.by_status("applied")] == ["s3-bucket-versioning-enabled"]
    assert not report.by_status("deferred")
    [failed] = report.by_status("failed")
    needed = "remediation.rules.multi-region-cloudtrail-enabled.parameters.S3BucketName"
    assert failed.rule_id == "multi-region-cloudtrail-enabled" and "S3BucketName" in failed.reason and needed in failed.reason
    # independent reads: the other finding was fixed, no trail was attempted
    assert _versioned(aws_env, names) == names
    assert aws_env.client("cloudtrail").describe_trails()["trailList"] == []
    # recorded as failed, not executed, with an alert; only the applied run counts against the hour
    trail_rows = rows(store, remediations, remediations.c.rule_id == "multi-region-cloudtrail-enabled")
    assert [(r["status"], r["executed"], r["reason"]) for r in trail_rows] == [("failed", False, failed.reason)]
    assert remediator(aws_env.context(), store, parse_policy(text)).executed_last_hour() == 1
    events = rows(store, finding_events, finding_events.c.finding_id == failed.finding_id, finding_events.c.event == "remediation_failed")
    assert len(events) == 1 and needed in events[0]["annotation"]
    executed = [e for e in _audit_entries(store) if e["action"] == "execute" and e["finding_id"] == failed.finding_id]
    assert [(e["data"]["status"], e["data"]["calls"], e["data"]["reason"]) for e in executed] == [("failed", 0, failed.reason)]

    # the next scan repeats neither the record nor the alert while nothing changed
    again = scan(aws_env, store, text, services=("cloudtrail", "s3")).remediation
    assert [(o.rule_id, o.status, o.new) for o in again.outcomes] == [("multi-region-cloudtrail-enabled", "failed", False)]
    assert len(rows(store, remediations, remediations.c.rule_id == "multi-region-cloudtrail-enabled")) == 1
    assert (
        len(rows(store, finding_events, finding_events.c.finding_id == failed.finding_id, finding_events.c.event == "remediation_failed"))
        == 1
    )
    assert_audit_ok(store)


# -- re-check before acting ------------------------------------------------------------------


def test_a_resource_fixed_since_its_evaluation_is_rechecked_and_left_alone(aws_env, store):
    names = _versioning_off_buckets(aws_env, 1)
    text = policy_text("off", {"s3-bucket-versioning-enabled": "manual"})
    scan(aws_env, store, text, services=("s3",))
    fid = finding_for(store, "s3-bucket-versioning-enabled", names[0])["id"]
    assert rows(store, remediations)[0]["status"] == "planned"
    # someone fixes it by hand before the plan is approved
    aws_env.client("s3").put_bucket_versioning(Bucket=names[0], VersioningConfiguration={"Status": "Enabled"})
    pol = parse_policy(text)
    report = remediator(aws_env.context(), store, pol).approve(fid[:12])
    assert [(o.status, o.reason) for o in report.outcomes] == [("skipped", "compliant now (re-checked before acting): nothing to do")]
    assert not any(r["executed"] for r in rows(store, remediations))
    f = finding_for(store, "s3-bucket-versioning-enabled", names[0])
    assert f["status"] == "resolved"  # fixed, but not by phiwatch
    assert [e["action"] for e in _audit_entries(store)] == ["plan", "approve", "skip"]
    assert_audit_ok(store)


def test_auto_rechecks_a_stale_evaluation(aws_env, store):
    names = _versioning_off_buckets(aws_env, 2)
    text = policy_text("off", {"s3-bucket-versioning-enabled": "auto"})
    scan(aws_env, store, text, services=("s3",), remediate=False)
    aws_env.client("s3").put_bucket_versioning(Bucket=names[0], VersioningConfiguration={"Status": "Enabled"})
    report = remediator(aws_env.context(), store, parse_policy(text), fresh_seconds=0).run()
    status = {o.resource_id: o.status for o in report.outcomes}
    assert status == {names[0]: "skipped", names[1]: "applied"}
    assert finding_for(store, "s3-bucket-versioning-enabled", names[0])["status"] == "resolved"
    assert finding_for(store, "s3-bucket-versioning-enabled", names[1])["status"] == "remediated"


# -- faults ----------------------------------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any):
        yield self.data


class FailWrites:
    """before-send handler: answer ``operation`` with an AWS error (after ``delay`` seconds)."""

    def __init__(self, operation: str, code: str = "AccessDenied", status: int = 403, delay: float = 0.0) -> None:
        self.operation, self.code, self.status, self.delay = operation, code, status, delay
        self.hits = 0
        self._lock = threading.Lock()

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        if event_name.rsplit(".", 1)[-1] != self.operation:
            return None
        with self._lock:
            self.hits += 1
        if self.delay:
            time.sleep(self.delay)
        body = f"<Error><Code>{self.code}</Code><Message>injected</Message><RequestId>x</RequestId></Error>".encode()
        return AWSResponse(request.url, self.status, {"Content-Type": "application/xml"}, _Body(body))


def test_an_api_error_mid_runbook_fails_the_run_keeps_the_finding_open_and_is_not_retried(aws_env, store):
    names = _versioning_off_buckets(aws_env, 1)
    text = policy_text("off", {"s3-bucket-versioning-enabled": "auto"})
    pol = parse_policy(text)
    aws = aws_env.context()
    fault = FailWrites("PutBucketVersioning")
    aws.client("s3").meta.events.register("before-send", fault)
    outcome = run_scan(aws, store, pol, services=["s3"])
    failed = outcome.remediation.by_status("failed")
    assert len(failed) == 1
    assert failed[0].failed_step == "EnableVersioning"
    assert "AccessDenied" in failed[0].reason
    assert fault.hits >= 1
    # no further step ran after the failing one
    assert [s["step"] for s in failed[0].steps][-1] == "EnableVersioning"
    assert aws_env.client("s3").get_bucket_versioning(Bucket=names[0]).get("Status") is None
    f = finding_for(store, "s3-bucket-versioning-enabled", names[0])
    assert f["status"] == "open"
    assert rows(store, finding_events, finding_events.c.finding_id == f["id"])[-1]["event"] == "remediation_failed"
    assert rows(store, outbox, outbox.c.finding_id == f["id"], outbox.c.event == "remediation_failed")
    run = rows(store, remediations)[0]
    assert (run["status"], run["failed_step"], run["executed"]) == ("failed", "EnableVersioning", True)

    # the next scans do not retry on the unchanged configuration (no retry storm)
    hits = fault.hits
    for _ in range(2):
        again = run_scan(aws, store, pol, services=["s3"])
        assert [o.status for o in again.remediation.outcomes] == ["skipped"]
        assert "not retried automatically" in again.remediation.outcomes[0].reason
    assert fault.hits == hits
    assert len(rows(store, remediations)) == 1
    # a human may retry: the fault is gone now
    aws.client("s3").meta.events.unregister("before-send", fault)
    report = remediator(aws, store, pol).approve(f["id"][:12])
    assert [o.status for o in report.outcomes] == ["applied"]
    assert aws_env.client("s3").get_bucket_versioning(Bucket=names[0])["Status"] == "Enabled"
    assert_audit_ok(store)


def test_a_step_timeout_fails_the_run(aws_env, store):
    names = _versioning_off_buckets(aws_env, 1)
    pol = parse_policy(policy_text("off", {"s3-bucket-versioning-enabled": "auto"}))
    aws = aws_env.context()
    scan(aws_env, store, policy_text("off"), services=("s3",))  # the finding, no remediation yet
    aws.client("s3").meta.events.register("before-send", FailWrites("PutBucketVersioning", "InternalError", 400, delay=3.0))
    started = time.monotonic()
    report = remediator(aws, store, pol, max_seconds=1.0).run()
    assert time.monotonic() - started < 30
    [failed] = report.outcomes
    assert failed.status == "failed" and failed.failed_step == "EnableVersioning"
    assert "timed out" in failed.reason.lower() or "max_seconds" in failed.reason
    assert finding_for(store, "s3-bucket-versioning-enabled", names[0])["status"] == "open"
    assert_audit_ok(store)


def test_a_resource_deleted_before_the_run(aws_env, store):
    names = _versioning_off_buckets(aws_env, 1)
    pol = parse_policy(policy_text("off", {"s3-bucket-versioning-enabled": "auto"}))
    scan(aws_env, store, policy_text("off"), services=("s3",))
    fid = finding_for(store, "s3-bucket-versioning-enabled", names[0])["id"]
    aws_env.client("s3").delete_bucket(Bucket=names[0])
    report = remediator(aws_env.context(), store, pol).run()  # fresh evaluation: acts without re-collecting first
    [failed] = report.outcomes
    assert failed.status == "failed" and failed.failed_step == "ReadVersioning"
    assert "NoSuchBucket" in failed.reason
    with store.engine.connect() as conn:
        events = [
            r.event
            for r in conn.execute(select(finding_events.c.event).where(finding_events.c.finding_id == fid).order_by(finding_events.c.id))
        ]
        status = conn.execute(select(findings.c.status).where(findings.c.id == fid)).scalar()
    assert "remediation_failed" in events and "remediation_applied" not in events
    # the re-collection recorded the deletion: the finding is closed as "resource deleted", never "remediated"
    assert status == "resolved" and events[-1] == "resolved"
    assert_audit_ok(store)


# -- parameters --------------------------------------------------------------------------------


def _item(resource_type: str, resource_id: str, **kw: Any) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType=resource_type, resourceId=resource_id, awsRegion=kw.pop("region", "us-east-1"), accountId=ACCOUNT, **kw
    )


def test_runbook_parameters_come_from_the_item_and_the_rule():
    from phiwatch.runbooks.document import builtin

    rules = resolve_rules(parse_policy("packs: [hipaa, hipaa-extras]"))
    sg = _item("AWS::EC2::SecurityGroup", "sg-0123456789abcdef0")
    doc = builtin("phiwatch-RevokeOpenIngress")
    assert runbook_parameters(doc, sg, {}, "us-east-1", "restricted-ssh") == {"ResourceId": sg.resourceId, "Ports": ["22"]}
    common = rules["restricted-common-ports"].defaults()
    assert runbook_parameters(doc, sg, common, "us-east-1", "restricted-common-ports")["Ports"] == ["20", "21", "3389", "3306", "4333"]
    params = runbook_parameters(
        doc, sg, {"authorizedTcpPorts": "443", "authorizedUdpPorts": None}, "us-east-1", "vpc-sg-open-only-to-authorized-ports"
    )
    assert params == {"ResourceId": sg.resourceId, "Ports": ["all"], "AuthorizedTcpPorts": "443"}

    user = _item("AWS::IAM::User", "AIDAEXAMPLE", resourceName="alice", region="global")
    keys = builtin("phiwatch-DeactivateOldAccessKeys")
    assert runbook_parameters(keys, user, {"maxAccessKeyAge": 30}, "us-east-1", "access-keys-rotated") == {
        "ResourceId": "AIDAEXAMPLE",
        "UserName": "alice",
        "MaxAccessKeyAge": 30,
        "MaxCredentialUsageAge": 0,
    }
    assert (
        runbook_parameters(keys, user, {"maxCredentialUsageAge": 45}, "us-east-1", "iam-user-unused-credentials-check")["MaxAccessKeyAge"]
        == 0
    )

    bucket = _item("AWS::S3::Bucket", "phi-bucket")
    logging_doc = builtin("phiwatch-EnableS3BucketLogging")
    assert runbook_parameters(
        logging_doc, bucket, {"targetBucket": "logs", "targetPrefix": None}, "us-east-1", "s3-bucket-logging-enabled"
    ) == {
        "ResourceId": "phi-bucket",
        "TargetBucket": "logs",
    }
    enc = builtin("phiwatch-EnableS3BucketEncryption")
    assert runbook_parameters(enc, bucket, {}, "us-east-1", "s3-bucket-server-side-encryption-enabled") == {"ResourceId": "phi-bucket"}
    assert runbook_parameters(enc, bucket, {"kmsKeyArns": None}, "us-east-1", "s3-default-encryption-kms")["KmsKeyId"] == "alias/aws/s3"

    snap = _item("AWS::RDS::DBClusterSnapshot", "cluster-snap-1")
    assert runbook_parameters(builtin("phiwatch-MakeRdsSnapshotPrivate"), snap, {}, "us-east-1")["SnapshotType"] == "DBClusterSnapshot"

    account = _item("AWS::::Account", ACCOUNT, region="global")
    pw = runbook_parameters(
        builtin("phiwatch-SetIamPasswordPolicy"), account, rules["iam-password-policy"].defaults(), "eu-west-1", "iam-password-policy"
    )
    assert pw["MinimumPasswordLength"] == 14 and pw["ResourceId"] == ACCOUNT
    # every built-in runbook's required parameters are filled for every rule that names it, or the plan says which is missing
    for rule in rules.values():
        if not rule.remediation:
            continue
        doc = builtin(rule.remediation)
        item = _item(rule.resource_types[0], "x-1", resourceName="x-1")
        given = runbook_parameters(doc, item, rule.defaults(), "us-east-1", rule.id)
        missing = [n for n, p in doc.parameters.items() if p.required and n not in given]
        assert set(missing) <= {"TargetBucket", "S3BucketName"}, (rule.id, missing)


def test_remediation_parameters_take_placeholders_filled_per_finding(aws_env, store):
    """One access-log bucket per account and region, written once in the policy."""
    seed_violations(aws_env)
    text = policy_text("off", {"s3-bucket-logging-enabled": "dry-run"}).replace(
        '    s3-bucket-logging-enabled: {mode: "dry-run"}',
        "    s3-bucket-logging-enabled: {mode: dry-run, parameters: {TargetBucket: 'logs-{account_id}-{region}', TargetPrefix: '{resource_name}/'}}",
    )
    outcome = scan(aws_env, store, text, services=("s3",))
    plan = next(o for o in outcome.remediation.outcomes if o.resource_id == "phi-records-logging-off")
    assert plan.status == "planned", plan.reason
    assert plan.parameters["TargetBucket"] == f"logs-{ACCOUNT}-us-east-1"
    assert plan.parameters["TargetPrefix"] == "phi-records-logging-off/"
