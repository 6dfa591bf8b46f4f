"""The one way phiwatch finds its parts: every module of a package, and registries by name.

Collectors (``collect/``), resource specs (``resources/``), rules (``rules/``), notification
channels (``notify/channels/``) and the demo's seed modules are each one module per thing in one
package; :func:`package_modules` lists them and :func:`import_package` imports them so that they
register themselves (:func:`register_unique`). Custom rules from files and entry points go through
``rules/registry.py``, which uses the same two functions.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")


def package_modules(package: str, *, skip: frozenset[str] | set[str] = frozenset(), prefix: str = "") -> list[str]:
    """The names of ``package``'s modules (sorted): those starting with ``prefix``, none starting with "_", none in ``skip``."""
    found = importlib.import_module(package)
    return sorted(
        m.name
        for m in pkgutil.iter_modules(found.__path__)
        if m.name.startswith(prefix) and not m.name.startswith("_") and m.name not in skip
    )


def import_package(package: str, *, skip: frozenset[str] | set[str] = frozenset(), prefix: str = "") -> list[ModuleType]:
    """Import every module :func:`package_modules` lists (each registers what it defines)."""
    return [importlib.import_module(f"{package}.{name}") for name in package_modules(package, skip=skip, prefix=prefix)]


def register_unique(registry: dict[str, T], name: str, item: T, kind: str) -> T:
    """Put ``item`` in ``registry`` under ``name``; a second, different item under that name is an error."""
    existing = registry.get(name)
    if existing is not None and existing is not item:
        raise ValueError(f"{kind} '{name}' registered twice")
    registry[name] = item
    return item
