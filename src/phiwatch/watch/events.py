"""Event -> resource: CloudTrail write calls (and AWS Config item changes) mapped to the phiwatch
resources they touch.

The write calls are declared with the resource types they change, in ``phiwatch/resources/<service>.py``
(:class:`~phiwatch.resources.spec.Event`); :func:`phiwatch.resources.event_index` gathers them.

An "AWS API Call via CloudTrail" event (EventBridge envelope, the CloudTrail record in
``detail``) is looked up by ``detail.eventSource`` + ``detail.eventName``; each
:class:`~phiwatch.resources.Reading` of the call names the type it changes (``AWS::::Account``
for account-level calls such as ``DisableEbsEncryptionByDefault``, re-collected by the service
owning the setting) and where the resource's identifier is in the record. Whatever is found is
matched against the store's ARN, resource id or name (an IAM user is named ``userName`` in the
event and stored by ``UserId``: the name matches). Identifiers only serve to say *who changed
which resource*; re-collection is per (service, region), so an event whose identifiers cannot be
read is still acted on. Readings marked ``optional`` tell apart calls that share a name (Classic
and v2 load balancers both call ``CreateLoadBalancer``): they are used only when one of their ids
was found, unless none was. An account-global setting (IAM, S3 account public access block)
is in region ``global``; otherwise the event's ``awsRegion`` (a resource already in the store
keeps its stored region, e.g. an S3 bucket).

``when`` restricts a reading to records whose paths have given values (Application Auto
Scaling calls matter only for ``serviceNamespace`` ``dynamodb``). Lambda's CloudTrail event
names carry an API version (``UpdateFunctionConfiguration20150331v2``): entries of a source
in :data:`VERSIONED_SOURCES` match the name without that suffix, and the EventBridge pattern
uses prefix filters for them.

Only write calls are listed (the EventBridge rule sends nothing else); records with
``errorCode`` (the call failed: nothing changed) and ``readOnly`` records are ignored.

AWS Config "Configuration Item Change" events (``source`` ``aws.config``) name the resource
directly (``configurationItem`` or, for oversized items, ``configurationItemSummary``):
the type's collector re-collects it; phiwatch never stores Config's copy of the item.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION
from phiwatch.resources import Reading, event_index, services
from phiwatch.resources import service_for_type as _service_for_type
from phiwatch.resources.spec import MAX_IDENTIFIER, Event, lookup

__all__ = ["MAX_IDENTIFIER", "Event", "lookup"]

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
CONFIG_DETAIL_TYPE = "Config Configuration Item Change"
CONFIG_SOURCE = "aws.config"

#: eventSources whose eventName carries an API version suffix in CloudTrail
VERSIONED_SOURCES = frozenset({"lambda.amazonaws.com"})
_VERSION_SUFFIX = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<version>\d{8}(?:v\d+)?)$")


# -- lookups ------------------------------------------------------------------------------------


def base_name(source: str, name: str) -> str:
    """The declared name for a CloudTrail eventName (Lambda's version suffix removed)."""
    if source in VERSIONED_SOURCES:
        match = _VERSION_SUFFIX.match(name)
        if match:
            return match.group("base")
    return name


def readings_for(source: str, name: str) -> tuple[Reading, ...]:
    return event_index().get((source, base_name(source, name)), ())


def write_calls() -> dict[str, list[str]]:
    """eventSource -> the sorted write calls phiwatch reads (what the EventBridge rule matches)."""
    out: dict[str, set[str]] = {}
    for source, name in event_index():
        out.setdefault(source, set()).add(name)
    return {source: sorted(names) for source, names in sorted(out.items())}


def service_for_type(resource_type: str) -> str | None:
    """The collector that produces ``resource_type`` (None when phiwatch does not collect it)."""
    return _service_for_type(resource_type)


def _global_items(service: str) -> bool:
    found = services().get(service)
    return bool(found and found.global_items)


def event_source_name(source: str) -> str:
    """EventBridge ``source`` of a CloudTrail eventSource: ``aws.`` + its first label."""
    return "aws." + source.split(".", 1)[0]


# -- parsing a message -------------------------------------------------------------------------


#: what an AWS region name looks like (``us-east-1``, ``us-gov-west-1``, ``eu-isoe-west-1``)
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+){1,3}-\d{1,2}$")


