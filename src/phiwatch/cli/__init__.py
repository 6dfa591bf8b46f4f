"""phiwatch command line: parses, calls the engine, prints with Rich.

This package's root builds the app from the command modules (``inventory``, ``local``, ``scan``,
``evidence``, ``notify``, ``remediate``, ``watch``); they share ``common`` and never import the root or each other.
They only declare the commands (options, help) and import no engine, so `--help` and `--version`
are quick; each command's work is in ``phiwatch.cli.run.<module>``, imported when it runs.

Exit status: 0 done, 1 done with findings (with --fail-on-findings), 2 bad usage or input,
3 could not run (credentials, endpoint, store).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
from rich.markup import escape

from phiwatch import __version__
from phiwatch.cli import evidence, inventory, local, notify, process, remediate, scan, watch
from phiwatch.cli.common import console, err_console
from phiwatch.errors import PhiwatchError

app = typer.Typer(
    name="phiwatch",
    help=(
        "Keep an AWS estate HIPAA compliant: inventory resources, record their configuration "
        "history, and show what changed, when and who owns it.\n\n"
        "Start with `phiwatch demo` (no AWS account needed), then `phiwatch collect` against "
        "your account or `phiwatch emulator` for a local AWS to experiment with."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"phiwatch {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log API calls and timings to stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _include(commands: typer.Typer) -> None:
    """Add a command module's commands and groups to the app, at the top level."""
    app.registered_commands.extend(commands.registered_commands)
    app.registered_groups.extend(commands.registered_groups)


for _module in (local, inventory, scan, evidence, notify, remediate, watch):
    _include(_module.commands)


def entry() -> None:
    """The ``phiwatch`` command (console script and ``python -m phiwatch.cli``): :func:`main` in a
    process of its own, with the garbage collector paced for it and a quick exit
    (:mod:`phiwatch.cli.process`)."""
    process.tune_gc()
    try:
        main()
    except SystemExit as exc:
        process.exit_now(process.exit_code(exc))
    process.exit_now(0)


def main() -> None:
    try:
        code = app(standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into Exit(130), which non-standalone mode returns
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except PhiwatchError as exc:
        # one line whatever the terminal width, and the message is never read as Rich markup
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        # The run is already recorded (collect's finally). Exit now: a normal exit would wait
        # for collector threads still inside an AWS call (up to its read timeout and retries).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    except Exception as exc:  # click usage errors
        # recent typer (0.29 here) raises its vendored click's exceptions (typer._click), older
        # typer click's own: recognise both by class name, not by class
        names = {cls.__name__ for cls in type(exc).__mro__}
        show = getattr(exc, "show", None) if "ClickException" in names else None
        if callable(show):
            show()
            sys.exit(2 if "UsageError" in names else getattr(exc, "exit_code", 1))
        sa_exc = sys.modules.get("sqlalchemy.exc")
        if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
            # the store failed after it was opened (disk full, lost connection, locked): exit 3, one line
            first = (str(exc).splitlines() or [""])[0][:300]
            err_console.print(
                f"[red]error:[/red] the store failed: {escape(type(exc).__name__)}: {escape(first)}",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(3)
        raise
