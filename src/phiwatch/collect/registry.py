"""Find every collector: each hook module of this package (but the machinery) registers its own, and
every declarative service of ``phiwatch/resources/`` without a hook gets the generic one."""

from __future__ import annotations

from phiwatch.collect.base import REGISTRY, Collector, register
from phiwatch.collect.generic import spec_collector
from phiwatch.plugins import import_package, package_modules
from phiwatch.resources import services

_MACHINERY = {"base", "generic", "registry", "runner"}


def collector_modules() -> list[str]:
    return package_modules("phiwatch.collect", skip=_MACHINERY)


def load_collectors() -> dict[str, type[Collector]]:
    import_package("phiwatch.collect", skip=_MACHINERY)
    for name, service in services().items():
        if name not in REGISTRY:
            if not service.declarative:
                raise LookupError(f"service {name!r} has types without a listing and no collect/ hook")
            register(spec_collector(service))
    return REGISTRY
