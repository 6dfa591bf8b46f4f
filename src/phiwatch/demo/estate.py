"""Seed a small but realistic healthcare estate into an AWS endpoint (normally the emulator).

Each service area has its own module with a ``seed(session, endpoint, region)`` function;
names say the expected verdict (``phi-records-logging-on`` / ``...-logging-off``) so a
reader of the inventory, and of failing tests, sees at a glance what each resource shows.
"""

from __future__ import annotations

import importlib
from typing import Any

import boto3

SEED_MODULES = (
    "s3",
)

OWNER_TAG = "InstanceOwnerEmail"


def seed_estate(session: boto3.Session, endpoint: str | None, region: str = "us-east-1") -> dict[str, Any]:
    """Create the demo estate; returns what each module created (names and ids)."""
    created: dict[str, Any] = {}
    for name in SEED_MODULES:
        module = importlib.import_module(f"phiwatch.demo.seed_{name}")
        created[name] = module.seed(session, endpoint, region)
    return created
