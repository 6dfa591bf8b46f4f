"""Log lines of the watch service: one record per thing that happened, with its fields.

Every line goes to the ``phiwatch.watch`` logger with the fields under ``extra["fields"]``;
the CLI picks one of the two formatters below (``--log-format json|text``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger("phiwatch.watch")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info).splitlines()[-1][:500]
        return json.dumps(data, default=str, separators=(",", ":"))


class TextLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {}) or {}
        extra = " ".join(f"{k}={json.dumps(v, default=str) if not isinstance(v, str) else v}" for k, v in fields.items())
        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{stamp} {record.levelname.lower()} {record.getMessage()}" + (f" {extra}" if extra else "")


def log_line(level: int, msg: str, **fields: Any) -> None:
    """Log ``msg`` with ``fields`` (shown by the formatters) on the watch logger."""
    log.log(level, msg, extra={"fields": fields})


def error_code(exc: BaseException) -> str:
    """The code an error is logged and reported under: AWS's error code, else the exception's type."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
