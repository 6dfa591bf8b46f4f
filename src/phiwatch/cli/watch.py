"""Continuous monitoring commands: ``phiwatch watch`` (the service) and ``phiwatch watch setup``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from phiwatch.cli import run
from phiwatch.cli.common import WATCH_QUEUE, DbOpt, EndpointOpt, ProfileOpt, RegionOpt

commands = typer.Typer()

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
    run.watch.watch(
        queue_url=queue_url,
        policy=policy,
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        db=db,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        metrics_token_env=metrics_token_env,
        wait_seconds=wait_seconds,
        max_messages=max_messages,
        full_sweep_hours=full_sweep_hours,
        periodic_minutes=periodic_minutes,
        periodic_hours=periodic_hours,
        sweep_on_start=sweep_on_start,
        retry_delay=retry_delay,
        no_remediate=no_remediate,
        log_format=log_format,
        max_polls=max_polls,
    )


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
    ] = WATCH_QUEUE,
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
    run.watch.setup(
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        name=name,
        max_receive_count=max_receive_count,
        visibility_timeout=visibility_timeout,
        service=service,
        no_config_events=no_config_events,
        dry_run=dry_run,
        json_out=json_out,
        db=db,
    )
