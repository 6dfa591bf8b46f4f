"""Property tests: a bad message on the watch queue never crashes the service and never passes
silently.

Two levels:

* :func:`parse_event` on any message body returns a well-formed :class:`Change` or
  :class:`Ignored`, or raises :class:`BadEvent`; nothing else escapes;
* :meth:`WatchService.process` on a batch mixing bad messages with one good event: no exception,
  the good event is re-collected and acknowledged, every message ends acknowledged with an
  outcome (counted in ``events_processed_total``) or returned to the queue (counted in
  ``events_failed_total``), every message is named in a log line with a reason, and no value of
  the event's ``requestParameters``/``responseElements`` reaches the logs.

No emulator: SQS is an in-process fake that records deletes and visibility changes, and the
re-collection (``phiwatch.collect.runner.collect``) is replaced by a recorder, so a batch is
cheap; the store and the evaluator are the real ones (SQLite).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
import zlib
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phiwatch.policy import parse_policy
from phiwatch.resources import event_index
from phiwatch.resources import spec as spec_mod
from phiwatch.resources.spec import P, R, T
from phiwatch.store import Store
from phiwatch.watch import events as events_mod
from phiwatch.watch.events import BadEvent, Change, Ignored, parse_event
from phiwatch.watch.service import WatchOptions, WatchService

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
QUEUE = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/phiwatch-watch"
MARKER = "PHI-7f3a-jane-doe-mrn-0042"  # a value that must never reach the logs
OUTCOMES = {"changed", "unchanged", "ignored", "malformed", "duplicate", "failed"}

# -- strategies ------------------------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
huge = st.sampled_from(["x" * 70_000, "\u00e9\U0001f600" * 20_000, "\x00" * 1000, "sg-" + "9" * 5000])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), text, huge)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=8
)
times = st.one_of(
    st.sampled_from(
        [
            "2026-01-31T10:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
            "2026-02-30T00:00:00Z",
            "yesterday",
            "",
            "2026-01-31",
            "2026-01-31T10:00:00+14:00",
        ]
    ),
    json_values,
)


def _paths(mapping) -> list[str]:
    out = []
    for target in mapping.targets:
        for extractor in target.ids:
            if isinstance(extractor, (P, R)):
                out.append(extractor.path)
            elif isinstance(extractor, T):
                out.extend(name for name in re.findall(r"\{([^{}]+)\}", extractor.template) if "." in name)
    out.extend(path for path, _ in mapping.when)
    return out


def _set(record: dict, path: str, value: Any) -> None:
    """Put ``value`` at a table path (``a.b[].c``), creating the dicts and one-element lists on the way."""
    node = record
    parts = path.split(".")
    for i, part in enumerate(parts):
        fan, key = part.endswith("[]"), part.removesuffix("[]")
        if i == len(parts) - 1:
            node[key] = [value] if fan else value
            return
        child = node.get(key)
        if fan:
            if not (isinstance(child, list) and child and isinstance(child[0], dict)):
                child = node[key] = [{}]
            node = child[0]
        else:
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child


def _valid_value(path: str, mapping) -> str:
    for when_path, values in mapping.when:
        if when_path == path:
            return values[0]
    if path.endswith("resourceId"):
        return "sg-0123456789abcdef0"
    return f"id-{zlib.crc32(path.encode()) % 10_000}"


def cloudtrail_record(source: str, name: str, mapping) -> dict:
    record = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": ALICE, "accountId": ACCOUNT},
        "eventTime": "2026-01-31T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "requestParameters": {"tagValue": MARKER, "description": MARKER},
        "responseElements": {"note": MARKER},
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    for path in _paths(mapping):
        _set(record, path, _valid_value(path, mapping))
    return record


def envelope(detail: Any, **over: Any) -> dict:
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": "2026-01-31T10:00:01Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    event.update(over)
    return event


# every declared event entry, as a one-reading "mapping" (its ids are its only target's)
TABLE = list(
    {
        id(r.event): SimpleNamespace(source=r.event.source, names=r.event.names, targets=(r.event,), when=r.event.when)
        for readings in event_index().values()
        for r in readings
    }.values()
)
TABLE_CALLS = [(m, name) for m in TABLE for name in m.names]
ENVELOPE_KEYS = ["detail", "detail-type", "source", "region", "account", "time", "id"]
RECORD_KEYS = [
    "eventName",
    "eventSource",
    "requestParameters",
    "responseElements",
    "awsRegion",
    "eventTime",
    "eventID",
    "userIdentity",
    "recipientAccountId",
    "errorCode",
    "readOnly",
]


@st.composite
def table_events(draw) -> dict:
    """An EventBridge CloudTrail event of a call of the event table, with its parameter paths (and
    other fields) removed or retyped."""
    mapping, name = draw(st.sampled_from(TABLE_CALLS))
    if mapping.source in events_mod.VERSIONED_SOURCES and draw(st.booleans()):
        name += "20150331v2"
    record = cloudtrail_record(mapping.source, name, mapping)
    for path in _paths(mapping):
        action = draw(st.sampled_from(["keep", "keep", "drop", "retype"]))
        if action == "drop":
            head, _, last = path.rpartition(".")
            parent = spec_mod._walk(record, head.split(".")) if head else [record]
            for node in parent:
                if isinstance(node, dict):
                    node.pop(last.removesuffix("[]"), None)
        elif action == "retype":
            _set(record, path, draw(json_values))
    for key in draw(st.lists(st.sampled_from(RECORD_KEYS), max_size=3, unique=True)):
        if draw(st.booleans()):
            record.pop(key, None)
        else:
            record[key] = draw(st.one_of(json_values, times) if key == "eventTime" else json_values)
    if draw(st.booleans()):
        record["userIdentity"] = draw(
            st.one_of(json_values, st.fixed_dictionaries({"arn": json_values, "sessionContext": json_values, "accountId": json_values}))
        )
    event = envelope(record)
    for key in draw(st.lists(st.sampled_from(ENVELOPE_KEYS[1:]), max_size=2, unique=True)):
        if draw(st.booleans()):
            event.pop(key, None)
        else:
            event[key] = draw(st.one_of(json_values, times) if key == "time" else json_values)
    if draw(st.booleans()):
        event[draw(text)] = draw(json_values)  # an extra unknown field
    return event


@st.composite
def config_events(draw) -> dict:
    item = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "resourceType": st.one_of(
                    st.sampled_from(["AWS::EC2::SecurityGroup", "AWS::S3::Bucket", "AWS::IAM::User", "AWS::Foo::Bar"]), json_values
                ),
                "resourceId": json_values,
                "awsRegion": st.one_of(st.just("us-east-1"), json_values),
                "ARN": json_values,
                "configurationItemCaptureTime": times,
                "configurationStateId": json_values,
                "awsAccountId": json_values,
                "configuration": st.just({"secret": MARKER}),
            },
        )
    )
    detail = draw(
        st.one_of(
            st.fixed_dictionaries({"configurationItem": st.just(item), "messageType": json_values}),
            st.fixed_dictionaries({"configurationItemSummary": st.just(item)}),
            json_values,
        )
    )
    return {
        "version": "0",
        "id": draw(json_values),
        "detail-type": "Config Configuration Item Change",
        "source": "aws.config",
        "account": draw(json_values),
        "time": draw(times),
        "region": "us-east-1",
        "detail": detail,
    }


@st.composite
def bodies(draw) -> str:
    kind = draw(st.sampled_from(["table", "table", "table", "config", "json", "text", "envelope", "bare", "sns"]))
    if kind == "text":
        return draw(st.one_of(text, huge, st.just("{"), st.just("")))
    if kind == "json":
        return json.dumps(draw(json_values))
    if kind == "config":
        return json.dumps(draw(config_events()))
    if kind == "envelope":
        return json.dumps(envelope(draw(json_values), **{"detail-type": draw(json_values)}))
    event = draw(table_events())
    if kind == "bare":
        return json.dumps(event["detail"])
    if kind == "sns":
        inner = draw(st.one_of(st.just(json.dumps(event)), text, st.just(json.dumps(draw(json_values)))))
        return json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": inner})
    return json.dumps(event)


# -- the parser ------------------------------------------------------------------------------------


def check_parsed(parsed: Any) -> None:
    assert isinstance(parsed, (Change, Ignored))
    if isinstance(parsed, Ignored):
        assert parsed.reason and isinstance(parsed.label, str) and len(parsed.label) <= 300
        assert parsed.event_id is None or isinstance(parsed.event_id, str)
        return
    assert isinstance(parsed.event_id, str) and parsed.event_id
    assert isinstance(parsed.region, str) and parsed.region
    assert parsed.account_id is None or isinstance(parsed.account_id, str)
    assert parsed.actor is None or isinstance(parsed.actor, str)
    assert parsed.event_time.tzinfo is not None
    parsed.event_time.timestamp()
    assert len(parsed.label) <= 300
    assert parsed.refs
    for ref in parsed.refs:
        assert all(isinstance(i, str) and i for i in ref.identifiers)
    # what is stored (actor) or looked up in the store (identifiers) must be storable text: PostgreSQL
    # rejects NUL characters, and an identifier is never longer than an ARN may be
    for value in (
        parsed.event_id,
        parsed.actor or "",
        parsed.account_id or "",
        parsed.region,
        *(i for ref in parsed.refs for i in ref.identifiers),
    ):
        assert "\x00" not in value and len(value) <= 2048, value[:100]


@given(bodies())
def test_parse_event_returns_a_reading_or_raises_bad_event(body):
    try:
        parsed = parse_event(body, ACCOUNT)
    except BadEvent as exc:
        assert str(exc)
        assert MARKER not in str(exc)
        return
    check_parsed(parsed)


@pytest.mark.parametrize("mapping,name", TABLE_CALLS, ids=[f"{m.source.split('.')[0]}:{n}" for m, n in TABLE_CALLS])
def test_every_table_call_with_its_parameters_parses(mapping, name):
    """The generator's valid form of every call of the table is a change (the mutations start from something real)."""
    parsed = parse_event(json.dumps(envelope(cloudtrail_record(mapping.source, name, mapping))), ACCOUNT)
    assert isinstance(parsed, (Change, Ignored))
    if isinstance(parsed, Ignored):
        assert parsed.reason == "not-collected"


