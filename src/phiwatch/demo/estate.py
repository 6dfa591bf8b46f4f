"""Seed a small but realistic healthcare estate into an AWS endpoint (normally the emulator).

Each service area has its own module with a ``seed(session, endpoint, region)`` function;
names say the expected verdict (``phi-records-logging-on`` / ``...-logging-off``) so a
reader of the inventory, and of failing tests, sees at a glance what each resource shows.
"""

from __future__ import annotations

import importlib
from typing import Any

import boto3

from phiwatch.plugins import package_modules


def seed_modules() -> list[str]:
    """Every ``seed_<area>`` module of this package, in name order."""
    return package_modules("phiwatch.demo", prefix="seed_")


OWNER_TAG = "InstanceOwnerEmail"


def seed_estate(session: boto3.Session, endpoint: str | None, region: str = "us-east-1") -> dict[str, Any]:
    """Create the demo estate; returns what each module created (names and ids)."""
    created: dict[str, Any] = {}
    for name in seed_modules():
        module = importlib.import_module(f"phiwatch.demo.{name}")
        created[name.removeprefix("seed_")] = module.seed(session, endpoint, region)
    return created
