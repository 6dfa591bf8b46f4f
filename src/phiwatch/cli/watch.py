"""Continuous monitoring commands: ``phiwatch watch`` (the service) and ``phiwatch watch setup``."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from phiwatch.aws.session import AwsContext
from phiwatch.cli.common import (
    DbOpt,
    EndpointOpt,
    ProfileOpt,
    RegionOpt,
    aws_context,
    console,
    err_console,
    open_store,
    print_json,
)
from phiwatch.collect.registry import load_collectors
from phiwatch.errors import UsageError
from phiwatch.policy import load_policy
from phiwatch.rules.active import resolve_rules
from phiwatch.watch.log_format import JsonLogFormatter, TextLogFormatter
from phiwatch.watch.metrics import Metrics, MetricsServer
from phiwatch.watch.service import WatchOptions, WatchService
from phiwatch.watch.setup import SetupOptions, run_setup

commands = typer.Typer()

DEFAULT_NAME = "phiwatch-watch"

watch_app = typer.Typer(
    help=(
        "Continuous monitoring: react to each change in seconds (EventBridge -> SQS), sweep on a schedule.\n\n"
        "`phiwatch watch setup` creates the queue, dead-letter queue and EventBridge rules; "
        "`phiwatch watch --queue-url URL` runs the service."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)
commands.add_typer(watch_app, name="watch")


def _setup_logging(fmt: str, verbose: bool = False) -> None:

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter() if fmt == "json" else TextLogFormatter())
    logger = logging.getLogger("phiwatch.watch")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def _default_queue_url(aws: AwsContext, name: str) -> str:
    try:
        return aws.client("sqs", aws.regions[0]).get_queue_url(QueueName=name)["QueueUrl"]
    except Exception as exc:  # noqa: BLE001 - explained below
        raise UsageError(
            f"no --queue-url given and no queue named '{name}' found ({type(exc).__name__}): "
            "run `phiwatch watch setup` first, or pass --queue-url / PHIWATCH_QUEUE_URL"
        ) from exc


@watch_app.callback()
def watch(
    ctx: typer.Context,
    queue_url: Annotated[
        str | None,
        typer.Option(
            "--queue-url",
            envvar="PHIWATCH_QUEUE_URL",
            help="The SQS queue `watch setup` created (default: the queue named phiwatch-watch).",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            "-p",
            envvar="PHIWATCH_POLICY",
            help="Policy file: packs, parameters, exceptions, notification routes, remediation modes.",
        ),
    ] = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    db: DbOpt = None,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus /metrics and /healthz on this port (loopback).")
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            "--metrics-host", help="Address for --metrics-port (loopback unless a container needs 0.0.0.0: then a token is required)."
        ),
    ] = "127.0.0.1",
    metrics_token_env: Annotated[
        str,
        typer.Option(
            "--metrics-token-env",
            help="Environment variable holding a bearer token for /metrics (required off loopback; /healthz stays open).",
        ),
    ] = "PHIWATCH_METRICS_TOKEN",
    wait_seconds: Annotated[int, typer.Option("--wait-seconds", min=0, max=20, help="SQS long-poll wait per receive.")] = 20,
    max_messages: Annotated[int, typer.Option("--max-messages", min=1, max=10, help="Messages per receive (one batch).")] = 10,
    full_sweep_hours: Annotated[float, typer.Option("--full-sweep-hours", min=0, help="Full re-collection interval (0: never).")] = 12.0,
    periodic_minutes: Annotated[
        float,
        typer.Option(
            "--periodic-minutes", min=0, help="How often to run periodic rules that are due, reminders and alert retries (0: never)."
        ),
    ] = 5.0,
    periodic_hours: Annotated[
        float, typer.Option("--periodic-hours", min=0, help="A periodic rule is due this long after its last run.")
    ] = 24.0,
    sweep_on_start: Annotated[
        bool | None,
        typer.Option(
            "--sweep-on-start/--no-sweep-on-start",
            help="Full re-collection at start (default: when the store has none within --full-sweep-hours).",
        ),
    ] = None,
    retry_delay: Annotated[
        float,
        typer.Option(
            "--retry-delay",
            min=0,
            help="Seconds before a failed event is retried (doubles per receive, capped by the queue's visibility timeout).",
        ),
    ] = 30.0,
    no_remediate: Annotated[
        bool, typer.Option("--no-remediate", help="Never run remediation from the watcher, whatever the policy says.")
    ] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="json (one object per line) or text.")] = "json",
    max_polls: Annotated[
        int | None, typer.Option("--max-polls", hidden=True, help="Stop after this many receives (tests, benchmarks).")
    ] = None,
) -> None:
    """Run the watch service (see `phiwatch watch setup` for what it needs)."""
    if ctx.invoked_subcommand is not None:
        return
    if log_format not in ("json", "text"):
        raise UsageError("--log-format must be json or text")

    pol = load_policy(policy)
    rules = resolve_rules(pol)
    aws = aws_context(endpoint_url, profile, region, check=False)
    url = queue_url or _default_queue_url(aws, DEFAULT_NAME)
    store = open_store(db, create=True)
    _setup_logging(log_format, verbose=logging.getLogger().level <= logging.DEBUG)
    options = WatchOptions(
        queue_url=url,
        wait_seconds=wait_seconds,
        max_messages=max_messages,
        full_sweep_seconds=full_sweep_hours * 3600,
        periodic_check_seconds=periodic_minutes * 60,
        periodic_hours=periodic_hours,
        sweep_on_start=sweep_on_start,
        retry_delay=retry_delay,
        remediate=not no_remediate,
    )
    metrics = Metrics()
    service = WatchService(aws, store, pol, options, rules=rules, metrics=metrics)
    server = None
    if metrics_port is not None:
        token = os.environ.get(metrics_token_env) or None
        server = MetricsServer(metrics, service.health, host=metrics_host, port=metrics_port, token=token).start()
        logging.getLogger("phiwatch.watch").info("metrics", extra={"fields": {"url": f"http://{server.host}:{server.port}/metrics"}})

    def stop(signum: int, _frame: Any) -> None:
        service.request_stop()
        # a second Ctrl-C interrupts at once
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        code = service.run(max_polls=max_polls)
    finally:
        if server is not None:
            server.stop()
        store.close()
    raise typer.Exit(code)


@watch_app.command("setup")
def setup(
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region", "-r", help="Home region (first; the queue lives there) and other regions to forward events from (repeatable)."
        ),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Name of the queue; the dead-letter queue, rules and role are named after it.")
    ] = DEFAULT_NAME,
    max_receive_count: Annotated[
        int, typer.Option("--max-receive-count", min=1, max=1000, help="Receives before a failing event moves to the dead-letter queue.")
    ] = 5,
    visibility_timeout: Annotated[
        int,
        typer.Option(
            "--visibility-timeout", min=0, max=43200, help="Seconds a received event stays invisible (longer than one re-collection)."
        ),
    ] = 900,
    service: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Only events of these collectors (repeatable; default: every collected service)."),
    ] = None,
    no_config_events: Annotated[bool, typer.Option("--no-config-events", help="Do not subscribe to AWS Config item changes.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be created or changed; change nothing.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Create (idempotently) the SQS queue, dead-letter queue, queue policy and EventBridge rules, and the store.

    The store (--db / PHIWATCH_DB, as `phiwatch watch` will use it) is created when it does not
    exist, so a wrong URL or an unreachable database shows now rather than when the service starts.
    """
    known = load_collectors()
    for s in service or []:
        if s not in known:
            raise UsageError(f"unknown service '{s}' (collectors: {', '.join(sorted(known))})")
    aws = aws_context(endpoint_url, profile, region, check=False)
    options = SetupOptions(
        name=name,
        max_receive_count=max_receive_count,
        visibility_timeout=visibility_timeout,
        services=list(service) if service else None,
        config_events=not no_config_events,
        forward_regions=list(aws.regions[1:]),
    )
    result = run_setup(aws, options, dry_run=dry_run)
    store_url = None
    if not dry_run:
        store = open_store(db, create=True)
        store_url = store.safe_url()
        store.close()
    if json_out:
        print_json(result.to_dict())
        return
    title = "watch setup (dry run: nothing changed)" if dry_run else "watch setup"
    table = Table(title=title, show_edge=False)
    for col in ("Status", "Kind", "Name", "Region", "Detail"):
        table.add_column(col, overflow="fold")
    for a in result.actions:
        style = {"create": "green", "update": "yellow", "delete": "red"}.get(a.status.removeprefix("would ").removesuffix("d"), "")
        status = f"[{style}]{escape(a.status)}[/{style}]" if style else escape(a.status)
        table.add_row(status, escape(a.kind), escape(a.name), a.region, escape(a.detail))
    console.print(table)
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)
    if dry_run:
        console.print(f"queue (to be) {escape(result.queue_arn)}; dead-letter queue {escape(result.dlq_arn)}")
        return
    console.print(f"queue URL: [bold]{escape(str(result.queue_url))}[/bold]")
    console.print(f"store: {escape(str(store_url))}")
    db_part = " --db URL" if db else ""
    console.print(f"run: phiwatch watch{db_part} --queue-url {escape(str(result.queue_url))} [--policy FILE]", highlight=False)
