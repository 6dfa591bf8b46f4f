"""Commands about remediation: `remediate`, `audit verify|show`, `iam-policy`, `export ssm`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from phiwatch.cli import run
from phiwatch.cli.common import DbOpt, EndpointOpt, ProfileOpt, RegionOpt

commands = typer.Typer()

PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        "-p",
        envvar="PHIWATCH_POLICY",
        help="Policy file (YAML): remediation modes and limits, rule parameters, scopes, exceptions.",
    ),
]

# -- remediate ---------------------------------------------------------------------------------


@commands.command()
def remediate(
    finding: Annotated[
        str | None, typer.Argument(help="Finding id (or a unique prefix of it, see `phiwatch findings`). Without it: list remediations.")
    ] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Execute the finding's plan now (re-checked first), then verify and record it.")
    ] = False,
    policy: PolicyOpt = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    db: DbOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the runbook may run in total.", min=1)] = 600.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a finding's remediation plan, or execute it with --approve (manual mode); list remediations."""
    run.remediate.remediate(
        finding=finding,
        approve=approve,
        policy=policy,
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        db=db,
        timeout=timeout,
        json_out=json_out,
    )


# -- audit -------------------------------------------------------------------------------------

audit_app = typer.Typer(help="The remediation audit trail (hash-chained): verify it, show entries.", no_args_is_help=True)
commands.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    db: DbOpt = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="A head hash printed by an earlier verify: check the chain still contains it (detects truncation)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the audit log's hash chain: exit 0 when intact, 1 (naming the first bad entry) when an entry was edited or deleted."""
    run.remediate.audit_verify(db=db, head=head, json_out=json_out)


@audit_app.command("show")
def audit_show(
    db: DbOpt = None,
    finding: Annotated[
        str | None, typer.Option("--finding", help="Only entries about this finding (its id or a unique prefix of it, >= 4 hex).")
    ] = None,
    remediation: Annotated[str | None, typer.Option("--remediation", help="Only entries about this remediation id.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="The newest N entries.", min=1)] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="Print the entries as JSON (with their data).")] = False,
) -> None:
    """Print audit entries: who (OS user, AWS caller), what, when, inputs, calls and results."""
    run.remediate.audit_show(db=db, finding=finding, remediation=remediation, limit=limit, json_out=json_out)


# -- iam-policy --------------------------------------------------------------------------------


@commands.command("iam-policy")
def iam_policy(
    runbook: Annotated[
        str | None, typer.Option("--runbook", help="A built-in runbook id (see `phiwatch iam-policy --list`) or a runbook file.")
    ] = None,
    scanner: Annotated[bool, typer.Option("--scanner", help="The read-only policy collection (collect, scan) needs.")] = False,
    list_runbooks: Annotated[bool, typer.Option("--list", help="List the built-in runbooks.")] = False,
    part: Annotated[
        int | None,
        typer.Option(
            "--part",
            min=1,
            help="With --scanner: print the Nth of the managed policies (6,144 characters each at most) that together grant the scanner's actions.",
        ),
    ] = None,
) -> None:
    """Print the least-privilege IAM policy (JSON) a runbook needs, or the scanner's read-only policy."""
    run.remediate.iam_policy(runbook=runbook, scanner=scanner, list_runbooks=list_runbooks, part=part)


# -- export ssm --------------------------------------------------------------------------------

export_app = typer.Typer(help="Export phiwatch's runbooks for other tools.", no_args_is_help=True)
commands.add_typer(export_app, name="export")


@export_app.command("ssm")
def export_ssm(
    directory: Annotated[Path, typer.Argument(help="Directory to write the SSM Automation documents into (created if needed).")],
) -> None:
    """Write the built-in runbooks as SSM Automation documents, ready for `aws ssm create-document`."""
    run.remediate.export_ssm(directory=directory)
