"""What every command declaration shares: the common options, the consoles, JSON output.

Declaration modules (``phiwatch.cli.<group>``) and implementations (``phiwatch.cli.run.<group>``)
import this module; it imports no engine (AWS, store, policy), so `--help` stays fast. Opening
the store, the AWS context and alert delivery are in ``phiwatch.cli.run.common``.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from phiwatch.ui import console, err_console

__all__ = [
    "AllRegionsOpt",
    "DbOpt",
    "EndpointOpt",
    "MaxAttemptsOpt",
    "ProfileOpt",
    "RegionOpt",
    "RetryBudgetOpt",
    "WorkersOpt",
    "WATCH_QUEUE",
    "console",
    "err_console",
    "print_json",
]

# the queue `watch setup` creates and `watch` reads when given no --queue-url
WATCH_QUEUE = "phiwatch-watch"

EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="AWS endpoint (e.g. the emulator's http://127.0.0.1:PORT). Default: real AWS.",
        show_envvar=True,
    ),
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", envvar="AWS_PROFILE", help="Named profile from ~/.aws/config.")]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option("--region", "-r", help="Region to collect (repeatable). Default: the configured region (AWS_REGION)."),
]
AllRegionsOpt = Annotated[bool, typer.Option("--all-regions", help="Collect every region enabled for the account.")]
MaxAttemptsOpt = Annotated[
    int,
    typer.Option(
        "--max-attempts",
        min=0,
        max=50,
        help="Retries of a throttled call (throttling is retried with back-off and a shared rate limiter; "
        "5xx and connection errors get 3 attempts at most; 501 and NotImplemented are never retried).",
    ),
]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        max=256,
        help="AWS requests in flight at once (collection tasks and their per-resource reads share them; "
        "S3 gets at most 24 of them, IAM 8, other services 8). With real latency, time is about requests x round trip / workers.",
    ),
]
RetryBudgetOpt = Annotated[
    int,
    typer.Option("--retry-budget", min=0, help="Retries the whole run may spend; then failing calls are 'could not check' at once."),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="PHIWATCH_DB",
        help="Store URL: sqlite:///path.db or postgresql+psycopg://user@host/db. Default: a SQLite file in your data directory.",
        show_envvar=True,
    ),
]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
