"""Import every collector module so its @register runs. Add a service: add its module here."""

from __future__ import annotations

import importlib

from phiwatch.collect.base import REGISTRY

COLLECTOR_MODULES = (
    "s3",
)


def load_collectors() -> dict:
    for name in COLLECTOR_MODULES:
        importlib.import_module(f"phiwatch.collect.{name}")
    return REGISTRY
