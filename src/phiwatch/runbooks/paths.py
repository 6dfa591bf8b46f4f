"""The JSONPath subset of output Selectors and PropertySelectors: :func:`parse_path` reads
``$``, ``.key``, ``['key']``, ``[n]`` and ``[*]``/``.*``; :func:`select` applies a parsed path
(:data:`MISSING` when nothing matches)."""

from __future__ import annotations

import re
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_@$-]+|\*)|\[(-?\d+|\*)\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")


def parse_path(text: str) -> tuple[tuple[str, Any], ...]:
    """``$.a.b[0]['c'][*]`` -> (("key","a"), ("key","b"), ("index",0), ("key","c"), ("wild",None))."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise ValueError(f"selector {text!r} must start with '$'")
    tokens: list[tuple[str, Any]] = []
    pos = 1
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"selector {text!r}: cannot read {text[pos:]!r} (supported: .key, ['key'], [n], [*])")
        key, index, quoted1, quoted2 = m.groups()
        if key == "*" or index == "*":
            tokens.append(("wild", None))
        elif key is not None:
            tokens.append(("key", key))
        elif index is not None:
            tokens.append(("index", int(index)))
        else:
            tokens.append(("key", quoted1 if quoted1 is not None else quoted2))
        pos = m.end()
    return tuple(tokens)


def select(data: Any, path: tuple[tuple[str, Any], ...]) -> Any:
    """The value at ``path`` (MISSING when nothing matches); with a wildcard, the list of matches."""
    current = [data]
    for kind, arg in path:
        nxt: list[Any] = []
        for value in current:
            if kind == "key" and isinstance(value, dict) and arg in value:
                nxt.append(value[arg])
            elif kind == "index" and isinstance(value, list) and -len(value) <= arg < len(value):
                nxt.append(value[arg])
            elif kind == "wild":
                if isinstance(value, dict):
                    nxt.extend(value.values())
                elif isinstance(value, list):
                    nxt.extend(value)
        current = nxt
    if any(kind == "wild" for kind, _ in path):
        return current
    return current[0] if current else MISSING
