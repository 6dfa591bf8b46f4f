"""phiwatch command line: parses, calls the engine, prints with Rich.

Exit status: 0 done, 1 done with findings (with --fail-on-findings), 2 bad usage or input,
3 could not run (credentials, endpoint, store).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from phiwatch import __version__
from phiwatch.cli_common import (
    AllRegionsOpt,
    DbOpt,
    EndpointOpt,
    ProfileOpt,
    RegionOpt,
    console,
    err_console,
    print_json,
)
from phiwatch.errors import PhiwatchError, UsageError

app = typer.Typer(
    name="phiwatch",
    help=(
        "Keep an AWS estate HIPAA compliant: inventory resources, record their configuration "
        "history, and show what changed, when and who owns it.\n\n"
        "Start with `phiwatch demo` (no AWS account needed), then `phiwatch collect` against "
        "your account or `phiwatch emulator` for a local AWS to experiment with."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"phiwatch {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log API calls and timings to stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _parse_tags(tags: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags or []:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag takes KEY=VALUE (or KEY=* for any value), got '{tag}'")
        out[key] = value
    return out


def _open_store(db: str | None, *, create: bool = False):
    """The store named by --db / PHIWATCH_DB. Only commands that write pass ``create=True``: a read
    command on a store that does not exist says so and exits 3 instead of showing an empty one."""
    from phiwatch.store import Store

    return Store(db, create=create)


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless you need otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = a free one).")] = 0,
    seed: Annotated[bool, typer.Option("--seed/--no-seed", help="Create the demo healthcare estate in it.")] = False,
) -> None:
    """Run the embedded local AWS (moto's server) in the foreground and print its endpoint."""
    import time

    from phiwatch.emulator import Emulator

    emu = Emulator(host, port).start()
    if seed:
        from phiwatch.demo.estate import seed_estate

        seed_estate(emu.session(), emu.endpoint)
    console.print(f"Embedded AWS emulator listening on [bold]{emu.endpoint}[/bold]")
    console.print("Use it from another shell:")
    console.print(f"  export AWS_ENDPOINT_URL={emu.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1")
    console.print("  phiwatch collect")
    console.print("Press Ctrl-C to stop.")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


@app.command()
def demo(
    db: Annotated[Optional[str], typer.Option("--db", help="Store URL for the demo (default: a fresh SQLite file in a temporary directory).")] = None,
    regions: RegionOpt = None,
) -> None:
    """Start the embedded AWS, seed a demo healthcare estate, then collect, scan, alert and remediate it, narrated."""
    from phiwatch.demo.run import run_demo

    run_demo(db=db, regions=regions or ["us-east-1"])


@app.command()
def collect(
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    all_regions: AllRegionsOpt = False,
    db: DbOpt = None,
    service: Annotated[Optional[list[str]], typer.Option("--service", "-s", help="Only these services (repeatable), e.g. s3, iam, ec2.")] = None,
    workers: Annotated[int, typer.Option(help="Services and regions collected at once.", min=1, max=64)] = 8,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Inventory resources into the store (a new history version only where something changed)."""
    from phiwatch.aws import AwsContext
    from phiwatch.collect.registry import load_collectors
    from phiwatch.collect.runner import collect as run_collect
    from phiwatch.ui import collection_progress, print_collect_summary

    known = load_collectors()
    for name in service or []:
        if name not in known:
            raise UsageError(f"unknown service '{name}': choose from {', '.join(sorted(known))}")
    aws = AwsContext(endpoint_url=endpoint_url, profile=profile, regions=region)
    aws.account_id()
    if all_regions:
        aws = AwsContext(endpoint_url=endpoint_url, profile=profile, regions=aws.all_regions())
    store = _open_store(db, create=True)
    with collection_progress(enabled=not json_out) as progress:
        result = run_collect(aws, store, services=service, progress=progress, max_workers=workers)
    if json_out:
        print_json(
            {
                "run_id": result.run_id, "account_id": result.account_id, "regions": result.regions,
                "seen": result.seen, "created": result.created, "changed": result.changed, "deleted": result.deleted,
                "requests": result.requests, "seconds": round(result.seconds, 3), "types": result.types_seen,
                "errors": [e.to_dict() for e in result.errors],
            }
        )
    else:
        print_collect_summary(result)


@app.command()
def inventory(
    resource_type: Annotated[Optional[str], typer.Option("--type", "-t", help="AWS Config type, e.g. AWS::EC2::Instance.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="KEY=VALUE (repeatable; KEY=* for any value).")] = None,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted resources.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List resources in the store, e.g. `--type AWS::EC2::Instance --tag InstanceOwnerEmail=owner@example.org`."""
    tags = _parse_tags(tag)
    store = _open_store(db)
    rows = store.inventory(resource_type=resource_type, tags=tags, region=region, include_deleted=deleted)
    if json_out:
        print_json(
            [
                {k: r[k] for k in ("resource_type", "resource_id", "resource_name", "arn", "account_id", "region", "status", "version", "tags")}
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


@app.command()
def history(
    resource: Annotated[str, typer.Argument(help="ARN, resource id or name.")],
    resource_type: Annotated[Optional[str], typer.Option("--type", "-t", help="Disambiguate by type.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Show a resource's configuration timeline with what changed in each version."""
    from phiwatch.store.diff import diff_items

    store = _open_store(db)
    row = store.resolve(resource, resource_type)
    versions = store.history(row["id"])
    entries = []
    previous = None
    for v in versions:
        changes = diff_items(previous, v["item"]) if previous is not None else []
        entries.append(
            {
                "version": v["version"], "capture_time": v["capture_time"].isoformat().replace("+00:00", "Z"),
                "status": v["status"], "configurationStateId": v["state_id"], "changed_by": v["changed_by"],
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


@app.command()
def show(
    resource: Annotated[str, typer.Argument(help="ARN, resource id or name.")],
    at: Annotated[Optional[str], typer.Option("--at", help="Point in time (ISO 8601): print the item as it was then.")] = None,
    resource_type: Annotated[Optional[str], typer.Option("--type", "-t", help="Disambiguate by type.")] = None,
    db: DbOpt = None,
) -> None:
    """Print a resource's configuration item (AWS Config shape) as evidence JSON."""
    from phiwatch.store.db import parse_time

    when = parse_time(at) if at else None
    store = _open_store(db)
    row = store.resolve(resource, resource_type)
    version = store.item_at(row["id"], when)
    if version is None:
        raise UsageError(f"'{resource}' was not yet recorded at {at}: see `phiwatch history {resource}`")
    print_json(version["item"])


from phiwatch import cli_scan  # noqa: E402,F401 - registers scan, evaluate, findings, rules
from phiwatch import cli_notify  # noqa: E402,F401 - registers notify test|send, notifications
from phiwatch import cli_watch  # noqa: E402,F401 - registers watch, watch setup
from phiwatch import cli_remediate  # noqa: E402,F401 - registers remediate, audit, iam-policy, export


def main() -> None:
    try:
        code = app(standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into Exit(130), which non-standalone mode returns
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except PhiwatchError as exc:
        # one line whatever the terminal width, and the message is never read as Rich markup
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        # The run is already recorded (collect's finally). Exit now: a normal exit would wait
        # for collector threads still inside an AWS call (up to its read timeout and retries).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    except Exception as exc:  # click usage errors
        # recent typer (0.29 here) raises its vendored click's exceptions (typer._click), older
        # typer click's own: recognise both by class name, not by class
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "ClickException" in names and callable(getattr(exc, "show", None)):
            exc.show()
            sys.exit(2 if "UsageError" in names else getattr(exc, "exit_code", 1))
        sa_exc = sys.modules.get("sqlalchemy.exc")
        if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
            # the store failed after it was opened (disk full, lost connection, locked): exit 3, one line
            first = (str(exc).splitlines() or [""])[0][:300]
            err_console.print(
                f"[red]error:[/red] the store failed: {escape(type(exc).__name__)}: {escape(first)}",
                highlight=False, soft_wrap=True,
            )
            sys.exit(3)
        raise


if __name__ == "__main__":
    # `python -m phiwatch.cli`: run the imported module's app, on which cli_scan registered its
    # commands (this __main__ copy of the module has only the ones defined above)
    from phiwatch.cli import main as _main

    _main()
