"""Account-wide remediations on a scan of several Regions, on moto's server.

A setting of the whole account (a multi-Region trail, the IAM password policy) is fixed by one
execution per account and batch, even when every Region's ``AWS::::Account`` item has the
finding; the other Regions' findings are verified on their own re-collected item against that
one execution. A regional account setting (EBS encryption by default) is still fixed per Region.
Dry-run and manual plans are made once per account too, and approving any of the findings runs
that one plan where auto mode would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from phiwatch.policy import parse_policy
from phiwatch.remediate import audit
from phiwatch.scan import run_scan
from phiwatch.store.tables import findings, remediations, resources

REGIONS = ["us-east-1", "eu-west-1"]  # the default Region sorts last: the order alone does not pick it
TRAIL_BUCKET = "phi-trail-logs"
TRAIL = "phiwatch-multi-region-trail"
RULES = ("multi-region-cloudtrail-enabled", "iam-password-policy", "ec2-ebs-encryption-by-default")


def _policy() -> str:
    return json.dumps(
        {
            "packs": ["hipaa"],
            "rules": {"multi-region-cloudtrail-enabled": {"parameters": {"s3BucketName": TRAIL_BUCKET}}},
            "remediation": {"mode": "off", "max_per_run": 20, "rules": {r: {"mode": "auto"} for r in RULES}},
        }
    )


_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]


def _cli(args: list[str], store_url: str, aws_env, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PHIWATCH_DB=store_url, AWS_ENDPOINT_URL=aws_env.endpoint, AWS_REGION="us-east-1")
    env.pop("PHIWATCH_POLICY", None)
    return subprocess.run([*PHIWATCH, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _rows(store, rule_id: str) -> list[dict[str, Any]]:
    query = (
        select(remediations, resources.c.region.label("item_region"), findings.c.status.label("finding_status"))
        .join(resources, resources.c.id == remediations.c.resource_pk)
        .join(findings, findings.c.id == remediations.c.finding_id)
        .where(remediations.c.rule_id == rule_id)
    )
    with store.engine.connect() as conn:
        return sorted((dict(r) for r in conn.execute(query).mappings()), key=lambda r: r["item_region"])


def test_an_account_wide_runbook_runs_once_for_every_regions_finding(aws_env, store):
    aws_env.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    aws_env.client("iam").update_account_password_policy(MinimumPasswordLength=8)

    outcome = run_scan(aws_env.context(REGIONS), store, parse_policy(_policy()), services=["cloudtrail", "ec2", "iam"])

    # independent reads: one multi-Region trail, homed in the default Region and logging; none
    # created in the other Region (its only trail is the shadow of the first)
    east, west = aws_env.client("cloudtrail", "us-east-1"), aws_env.client("cloudtrail", "eu-west-1")
    homed_east = east.describe_trails(includeShadowTrails=False)["trailList"]
    assert [(t["Name"], t["IsMultiRegionTrail"], t["HomeRegion"]) for t in homed_east] == [(TRAIL, True, "us-east-1")]
    assert east.get_trail_status(Name=TRAIL)["IsLogging"] is True
    assert west.describe_trails(includeShadowTrails=False)["trailList"] == []
    assert [t["TrailARN"] for t in west.describe_trails()["trailList"]] == [homed_east[0]["TrailARN"]]
    # the regional setting was fixed in each Region
    for region in REGIONS:
        assert aws_env.client("ec2", region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    assert aws_env.client("iam").get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 14

    # the store: two findings of the trail rule (one per Region's account item), one execution
    trail_runs = _rows(store, "multi-region-cloudtrail-enabled")
    assert [(r["item_region"], r["executed"], r["status"], r["finding_status"]) for r in trail_runs] == [
        ("eu-west-1", False, "applied", "remediated"),
        ("us-east-1", True, "applied", "remediated"),
    ]
    first = trail_runs[1]
    assert trail_runs[0]["region"] == "us-east-1"  # covered by the run made in the default Region
    assert trail_runs[0]["reason"] == f"covered by remediation {first['id'][:12]}"
    assert trail_runs[0]["state_before"] != trail_runs[0]["state_after"]  # its own item was re-collected
    ebs_runs = _rows(store, "ec2-ebs-encryption-by-default")
    assert [(r["item_region"], r["region"], r["executed"], r["status"]) for r in ebs_runs] == [
        ("eu-west-1", "eu-west-1", True, "applied"),
        ("us-east-1", "us-east-1", True, "applied"),
    ]
    assert [(r["executed"], r["status"]) for r in _rows(store, "iam-password-policy")] == [(True, "applied")]

    reported = sorted((o.rule_id, o.region, o.status, o.reason) for o in outcome.remediation.outcomes)
    assert ("multi-region-cloudtrail-enabled", "eu-west-1", "applied", f"covered by remediation {first['id'][:12]}") in reported
    assert sum(1 for o in reported if o[0] == "multi-region-cloudtrail-enabled") == 2

    # the audit: the trail's write calls were sent once; the covered finding names the execution
    with store.engine.connect() as conn:
        assert audit.verify(conn).ok
        executed = [
            e for e in audit.entries(conn) if e["action"] == "execute" and e["data"]["rule_id"] == "multi-region-cloudtrail-enabled"
        ]
    created = [c for e in executed for s in e["data"]["steps"] for c in s["calls"] if c["api"] == "CreateTrail" and c["result"] == "ok"]
    assert len(created) == 1
    assert sorted((e["data"]["region"], e["data"]["shared_run"]) for e in executed) == [("eu-west-1", first["id"]), ("us-east-1", None)]

    # a second scan finds everything compliant and runs nothing
    again = run_scan(aws_env.context(REGIONS), store, parse_policy(_policy()), services=["cloudtrail", "ec2", "iam"])
    assert again.remediation is None or not again.remediation.outcomes
    assert len(east.describe_trails(includeShadowTrails=False)["trailList"]) == 1


def _plan_policy(mode: str) -> str:
    return json.dumps(
        {
            "packs": ["hipaa"],
            "rules": {"multi-region-cloudtrail-enabled": {"parameters": {"s3BucketName": TRAIL_BUCKET}}},
            "remediation": {"mode": "off", "rules": {"multi-region-cloudtrail-enabled": {"mode": mode}}},
        }
    )


def _homed_trails(aws_env) -> dict[str, list[tuple[str, bool, str]]]:
    """Each Region's trails homed there (not the shadows of another Region's multi-Region trail)."""
    return {
        region: [
            (t["Name"], t["IsMultiRegionTrail"], t["HomeRegion"])
            for t in aws_env.client("cloudtrail", region).describe_trails(includeShadowTrails=False)["trailList"]
        ]
        for region in REGIONS
    }


def test_an_account_wide_plan_is_made_once_and_approving_any_finding_runs_it_once(aws_env, store, store_url, tmp_path):
    aws_env.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    rule = "multi-region-cloudtrail-enabled"

    dry = run_scan(aws_env.context(REGIONS), store, parse_policy(_plan_policy("dry-run")), services=["cloudtrail"]).remediation
    plans = _rows(store, rule)
    # one plan with the calls, made in the default Region; the other Region's finding refers to it
    assert [(r["item_region"], r["region"], r["status"]) for r in plans] == [
        ("eu-west-1", "us-east-1", "planned"),
        ("us-east-1", "us-east-1", "planned"),
    ]
    covered, first = plans
    assert "CreateTrail" in [c["api"] for c in first["plan"]] and covered["plan"] == []
    assert covered["reason"] == f"covered by plan {first['id'][:12]}" and first["reason"] is None
    assert sorted((o.region, o.reason) for o in dry.outcomes) == [("eu-west-1", f"covered by plan {first['id'][:12]}"), ("us-east-1", "")]
    with store.engine.connect() as conn:
        planned = [e for e in audit.entries(conn) if e["action"] == "plan"]
    assert sorted((e["data"]["region"], e["data"]["shared_plan"], len(e["data"]["calls"]) > 0) for e in planned) == [
        ("eu-west-1", first["id"], False),
        ("us-east-1", None, True),
    ]
    assert _homed_trails(aws_env) == {"us-east-1": [], "eu-west-1": []}
    # nothing changed: the next scan makes no plan again
    again = run_scan(aws_env.context(REGIONS), store, parse_policy(_plan_policy("dry-run")), services=["cloudtrail"]).remediation
    assert sorted((o.status, o.new) for o in again.outcomes) == [("planned", False), ("planned", False)]
    assert len(_rows(store, rule)) == 2

    # manual mode: the plans again, once for the account, waiting for a human
    policy_file = tmp_path / "manual.json"
    policy_file.write_text(_plan_policy("manual"))
    run_scan(aws_env.context(REGIONS), store, parse_policy(policy_file.read_text()), services=["cloudtrail"])
    manual = [r for r in _rows(store, rule) if r["status"] == "planned"]
    assert [(r["item_region"], r["region"], r["mode"], bool(r["plan"])) for r in manual] == [
        ("eu-west-1", "us-east-1", "manual", False),
        ("us-east-1", "us-east-1", "manual", True),
    ]
    west_finding = manual[0]["finding_id"]
    assert manual[0]["reason"] == f"covered by plan {manual[1]['id'][:12]}"

    # approving the eu-west-1 finding runs the one plan once, in the default Region, like auto mode
    approved = _cli(["remediate", west_finding[:12], "--approve", "--policy", str(policy_file), "--json"], store_url, aws_env, tmp_path)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert sorted((o["region"], o["status"]) for o in json.loads(approved.stdout)["outcomes"]) == [
        ("eu-west-1", "applied"),
        ("us-east-1", "applied"),
    ]
    assert _homed_trails(aws_env) == {"us-east-1": [(TRAIL, True, "us-east-1")], "eu-west-1": []}
    assert aws_env.client("cloudtrail", "us-east-1").get_trail_status(Name=TRAIL)["IsLogging"] is True
    runs = [r for r in _rows(store, rule) if r["mode"] == "approved"]
    assert [(r["item_region"], r["region"], r["executed"], r["status"], r["finding_status"]) for r in runs] == [
        ("eu-west-1", "us-east-1", False, "applied", "remediated"),
        ("us-east-1", "us-east-1", True, "applied", "remediated"),
    ]
    assert runs[0]["reason"] == f"covered by remediation {runs[1]['id'][:12]}"
    assert all(r["approved_by"] for r in runs)
    with store.engine.connect() as conn:
        assert audit.verify(conn).ok
        entries = audit.entries(conn)
    assert sorted((e["data"]["region"], e["data"]["approved_with"]) for e in entries if e["action"] == "approve") == [
        ("eu-west-1", None),
        ("us-east-1", west_finding),
    ]
    created = [c for e in entries if e["action"] == "execute" for s in e["data"]["steps"] for c in s["calls"] if c["api"] == "CreateTrail"]
    assert [c["result"] for c in created] == ["ok"]
