"""Parameter values: :func:`coerce_value` converts a value to an SSM parameter type (String,
StringList, Integer, Boolean, MapList, StringMap); :func:`parse_duration` and
:func:`parse_timestamp` read aws:sleep's ISO 8601 Duration and Timestamp."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from phiwatch.runbooks.errors import fail
from phiwatch.runbooks.syntax import TYPES

_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def coerce_value(value: Any, type_name: str, where: str) -> Any:
    """Convert a value to an SSM type (String, StringList, Integer, Boolean, MapList, StringMap)."""
    if type_name == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    elif type_name == "StringList":
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except (ValueError, RecursionError):
                    fail(where, "expects a StringList (a list, or comma-separated text)")
            else:
                value = [p.strip() for p in text.split(",") if p.strip()]
        if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            return [str(v) for v in value]
    elif type_name == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
    elif type_name == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    elif type_name in ("MapList", "StringMap"):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                fail(where, f"expects a {type_name} (JSON text or a structure)")
        if type_name == "StringMap" and isinstance(value, dict):
            return value
        if type_name == "MapList" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return value
    else:
        fail(where, f"unknown type {type_name!r} (supported: {', '.join(TYPES)})")
    fail(where, f"expects a {type_name}, got {type(value).__name__} {str(value)[:60]!r}")


def parse_duration(text: str) -> float | None:
    """ISO 8601 ``PT#H#M#S`` -> seconds (None when not that format)."""
    m = _DURATION.match(str(text).strip())
    if not m or not any(m.groups()):
        return None
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def parse_timestamp(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
