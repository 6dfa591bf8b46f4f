"""After a scan, new plans are shown in full up to PLANS_SHOWN_PER_RULE per rule; the rest are counted."""

from __future__ import annotations

from rich.console import Console

from phiwatch.remediate.results import Outcome, RemediationReport
from phiwatch.ui import PLANS_SHOWN_PER_RULE, print_remediation_report


def _outcome(rule: str, n: int, status: str = "planned", new: bool = True) -> Outcome:
    return Outcome(
        finding_id=f"{rule}-{n:04d}".ljust(16, "0"),
        rule_id=rule,
        runbook_id="phiwatch-RevokeOpenIngress",
        resource_type="AWS::EC2::SecurityGroup",
        resource_id=f"sg-{rule[:3]}{n:04d}",
        region="us-east-1",
        mode="dry-run",
        status=status,
        remediation_id=f"r{n:015d}",
        plan=[{"service": "ec2", "api": "RevokeSecurityGroupIngress", "params": {"GroupId": f"sg-{n}"}, "write": True}],
        reason="boom" if status == "failed" else "",
        new=new,
    )


def _printed(report: RemediationReport) -> str:
    out = Console(record=True, width=300, color_system=None)
    print_remediation_report(report, out)
    return out.export_text()


def test_plans_past_the_limit_are_counted_by_rule_and_failures_always_shown() -> None:
    many = [_outcome("restricted-ssh", n) for n in range(PLANS_SHOWN_PER_RULE + 15)]
    few = [_outcome("vpc-sg-open-only-to-authorized-ports", n) for n in range(3)]
    failed = [_outcome("restricted-ssh", 900 + n, status="failed") for n in range(12)]
    old = [_outcome("restricted-ssh", 800 + n, new=False) for n in range(4)]
    text = _printed(RemediationReport(run_id="r", outcomes=many + few + failed + old))
    shown = [line for line in text.splitlines() if line.lstrip().startswith("planned ")]
    assert len(shown) == PLANS_SHOWN_PER_RULE + 3
    assert sum("restricted-ssh on" in line for line in shown) == PLANS_SHOWN_PER_RULE
    assert text.count("would call ec2:RevokeSecurityGroupIngress") == PLANS_SHOWN_PER_RULE + 3
    assert sum(line.lstrip().startswith("failed ") for line in text.splitlines()) == 12  # never hidden
    assert "15 more plan(s), not shown (restricted-ssh 15): `phiwatch remediate` lists every plan" in text
    assert "4 plan(s) unchanged since an earlier scan" in text
    assert text.splitlines()[0] == "Remediation: 12 failed, 32 planned"


def test_no_count_line_when_every_plan_is_shown() -> None:
    text = _printed(RemediationReport(run_id="r", outcomes=[_outcome("restricted-ssh", n) for n in range(PLANS_SHOWN_PER_RULE)]))
    assert "not shown" not in text
    assert text.count("would call") == PLANS_SHOWN_PER_RULE
