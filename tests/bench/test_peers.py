"""bench/peers.py: reading Prowler's output, the emulator floor and the targets of issue 15."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import peers  # noqa: E402


def test_checks_executed_is_read_through_colour_codes() -> None:
    out = "\x1b[1mExecuting 95 checks, please wait...\x1b[0m\n-> Scan completed!"
    assert peers.prowler_checks_executed(out) == 95
    assert peers.prowler_checks_executed("\x1b[1mExecuting 1 check, please wait...\x1b[0m") == 1


def test_checks_executed_is_none_when_prowler_does_not_say() -> None:
    assert peers.prowler_checks_executed("Traceback (most recent call last): ...") is None


def test_prowler_summary_counts_checks_and_statuses() -> None:
    findings = [
        {"metadata": {"event_code": "s3_bucket_default_encryption"}, "status_code": "FAIL"},
        {"metadata": {"event_code": "s3_bucket_default_encryption"}, "status_code": "PASS"},
        {"metadata": {"event_code": "iam_root_mfa_enabled"}, "status_code": "PASS"},
        {"metadata": {}, "finding_info": {"title": "cloudtrail_multi_region_enabled"}, "status_code": "manual"},
    ]
    assert peers.prowler_summary(findings) == {
        "checks_with_findings": 3,
        "findings": 4,
        "status": {"FAIL": 1, "PASS": 2, "MANUAL": 1},
    }


def test_floor_without_latency_is_requests_over_throughput() -> None:
    assert peers.floor_seconds(1000, 0, 250.0, 8) == pytest.approx(4.0)
    assert peers.floor_seconds(1000, 0, None, 8) is None


def test_floor_with_latency_is_round_trips_over_concurrency_never_below_throughput() -> None:
    assert peers.floor_seconds(1600, 50, 400.0, 8) == pytest.approx(10.0)  # 1600 × 0.05 ÷ 8 > 1600 ÷ 400
    assert peers.floor_seconds(1600, 1, 100.0, 8) == pytest.approx(16.0)  # the emulator is slower than the round trips


def _run(tool: str, latency: float, wall: float, requests: int, **extra: Any) -> dict[str, Any]:
    return {"tool": tool, "size": 250, "latency_ms": latency, "wall_seconds": wall, "requests": requests, **extra}


def test_assess_reports_each_target_met_or_not() -> None:
    report = {
        "phiwatch_workers": 8,
        "throughput": [{"size": 250, "requests_per_second": 200.0}],
        "runs": [
            _run("prowler", 0, 30.0, 1100),
            _run("phiwatch", 0, 6.0, 1000),  # 5× faster, fewer requests, floor 5 s: 1.2×
            _run("prowler", 50, 60.0, 1100),
            _run("phiwatch", 50, 12.0, 1000),  # 5× only
        ],
    }
    rows = {row["latency_ms"]: row for row in peers.assess(report)}
    assert rows[0]["speedup"] == 5.0
    assert rows[0]["floor_ratio"] == 1.2
    assert {t["target"]: t["met"] for t in rows[0]["targets"]} == {
        "≥3× faster than Prowler": True,
        "no more requests than Prowler": True,
        "within 1.3× of the emulator floor": True,
    }
    assert {t["target"]: t["met"] for t in rows[50]["targets"]} == {"≥10× faster than Prowler": False}
    assert report["runs"][1]["speedup"] == 5.0


def test_assess_skips_the_speedup_of_a_failed_run() -> None:
    report = {
        "phiwatch_workers": 8,
        "throughput": [{"size": 250, "requests_per_second": 200.0}],
        "runs": [_run("prowler", 0, 30.0, 0, failed=True), _run("phiwatch", 0, 12.0, 1000)],
    }
    (row,) = peers.assess(report)
    assert "speedup" not in row
    assert {t["target"]: t["met"] for t in row["targets"]} == {"within 1.3× of the emulator floor": False}
