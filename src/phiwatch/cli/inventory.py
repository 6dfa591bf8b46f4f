"""Inventory commands: collect, inventory, history, show."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from phiwatch.cli.common import (
    AllRegionsOpt,
    DbOpt,
    EndpointOpt,
    MaxAttemptsOpt,
    ProfileOpt,
    RegionOpt,
    RetryBudgetOpt,
    aws_context,
    console,
    open_store,
    print_json,
    print_retries,
)
from phiwatch.collect.registry import load_collectors
from phiwatch.collect.runner import collect as run_collect
from phiwatch.errors import UsageError
from phiwatch.store.db import parse_time
from phiwatch.store.diff import Change, diff_items
from phiwatch.ui import collection_progress, print_collect_summary

commands = typer.Typer()


def _parse_tags(tags: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags or []:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag takes KEY=VALUE (or KEY=* for any value), got '{tag}'")
        out[key] = value
    return out


@commands.command()
def collect(
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    all_regions: AllRegionsOpt = False,
    db: DbOpt = None,
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Only these services (repeatable), e.g. s3, iam, ec2.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Services and regions collected at once.", min=1, max=64)] = 8,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    max_attempts: MaxAttemptsOpt = 10,
    retry_budget: RetryBudgetOpt = 1000,
) -> None:
    """Inventory resources into the store (a new history version only where something changed)."""
    known = load_collectors()
    for name in service or []:
        if name not in known:
            raise UsageError(f"unknown service '{name}': choose from {', '.join(sorted(known))}")
    aws = aws_context(endpoint_url, profile, region, all_regions, max_attempts=max_attempts, retry_budget=retry_budget)
    store = open_store(db, create=True)
    with collection_progress(enabled=not json_out) as progress:
        result = run_collect(aws, store, services=service, progress=progress, max_workers=workers)
    if json_out:
        print_json(
            {
                "run_id": result.run_id,
                "account_id": result.account_id,
                "regions": result.regions,
                "seen": result.seen,
                "created": result.created,
                "changed": result.changed,
                "deleted": result.deleted,
                "requests": result.requests,
                "seconds": round(result.seconds, 3),
                "types": result.types_seen,
                "errors": [e.to_dict() for e in result.errors],
                "retries": aws.retry_stats.summary(),
            }
        )
    else:
        print_collect_summary(result)
        print_retries(aws, console)


@commands.command()
def inventory(
    resource_type: Annotated[str | None, typer.Option("--type", "-t", help="AWS Config type, e.g. AWS::EC2::Instance.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable; KEY=* for any value).")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Only this region.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted resources.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List resources in the store, e.g. `--type AWS::EC2::Instance --tag InstanceOwnerEmail=owner@example.org`."""
    tags = _parse_tags(tag)
    store = open_store(db)
    rows = store.inventory(resource_type=resource_type, tags=tags, region=region, include_deleted=deleted)
    if json_out:
        print_json(
            [
                {
                    k: r[k]
                    for k in ("resource_type", "resource_id", "resource_name", "arn", "account_id", "region", "status", "version", "tags")
                }
                | {"last_changed": str(r["last_changed"])}
                for r in rows
            ]
        )
        return
    table = Table(title=f"{len(rows)} resources", show_lines=False)
    for col in ("Type", "Id", "Name", "Region", "Status", "Ver", "Tags"):
        table.add_column(col, overflow="fold")
    for r in rows:
        tags_text = ", ".join(f"{k}={v}" for k, v in sorted(r["tags"].items()))
        name = r["resource_name"] if r["resource_name"] != r["resource_id"] else ""
        table.add_row(r["resource_type"], r["resource_id"], name or "", r["region"], r["status"], str(r["version"]), tags_text)
    console.print(table)


@commands.command()
def history(
    resource: Annotated[str, typer.Argument(help="ARN, resource id or name.")],
    resource_type: Annotated[str | None, typer.Option("--type", "-t", help="Disambiguate by type.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Show a resource's configuration timeline with what changed in each version."""
    store = open_store(db)
    row = store.resolve(resource, resource_type)
    versions = store.history(row["id"])
    entries = []
    previous = None
    for v in versions:
        changes: list[Change] = diff_items(previous, v["item"]) if previous is not None else []
        entries.append(
            {
                "version": v["version"],
                "capture_time": v["capture_time"].isoformat().replace("+00:00", "Z"),
                "status": v["status"],
                "configurationStateId": v["state_id"],
                "changed_by": v["changed_by"],
                "changes": [c.to_dict() for c in changes],
            }
        )
        previous = v["item"]
    if json_out:
        print_json({"resource_type": row["resource_type"], "resource_id": row["resource_id"], "arn": row["arn"], "versions": entries})
        return
    console.print(f"[bold]{row['resource_type']}[/bold] {row['arn'] or row['resource_id']} ({row['region']})")
    for e in entries:
        who = f" by {e['changed_by']}" if e["changed_by"] else ""
        head = "created" if e["version"] == 1 else ("deleted" if e["status"] == "ResourceDeleted" else "changed")
        console.print(f"  v{e['version']}  {e['capture_time']}  {head}{who}  [dim]{e['configurationStateId'][:12]}[/dim]")
        for c in e["changes"]:
            style = {"added": "green", "removed": "red"}.get(c["kind"], "yellow")
            console.print(f"      [{style}]{escape(c['text'])}[/{style}]", highlight=False, markup=True, soft_wrap=True)


@commands.command()
def show(
    resource: Annotated[str, typer.Argument(help="ARN, resource id or name.")],
    at: Annotated[str | None, typer.Option("--at", help="Point in time (ISO 8601): print the item as it was then.")] = None,
    resource_type: Annotated[str | None, typer.Option("--type", "-t", help="Disambiguate by type.")] = None,
    db: DbOpt = None,
) -> None:
    """Print a resource's configuration item (AWS Config shape) as evidence JSON."""
    when = parse_time(at) if at else None
    store = open_store(db)
    row = store.resolve(resource, resource_type)
    version = store.item_at(row["id"], when)
    if version is None:
        raise UsageError(f"'{resource}' was not yet recorded at {at}: see `phiwatch history {resource}`")
    print_json(version["item"])
