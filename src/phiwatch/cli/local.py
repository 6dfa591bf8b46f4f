"""Commands that need no AWS account: the embedded emulator and the demo."""

from __future__ import annotations

from typing import Annotated

import typer

from phiwatch.cli import run
from phiwatch.cli.common import RegionOpt

commands = typer.Typer()


@commands.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless you need otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = a free one).")] = 0,
    seed: Annotated[bool, typer.Option("--seed/--no-seed", help="Create the demo healthcare estate in it.")] = False,
) -> None:
    """Run the embedded local AWS (moto's server) in the foreground and print its endpoint."""
    run.local.emulator(host=host, port=port, seed=seed)


@commands.command()
def demo(
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL for the demo (default: a fresh SQLite file in a temporary directory).")
    ] = None,
    regions: RegionOpt = None,
) -> None:
    """Start the embedded AWS, seed a demo healthcare estate, then collect, scan, alert and remediate it, narrated."""
    run.local.demo(db=db, regions=regions)
