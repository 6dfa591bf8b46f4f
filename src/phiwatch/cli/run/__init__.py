"""What the commands do: one module per command module of ``phiwatch.cli``, with the same name.

``phiwatch.cli.<group>`` declares its commands (names, arguments, options, help) and imports no
engine, so `phiwatch --help`, `phiwatch <command> --help` and `--version` load only typer and rich.
Each command's body is one call into ``phiwatch.cli.run.<group>``, which imports the engines
(AWS, store, policy, rules, ...) at module level like any other module.

This package is the one place an import waits: ``run.<group>`` is imported on first use, when a
command runs. The imports under ``TYPE_CHECKING`` name every module it hands out, so mypy checks
the calls and lint-imports checks their layers. A module here imports ``phiwatch.cli.common`` and
``phiwatch.cli.run.common``, never a declaration module nor another command's implementation.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phiwatch.cli.run import evidence, inventory, local, notify, remediate, scan, watch

__all__ = ["evidence", "inventory", "local", "notify", "remediate", "scan", "watch"]


def __getattr__(name: str) -> ModuleType:
    """``run.scan`` and the like: the implementation module, imported now if it was not yet."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