# -- the service -----------------------------------------------------------------------------------


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.visibility: list[tuple[str, int]] = []

    def get_queue_attributes(self, **_: Any) -> dict:
        return {"Attributes": {"VisibilityTimeout": "900", "RedrivePolicy": "{}"}}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:  # noqa: N803 - boto3's names
        self.deleted += [e["ReceiptHandle"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> dict:  # noqa: N803
        self.visibility.append((ReceiptHandle, VisibilityTimeout))
        return {}

    def change_message_visibility_batch(self, **_: Any) -> dict:
        return {"Successful": [], "Failed": []}


class FakeAws:
    regions = ["us-east-1"]
    default_region = "us-east-1"
    endpoint_url = None
    profile = None
    session = None

    def account_id(self) -> str:
        return ACCOUNT


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def module_store(tmp_path_factory):
    s = Store(f"sqlite:///{tmp_path_factory.mktemp('props-watch') / 'phiwatch.db'}")
    yield s
    s.close()


@pytest.fixture
def harness(module_store, monkeypatch):
    import phiwatch.collect.runner as runner

    calls: list[tuple] = []

    def fake_collect(aws, store, services=None, regions=None, only=None, **_: Any):
        calls.append((tuple(services or ()), tuple(regions or ()), only))
        return SimpleNamespace(errors=[], run_id=None, changed_keys=[], deleted=0, requests=1, seen=0)

    monkeypatch.setattr(runner, "collect", fake_collect)
    recorder = Recorder()
    logger = logging.getLogger("phiwatch.watch")
    logger.addHandler(recorder)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    policy = parse_policy("")
    yield SimpleNamespace(store=module_store, policy=policy, calls=calls, recorder=recorder)
    logger.removeHandler(recorder)
    logger.setLevel(old_level)


def good_event() -> str:
    mapping = next(m for m in TABLE if "AuthorizeSecurityGroupIngress" in m.names)
    record = cloudtrail_record("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", mapping)
    record["requestParameters"]["groupId"] = "sg-0123456789abcdef0"
    return json.dumps(envelope(record))


def run_batch(h, bodies_: list[str], good_at: int | None) -> tuple[Any, FakeSqs, list[dict], WatchService]:
    h.calls.clear()
    h.recorder.records.clear()
    sqs = FakeSqs()
    service = WatchService(
        FakeAws(),
        h.store,
        h.policy,
        WatchOptions(queue_url=QUEUE, wait_seconds=0, full_sweep_seconds=0, periodic_check_seconds=0, sweep_on_start=False),
        sqs=sqs,
    )
    service._evaluation_pending = False
    service.visibility_timeout()
    messages = [
        {
            "MessageId": f"m{i}",
            "ReceiptHandle": f"r{i}",
            "Body": b,
            "Attributes": {"SentTimestamp": "1769853600000", "ApproximateReceiveCount": "1"},
        }
        for i, b in enumerate(bodies_)
    ]
    result = service.process(messages)
    return result, sqs, messages, service


def check_batch(h, result, sqs: FakeSqs, messages: list[dict], service: WatchService, good_at: int | None) -> None:
    n = len(messages)
    assert result.received == n
    # every message is either acknowledged (deleted) or returned to the queue, never both, never neither
    handled = set(sqs.deleted) | {r for r, _ in sqs.visibility}
    assert handled == {m["ReceiptHandle"] for m in messages}
    assert not set(sqs.deleted) & {r for r, _ in sqs.visibility}
    assert result.acked + result.failed == n
    assert set(result.outcomes) <= OUTCOMES
    # counted in the metrics
    processed = sum(service.metrics.counter("events_processed_total", outcome=o) for o in OUTCOMES)
    assert processed == result.acked
    assert service.metrics.counter("events_failed_total") == result.failed
    # reported: every message is named in a log line; nothing of a request or response value is logged
    rendered = []
    named: set[str] = set()
    for record in h.recorder.records:
        fields = getattr(record, "fields", {}) or {}
        line = json.dumps({"msg": record.getMessage(), **fields}, default=str)
        rendered.append(line)
        if "message_id" in fields:
            named.add(fields["message_id"])
            if record.getMessage() != "event processed":
                assert fields.get("reason") or fields.get("outcome") or fields.get("error"), line
        assert MARKER not in line, line
        assert len(line) < 8_000, line[:300]
    assert named >= {m["MessageId"] for m in messages}, (named, rendered)
    if good_at is not None:
        good = messages[good_at]
        assert good["ReceiptHandle"] in sqs.deleted
        assert (("ec2",), ("us-east-1",), {"AWS::EC2::SecurityGroup": {"sg-0123456789abcdef0"}}) in h.calls or any(
            c[0] == ("ec2",)
            and c[1] == ("us-east-1",)
            and (c[2] is None or "sg-0123456789abcdef0" in c[2].get("AWS::EC2::SecurityGroup", ()))
            for c in h.calls
        )
        assert result.outcomes.get("unchanged", 0) + result.outcomes.get("changed", 0) >= 1


@settings(max_examples=40)
@given(st.lists(bodies(), min_size=1, max_size=6), st.integers(0, 6))
def test_bad_messages_never_crash_nor_block_a_batch(harness, bad, position):
    position = min(position, len(bad))
    batch = bad[:position] + [good_event()] + bad[position:]
    result, sqs, messages, service = run_batch(harness, batch, position)
    check_batch(harness, result, sqs, messages, service, position)


@settings(max_examples=20)
@given(st.lists(bodies(), min_size=1, max_size=4))
def test_a_batch_of_only_bad_messages_is_reported(harness, bad):
    result, sqs, messages, service = run_batch(harness, bad, None)
    check_batch(harness, result, sqs, messages, service, None)


# -- regressions: inputs Hypothesis found ------------------------------------------------------------


def _table_record(name: str = "AuthorizeSecurityGroupIngress", **over: Any) -> dict:
    mapping = next(m for m in TABLE if name in m.names)
    record = cloudtrail_record(mapping.source, name, mapping)
    record.update(over)
    return record


@pytest.mark.parametrize("context", [["x"], "x", 7])
def test_session_context_that_is_not_an_object(context):
    # was: actor_of called .get on userIdentity.sessionContext whatever its type: AttributeError out of
    # parse_event, out of the batch and out of the service loop
    record = _table_record(userIdentity={"type": "AssumedRole", "principalId": "AROA:jane", "sessionContext": context})
    parsed = parse_event(json.dumps(envelope(record)), ACCOUNT)
    assert isinstance(parsed, Change) and parsed.actor == "principalId:AROA:jane"


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_event_time_that_does_not_fit_in_utc(when):
    # was: parse_time accepted a time whose conversion to UTC overflows; the batch then raised
    # OverflowError when the attribution query converted it (and the lag metric when it was logged)
    record = _table_record(eventTime=when)
    with pytest.raises(BadEvent, match="no readable eventTime"):
        parse_event(json.dumps(envelope(record, time=when)), ACCOUNT)
    assert isinstance(parse_event(json.dumps(envelope(record)), ACCOUNT), Change)  # the envelope's time is used instead


def test_event_ids_accounts_and_labels_are_bounded_text():
    # was: a Config event's "id" (a list here) became the Ignored event id as is; an account id that was a
    # number or an object was kept as is; a 70,000-character eventName was logged whole in "event ignored"
    parsed = parse_event(
        json.dumps(
            {
                "id": [],
                "detail-type": "Config Configuration Item Change",
                "source": "aws.config",
                "detail": {"configurationItem": {}, "messageType": {}},
            }
        ),
        ACCOUNT,
    )
    assert isinstance(parsed, Ignored) and parsed.event_id is None and parsed.label == "config:?"
    record = _table_record(eventName="Put" + "x" * 70_000)
    parsed = parse_event(json.dumps(envelope(record)), ACCOUNT)
    assert isinstance(parsed, Ignored) and parsed.reason == "unknown-event" and len(parsed.label) <= 300
    parsed = parse_event(json.dumps(envelope(_table_record(recipientAccountId={"a": 1}, eventID=["x"]))), ACCOUNT)
    assert isinstance(parsed, Change) and parsed.account_id == ACCOUNT and isinstance(parsed.event_id, str)


def test_nul_and_oversized_identifiers_and_regions_are_not_read():
    # was: identifiers of any length and with NUL characters were looked up in the store (PostgreSQL rejects
    # NUL in a query: the batch raised), an actor with NUL was written to changed_by, and any string was a region
    record = _table_record(userIdentity={"arn": "arn:aws:iam::1:user/\x00"})
    record["requestParameters"]["groupId"] = "\x00" * 10
    parsed = parse_event(json.dumps(envelope(record)), ACCOUNT)
    assert isinstance(parsed, Change) and parsed.actor is None
    assert all("\x00" not in i for ref in parsed.refs for i in ref.identifiers) and parsed.refs[0].identifiers
    record["requestParameters"]["groupId"] = "sg-" + "9" * 5000
    parsed = parse_event(json.dumps(envelope(record)), ACCOUNT)
    assert isinstance(parsed, Change) and all(len(i) < 100 for ref in parsed.refs for i in ref.identifiers)
    with pytest.raises(BadEvent, match="no awsRegion"):
        parse_event(json.dumps(envelope(_table_record(awsRegion="x" * 70_000))), ACCOUNT)


def test_every_message_of_a_batch_is_named_in_the_log(harness):
    # was: an event of another account, of an unwatched region, and a processed event were logged without
    # the SQS message id, so an acknowledged message could not be traced to what became of it
    other = json.dumps(envelope(_table_record(recipientAccountId="999999999999", eventID="e-other")))
    region = json.dumps(envelope(_table_record(awsRegion="eu-west-3", eventID="e-region")))
    result, sqs, messages, service = run_batch(harness, [other, region, good_event()], 2)
    check_batch(harness, result, sqs, messages, service, 2)
    assert result.outcomes == {"ignored": 2, "unchanged": 1}


def test_a_lookup_or_a_crash_in_one_batch_does_not_stop_the_service(harness, monkeypatch):
    # a store error while handling one event's resources (e.g. PostgreSQL refusing a value) used to raise out
    # of process() and so out of run(): now the lookup falls back to the event's region, and anything
    # else failing in a batch returns its unfinished events to the queue
    monkeypatch.setattr(harness.store, "find", lambda *a, **k: (_ for _ in ()).throw(ValueError("bad value")))
    result, sqs, messages, service = run_batch(harness, [good_event()], 0)
    check_batch(harness, result, sqs, messages, service, 0)

    def crash(*_: Any, **__: Any):
        raise RuntimeError("boom")

    monkeypatch.setattr(WatchService, "_settle", crash)
    result, sqs, messages, service = run_batch(harness, [good_event(), "not json"], 0)
    assert result.failed == 1 and result.outcomes == {"malformed": 1}
    assert sqs.deleted == ["r1"] and [r for r, _ in sqs.visibility] == ["r0"]
    assert service.metrics.counter("events_failed_total") == 1
