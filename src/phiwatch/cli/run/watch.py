"""What `watch` and `watch setup` do (declared in phiwatch.cli.watch)."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from phiwatch.aws.session import AwsContext
from phiwatch.cli.common import WATCH_QUEUE, console, err_console, print_json
from phiwatch.cli.run.common import aws_context, open_store
from phiwatch.collect.registry import load_collectors
from phiwatch.errors import UsageError
from phiwatch.policy import load_policy
from phiwatch.rules.active import resolve_rules
from phiwatch.watch.log_format import JsonLogFormatter, TextLogFormatter
from phiwatch.watch.metrics import Metrics, MetricsServer
from phiwatch.watch.service import WatchOptions, WatchService
from phiwatch.watch.setup import SetupOptions, run_setup


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


def watch(
    queue_url: str | None,
    policy: Path | None,
    endpoint_url: str | None,
    profile: str | None,
    region: list[str] | None,
    db: str | None,
    metrics_port: int | None,
    metrics_host: str,
    metrics_token_env: str,
    wait_seconds: int,
    max_messages: int,
    full_sweep_hours: float,
    periodic_minutes: float,
    periodic_hours: float,
    sweep_on_start: bool | None,
    retry_delay: float,
    no_remediate: bool,
    log_format: str,
    max_polls: int | None,
) -> None:
    if log_format not in ("json", "text"):
        raise UsageError("--log-format must be json or text")

    pol = load_policy(policy)
    rules = resolve_rules(pol)
    aws = aws_context(endpoint_url, profile, region, check=False)
    url = queue_url or _default_queue_url(aws, WATCH_QUEUE)
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


def setup(
    endpoint_url: str | None,
    profile: str | None,
    region: list[str] | None,
    name: str,
    max_receive_count: int,
    visibility_timeout: int,
    service: list[str] | None,
    no_config_events: bool,
    dry_run: bool,
    json_out: bool,
    db: str | None,
) -> None:
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
