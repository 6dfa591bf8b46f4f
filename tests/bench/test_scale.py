"""bench/scale.py: the estate it writes into moto's backends, and how it reports each step."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import scale  # noqa: E402

REGIONS = ["us-east-1", "eu-west-1"]


def test_seed_spreads_the_mix_over_the_regions_and_aws_lists_it() -> None:
    with mock_aws():
        seeded = scale.seed(2000, REGIONS)
        for region in REGIONS:
            ec2 = boto3.client("ec2", region_name=region)
            volumes = ec2.describe_volumes()["Volumes"]
            assert len(volumes) == 700
            assert sum(not v["Encrypted"] for v in volumes) == 175  # a quarter unencrypted
            assert sum(any(t["Key"] == "DataClass" for t in v.get("Tags", [])) for v in volumes) == 234  # every third
            snapshots = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
            assert len(snapshots) == 50
            groups = ec2.describe_security_groups()["SecurityGroups"]
            assert len(groups) == 151  # the seeded 150 and the default VPC's
            open_ssh = [
                g for g in groups if any(p.get("FromPort") == 22 and {"CidrIp": "0.0.0.0/0"} in p["IpRanges"] for p in g["IpPermissions"])
            ]
            assert len(open_ssh) == 3  # one in 50
            logs = boto3.client("logs", region_name=region)
            log_groups = [g for page in logs.get_paginator("describe_log_groups").paginate() for g in page["logGroups"]]
            assert len(log_groups) == 100
            assert sum("retentionInDays" not in g for g in log_groups) == 50
    assert seeded == {
        "AWS::EC2::Volume": 1400,
        "AWS::EC2::Snapshot": 100,
        "AWS::EC2::SecurityGroup": 302,
        "AWS::Logs::LogGroup": 200,
    }


def _result(step: str, rss: float) -> dict[str, object]:
    return {
        "step": step,
        "exit_code": 0,
        "wall_seconds": 1.0,
        "cpu_seconds": 1.0,
        "peak_rss_mib": rss,
        "requests": 10,
        "items": 100,
        "evaluations": 200,
        "findings": 3,
        "collection_errors": 0,
        "output_mib": 0.1,
        "load_before": 0.5,
    }


def test_markdown_marks_a_step_over_the_memory_target() -> None:
    report = {
        "items": 100,
        "regions": REGIONS,
        "started": "2026-12-07 22:00 UTC",
        "command": "bench/scale.py",
        "machine": {"commit": "abc1234", "cpus": 2, "memory": "4.0 GiB", "moto": "5"},
        "seed_seconds": 0.1,
        "seeded": {"AWS::EC2::Volume": 70},
        "results": [_result("collect", 300.0), _result("report pdf", 1500.0)],
    }
    rows = {line.split(" | ")[0].lstrip("| "): line for line in scale.markdown(report).splitlines() if line.startswith("| ")}
    assert "(over)" not in rows["collect"]
    assert "1500.0 (over)" in rows["report pdf"]


def test_each_step_runs_its_own_command_on_the_store() -> None:
    out = Path("step.out")
    collect = scale.step_command("collect", "http://127.0.0.1:1", "sqlite:///s.db", REGIONS, out)
    assert collect[collect.index("collect") :] == [
        "collect",
        "--endpoint-url",
        "http://127.0.0.1:1",
        "--db",
        "sqlite:///s.db",
        "--json",
        "-r",
        "us-east-1",
        "-r",
        "eu-west-1",
    ]
    evaluate = scale.step_command("evaluate", "http://127.0.0.1:1", "sqlite:///s.db", REGIONS, out)
    assert evaluate[evaluate.index("evaluate") :] == ["evaluate", "--db", "sqlite:///s.db", "-f", "json"]
    scan = scale.step_command("scan (new store)", "http://127.0.0.1:1", "sqlite:///n.db", REGIONS, out)
    assert scan[scan.index("scan") :][:9] == [
        "scan",
        "--endpoint-url",
        "http://127.0.0.1:1",
        "--db",
        "sqlite:///n.db",
        "-f",
        "json",
        "-o",
        "step.out",
    ]
    pdf = scale.step_command("report pdf", "http://127.0.0.1:1", "sqlite:///s.db", REGIONS, out)
    assert pdf[pdf.index("report") :] == ["report", "--db", "sqlite:///s.db", "-f", "pdf", "-o", "step.out"]
