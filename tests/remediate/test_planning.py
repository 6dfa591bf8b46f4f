"""Remediation planning in a scan, on moto's server: dry runs run concurrently yet store, audit and
announce exactly what one-after-the-other planning does, and plans are made only where the policy
asks for them (no AWS request for a rule whose remediation is off, or that does not run).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

import phiwatch.scan as scan_module
from phiwatch.policy import parse_policy
from phiwatch.remediate import audit, planning
from phiwatch.rules.active import resolve_rules
from phiwatch.scan import remediator, run_scan
from phiwatch.store.tables import finding_events, findings, outbox, remediations

REGIONS = ["us-east-1", "eu-west-1"]
SERVICES = ["s3", "ec2", "cloudtrail", "iam"]
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
BUCKETS = [f"phi-plan-{i:02d}" for i in range(10)]


def seed(aws_env) -> None:
    """Buckets without versioning or encryption, an open SSH group per Region, no trail and a weak
    password policy: plans of several runbooks, account-wide ones in both Regions among them."""
    s3 = aws_env.client("s3")
    for name in BUCKETS:
        s3.create_bucket(Bucket=name)
    for region in REGIONS:
        ec2 = aws_env.client("ec2", region)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        for n in range(2):
            gid = ec2.create_security_group(GroupName=f"ssh-open-{n}", Description="ssh", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
            )
    aws_env.client("iam").update_account_password_policy(MinimumPasswordLength=8)


def policy(mode: str = "dry-run", rules: dict[str, Any] | None = None, **extra: Any) -> Any:
    return parse_policy(json.dumps({"packs": ["hipaa"], "remediation": {"mode": mode, "rules": rules or {}}, **extra}))


def collected_store(aws_env, store, pol: Any = None) -> Any:
    """``store`` with the estate collected and evaluated, nothing planned yet."""
    run_scan(aws_env.context(REGIONS), store, pol or policy("off"), services=SERVICES, now=NOW)
    with store.engine.connect() as conn:
        assert conn.execute(select(remediations)).first() is None
    return store


def history(store) -> dict[str, list[Any]]:
    """What planning left in the store, in the order it was written, with each remediation id
    replaced by its rank in the audit chain (ids are random; their order is not), without the
    store's own keys (resource_pk: resources are numbered as collection finds them)."""
    with store.engine.connect() as conn:
        chain = audit.entries(conn)
        rows = {r["id"]: dict(r) for r in conn.execute(select(remediations)).mappings()}
        planned = finding_events.c.event.like("remediation_%")
        events = [dict(r) for r in conn.execute(select(finding_events).where(planned).order_by(finding_events.c.id)).mappings()]
        queued = [
            dict(r) for r in conn.execute(select(outbox).where(outbox.c.event.like("remediation_%")).order_by(outbox.c.id)).mappings()
        ]
    ranks = {e["remediation_id"]: f"R{n}" for n, e in enumerate(chain) if e["remediation_id"]}
    assert set(ranks) == set(rows)

    def plain(value: Any) -> Any:
        text = json.dumps(value, sort_keys=True, default=str)
        for rid, rank in ranks.items():
            text = text.replace(rid, rank).replace(rid[:12], rank)
        return json.loads(text)

    return {
        "audit": [plain([e["action"], e["finding_id"], e["remediation_id"], e["actor"], e["data"]]) for e in chain],
        "remediations": [
            plain({k: v for k, v in rows[rid].items() if k not in ("created_at", "audit_id", "audit_hash", "resource_pk")}) for rid in ranks
        ],
        "events": [plain([e["finding_id"], e["event"], e["annotation"], e["scan_id"]]) for e in events],
        "outbox": [plain([q["finding_id"], q["event"], q["route"]]) for q in queued],
    }


