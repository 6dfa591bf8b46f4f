"""Core records: ConfigurationItem (AWS Config's shape), collection errors, evaluations."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, overload

ACCOUNT_TYPE = "AWS::::Account"
#: the Region of the items of global services and account-wide settings (IAM, S3's account-level
#: settings, the organization), as AWS Config records IAM
GLOBAL_REGION = "global"

STATUS_OK = "OK"
STATUS_DISCOVERED = "ResourceDiscovered"
STATUS_DELETED = "ResourceDeleted"

#: Finding events: an alert message's ``event`` (notify/message.py) and a policy route's ``events``.
EVENTS = (
    "opened",
    "resolved",
    "excepted",
    "exception_expired",
    "remediation_planned",
    "remediation_applied",
    "remediation_failed",
    "reminder",
)


_clock: Callable[[], dt.datetime] | None = None


def utcnow() -> dt.datetime:
    """The current time in UTC: what the store records as "when". :func:`clock` can set it."""
    if _clock is not None:
        return _clock()
    return dt.datetime.now(dt.UTC)


@contextmanager
def clock(now: Callable[[], dt.datetime]) -> Iterator[None]:
    """Make :func:`utcnow` return ``now()`` inside the block (history over simulated days, without sleeping).

    It is process-wide: every thread's records take the same clock."""
    global _clock
    previous, _clock = _clock, now
    try:
        yield
    finally:
        _clock = previous


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime: a naive one is taken as UTC (as SQLite returns them)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def isoformat(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (a naive datetime is taken as UTC)."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return isoformat(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_jsonable(value: Any) -> Any:
    """Normalise boto3 output (datetimes, bytes, ...) to plain JSON types."""
    return json.loads(json.dumps(value, default=_json_default))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


class Compliance(str, Enum):
    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass
class CollectionError:
    """An API call that was denied or failed: 'could not check', never 'not configured'."""

    service: str
    api: str
    region: str
    error: str
    iam_action: str
    resource_type: str | None = None
    resource_id: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "api": self.api,
            "region": self.region,
            "error": self.error,
            "iam_action": self.iam_action,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "message": self.message,
        }


@dataclass
class ConfigurationItem:
    """One resource's configuration at a point in time, in AWS Config's item shape."""

    resourceType: str
    resourceId: str
    awsRegion: str
    accountId: str
    resourceName: str | None = None
    arn: str | None = None
    configuration: dict[str, Any] = field(default_factory=dict)
    supplementaryConfiguration: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    configurationItemCaptureTime: str = field(default_factory=lambda: isoformat(utcnow()))
    configurationItemStatus: str = STATUS_OK
    # API calls that failed while building this item: rules report INSUFFICIENT_DATA for
    # anything that reads what these would have returned.
    collectionErrors: list[dict[str, Any]] = field(default_factory=list)
    configurationStateId: str = ""

    def __post_init__(self) -> None:
        if not self.configurationStateId:
            self.configurationStateId = self.compute_state_id()

    def content(self) -> dict[str, Any]:
        """The part of the item that defines its state (no capture time)."""
        return {
            "resourceType": self.resourceType,
            "resourceId": self.resourceId,
            "resourceName": self.resourceName,
            "arn": self.arn,
            "awsRegion": self.awsRegion,
            "accountId": self.accountId,
            "configuration": self.configuration,
            "supplementaryConfiguration": self.supplementaryConfiguration,
            "tags": self.tags,
            "relationships": self.relationships,
            "configurationItemStatus": self.configurationItemStatus,
            "collectionErrors": sorted(
                ({"api": e.get("api"), "error": e.get("error")} for e in self.collectionErrors),
                key=lambda e: (e["api"] or "", e["error"] or ""),
            ),
        }

    def compute_state_id(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()[:32]

    def refresh_state_id(self) -> str:
        self.configurationStateId = self.compute_state_id()
        return self.configurationStateId

    def to_dict(self) -> dict[str, Any]:
        data = self.content()
        data["configurationItemCaptureTime"] = self.configurationItemCaptureTime
        data["configurationStateId"] = self.configurationStateId
        data["collectionErrors"] = list(self.collectionErrors)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfigurationItem:
        """An item from its dict; the shapes older versions stored read as empty parts, never as a crash:
        a missing or null ``configuration`` (or one of another type) reads as ``{}``, one stored as JSON
        text is decoded, and so on for the other parts (rules then find nothing rather than fail)."""
        known = {f for f in cls.__dataclass_fields__}
        fields = {k: v for k, v in data.items() if k in known}
        config = fields.get("configuration")
        if isinstance(config, str):
            try:
                fields["configuration"] = json.loads(config)
            except ValueError:
                pass
        for name, kind in (
            ("configuration", dict),
            ("supplementaryConfiguration", dict),
            ("tags", dict),
            ("relationships", list),
            ("collectionErrors", list),
        ):
            if name in fields and not isinstance(fields[name], kind):
                fields[name] = kind()
        if "tags" in fields:
            fields["tags"] = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields["tags"].items()}
        for name in ("relationships", "collectionErrors"):
            if name in fields:
                fields[name] = [e for e in fields[name] if isinstance(e, dict)]
        for name in ("resourceName", "arn"):
            if name in fields and not isinstance(fields[name], str):
                fields[name] = None
        for name in ("configurationItemCaptureTime", "configurationItemStatus", "configurationStateId"):
            if name in fields and not isinstance(fields[name], str):
                del fields[name]
        return cls(**fields)

    def failed_apis(self) -> set[str]:
        return {e.get("api", "") for e in self.collectionErrors}

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.accountId, self.awsRegion, self.resourceType, self.resourceId)
