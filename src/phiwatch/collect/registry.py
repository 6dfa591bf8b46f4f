"""Find every collector: each module of this package (but the machinery) registers its own."""

from __future__ import annotations

import importlib
import pkgutil

import phiwatch.collect as package
from phiwatch.collect.base import REGISTRY, Collector

_MACHINERY = {"base", "registry", "runner"}


def collector_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in _MACHINERY and not m.name.startswith("_"))


def load_collectors() -> dict[str, type[Collector]]:
    for name in collector_modules():
        importlib.import_module(f"phiwatch.collect.{name}")
    return REGISTRY
