"""Which routes a finding event goes to (policy `notifications[].when`)."""

from __future__ import annotations

from typing import Any

from phiwatch.policy import NotificationRoute


def route_matches(route: NotificationRoute, message: dict[str, Any], tags: dict[str, str]) -> bool:
    when = route.when
    if when.events and message["event"] not in when.events:
        return False
    if when.severity and message["severity"] not in when.severity:
        return False
    if when.rules and message["rule_id"] not in when.rules:
        return False
    if when.hipaa_sections and not (set(when.hipaa_sections) & set(message["hipaa_sections"])):
        return False
    if when.accounts and message["account_id"] not in when.accounts:
        return False
    for key, value in when.tags.items():
        if key not in tags or (value != "*" and tags[key] != value):
            return False
    if route.owner_tag and not tags.get(route.owner_tag):
        return False  # an owner route reaches owners only
    return True


def recipient(route: NotificationRoute, tags: dict[str, str]) -> str | None:
    """The route's target, or the resource owner's address for owner routes (tag lookup)."""
    if route.owner_tag:
        return tags.get(route.owner_tag)
    return route.target
