"""What `collect`, `inventory`, `history` and `show` do (declared in phiwatch.cli.inventory)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from phiwatch.cli.common import console, print_json
from phiwatch.cli.run.common import aws_context, open_store, print_retries, print_slow_tasks, verbose
from phiwatch.collect.registry import load_collectors
from phiwatch.collect.runner import collect as run_collect
from phiwatch.errors import UsageError
from phiwatch.model import utcnow
from phiwatch.store.db import parse_point
from phiwatch.store.diff import Change, diff_items
from phiwatch.ui import collection_progress, print_collect_summary


def _parse_tags(tags: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags or []:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag takes KEY=VALUE (or KEY=* for any value), got '{tag}'")
        out[key] = value
    return out


def collect(
    endpoint_url: str | None,
    profile: str | None,
    region: list[str] | None,
    all_regions: bool,
    db: str | None,
    service: list[str] | None,
    workers: int,
    json_out: bool,
    max_attempts: int,
    retry_budget: int,
) -> None:
    known = load_collectors()
    for name in service or []:
        if name not in known:
            raise UsageError(f"unknown service '{name}': choose from {', '.join(sorted(known))}")
    aws = aws_context(endpoint_url, profile, region, all_regions, max_attempts=max_attempts, retry_budget=retry_budget, workers=workers)
    store = open_store(db, create=True)
    with collection_progress(enabled=not json_out) as progress:
        result = run_collect(aws, store, services=service, progress=progress)
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
                "workers": aws.limiter.total,
                "tasks": [task.to_dict() for task in result.tasks],
            }
        )
    else:
        print_collect_summary(result)
        print_retries(aws, console)
        if verbose():
            print_slow_tasks(result.tasks, console)


def inventory(resource_type: str | None, tag: list[str] | None, region: str | None, deleted: bool, json_out: bool, db: str | None) -> None:
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


def history(resource: str, resource_type: str | None, json_out: bool, db: str | None) -> None:
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


def show(resource: str, at: str | None, resource_type: str | None, db: str | None) -> None:
    when = parse_point(at, utcnow()) if at else None
    store = open_store(db)
    row = store.resolve(resource, resource_type)
    version = store.item_at(row["id"], when)
    if version is None:
        raise UsageError(f"'{resource}' was not yet recorded at {at}: see `phiwatch history {resource}`")
    print_json(version["item"])
