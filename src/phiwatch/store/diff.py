"""Field-level diffs between two versions of a configuration item, in words people read.

Lists of objects are compared as sets of elements (order from AWS is not meaningful), so an
added ingress rule reads ``added tcp/22 from 0.0.0.0/0`` rather than a reshuffled list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from phiwatch.model import canonical_json

SKIP = {"configurationItemCaptureTime", "configurationStateId"}


@dataclass
class Change:
    path: str
    kind: str  # added | removed | changed
    old: Any = None
    new: Any = None

    def describe(self) -> str:
        if self.kind == "added":
            return f"{self.path}: added {summarise(self.new)}"
        if self.kind == "removed":
            return f"{self.path}: removed {summarise(self.old)}"
        return f"{self.path}: {summarise(self.old)} -> {summarise(self.new)}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new, "text": self.describe()}


def _port_range(perm: dict[str, Any]) -> str:
    proto = str(perm.get("IpProtocol", "?"))
    if proto == "-1":
        return "all traffic"
    lo, hi = perm.get("FromPort"), perm.get("ToPort")
    if lo is None or lo == -1:
        return proto
    return f"{proto}/{lo}" if lo == hi else f"{proto}/{lo}-{hi}"


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list (an item stored by an older version may hold anything there)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


_SOURCES = (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6"), ("UserIdGroupPairs", "GroupId"), ("PrefixListIds", "PrefixListId"))


def summarise(value: Any, limit: int = 160) -> str:
    """A short human rendering of a value, with special cases for well-known AWS shapes."""
    if isinstance(value, dict):
        if "IpProtocol" in value:
            sources = [str(r.get(key)) for field, key in _SOURCES for r in _dicts(value.get(field)) if r.get(key)]
            text = f"{_port_range(value)} from {', '.join(sources) or 'nowhere'}"
            return text if len(text) <= limit else text[: limit - 1] + "…"
        if set(value) == {"Key", "Value"}:
            return f"{value['Key']}={value['Value']}"
    if value is None:
        return "none"
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_values(old: Any, new: Any, path: str = "") -> list[Change]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in sorted(set(old) | set(new), key=str):
            if not path and key in SKIP:
                continue
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                changes.append(Change(sub, "added", new=new[key]))
            elif key not in new:
                changes.append(Change(sub, "removed", old=old[key]))
            else:
                changes.extend(diff_values(old[key], new[key], sub))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        old_keys = {canonical_json(v): v for v in old}
        new_keys = {canonical_json(v): v for v in new}
        changes = [Change(path, "removed", old=old_keys[k]) for k in old_keys if k not in new_keys]
        changes += [Change(path, "added", new=new_keys[k]) for k in new_keys if k not in old_keys]
        if not changes and old != new:
            changes.append(Change(path, "changed", old=old, new=new))  # same elements, new order
        return changes
    return [Change(path, "changed", old=old, new=new)]


def _expand_ip_permissions(item: dict[str, Any]) -> dict[str, Any]:
    """Split security-group permissions into one entry per source, so a diff names the exact rule."""
    config = item.get("configuration") if isinstance(item, dict) else None
    # an item stored by an older version may have no configuration, or one that is not an object
    if not isinstance(config, dict) or not any(isinstance(config.get(k), list) for k in ("IpPermissions", "IpPermissionsEgress")):
        return item
    config = dict(config)
    for key in ("IpPermissions", "IpPermissionsEgress"):
        if not isinstance(config.get(key), list):
            continue
        flat = []
        for perm in config[key]:
            if not isinstance(perm, dict):
                flat.append(perm)
                continue
            base = {k: v for k, v in perm.items() if k not in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds")}
            sources: list[tuple[str, Any]] = []
            for field, _ in _SOURCES:
                listed = perm.get(field)
                if isinstance(listed, list):
                    sources.extend((field, r) for r in listed)
            if not sources:
                flat.append(perm)
            for field, source in sources:
                flat.append({**base, field: [source]})
        config[key] = flat
    return {**item, "configuration": config}


def diff_items(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """Changes from ``old`` to ``new`` (AWS Config item dicts); everything is 'added' when old is None."""
    if old is None:
        return []
    return diff_values(_expand_ip_permissions(old), _expand_ip_permissions(new))
