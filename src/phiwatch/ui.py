"""Rich rendering shared by commands: collection progress and summaries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


@contextmanager
def collection_progress(enabled: bool = True) -> Iterator:
    """A progress callback: one line for the whole collection (tasks done, items, errors) and one per
    (service, region) still running, so the display stays as short as the requests in flight.

    Drawn only on a terminal, four times a second: redrawing a line per finished task cost as much
    CPU as a tenth of a small scan."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<24}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[items]:>6} items {task.fields[status]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        refresh_per_second=4,
    )
    overall = progress.add_task("collecting", total=0, items=0, status="")
    running: dict[tuple[str, str], TaskID] = {}
    items: dict[tuple[str, str], int] = {}
    failed: list[str] = []

    def callback(event: str, service: str, region: str, count: int) -> None:
        key = (service, region)
        items[key] = count
        if event == "start":
            running[key] = progress.add_task(f"{service} {region}", total=None, items=0, status="")
            progress.update(overall, total=len(items))
        elif event == "item":
            if key in running:
                progress.update(running[key], items=count)
        else:
            task = running.pop(key, None)
            if task is not None:
                progress.remove_task(task)
            if event != "done":
                failed.append(f"{service} {region}")
            progress.advance(overall)
        status = f"[yellow]{len(failed)} with errors[/yellow]" if failed else ""
        progress.update(overall, items=sum(items.values()), status=status)

    with progress:
        yield callback


def print_collect_summary(result) -> None:  # noqa: ANN001 - CollectResult
    table = Table(title="Collected", show_edge=False)
    table.add_column("Resource type")
    table.add_column("Items", justify="right")
    for resource_type, count in sorted(result.types_seen.items()):
        table.add_row(resource_type, str(count))
    console.print(table)
    console.print(
        f"account {result.account_id}, regions {', '.join(result.regions)}: {result.seen} items "
        f"({result.created} new, {result.changed} changed, {result.deleted} deleted) in "
        f"{result.seconds:.1f}s, {result.requests} requests"
    )
    if result.errors:
        errors = Table(title=f"{len(result.errors)} API calls failed (could not check; rules will say INSUFFICIENT_DATA)", show_edge=False)
        for col in ("Service", "API", "Region", "Resource", "Error", "IAM action needed"):
            errors.add_column(col, overflow="fold")
        for e in result.errors:
            errors.add_row(e.service, e.api, e.region, e.resource_id or "-", e.error, e.iam_action or "-")
        console.print(errors)


STATUS_STYLE = {"applied": "green", "planned": "cyan", "failed": "red", "skipped": "yellow", "deferred": "yellow"}


#: new plans shown in full per rule after a scan; the rest are counted (``phiwatch remediate`` lists them)
PLANS_SHOWN_PER_RULE = 10


def print_remediation_report(report: Any, out: Any = None, show_unchanged: bool = False) -> None:
    """What a remediation pass did: each plan with its API calls (at most
    :data:`PLANS_SHOWN_PER_RULE` new plans of one rule, the others counted by rule), each
    execution's outcome (always)."""
    out = out or console
    if not report.outcomes:
        return
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out.print(f"[bold]Remediation[/bold]: {summary}")
    shown: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for o in report.outcomes:
        if not o.new and not show_unchanged:
            continue
        if o.status == "planned":
            shown[o.rule_id] = shown.get(o.rule_id, 0) + 1
            if shown[o.rule_id] > PLANS_SHOWN_PER_RULE:
                hidden[o.rule_id] = hidden.get(o.rule_id, 0) + 1
                continue
        style = STATUS_STYLE.get(o.status, "white")
        head = (
            f"  [{style}]{o.status}[/{style}] {escape(o.rule_id)} on {escape(o.resource_id)} ({escape(o.region)}) -> {escape(o.runbook_id)}"
        )
        if o.remediation_id:
            head += f"  [dim]finding {o.finding_id[:12]} remediation {o.remediation_id[:12]}[/dim]"
        out.print(head, highlight=False, soft_wrap=True)
        if o.status == "planned":
            for call in o.plan:
                if not call.get("write", True):
                    continue
                params = json.dumps(call.get("params", {}), sort_keys=True, default=str)
                out.print(
                    f"      would call {escape(call['service'])}:{escape(call['api'])} {escape(params)}", highlight=False, soft_wrap=True
                )
            if o.mode == "manual":
                out.print(f"      approve with: phiwatch remediate {o.finding_id[:12]} --approve", highlight=False)
        elif o.status in ("applied", "failed"):
            for step in o.steps:
                for call in step.get("calls", []):
                    mark = "ok" if call.get("result") == "ok" else call.get("error") or call.get("result")
                    out.print(
                        f"      {escape(step['step'])}: {escape(call['service'])}:{escape(call['api'])} -> {escape(str(mark))}",
                        highlight=False,
                        soft_wrap=True,
                    )
        if o.reason:
            out.print(f"      [dim]{escape(o.reason)}[/dim]", highlight=False, soft_wrap=True)
    if hidden:
        more = ", ".join(f"{escape(rule)} {n}" for rule, n in sorted(hidden.items(), key=lambda kv: (-kv[1], kv[0])))
        out.print(
            f"  [dim]{sum(hidden.values())} more plan(s), not shown ({more}): `phiwatch remediate` lists every plan[/dim]",
            highlight=False,
            soft_wrap=True,
        )
    unchanged = [o for o in report.outcomes if not o.new]
    if unchanged and not show_unchanged:
        out.print(f"  [dim]{len(unchanged)} plan(s) unchanged since an earlier scan (see `phiwatch remediate`)[/dim]")
