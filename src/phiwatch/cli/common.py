"""What every command shares: the common options, opening the store, the AWS context, output.

Command modules import this module; nothing here imports a command module.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from phiwatch.aws import AwsContext
from phiwatch.notify.dispatcher import DispatchResult, deliver
from phiwatch.policy import Policy
from phiwatch.store import Store
from phiwatch.ui import console, err_console

__all__ = [
    "AllRegionsOpt",
    "DbOpt",
    "EndpointOpt",
    "ProfileOpt",
    "RegionOpt",
    "aws_context",
    "console",
    "deliver_alerts",
    "err_console",
    "open_store",
    "print_json",
]

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


def open_store(db: str | None, *, create: bool = False) -> Store:
    """The store named by --db / PHIWATCH_DB. Only commands that write pass ``create=True``: a read
    command on a store that does not exist says so and exits 3 instead of showing an empty one."""
    return Store(db, create=create)


def deliver_alerts(
    store: Store,
    policy: Policy,
    rules: dict[str, Any] | None,
    *,
    aws: AwsContext | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
) -> DispatchResult | None:
    """After a scan: send due alerts and reminders; one line on stderr. Never fails the scan."""
    if not policy.notifications:
        return None
    try:
        result = deliver(store, policy, rules, aws=aws, endpoint_url=endpoint_url, profile=profile)
    except Exception as exc:  # noqa: BLE001 - alerts stay in the outbox for the next run
        err_console.print(
            f"[yellow]alerts not sent this time ({escape(type(exc).__name__)}); they stay queued: see `phiwatch notifications`[/yellow]"
        )
        return None
    if result is not None and result.routes:
        style = "yellow" if result.failed else "green"
        err_console.print(f"[{style}]{escape(result.summary())}[/{style}]", highlight=False, soft_wrap=True)
    return result


def aws_context(
    endpoint_url: str | None,
    profile: str | None,
    region: list[str] | None,
    all_regions: bool = False,
    check: bool = True,
) -> AwsContext:
    """The AWS context of the common options. ``check``: its credentials are checked now (one STS
    call) so a bad profile or endpoint is one clear error; ``all_regions``: every Region enabled
    for the account."""
    aws = AwsContext(endpoint_url=endpoint_url, profile=profile, regions=region)
    if check or all_regions:
        aws.account_id()
    if all_regions:
        aws = AwsContext(endpoint_url=endpoint_url, profile=profile, regions=aws.all_regions())
    return aws
