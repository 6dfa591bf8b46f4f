"""What `emulator` and `demo` do (declared in phiwatch.cli.local)."""

from __future__ import annotations

import sys
import time

from phiwatch.cli.common import console
from phiwatch.demo.estate import seed_estate
from phiwatch.demo.run import run_demo
from phiwatch.emulator import Emulator


def emulator(host: str, port: int, seed: bool) -> None:
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


def demo(db: str | None, regions: list[str] | None) -> None:
    run_demo(db=db, regions=regions or ["us-east-1"])
