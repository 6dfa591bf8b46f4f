"""Options shared by every command that talks to AWS or the store, and output helpers."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

EndpointOpt = Annotated[
    Optional[str],
    typer.Option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="AWS endpoint (e.g. the emulator's http://127.0.0.1:PORT). Default: real AWS.", show_envvar=True),
]
ProfileOpt = Annotated[Optional[str], typer.Option("--profile", envvar="AWS_PROFILE", help="Named profile from ~/.aws/config.")]
RegionOpt = Annotated[
    Optional[list[str]],
    typer.Option("--region", "-r", help="Region to collect (repeatable). Default: the configured region (AWS_REGION)."),
]
AllRegionsOpt = Annotated[bool, typer.Option("--all-regions", help="Collect every region enabled for the account.")]
DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", envvar="PHIWATCH_DB", help="Store URL: sqlite:///path.db or postgresql+psycopg://user@host/db. Default: a SQLite file in your data directory.", show_envvar=True),
]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
