"""Refusing one operation in tests: a botocore ``before-call`` hook that answers with an error, so the
request never reaches moto (which allows everything)."""

from __future__ import annotations

from typing import Any


class Denied:
    """Answers ``code`` to ``operation`` (every operation of the event it is registered on when None)."""

    status_code = 403
    headers: dict = {}

    def __init__(self, operation: str | None = None, code: str = "AccessDenied") -> None:
        self.operation = operation
        self.code = code

    def __call__(self, model: Any, **_: Any) -> tuple[Any, dict] | None:
        if self.operation is None or model.name == self.operation:
            return self, {"Error": {"Code": self.code, "Message": "denied by test"}}
        return None
