"""What `remediate`, `audit verify|show`, `iam-policy` and `export ssm` do (declared in phiwatch.cli.remediate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from phiwatch.cli.common import console, err_console, print_json
from phiwatch.cli.run.common import aws_context, deliver_alerts, open_store
from phiwatch.errors import UsageError
from phiwatch.policy import load_policy
from phiwatch.remediate.audit import show_entries, verify_store
from phiwatch.remediate.export import write_ssm_documents
from phiwatch.remediate.iam_policy import MANAGED_POLICY_LIMIT, policy_size, runbook_policy, scanner_policies, scanner_policy
from phiwatch.rules.active import resolve_rules
from phiwatch.runbooks.document import builtin, builtin_ids, load_document
from phiwatch.scan import remediator as make_remediator
from phiwatch.store.db import Store
from phiwatch.store.remediations import recent_remediations
from phiwatch.ui import STATUS_STYLE, print_remediation_report


def remediate(
    finding: str | None,
    approve: bool,
    policy: Path | None,
    endpoint_url: str | None,
    profile: str | None,
    region: list[str] | None,
    db: str | None,
    timeout: float,
    json_out: bool,
) -> None:
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


def audit_verify(db: str | None, head: str | None, json_out: bool) -> None:
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


def audit_show(db: str | None, finding: str | None, remediation: str | None, limit: int, json_out: bool) -> None:
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


def iam_policy(runbook: str | None, scanner: bool, list_runbooks: bool, part: int | None = None) -> None:
    if list_runbooks:
        for rid in builtin_ids():
            console.print(rid, highlight=False)
        return
    if bool(runbook) == scanner:
        raise UsageError("give exactly one of --runbook ID or --scanner")
    if part is not None and not scanner:
        raise UsageError("--part goes with --scanner")
    if not runbook:  # --scanner (exactly one of the two was given)
        parts = scanner_policies()
        if part is not None:
            if not 1 <= part <= len(parts):
                raise UsageError(f"--part must be 1 to {len(parts)}: the scanner's actions fill {len(parts)} managed policies")
            print_json(parts[part - 1])
            return
        policy = scanner_policy()
        print_json(policy)
        if len(parts) > 1:
            err_console.print(
                f"[yellow]{policy_size(policy)} characters: longer than one managed policy may be ({MANAGED_POLICY_LIMIT}). "
                f"Attach it inline to a role, or create {len(parts)} managed policies with --part 1 to --part {len(parts)}[/yellow]",
                soft_wrap=True,
            )
        return
    print_json(runbook_policy(_document(runbook)))


def _document(ref: str) -> Any:

    if ref in builtin_ids():
        return builtin(ref)
    path = Path(ref)
    if path.suffix in (".yaml", ".yml", ".json") and path.exists():
        return load_document(path)
    raise UsageError(f"unknown runbook {ref!r}: give a built-in id ({', '.join(builtin_ids())}) or a runbook file")


def export_ssm(directory: Path) -> None:
    try:
        written = write_ssm_documents(directory)
    except OSError as exc:
        raise UsageError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
    paths = list(written or [])
    for p in paths:
        console.print(str(p), highlight=False)
    err_console.print(f"wrote {len(paths)} document(s) to {directory}")
