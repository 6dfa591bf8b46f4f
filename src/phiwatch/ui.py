"""Rich rendering shared by commands: collection progress and summaries."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from phiwatch.cli_common import console, err_console


@contextmanager
def collection_progress(enabled: bool = True) -> Iterator:
    """A progress callback showing one line per (service, region) with its item count."""
    if not enabled:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<24}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[items]:>6} items {task.fields[status]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
    tasks: dict[tuple[str, str], int] = {}

    def callback(event: str, service: str, region: str, count: int) -> None:
        key = (service, region)
        if event == "start":
            tasks[key] = progress.add_task(f"{service} {region}", total=None, items=0, status="")
            return
        task = tasks[key]
        if event == "item":
            progress.update(task, items=count)
        else:
            status = "[green]done[/green]" if event == "done" else "[yellow]with errors[/yellow]"
            progress.update(task, items=count, status=status, total=1, completed=1)

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