class SlowDryRuns:
    """Wraps the executor the planner calls: the earlier a finding comes, the longer its dry run
    takes (so concurrent runs finish in another order than they started), and records how many
    ran at once. With ``meet``, the first two dry runs wait for each other: they can only both
    finish when they run at the same time."""

    def __init__(self, meet: bool = False) -> None:
        self.real = planning.execute
        self.lock = threading.Lock()
        self.started = 0
        self.running = 0
        self.most = 0
        self.barrier = threading.Barrier(2) if meet else None

    def __call__(self, doc: Any, params: dict, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            rank = self.started
            self.started += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.barrier is not None and rank < 2:
                self.barrier.wait(timeout=60)
            time.sleep(max(0, 12 - rank) * 0.01)
            return self.real(doc, params, *args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


def plan_with(aws_env, store, workers: int, monkeypatch, pol: Any) -> tuple[Any, SlowDryRuns]:
    slow = SlowDryRuns(meet=workers > 1)
    monkeypatch.setattr(planning, "execute", slow)
    rem = remediator(aws_env.context(REGIONS), store, pol, resolve_rules(pol), now=NOW, actor="tester", planning_workers=workers)
    report = rem.run(scan_id="scan-1")
    monkeypatch.setattr(planning, "execute", slow.real)
    return report, slow


def outcomes(report) -> list[dict[str, Any]]:
    ids = {o.remediation_id: f"R{n}" for n, o in enumerate(report.outcomes) if o.remediation_id}
    out = []
    for o in report.outcomes:
        text = json.dumps(o.to_dict(), sort_keys=True, default=str)
        for rid, rank in ids.items():
            text = text.replace(rid, rank).replace(rid[:12], rank)
        out.append(json.loads(text))
    return out


def test_concurrent_dry_runs_store_audit_and_announce_what_sequential_planning_does(aws_env, tmp_path, monkeypatch):
    from phiwatch.store import Store

    seed(aws_env)
    # the trail rule has no bucket to log to: its plan fails, and the other Region's is covered by that failure
    pol = policy("dry-run")
    stores = [Store(f"sqlite:///{tmp_path / name}.db") for name in ("one", "eight")]
    try:
        for store in stores:
            collected_store(aws_env, store)
        sequential, slow_one = plan_with(aws_env, stores[0], 1, monkeypatch, pol)
        concurrent, slow_eight = plan_with(aws_env, stores[1], 8, monkeypatch, pol)

        assert slow_one.most == 1
        assert slow_eight.most > 1  # the first two met: they ran at the same time
        assert slow_one.started == slow_eight.started > 8
        plans = sequential.by_status("planned")
        assert {o.runbook_id for o in plans} >= {
            "phiwatch-EnableS3BucketVersioning",
            "phiwatch-EnableS3BucketEncryption",
            "phiwatch-RevokeOpenIngress",
            "phiwatch-SetIamPasswordPolicy",
        }
        covered = [o for o in sequential.outcomes if o.reason.startswith("covered by plan ")]
        # account-wide runbooks whose rule AWS evaluates per region: one plan covers the other regions
        assert {o.runbook_id for o in covered} == {"phiwatch-EnableCloudTrailMultiRegion", "phiwatch-BlockS3AccountPublicAccess"}

        assert outcomes(concurrent) == outcomes(sequential)
        one, eight = history(stores[0]), history(stores[1])
        assert len(one["audit"]) == len(sequential.outcomes) - sum(1 for o in sequential.outcomes if o.status == "skipped")
        for part in ("audit", "remediations", "events", "outbox"):
            assert eight[part] == one[part], part
        for store in stores:
            with store.engine.connect() as conn:
                assert audit.verify(conn).ok
    finally:
        for store in stores:
            store.close()


def test_a_dry_run_that_crashes_fails_its_own_plan_only(aws_env, store, monkeypatch):
    seed(aws_env)
    collected_store(aws_env, store)
    real = planning.execute
    victim = BUCKETS[3]

    def crashing(doc: Any, params: dict, *args: Any, **kwargs: Any) -> Any:
        if params.get("ResourceId") == victim and doc.id == "phiwatch-EnableS3BucketVersioning":
            raise RuntimeError("the executor broke")
        return real(doc, params, *args, **kwargs)

    monkeypatch.setattr(planning, "execute", crashing)
    pol = policy("dry-run")
    report = remediator(aws_env.context(REGIONS), store, pol, resolve_rules(pol), planning_workers=8).run(scan_id="scan-1")

    versioning = {o.resource_id: o for o in report.outcomes if o.runbook_id == "phiwatch-EnableS3BucketVersioning"}
    assert set(versioning) == set(BUCKETS)
    assert versioning[victim].status == "failed"
    assert versioning[victim].reason == "cannot plan: RuntimeError: the executor broke"
    assert all(o.status == "planned" and o.plan for name, o in versioning.items() if name != victim)
    with store.engine.connect() as conn:
        row = conn.execute(select(remediations).where(remediations.c.id == versioning[victim].remediation_id)).mappings().one()
        assert (row["status"], row["plan"]) == ("failed", [])
        assert audit.verify(conn).ok
    failed_events = [e for e in report.events if e["event"] == "remediation_failed" and e["finding_id"] == versioning[victim].finding_id]
    assert len(failed_events) == 1


# -- only where needed ----------------------------------------------------------------------------


class RemediationRequests:
    """Counts the AWS requests the scan's remediation step (and the recovery before evaluating) send."""

    def __init__(self, monkeypatch) -> None:
        self.requests = 0
        self.calls = 0
        self.reports: list[Any] = []
        for name in ("remediate_after_scan", "recover_interrupted"):
            monkeypatch.setattr(scan_module, name, self._counting(getattr(scan_module, name)))

    def _counting(self, real: Any) -> Any:
        def counted(aws: Any, *args: Any, **kwargs: Any) -> Any:
            before = aws.counter.total
            try:
                result = real(aws, *args, **kwargs)
                if real.__name__ == "remediate_after_scan":
                    self.reports.append(result)
                return result
            finally:
                self.calls += 1
                self.requests += aws.counter.total - before

        return counted


def sent_calls(store, **where: Any) -> int:
    """AWS calls the stored plans say were sent while planning."""
    query = select(remediations).where(*(getattr(remediations.c, k) == v for k, v in where.items()))
    with store.engine.connect() as conn:
        return sum(1 for row in conn.execute(query).mappings() for call in row["plan"] if call["sent"])


def plan_rows(store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(remediations)).mappings()]


def test_remediation_off_sends_no_request(aws_env, store, monkeypatch):
    seed(aws_env)
    counted = RemediationRequests(monkeypatch)
    run_scan(aws_env.context(REGIONS), store, policy("off"), services=SERVICES)
    assert counted.calls == 2 and counted.reports == [None]
    assert counted.requests == 0
    assert plan_rows(store) == []


def test_a_rule_whose_remediation_is_off_is_never_dry_run(aws_env, store, monkeypatch):
    seed(aws_env)
    counted = RemediationRequests(monkeypatch)
    caller = 1  # STS GetCallerIdentity, once per pass, for the audit log's caller
    # only restricted-ssh plans: every request of the step is one of its dry runs' reads
    run_scan(aws_env.context(REGIONS), store, policy("off", {"restricted-ssh": {"mode": "dry-run"}}), services=SERVICES)
    ssh_rows = plan_rows(store)
    assert {r["rule_id"] for r in ssh_rows} == {"restricted-ssh"} and len(ssh_rows) == 2 * len(REGIONS)
    assert {o.rule_id for o in counted.reports[0].outcomes} == {"restricted-ssh"}
    assert counted.requests == sent_calls(store) + caller
    # the dry runs did read the groups: from the items just collected, so nothing more was sent
    group_reads = [c for r in ssh_rows for c in r["plan"] if c["api"] == "DescribeSecurityGroups"]
    assert any(c.get("from_item") for c in group_reads) and not any(c["sent"] for c in group_reads)

    # the other way round: everything plans but restricted-ssh, which gets no new plan and no read
    before = counted.requests
    run_scan(aws_env.context(REGIONS), store, policy("dry-run", {"restricted-ssh": {"mode": "off"}}), services=SERVICES)
    rows = plan_rows(store)
    new = [r for r in rows if r["id"] not in {s["id"] for s in ssh_rows}]
    assert new and "restricted-ssh" not in {r["rule_id"] for r in new}
    assert "restricted-ssh" not in {o.rule_id for o in counted.reports[1].outcomes}
    assert counted.requests - before == sum(1 for r in new for c in r["plan"] if c["sent"]) + caller


@pytest.mark.parametrize("change", ["rule disabled", "pack not selected"])
def test_a_rule_that_does_not_run_is_never_planned(aws_env, store, monkeypatch, change):
    seed(aws_env)
    logs = aws_env.client("logs")
    logs.create_log_group(logGroupName="/phi/app")
    logs.put_retention_policy(logGroupName="/phi/app", retentionInDays=7)  # too short: a hipaa-extras finding
    services = [*SERVICES, "logs"]
    both = parse_policy(json.dumps({"packs": ["hipaa", "hipaa-extras"], "remediation": {"mode": "off"}}))
    run_scan(aws_env.context(REGIONS), store, both, services=services)
    gone = "restricted-ssh" if change == "rule disabled" else "cw-loggroup-retention-period-check"
    with store.engine.connect() as conn:
        assert conn.execute(select(findings).where(findings.c.rule_id == gone, findings.c.status == "open")).first() is not None
    if change == "rule disabled":
        pol = parse_policy(json.dumps({"packs": ["hipaa", "hipaa-extras"], "rules": {gone: {"enabled": False}}}))
    else:
        pol = policy("dry-run")
    counted = RemediationRequests(monkeypatch)
    run_scan(aws_env.context(REGIONS), store, pol, services=services)
    rows = plan_rows(store)
    assert rows and gone not in {r["rule_id"] for r in rows}
    assert all(o.status == "skipped" for o in counted.reports[0].outcomes if o.rule_id == gone)
    assert counted.requests == sent_calls(store) + 1
