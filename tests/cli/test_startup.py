"""Start-up: importing the command line, and its help and version, load no engine.

`phiwatch --help`, `phiwatch <group> --help`, `phiwatch <command> --help` and `phiwatch --version`
need only the declarations of the commands (typer, rich); AWS, the store, the emulator and the
policy are imported by a command's implementation (``phiwatch.cli.run``) when it runs
(docs/architecture.md, the CLI layer). Each check runs in a fresh interpreter and reads
``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

# libraries only running a command may import (typer itself imports pydantic to read the value of
# an option, so a command's --help loads it: only a bare import of phiwatch.cli is held to it)
HEAVY = ("boto3", "botocore", "s3transfer", "sqlalchemy", "alembic", "moto", "werkzeug", "jinja2", "fastapi", "apprise")
# the phiwatch modules the declarations may use: the CLI's own modules (process: the standard library only), Rich rendering, error types
LIGHT = {"phiwatch", "phiwatch.errors", "phiwatch.ui", "phiwatch.cli", "phiwatch.cli.common", "phiwatch.cli.process", "phiwatch.cli.run"}
DECLARATIONS = {f"phiwatch.cli.{m}" for m in ("evidence", "inventory", "local", "notify", "remediate", "scan", "watch")}

_PROBE = """
import json, sys

import typer
import typer.main

from phiwatch.cli import app


def walk(command, path):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, [*path, name])


paths = list(walk(typer.main.get_command(app), [])) if sys.argv[1] == "help" else []
codes = {}
for args in [*([*p, "--help"] for p in paths), *([["--version"]] if paths else [])]:
    try:
        code = app(args, standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code
    codes[" ".join(args)] = code
json.dump({"paths": [" ".join(p) for p in paths], "codes": codes, "modules": sorted(sys.modules)}, sys.stderr)
"""


def _probe(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PHIWATCH_"))}
    env["COLUMNS"] = "100"
    proc = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


def _loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in packages})


def _phiwatch(modules: list[str]) -> set[str]:
    return {m for m in modules if m == "phiwatch" or m.startswith("phiwatch.")}


def test_help_of_every_command_and_version_import_no_engine():
    seen = _probe("help")
    # the walk reached every group and command, and each help (and --version) ended normally
    assert {"", "scan", "collect", "rules list", "watch setup", "audit verify", "notify test", "export ssm", "demo"} <= set(seen["paths"])
    assert len(seen["codes"]) == len(seen["paths"]) + 1
    assert set(seen["codes"].values()) <= {0, None}, seen["codes"]
    assert _loaded(seen["modules"], HEAVY) == []
    assert _phiwatch(seen["modules"]) == LIGHT | DECLARATIONS  # no implementation, store, AWS, policy, ...


def test_importing_the_cli_imports_no_engine():
    seen = _probe("import")
    assert seen["codes"] == {}
    assert _loaded(seen["modules"], (*HEAVY, "pydantic")) == []
    assert _phiwatch(seen["modules"]) == LIGHT | DECLARATIONS
