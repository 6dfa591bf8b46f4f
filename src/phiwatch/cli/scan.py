"""Commands about rules and findings: scan, evaluate, findings, rules list|show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from phiwatch.cli import run
from phiwatch.cli.common import AllRegionsOpt, DbOpt, EndpointOpt, MaxAttemptsOpt, ProfileOpt, RegionOpt, RetryBudgetOpt, WorkersOpt

commands = typer.Typer()

PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        "-p",
        envvar="PHIWATCH_POLICY",
        help="Policy file (YAML): packs, rule parameters and scopes, exceptions. Default: every HIPAA rule with AWS's defaults.",
    ),
]


@commands.command()
def scan(
    policy: PolicyOpt = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table | json | csv | ocsf (OCSF 1.1 Compliance Findings, JSON Lines).")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")] = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    all_regions: AllRegionsOpt = False,
    db: DbOpt = None,
    service: Annotated[list[str] | None, typer.Option("--service", "-s", help="Only collect these services (repeatable).")] = None,
    no_collect: Annotated[bool, typer.Option("--no-collect", help="Evaluate what is in the store without collecting.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Re-evaluate every item, not only what changed.")] = False,
    fail_on_findings: Annotated[
        bool, typer.Option("--fail-on-findings", help="Exit 1 when any resource is non-compliant (not excepted).")
    ] = False,
    max_attempts: MaxAttemptsOpt = 10,
    retry_budget: RetryBudgetOpt = 1000,
    workers: WorkersOpt = 32,
) -> None:
    """Collect, evaluate the HIPAA rules, update findings and report by HIPAA section."""
    run.scan.scan(
        policy=policy,
        fmt=fmt,
        output=output,
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        all_regions=all_regions,
        db=db,
        service=service,
        no_collect=no_collect,
        full=full,
        fail_on_findings=fail_on_findings,
        max_attempts=max_attempts,
        retry_budget=retry_budget,
        workers=workers,
    )


@commands.command()
def evaluate(
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Re-evaluate only this rule (repeatable).")] = None,
    policy: PolicyOpt = None,
    db: DbOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | csv | ocsf")] = "table",
) -> None:
    """Re-evaluate rules on the stored items now, like AWS Config's "Re-evaluate" (no collection)."""
    run.scan.evaluate(rule=rule, policy=policy, db=db, fmt=fmt)


@commands.command()
def findings(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="open | excepted | resolved | remediated (repeatable). Default: open and excepted.")
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    severity: Annotated[list[str] | None, typer.Option("--severity", help="Only these severities (repeatable).")] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Point in time (ISO 8601, UTC unless a zone is given; a date means its end, 23:59:59 UTC): the findings as they stood then, from the stored history.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Show at most this many rows in the table (0: all). --json always lists every finding.")
    ] = 200,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List findings with their lifecycle (opened, excepted, resolved) and timestamps.

    `--at 2026-09-30T23:59:59Z` answers "what was open at the end of Q3" from the lifecycle events the store kept, without a new scan; `--status resolved --at ...` lists what had been fixed by then."""
    run.scan.findings(status=status, rule=rule, severity=severity, json_out=json_out, db=db, at=at, limit=limit)


rules_app = typer.Typer(help="Document the rules: ids, parameters, HIPAA sections, remediation.", no_args_is_help=True)
commands.add_typer(rules_app, name="rules")


@rules_app.command("list")
def rules_list(
    pack: Annotated[
        str | None, typer.Option("--pack", help="Only the rules this pack lists (hipaa, hipaa-extras, aws-managed, custom).")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", "-s", help="Only rules about this service: a collector (s3, ec2) or part of AWS's name (Lambda)."),
    ] = None,
    section: Annotated[
        str | None, typer.Option("--section", help="Only rules mapped to this HIPAA section or one under it, e.g. '164.312(b)' or 164.308.")
    ] = None,
    policy: PolicyOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every rule with its severity, packs, resource types and HIPAA sections (as many columns as the terminal holds).

    Examples: `phiwatch rules list --pack aws-managed --service s3`, `phiwatch rules list --section '164.312(b)'`."""
    run.scan.rules_list(pack=pack, policy=policy, json_out=json_out, service=service, section=section)


@rules_app.command("show")
def rules_show(
    rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. s3-bucket-logging-enabled.")],
    policy: PolicyOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Everything about one rule: what it checks, parameters and defaults, sections and their source."""
    run.scan.rules_show(rule_id=rule_id, policy=policy, json_out=json_out)
