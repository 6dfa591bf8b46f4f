"""Reading what a collection stored, for collector tests."""

from __future__ import annotations

from typing import Any

from phiwatch.store import Store


def stored_item(store: Store, identifier: str, resource_type: str | None = None) -> dict[str, Any]:
    """The current item of the one resource ``identifier`` (ARN, id or name) names."""
    return store.item_at(store.resolve(identifier, resource_type)["id"])["item"]