class BadEvent(Exception):
    """The message is not an event phiwatch can read (malformed JSON, wrong shape)."""


@dataclass
class ResourceRef:
    """One resource (or account item) an event touched."""

    resource_type: str
    service: str
    region: str  # an AWS region or "global"
    identifiers: tuple[str, ...] = ()
    account: bool = False


@dataclass
class Change:
    """A write call (or Config item change) mapped to the resources it touched."""

    event_id: str
    origin: str  # cloudtrail | config
    event_source: str
    event_name: str
    event_time: dt.datetime
    region: str
    account_id: str | None
    actor: str | None
    refs: list[ResourceRef] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.event_source.split('.')[0]}:{self.event_name}"


@dataclass
class Ignored:
    """A readable event that changes nothing phiwatch records."""

    reason: str  # unknown-event | failed-call | read-only | not-collected | not-an-event
    event_id: str | None
    label: str
    detail: str = ""


#: longest event id, label part or region kept from a message (they are logged and stored)
MAX_FIELD = 256


def text_field(value: Any, limit: int = MAX_FIELD) -> str | None:
    """A scalar field of an event as text (None when absent, empty or not a string/number), cut to ``limit``."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    if "\x00" in text:
        return None
    return text[:limit] or None


def parse_time(value: Any) -> dt.datetime | None:
    """An event's ISO 8601 time in UTC; None when unreadable or outside what a datetime holds in UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        parsed = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
        parsed.timestamp()
    except (ValueError, OverflowError):
        return None
    return parsed


def actor_of(identity: Any) -> str | None:
    """Who made the call: userIdentity.arn, else the invoking service or principal."""
    if not isinstance(identity, dict):
        return None
    arn = text_field(identity.get("arn"), 512) if isinstance(identity.get("arn"), str) else None
    if arn:
        return arn
    context = identity.get("sessionContext")
    session_issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    issuer = text_field(session_issuer.get("arn"), 512) if isinstance(session_issuer, dict) else None
    if issuer:
        return issuer
    for key in ("invokedBy", "principalId", "type"):
        value = identity.get(key)
        if isinstance(value, str) and (text := text_field(value, 512)):
            return f"{key}:{text}"[:512]
    return None


