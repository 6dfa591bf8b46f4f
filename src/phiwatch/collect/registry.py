"""Find every collector: each hook module of this package (but the machinery) registers its own, and
every declarative service of ``phiwatch/resources/`` without a hook gets the generic one."""

from __future__ import annotations

import importlib
import pkgutil

import phiwatch.collect as package
from phiwatch.collect.base import REGISTRY, Collector, register
from phiwatch.collect.generic import spec_collector
from phiwatch.resources import services

_MACHINERY = {"base", "generic", "registry", "runner"}


def collector_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in _MACHINERY and not m.name.startswith("_"))


def load_collectors() -> dict[str, type[Collector]]:
    for name in collector_modules():
        importlib.import_module(f"phiwatch.collect.{name}")
    for name, service in services().items():
        if name not in REGISTRY:
            if not service.declarative:
                raise LookupError(f"service {name!r} has types without a listing and no collect/ hook")
            register(spec_collector(service))
    return REGISTRY
