"""Commands about remediation: `remediate`, `audit verify|show`, `iam-policy`, `export ssm`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from phiwatch.cli.common import (
    DbOpt,
    EndpointOpt,
    ProfileOpt,
    RegionOpt,
    aws_context,
    console,
    deliver_alerts,
    err_console,
    open_store,
    print_json,
)
from phiwatch.errors import UsageError
from phiwatch.policy import load_policy
from phiwatch.remediate.audit import show_entries, verify_store
from phiwatch.remediate.export import write_ssm_documents
from phiwatch.remediate.iam_policy import runbook_policy, scanner_policy
from phiwatch.rules.active import resolve_rules
from phiwatch.runbooks.document import builtin, builtin_ids, load_document
from phiwatch.scan import remediator as make_remediator
from phiwatch.store.db import Store
from phiwatch.store.remediations import recent_remediations
from phiwatch.ui import STATUS_STYLE, print_remediation_report

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
    store = open_store(db)
    if finding is None:
        if approve:
            raise UsageError("--approve needs a finding id")
        _list_remediations(store, json_out)
        return
    pol = load_policy(policy)
    rules = resolve_rules(pol)
    remediator = make_remediator(aws_context(endpoint_url, profile, region), store, pol, rules, max_seconds=timeout)
    if approve:
        report = remediator.approve(finding)
    else:
        report, _ = remediator.plan_for(finding)
    if json_out:
        print_json({"run_id": report.run_id, "outcomes": [o.to_dict() for o in report.outcomes]})
    else:
        print_remediation_report(report, show_unchanged=True)
        if not approve and report.outcomes and report.outcomes[0].status == "planned":
            console.print(f"Execute it with: phiwatch remediate {report.outcomes[0].finding_id[:12]} --approve")
    if pol.notifications:
        deliver_alerts(store, pol, rules, aws=remediator.aws, endpoint_url=endpoint_url, profile=profile)
    if approve and any(o.status != "applied" for o in report.outcomes):
        raise typer.Exit(1)


def _list_remediations(store: Store, json_out: bool) -> None:

    rows = recent_remediations(store, limit=200)
    if json_out:
        print_json(rows)
        return
    t = Table(title=f"{len(rows)} remediations (newest first)", show_edge=False)
    for col in ("Remediation", "Finding", "Status", "Mode", "Rule", "Resource", "Runbook", "When", "Why"):
        t.add_column(col, overflow="fold")
    for r in rows:
        style = STATUS_STYLE.get(r["status"], "white")
        t.add_row(
            r["id"][:12],
            r["finding_id"][:12],
            f"[{style}]{r['status']}[/{style}]",
            r["mode"],
            r["rule_id"],
            r["resource_id"],
            r["runbook_id"],
            str(r["finished_at"] or r["created_at"])[:19],
            escape(r["reason"] or ""),
        )
    console.print(t)


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
    store = open_store(db)
    result = verify_store(store, head=head)
    if json_out:
        print_json({"ok": result.ok, "entries": result.entries, "head": result.head, "bad_entry": result.bad_id, "reason": result.reason})
    elif result.ok:
        console.print(f"[green]audit log intact[/green]: {result.entries} entries, head {result.head}")
    else:
        err_console.print(f"[red]audit log BROKEN[/red] at entry {result.bad_id}: {escape(result.reason)}", highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


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
    store = open_store(db)
    rows = show_entries(store, finding=finding, remediation_id=remediation, limit=limit)
    if json_out:
        print_json(rows)
        return
    t = Table(title=f"{len(rows)} audit entries", show_edge=False)
    for col in ("Id", "Time", "Action", "Actor", "AWS caller", "Finding", "Remediation", "What"):
        t.add_column(col, overflow="fold")
    for r in rows:
        data = r["data"] or {}
        what = " ".join(
            str(x) for x in (data.get("runbook_id"), data.get("resource_id"), data.get("status") or data.get("reason") or "") if x
        )
        t.add_row(
            str(r["id"]),
            r["time"],
            r["action"],
            r["actor"],
            r["caller_arn"] or "",
            (r["finding_id"] or "")[:12],
            (r["remediation_id"] or "")[:12],
            escape(what),
        )
    console.print(t)


# -- iam-policy --------------------------------------------------------------------------------


@commands.command("iam-policy")
def iam_policy(
    runbook: Annotated[
        str | None, typer.Option("--runbook", help="A built-in runbook id (see `phiwatch iam-policy --list`) or a runbook file.")
    ] = None,
    scanner: Annotated[bool, typer.Option("--scanner", help="The read-only policy collection (collect, scan) needs.")] = False,
    list_runbooks: Annotated[bool, typer.Option("--list", help="List the built-in runbooks.")] = False,
) -> None:
    """Print the least-privilege IAM policy (JSON) a runbook needs, or the scanner's read-only policy."""
    if list_runbooks:
        for rid in builtin_ids():
            console.print(rid, highlight=False)
        return
    if bool(runbook) == scanner:
        raise UsageError("give exactly one of --runbook ID or --scanner")
    if not runbook:  # --scanner (exactly one of the two was given)
        print_json(scanner_policy())
        return
    print_json(runbook_policy(_document(runbook)))


def _document(ref: str) -> Any:

    if ref in builtin_ids():
        return builtin(ref)
    path = Path(ref)
    if path.suffix in (".yaml", ".yml", ".json") and path.exists():
        return load_document(path)
    raise UsageError(f"unknown runbook {ref!r}: give a built-in id ({', '.join(builtin_ids())}) or a runbook file")


# -- export ssm --------------------------------------------------------------------------------

export_app = typer.Typer(help="Export phiwatch's runbooks for other tools.", no_args_is_help=True)
commands.add_typer(export_app, name="export")


@export_app.command("ssm")
def export_ssm(
    directory: Annotated[Path, typer.Argument(help="Directory to write the SSM Automation documents into (created if needed).")],
) -> None:
    """Write the built-in runbooks as SSM Automation documents, ready for `aws ssm create-document`."""
    try:
        written = write_ssm_documents(directory)
    except OSError as exc:
        raise UsageError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
    paths = list(written or [])
    for p in paths:
        console.print(str(p), highlight=False)
    err_console.print(f"wrote {len(paths)} document(s) to {directory}")
