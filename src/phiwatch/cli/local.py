"""Commands that need no AWS account: the embedded emulator and the demo."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from phiwatch.cli.common import RegionOpt, console
from phiwatch.demo.estate import seed_estate
from phiwatch.demo.run import run_demo
from phiwatch.emulator import Emulator

commands = typer.Typer()


@commands.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless you need otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = a free one).")] = 0,
    seed: Annotated[bool, typer.Option("--seed/--no-seed", help="Create the demo healthcare estate in it.")] = False,
) -> None:
    """Run the embedded local AWS (moto's server) in the foreground and print its endpoint."""
    emu = Emulator(host, port).start()
    if seed:
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


@commands.command()
def demo(
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL for the demo (default: a fresh SQLite file in a temporary directory).")
    ] = None,
    regions: RegionOpt = None,
) -> None:
    """Start the embedded AWS, seed a demo healthcare estate, then collect, scan, alert and remediate it, narrated."""
    run_demo(db=db, regions=regions or ["us-east-1"])