def unwrap(body: str) -> dict[str, Any]:
    """The event object of an SQS message body (EventBridge event, SNS-wrapped event, or a bare CloudTrail record)."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadEvent(f"not JSON: {str(exc)[:120]}") from exc
    if isinstance(event, dict) and event.get("Type") == "Notification" and isinstance(event.get("Message"), str):
        try:
            event = json.loads(event["Message"])  # an SNS topic in between
        except ValueError as exc:
            raise BadEvent(f"SNS message is not JSON: {str(exc)[:120]}") from exc
    if not isinstance(event, dict):
        raise BadEvent(f"not a JSON object but {type(event).__name__}")
    return event


def parse_event(body: str, default_account: str | None = None) -> Change | Ignored:
    """Map one SQS message body to the resources it changed; raises :class:`BadEvent`."""
    event = unwrap(body)
    if event.get("source") == CONFIG_SOURCE or event.get("detail-type") == CONFIG_DETAIL_TYPE:
        return _config_change(event)
    if isinstance(event.get("detail"), dict):
        record = event["detail"]
        detail_type = event.get("detail-type")
        if detail_type not in (CLOUDTRAIL_DETAIL_TYPE, None):
            return Ignored("not-an-event", text_field(event.get("id")), str(detail_type)[:100], "not an API call or Config item change")
        envelope_region = event.get("region")
        envelope_time = event.get("time")
        event_id = text_field(record.get("eventID")) or text_field(event.get("id"))
    elif "eventSource" in event and "eventName" in event:
        record = event  # a bare CloudTrail record (e.g. replayed from a trail's S3 log file)
        envelope_region = envelope_time = None
        event_id = text_field(record.get("eventID"))
    else:
        raise BadEvent("neither an EventBridge event with a detail object nor a CloudTrail record")
    return _cloudtrail_change(record, event_id, envelope_region, envelope_time, default_account)


def _cloudtrail_change(
    record: dict[str, Any], event_id: str | None, envelope_region: Any, envelope_time: Any, default_account: str | None
) -> Change | Ignored:
    source, name = record.get("eventSource"), record.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str) or not source or not name:
        raise BadEvent("CloudTrail record without eventSource/eventName")
    label = f"{source.split('.')[0][:MAX_FIELD]}:{name[:MAX_FIELD]}"
    if record.get("errorCode"):
        return Ignored("failed-call", event_id, label, f"the call failed ({str(record.get('errorCode'))[:60]}): nothing changed")
    if record.get("readOnly") is True:
        return Ignored("read-only", event_id, label, "read-only call")
    readings = [r for r in readings_for(source, name) if r.event.applies(record)]
    if not readings:
        return Ignored("unknown-event", event_id, label, "no resource type declares this call")
    region = record.get("awsRegion") or envelope_region
    if not isinstance(region, str) or not _REGION.match(region):
        raise BadEvent(f"{label}: no awsRegion")
    when = parse_time(record.get("eventTime")) or parse_time(envelope_time)
    if when is None:
        raise BadEvent(f"{label}: no readable eventTime")
    raw_identity = record.get("userIdentity")
    identity: dict[str, Any] = raw_identity if isinstance(raw_identity, dict) else {}
    account = text_field(record.get("recipientAccountId")) or text_field(identity.get("accountId")) or default_account
    partition = "aws"
    arn = identity.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        partition = arn.split(":")[1] or "aws"
    env = {"region": region, "account": str(account or ""), "partition": partition}
    change = Change(
        event_id=event_id or f"{label}@{when.isoformat()}",
        origin="cloudtrail",
        event_source=source,
        event_name=name,
        event_time=when,
        region=region,
        account_id=account or None,
        actor=actor_of(identity),
    )
    found: list[tuple[Reading, tuple[str, ...]]] = []
    for reading in readings:
        target_ids: list[str] = []
        for extractor in reading.event.ids:
            target_ids.extend(v for v in extractor.extract(record, env) if v not in target_ids)
        found.append((reading, tuple(target_ids)))
    any_optional_hit = any(ids for reading, ids in found if reading.event.optional)
    for reading, ids in found:
        if reading.event.optional and not ids and any_optional_hit:
            continue  # another reading of an ambiguous call matched
        _add(change.refs, _ref(reading, ids, region))
    if not change.refs:
        return Ignored("not-collected", change.event_id, label, "its resource types are not collected")
    return change


def _ref(reading: Reading, ids: tuple[str, ...], region: str) -> ResourceRef:
    if reading.resource_type == ACCOUNT_TYPE:
        return ResourceRef(ACCOUNT_TYPE, reading.service, reading.event.region or region, (), account=True)
    if _global_items(reading.service):
        region = GLOBAL_REGION
    return ResourceRef(reading.resource_type, reading.service, reading.event.region or region, ids)


def _add(refs: list[ResourceRef], ref: ResourceRef) -> None:
    """Add ``ref``, merging identifiers into an existing reference to the same type and region."""
    for existing in refs:
        if (existing.resource_type, existing.service, existing.region) == (ref.resource_type, ref.service, ref.region):
            existing.identifiers = tuple(dict.fromkeys(existing.identifiers + ref.identifiers))
            return
    refs.append(ref)


def _config_change(event: dict[str, Any]) -> Change | Ignored:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadEvent("Config event without a detail object")
    item = detail.get("configurationItem") or detail.get("configurationItemSummary")
    message_type = text_field(detail.get("messageType")) or ""
    if not isinstance(item, dict):
        return Ignored("not-an-event", text_field(event.get("id")), f"config:{message_type or '?'}", "no configurationItem")
    resource_type = item.get("resourceType")
    resource_id = text_field(item.get("resourceId"), 2048)
    region = item.get("awsRegion") or event.get("region")
    if not isinstance(resource_type, str) or not isinstance(region, str) or not _REGION.match(region):
        raise BadEvent("Config item without resourceType/awsRegion")
    label = f"config:{resource_type[:MAX_FIELD]}"
    service = service_for_type(resource_type) if len(resource_type) <= MAX_FIELD else None
    if service is None:
        return Ignored("not-collected", text_field(event.get("id")), label, f"phiwatch does not collect {resource_type[:MAX_FIELD]}")
    when = parse_time(item.get("configurationItemCaptureTime")) or parse_time(event.get("time"))
    if when is None:
        raise BadEvent(f"{label}: no readable capture time")
    ids = tuple(
        dict.fromkeys(
            v for v in (resource_id, text_field(item.get("ARN") or item.get("arn"), 2048), text_field(item.get("resourceName"), 2048)) if v
        )
    )
    if _global_items(service):
        region = GLOBAL_REGION  # phiwatch records IAM in region "global", as AWS Config does
    event_id = text_field(event.get("id")) or f"{label}/{resource_id}@{when.isoformat()}"
    state_id = text_field(item.get("configurationStateId"))
    if state_id is not None:
        event_id = f"config:{resource_type}/{resource_id}/{state_id}"[:1024]
    return Change(
        event_id=event_id,
        origin="config",
        event_source="config.amazonaws.com",
        event_name=message_type or "ConfigurationItemChange",
        event_time=when,
        region=region,
        account_id=text_field(item.get("awsAccountId")) or text_field(event.get("account")),
        actor=None,
        refs=[ResourceRef(resource_type, service, region, ids)],
    )


# -- the EventBridge patterns --------------------------------------------------------------------

#: EventBridge's default limit on an event pattern's length (characters)
PATTERN_LIMIT = 2048


def _name_filters(source: str, names: list[str]) -> list[Any]:
    if source in VERSIONED_SOURCES:
        return [{"prefix": name} for name in names]
    return list(names)


def cloudtrail_patterns(services: Iterable[str] | None = None, limit: int = PATTERN_LIMIT) -> list[dict[str, Any]]:
    """Event patterns (each at most ``limit`` characters) matching the declared write calls.

    ``services``: only calls whose resources are re-collected by these collectors (default: all).
    """
    wanted = set(services) if services is not None else None
    calls: dict[str, set[str]] = {}
    for (source, name), readings in event_index().items():
        if wanted is None or any(r.service in wanted for r in readings):
            calls.setdefault(source, set()).add(name)
    patterns: list[dict[str, Any]] = []
    current: dict[str, list[str]] = {}

    def build(group: dict[str, list[str]]) -> dict[str, Any]:
        sources = sorted(group)
        names: list[Any] = []
        for source in sources:
            for entry in _name_filters(source, group[source]):
                if entry not in names:
                    names.append(entry)
        return {
            "source": sorted({event_source_name(s) for s in sources}),
            "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
            "detail": {"eventSource": sources, "eventName": names},
        }

    def size(group: dict[str, list[str]]) -> int:
        return len(json.dumps(build(group), separators=(",", ":")))

    for source in sorted(calls):
        names = sorted(calls[source])
        candidate = {**current, source: names}
        if current and size(candidate) > limit:
            patterns.append(build(current))
            current = {}
            candidate = {source: names}
        if size(candidate) <= limit:
            current = candidate
            continue
        # one source alone is too long: split its names
        chunk: list[str] = []
        for name in names:
            if chunk and size({source: chunk + [name]}) > limit:
                patterns.append(build({source: chunk}))
                chunk = []
            chunk.append(name)
        current = {source: chunk}
    if current:
        patterns.append(build(current))
    return patterns


def config_pattern() -> dict[str, Any]:
    return {"source": [CONFIG_SOURCE], "detail-type": [CONFIG_DETAIL_TYPE]}
