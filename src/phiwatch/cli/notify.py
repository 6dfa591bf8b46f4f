"""Commands about alerts: `notify test`, `notify send` and `notifications` (the delivery log)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from phiwatch.cli import run
from phiwatch.cli.common import DbOpt, EndpointOpt, ProfileOpt

commands = typer.Typer()

PolicyOpt = Annotated[
    Path | None,
    typer.Option("--policy", "-p", envvar="PHIWATCH_POLICY", help="Policy file (YAML) with the notifications routes."),
]
notify_app = typer.Typer(help="Alerts: send a test message through a route, deliver what is pending.", no_args_is_help=True)
commands.add_typer(notify_app, name="notify")

TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for a channel to connect or answer.", min=0.1)]


@notify_app.command("test")
def notify_test(
    route: Annotated[str, typer.Option("--route", help="Name of the route in the policy's notifications.")],
    policy: PolicyOpt = None,
    to: Annotated[str | None, typer.Option("--to", help="Email routes: send the test to this address (owner routes need it).")] = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    db: DbOpt = None,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """Send a test message through one route now and say whether the channel accepted it."""
    run.notify.notify_test(route=route, policy=policy, to=to, endpoint_url=endpoint_url, profile=profile, db=db, timeout=timeout)


@notify_app.command("send")
def notify_send(
    policy: PolicyOpt = None,
    route: Annotated[list[str] | None, typer.Option("--route", help="Only this route (repeatable).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Also retry failed alerts whose backoff has not ended yet.")] = False,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    db: DbOpt = None,
    timeout: TimeoutOpt = 10.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Deliver pending and failed alerts now (a scan does this itself), plus reminders that are due."""
    run.notify.notify_send(
        policy=policy, route=route, force=force, endpoint_url=endpoint_url, profile=profile, db=db, timeout=timeout, json_out=json_out
    )


@commands.command()
def notifications(
    status: Annotated[list[str] | None, typer.Option("--status", help="pending | sent | failed | retried (repeatable).")] = None,
    route: Annotated[str | None, typer.Option("--route", help="Only this route.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Most recent N entries.", min=1)] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """The alert delivery log: what was sent, what failed or was retried, with the last error."""
    run.notify.notifications(status=status, route=route, limit=limit, json_out=json_out, db=db)
