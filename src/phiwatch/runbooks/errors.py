"""The runbook error: :class:`RunbookError` and :func:`fail`, which raises it naming where."""

from __future__ import annotations

from typing import NoReturn

from phiwatch.errors import UsageError


class RunbookError(UsageError):
    """A runbook that cannot run as given: malformed document, unsupported action, bad or
    missing parameter. The message names the runbook, the step or parameter, and the field."""


def fail(where: str, message: str) -> NoReturn:
    raise RunbookError(f"{where}: {message}")
