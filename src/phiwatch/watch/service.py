"""The long-running watch loop: queue -> event table -> targeted re-collection -> evaluation ->
findings -> alerts -> remediation -> acknowledge.

One receive (up to ``max_messages``, long-polled) is one batch:

1. every message is parsed (:func:`phiwatch.watch.events.parse_event`). Malformed JSON,
   unknown or failed calls, resource types phiwatch does not collect and regions it does not
   watch are logged and acknowledged; an event id already processed (a duplicate delivery) is
   acknowledged without work;
2. the resources the events touched are grouped by (collector, region) and each group is
   re-collected once (``collect(services=[...], regions=[...], only={type: ids})``: the same
   code path and history semantics as ``phiwatch collect``, asking AWS only for the resources
   named (or the account part), the whole service when an event names none or the collector
   cannot target; a targeted resource gone is recorded as deleted);
3. the new history versions are attributed to the events' ``userIdentity`` (``changed_by``,
   shown by ``phiwatch history``): the version attributed is the first one captured at or
   after the event time, so a late, replayed or out-of-order event names the version that
   first showed its change and never a later one; re-collection captures the *current* state,
   so an older event can never write older configuration over newer history;
4. the scan pipeline (:func:`phiwatch.scan.run_scan`, without its collection): runs a killed
   process left running are recovered, one incremental evaluation (only items whose configuration
   changed, plus periodic rules that are due) writes findings and their alerts to the outbox in one
   transaction;
5. alerts are delivered, remediation runs as the policy says (when findings changed), its alerts
   delivered;
6. only then are the batch's messages deleted. A message whose re-collection failed
   (throttled past the SDK's retries, endpoint unreachable, a collector crash) or whose batch
   failed to evaluate is not deleted: it returns to the queue after ``retry_delay`` (growing
   with its receive count, capped by the queue's visibility timeout) and, after the queue's
   ``maxReceiveCount``, lands in the dead-letter queue. Denied reads are not failures: they
   are stored as "could not check", as in a scan.

Between batches: periodic rules (and alert reminders, retries of failed deliveries, deferred
remediations) every ``periodic_check_seconds``; a full re-collection every
``full_sweep_seconds`` (and at start when the store has no recent full collection), so a
change whose event never arrived is still caught.

``request_stop()`` (SIGTERM/SIGINT in the CLI) lets the batch in flight finish, releases
messages received but not started, and ``run`` returns 0. Receive errors (throttling, an
unreachable endpoint) back off exponentially up to ``max_backoff`` and recover by themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from phiwatch.collect import runner
from phiwatch.collect.registry import load_collectors
from phiwatch.errors import CannotRunError
from phiwatch.evaluation import EvaluationSummary, Evaluator
from phiwatch.model import ACCOUNT_TYPE, isoformat, utcnow
from phiwatch.notify.dispatcher import Dispatcher
from phiwatch.notify.reminders import enqueue_reminders
from phiwatch.remediate.orchestrator import RemediationReport
from phiwatch.rules.active import resolve_rules
from phiwatch.scan import ScanOutcome, run_scan
from phiwatch.store.changes import account_item_pks, complete_collections, db_time, set_changed_by, version_showing_change
from phiwatch.watch.events import GLOBAL, BadEvent, Change, Ignored, ResourceRef, parse_event
from phiwatch.watch.metrics import Metrics

log = logging.getLogger("phiwatch.watch")

#: collection error codes that mean "try again later", not "this is the stored truth"
TRANSIENT_ERRORS = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "RequestTimeout",
        "RequestTimeoutException",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "ConnectionError",
        "HTTP500",
        "HTTP502",
        "HTTP503",
        "HTTP504",
        "CannotRunError",
    }
)


@dataclass
class WatchOptions:
    queue_url: str
    wait_seconds: int = 20
    max_messages: int = 10
    full_sweep_seconds: float = 12 * 3600  # 0: never
    periodic_check_seconds: float = 300  # 0: never
    periodic_hours: float = 24.0
    sweep_on_start: bool | None = None  # None: when the store has no full collection within full_sweep_seconds
    retry_delay: float = 30.0  # first retry of a failed message; doubles per receive
    max_backoff: float = 60.0
    dedupe_size: int = 10_000
    remediate: bool = True


@dataclass
class Received:
    """One message of a batch and what became of it."""

    message_id: str
    receipt: str
    body: str
    sent_at: float | None
    receive_count: int
    parsed: Change | Ignored | None = None
    outcome: str = ""  # changed | unchanged | ignored | malformed | duplicate | failed
    reason: str = ""
    groups: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class BatchResult:
    received: int = 0
    acked: int = 0
    failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    recollected: list[tuple[str, str]] = field(default_factory=list)
    evaluations: int = 0
    finding_events: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def queue_region(queue_url: str, default: str) -> str:
    """The region of an SQS queue URL (``https://sqs.<region>.amazonaws.com/...``), else ``default``."""
    host = urlsplit(queue_url).hostname or ""
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "sqs":
        return parts[1]
    if len(parts) >= 4 and parts[1] == "queue":  # legacy <region>.queue.amazonaws.com
        return parts[0]
    return default


def _code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


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


def _log(level: int, msg: str, **fields: Any) -> None:
    log.log(level, msg, extra={"fields": fields})


class WatchService:
    """Consume change events from an SQS queue and keep the store, findings and alerts current."""

    def __init__(
        self,
        aws: Any,
        store: Any,
        policy: Any,
        options: WatchOptions,
        *,
        rules: dict[str, Any] | None = None,
        metrics: Metrics | None = None,
        sqs: Any = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.aws = aws
        self.store = store
        self.policy = policy
        self.options = options
        self.rules = rules if rules is not None else resolve_rules(policy)
        self.evaluator = Evaluator(store, policy, self.rules, periodic_hours=options.periodic_hours)
        self.metrics = metrics or Metrics()
        self.region = queue_region(options.queue_url, aws.default_region)
        self.sqs = sqs or self._sqs_client()
        self._stop = threading.Event()
        self._sleep = sleep
        self._done: OrderedDict[str, None] = OrderedDict()
        self._dispatcher: Any = None
        self._account: str | None = None
        self._visibility: int | None = None
        self._evaluation_pending = True  # a previous process may have stored changes it did not evaluate
        self._last_receive_ok: float | None = None
        self._last_receive_error: str | None = None
        self._busy_since: float | None = None
        self._next_periodic = time.monotonic() + options.periodic_check_seconds if options.periodic_check_seconds else None
        self._next_full: float | None = None
        self._full_planned = False
        self.metrics.set("up", 1)

    # -- plumbing -------------------------------------------------------------------------------------
    def _sqs_client(self) -> Any:
        config = Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=self.options.wait_seconds + 10,
            user_agent_extra="phiwatch-watch",
        )
        return self.aws.session.client("sqs", region_name=self.region, endpoint_url=self.aws.endpoint_url, config=config)

    def request_stop(self) -> None:
        """Finish the batch in flight, then return from :meth:`run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _wait(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._stop.wait(seconds)

    def account_id(self) -> str:
        if self._account is None:
            self._account = self.aws.account_id()
        return self._account

    def health(self) -> tuple[bool, str]:
        if self.stopping:
            return False, "stopping"
        now = time.monotonic()
        if self._busy_since is not None:
            return True, f"processing for {now - self._busy_since:.0f}s"
        limit = max(60.0, 3 * self.options.wait_seconds + 30)
        if self._last_receive_ok is None:
            return (False, f"queue not reachable yet: {self._last_receive_error}") if self._last_receive_error else (True, "starting")
        idle = now - self._last_receive_ok
        if idle > limit:
            return False, f"no successful receive for {idle:.0f}s ({self._last_receive_error or 'unknown'})"
        return True, "polling"

    def visibility_timeout(self) -> int:
        """The queue's VisibilityTimeout (checked once; an unknown queue cannot be watched)."""
        if self._visibility is None:
            try:
                attrs = self.sqs.get_queue_attributes(
                    QueueUrl=self.options.queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
                )
            except ClientError as exc:
                if _code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidAddress"):
                    raise CannotRunError(
                        f"no queue {self.options.queue_url}: run `phiwatch watch setup` first or check --queue-url"
                    ) from exc
                raise
            attributes = attrs.get("Attributes", {})
            self._visibility = int(attributes.get("VisibilityTimeout", "30"))
            if "RedrivePolicy" not in attributes:
                _log(
                    logging.WARNING,
                    "queue has no dead-letter queue: failing events are retried until they expire",
                    queue=self.options.queue_url,
                )
        return self._visibility

    # -- the loop --------------------------------------------------------------------------------------
    def run(self, max_polls: int | None = None) -> int:
        """Poll until stopped (or ``max_polls`` receives); returns the exit status (0)."""
        polls = 0
        backoff = 0.0
        _log(logging.INFO, "watch started", queue=self.options.queue_url, regions=list(self.aws.regions))
        while not self.stopping and (max_polls is None or polls < max_polls):
            try:
                self.visibility_timeout()
            except (ClientError, BotoCoreError) as exc:
                self.metrics.inc("receive_errors_total")
                self._last_receive_error = _code(exc)
                backoff = min(self.options.max_backoff, max(1.0, backoff * 2))
                _log(logging.WARNING, "queue not reachable, backing off", error=_code(exc), message=str(exc)[:200], backoff_seconds=backoff)
                self._backoff_wait(backoff)
                polls += 1
                continue
            try:
                self.run_due_sweeps()
            except Exception as exc:  # noqa: BLE001 - a failed sweep is retried next time
                _log(logging.ERROR, "sweep failed", error=_code(exc), message=str(exc)[:300])
                self._backoff_wait(backoff := min(self.options.max_backoff, max(1.0, backoff * 2)))
                polls += 1
                continue
            if self.stopping:
                break
            polls += 1
            try:
                messages = self._receive()
            except (ClientError, BotoCoreError) as exc:
                self.metrics.inc("receive_errors_total")
                self._last_receive_error = _code(exc)
                backoff = min(self.options.max_backoff, max(1.0, backoff * 2))
                _log(logging.WARNING, "receive failed, backing off", error=_code(exc), message=str(exc)[:200], backoff_seconds=backoff)
                self._backoff_wait(backoff)
                continue
            backoff = 0.0
            if not messages:
                continue
            if self.stopping:  # received while a stop was requested: give them back at once
                self._release(messages)
                break
            self.process(messages)
        self.metrics.set("up", 0)
        _log(logging.INFO, "watch stopped", polls=polls)
        return 0

    def _backoff_wait(self, seconds: float) -> None:
        self._wait(seconds * random.uniform(0.8, 1.2))

    def _receive(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.options.queue_url,
            MaxNumberOfMessages=max(1, min(10, self.options.max_messages)),
            WaitTimeSeconds=max(0, min(20, self.options.wait_seconds)),
            AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        self._last_receive_ok = time.monotonic()
        self._last_receive_error = None
        self.metrics.set("last_receive_timestamp_seconds", time.time())
        return response.get("Messages", []) or []

    def _release(self, messages: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(messages)]
        try:
            self.sqs.change_message_visibility_batch(QueueUrl=self.options.queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:  # they come back after the visibility timeout anyway
            _log(logging.WARNING, "could not release messages", error=_code(exc))

    # -- one batch ---------------------------------------------------------------------------------------
    def process(self, messages: list[dict[str, Any]]) -> BatchResult:
        """Handle one received batch; delete what was fully handled."""
        started = time.monotonic()
        self._busy_since = started
        batch = [self._received(m) for m in messages]
        result = BatchResult(received=len(batch))
        self.metrics.inc("events_received_total", len(batch))
        heartbeat = _Heartbeat(self, batch)
        heartbeat.start()
        try:
            self._handle(batch, result)
        except Exception as exc:  # noqa: BLE001 - one batch's crash must not stop the service: its events come back
            _log(logging.ERROR, "batch failed: its unfinished events return to the queue", error=_code(exc), message=str(exc)[:300])
            for r in batch:
                if not r.outcome:
                    r.outcome, r.reason = "failed", f"batch: {_code(exc)}"
        finally:
            heartbeat.stop()
            self._busy_since = None
        self._finish(batch, result)
        result.seconds = time.monotonic() - started
        self.metrics.observe("batch_seconds", result.seconds)
        return result

    def _received(self, message: dict[str, Any]) -> Received:
        attrs = message.get("Attributes", {}) or {}
        sent = attrs.get("SentTimestamp")
        return Received(
            message_id=message.get("MessageId", "?"),
            receipt=message["ReceiptHandle"],
            body=message.get("Body", ""),
            sent_at=int(sent) / 1000 if sent and str(sent).isdigit() else None,
            receive_count=int(attrs.get("ApproximateReceiveCount", "1") or 1),
        )

    def _handle(self, batch: list[Received], result: BatchResult) -> None:
        seen_now: set[str] = set()
        changes: list[Received] = []
        for r in batch:
            try:
                r.parsed = parse_event(r.body, self._account)
            except BadEvent as exc:
                r.outcome, r.reason = "malformed", str(exc)
                _log(logging.WARNING, "malformed event acknowledged", message_id=r.message_id, reason=str(exc)[:200])
                continue
            except Exception as exc:  # noqa: BLE001 - a reading error is this message's, not the batch's
                r.outcome, r.reason = "malformed", f"unreadable event: {type(exc).__name__}"
                _log(logging.ERROR, "unreadable event acknowledged", message_id=r.message_id, reason=r.reason)
                continue
            if isinstance(r.parsed, Ignored):
                r.outcome, r.reason = "ignored", r.parsed.reason
                _log(
                    logging.INFO,
                    "event ignored",
                    message_id=r.message_id,
                    event_id=r.parsed.event_id,
                    call=r.parsed.label,
                    reason=r.parsed.reason,
                    detail=r.parsed.detail,
                )
                continue
            change = r.parsed
            if change.event_id in self._done or change.event_id in seen_now:
                r.outcome, r.reason = "duplicate", "event already processed"
                _log(logging.INFO, "duplicate event acknowledged", message_id=r.message_id, event_id=change.event_id, call=change.label)
                continue
            seen_now.add(change.event_id)
            changes.append(r)
        if not changes:
            return
        try:
            account = self.account_id()
        except Exception as exc:  # noqa: BLE001 - AWS unreachable: every change waits in the queue
            for r in changes:
                r.outcome, r.reason = "failed", f"account id: {_code(exc)}"
            return
        groups: dict[tuple[str, str], list[tuple[Received, ResourceRef]]] = {}
        for r in changes:
            assert isinstance(r.parsed, Change)
            change = r.parsed
            if change.account_id and change.account_id != account:
                r.outcome, r.reason = "ignored", f"account {change.account_id} is not the watched account {account}"
                _log(
                    logging.INFO,
                    "event ignored",
                    message_id=r.message_id,
                    event_id=change.event_id,
                    call=change.label,
                    reason="other-account",
                )
                continue
            for ref in change.refs:
                region = self._resource_region(ref, account)
                if region != GLOBAL and region not in self.aws.regions:
                    continue
                key = (ref.service, self.aws.default_region if region == GLOBAL else region)
                groups.setdefault(key, []).append((r, ref))
                r.groups.add(key)
            if not r.groups:
                r.outcome, r.reason = "ignored", "region-not-watched"
                _log(
                    logging.INFO,
                    "event ignored",
                    message_id=r.message_id,
                    event_id=change.event_id,
                    call=change.label,
                    reason="region-not-watched",
                    region=change.region,
                )
        run_ids: list[int] = []
        failed_groups: set[tuple[str, str]] = set()
        changed_groups: set[tuple[str, str]] = set()
        for key, members in sorted(groups.items()):
            service, region = key
            ok, run_id, changed = self._recollect(service, region, members)
            if not ok:
                failed_groups.add(key)
                continue
            result.recollected.append(key)
            if run_id is not None:
                run_ids.append(run_id)
            if changed:
                changed_groups.add(key)
            for r, ref in members:
                assert isinstance(r.parsed, Change)
                change = r.parsed
                if change.actor:
                    try:
                        self._attribute(change, ref, account, run_id)
                    except Exception as exc:  # noqa: BLE001 - the change is stored; only its author is not named
                        _log(
                            logging.WARNING,
                            "change not attributed",
                            message_id=r.message_id,
                            event_id=change.event_id,
                            call=change.label,
                            error=_code(exc),
                        )
        for r in changes:
            if r.outcome:
                continue
            if r.groups & failed_groups:
                r.outcome, r.reason = "failed", "re-collection failed"
        if not changed_groups and not self._evaluation_pending:
            self._settle(changes, changed_groups)
            return
        evaluated: list[EvaluationSummary] = []

        def on_evaluated(summary: EvaluationSummary) -> None:
            self._evaluated(summary)
            evaluated.append(summary)
            result.evaluations = summary.evaluations
            result.finding_events = list(summary.events)

        try:
            self._scan(run_id=run_ids[0] if run_ids else None, periodic=False, on_evaluated=on_evaluated)
        except Exception as exc:  # noqa: BLE001 - stored changes stay; the events come back
            if evaluated:
                _log(logging.ERROR, "remediation failed: the batch returns to the queue", error=_code(exc), message=str(exc)[:300])
                reason = f"remediation: {_code(exc)}"
            else:
                self._evaluation_pending = True
                _log(logging.ERROR, "evaluation failed: the batch returns to the queue", error=_code(exc), message=str(exc)[:300])
                reason = f"evaluation: {_code(exc)}"
            for r in changes:
                if not r.outcome:
                    r.outcome, r.reason = "failed", reason
            return
        self._settle(changes, changed_groups)

    def _settle(self, changes: list[Received], changed_groups: set[tuple[str, str]]) -> None:
        for r in changes:
            if not r.outcome:
                r.outcome = "changed" if r.groups & changed_groups else "unchanged"

    def _resource_region(self, ref: ResourceRef, account: str) -> str:
        """The stored region of the resource when known (an S3 bucket's), else the event's."""
        if ref.account or not ref.identifiers or ref.region == GLOBAL:
            return ref.region
        for identifier in ref.identifiers:
            try:
                rows = [row for row in self.store.find(identifier, ref.resource_type) if row["account_id"] == account]
            except Exception as exc:  # noqa: BLE001 - an unreadable identifier: the event's region
                _log(logging.WARNING, "resource lookup failed", resource_type=ref.resource_type, error=_code(exc))
                continue
            if len(rows) == 1:
                return rows[0]["region"]
        return ref.region

    def _recollect(self, service: str, region: str, members: list[tuple[Received, ResourceRef]]) -> tuple[bool, int | None, bool]:
        """Collect ``service`` in ``region``; (stored truth?, run id, anything new/changed/deleted?)."""
        t0 = time.monotonic()
        calls = sorted({r.parsed.label for r, _ in members if isinstance(r.parsed, Change)})
        only = targets_of([ref for _, ref in members])
        try:
            result = runner.collect(self.aws, self.store, services=[service], regions=[region], only=only)
        except Exception as exc:  # noqa: BLE001 - the store or AWS failed: the events come back later
            _log(
                logging.ERROR, "re-collection failed", service=service, region=region, error=_code(exc), message=str(exc)[:300], calls=calls
            )
            return False, None, False
        self.metrics.inc("recollections_total", service=service)
        transient = [e for e in result.errors if e.error in TRANSIENT_ERRORS or e.api == "*"]
        for e in result.errors:
            if e not in transient:
                _log(
                    logging.WARNING,
                    "call failed during re-collection (stored as could not check)",
                    service=service,
                    region=region,
                    api=e.api,
                    error=e.error,
                    iam_action=e.iam_action,
                )
        if transient:
            first = transient[0]
            _log(
                logging.WARNING,
                "re-collection incomplete: events return to the queue",
                service=service,
                region=region,
                api=first.api,
                error=first.error,
                failed_calls=len(transient),
                calls=calls,
            )
            return False, result.run_id, False
        changed = bool(result.changed_keys) or result.deleted > 0
        _log(
            logging.INFO,
            "re-collected",
            service=service,
            region=region,
            targeted=only is not None,
            seconds=round(time.monotonic() - t0, 3),
            requests=result.requests,
            new_or_changed=len(result.changed_keys),
            deleted=result.deleted,
            calls=calls,
        )
        return True, result.run_id, changed

    # -- who changed it -----------------------------------------------------------------------------------
    def _attribute(self, change: Change, ref: ResourceRef, account: str, run_id: int | None) -> None:
        """Name ``change.actor`` on the version that first showed the change (see the module doc)."""
        keys: list[int] = []
        with self.store.engine.connect() as conn:
            if ref.account:
                region = GLOBAL if ref.region == GLOBAL else ref.region
                keys = account_item_pks(conn, account, region)
            else:
                for identifier in ref.identifiers:
                    rows = [row for row in self.store.find(identifier, ref.resource_type) if row["account_id"] == account]
                    if len(rows) > 1:
                        rows = [row for row in rows if row["region"] == ref.region]
                    if len(rows) == 1 and rows[0]["id"] not in keys:  # an ambiguous name names nobody
                        keys.append(rows[0]["id"])
        if not keys:
            return
        when = db_time(self.store, change.event_time)
        with self.store.engine.begin() as conn:
            for pk in keys:
                row = version_showing_change(conn, pk, when, run_id)
                if row is None:
                    continue
                if row.version == 1 and not creates(change.event_name):
                    continue  # the first observation of a resource changed before phiwatch saw it: not this actor's creation
                names = [n for n in (row.changed_by or "").split(", ") if n]
                if change.actor in names:
                    continue
                value = ", ".join(names + [change.actor])
                if len(value) > 512:
                    continue  # keep the first actors rather than a truncated ARN
                set_changed_by(conn, row.id, value)
                _log(
                    logging.INFO,
                    "change attributed",
                    event_id=change.event_id,
                    call=change.label,
                    actor=change.actor,
                    resource_type=ref.resource_type,
                    resource_pk=pk,
                )

    # -- evaluate, alert, remediate ------------------------------------------------------------------------
    def _scan(
        self, *, periodic: bool, on_evaluated: Callable[[EvaluationSummary], None], collect_first: bool = False, run_id: int | None = None
    ) -> ScanOutcome:
        """The scan pipeline on what the store holds (a full sweep: after collecting everything):
        evaluate, deliver the alerts, remediate as the policy says, deliver its alerts. A batch
        remediates and delivers only when findings changed; ``periodic`` (the sweeps) does both every time."""
        outcome = run_scan(
            self.aws,
            self.store,
            self.policy,
            rules=self.rules,
            evaluator=self.evaluator,
            collect_first=collect_first,
            run_id=run_id,
            remediate=self.options.remediate,
            deliver=self.deliver,
            deliver_before_remediation=True,
            act_when_unchanged=periodic,
            on_evaluated=on_evaluated,
            report=False,
        )
        self._remediated(outcome.remediation)
        return outcome

    def _evaluated(self, summary: EvaluationSummary) -> None:
        self._evaluation_pending = False
        self.metrics.inc("evaluations_total", summary.evaluations)
        for event in summary.events:
            self.metrics.inc("finding_events_total", event=str(event.get("event")))
        if summary.events:
            _log(
                logging.INFO,
                "findings changed",
                scan_id=summary.scan_id,
                evaluations=summary.evaluations,
                events=[{"finding_id": e.get("finding_id"), "event": e.get("event")} for e in summary.events][:50],
            )

    def deliver(self) -> Any:
        """Send due alerts from the outbox (a failed delivery stays queued for the next try)."""
        if not self.policy.notifications:
            return None
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(
                self.store, self.policy, aws=self.aws, endpoint_url=self.aws.endpoint_url, profile=self.aws.profile
            )
        try:
            result = self._dispatcher.dispatch()
        except Exception as exc:  # noqa: BLE001 - alerts stay in the outbox
            _log(logging.WARNING, "alert delivery failed; alerts stay queued", error=_code(exc))
            return None
        if result.sent:
            self.metrics.inc("alerts_total", result.sent, result="sent")
        if result.failed:
            self.metrics.inc("alerts_total", result.failed, result="failed")
        if result.routes:
            _log(logging.INFO, "alerts delivered", sent=result.sent, failed=result.failed)
        return result

    def _remediated(self, report: RemediationReport | None) -> None:
        """Metrics and log lines of the pipeline's remediation step."""
        if report is None:
            return
        for outcome in report.outcomes:
            if getattr(outcome, "new", True):
                self.metrics.inc("remediations_total", status=str(outcome.status))
        fresh = [o for o in report.outcomes if getattr(o, "new", True)]
        if fresh:
            _log(
                logging.INFO,
                "remediation",
                outcomes=[
                    {"rule_id": o.rule_id, "resource_id": o.resource_id, "mode": o.mode, "status": o.status, "reason": o.reason[:200]}
                    for o in fresh
                ][:50],
            )

    # -- acknowledge -----------------------------------------------------------------------------------------
    def _finish(self, batch: list[Received], result: BatchResult) -> None:
        now_wall = time.time()
        done = [r for r in batch if r.outcome != "failed"]
        failed = [r for r in batch if r.outcome == "failed"]
        deleted = self._delete(done)
        for r in done:
            if r.message_id not in deleted:
                continue
            result.acked += 1
            result.outcomes[r.outcome] = result.outcomes.get(r.outcome, 0) + 1
            self.metrics.inc("events_processed_total", outcome=r.outcome)
            if isinstance(r.parsed, Change):
                if r.outcome in ("changed", "unchanged"):
                    self._remember(r.parsed.event_id)
                    self.metrics.observe("event_lag_seconds", now_wall - r.parsed.event_time.timestamp())
                    _log(
                        logging.INFO,
                        "event processed",
                        message_id=r.message_id,
                        event_id=r.parsed.event_id,
                        call=r.parsed.label,
                        actor=r.parsed.actor,
                        outcome=r.outcome,
                        event_time=isoformat(r.parsed.event_time),
                        lag_seconds=round(now_wall - r.parsed.event_time.timestamp(), 3),
                    )
            if r.sent_at is not None:
                self.metrics.observe("queue_lag_seconds", now_wall - r.sent_at)
        for r in failed:
            result.failed += 1
            self.metrics.inc("events_failed_total")
            delay = self._retry_delay(r.receive_count)
            label = r.parsed.label if isinstance(r.parsed, (Change, Ignored)) else "?"
            _log(
                logging.WARNING,
                "event failed, returns to the queue",
                message_id=r.message_id,
                call=label,
                reason=r.reason,
                receive_count=r.receive_count,
                retry_in_seconds=delay,
            )
            try:
                self.sqs.change_message_visibility(QueueUrl=self.options.queue_url, ReceiptHandle=r.receipt, VisibilityTimeout=delay)
            except (ClientError, BotoCoreError):
                pass  # it returns after the queue's visibility timeout

    def _retry_delay(self, receive_count: int) -> int:
        cap = self._visibility or 900
        return int(min(cap, self.options.retry_delay * (2 ** max(0, receive_count - 1))))

    def _delete(self, done: list[Received]) -> set[str]:
        deleted: set[str] = set()
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": r.receipt} for i, r in enumerate(chunk)]
            try:
                response = self.sqs.delete_message_batch(QueueUrl=self.options.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                # processed but not deleted: it comes back and is a harmless duplicate
                _log(logging.WARNING, "could not delete processed messages", error=_code(exc), count=len(chunk))
                continue
            ok = {e["Id"] for e in response.get("Successful", [])}
            deleted.update(chunk[int(i)].message_id for i in ok)
        return deleted

    def _remember(self, event_id: str) -> None:
        self._done[event_id] = None
        self._done.move_to_end(event_id)
        while len(self._done) > self.options.dedupe_size:
            self._done.popitem(last=False)

    # -- scheduled sweeps ------------------------------------------------------------------------------------
    def run_due_sweeps(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if not self._full_planned:
            self._plan_full_sweep(now)
        if self._next_full is not None and now >= self._next_full and not self.stopping:
            self.full_sweep()
            self._next_full = time.monotonic() + self.options.full_sweep_seconds if self.options.full_sweep_seconds else None
            if self._next_periodic is not None:
                self._next_periodic = time.monotonic() + self.options.periodic_check_seconds
        if self._next_periodic is not None and now >= self._next_periodic and not self.stopping:
            self.periodic_check()
            self._next_periodic = time.monotonic() + self.options.periodic_check_seconds

    def _plan_full_sweep(self, now: float) -> None:
        self._full_planned = True
        interval = self.options.full_sweep_seconds
        if self.options.sweep_on_start is True:
            self._next_full = now
            return
        if not interval:
            self._next_full = None
            return
        if self.options.sweep_on_start is False:
            self._next_full = now + interval
            return
        last = last_full_collection(self.store, self.aws.regions)
        age = (utcnow() - last).total_seconds() if last else None
        self._next_full = now if age is None or age >= interval else now + (interval - age)

    def full_sweep(self) -> None:
        """Re-collect every service in every watched region, then evaluate and act."""
        t0 = time.monotonic()
        self._busy_since = t0

        def on_evaluated(summary: EvaluationSummary) -> None:
            self.metrics.inc("sweeps_total", kind="full")
            self._evaluated(summary)

        try:
            _log(logging.INFO, "full sweep started", regions=list(self.aws.regions))
            outcome = self._scan(collect_first=True, periodic=True, on_evaluated=on_evaluated)
            result = outcome.collect_result
            assert result is not None  # collected first
            _log(
                logging.INFO,
                "full sweep done",
                seconds=round(time.monotonic() - t0, 1),
                seen=result.seen,
                new_or_changed=len(result.changed_keys),
                deleted=result.deleted,
                errors=len(result.errors),
                evaluations=outcome.summary.evaluations,
            )
        finally:
            self._busy_since = None

    def periodic_check(self) -> None:
        """Periodic rules that are due, reminders, alert retries and deferred remediations."""
        self._busy_since = time.monotonic()

        def on_evaluated(summary: EvaluationSummary) -> None:  # its reminders go out with this pass's delivery
            self._evaluated(summary)
            self.metrics.inc("sweeps_total", kind="periodic")
            if self.policy.notifications:
                enqueue_reminders(self.store, self.policy, self.rules)

        try:
            self._scan(periodic=True, on_evaluated=on_evaluated)
        finally:
            self._busy_since = None


def targets_of(refs: list[ResourceRef]) -> dict[str, set[str]] | None:
    """What to re-collect for these references: resource type -> identifiers (``AWS::::Account``: the
    account part). None (the whole service) when a reference names no identifier."""
    only: dict[str, set[str]] = {}
    for ref in refs:
        if ref.account:
            only.setdefault(ACCOUNT_TYPE, set())
        elif not ref.identifiers:
            return None
        else:
            only.setdefault(ref.resource_type, set()).update(ref.identifiers)
    return only


_CREATING = ("Create", "Run", "Allocate", "Request", "Import", "Copy", "Restore", "Register")


def creates(event_name: str) -> bool:
    """Whether a call creates a resource (its actor may be named on a resource's first version)."""
    return event_name.startswith(_CREATING)


def last_full_collection(store: Any, regions: list[str]) -> dt.datetime | None:
    """When the latest complete collection of every service in ``regions`` finished (None: never)."""
    every = set(load_collectors())
    for finished, services, run_regions in complete_collections(store):
        if every <= set(services) and set(regions) <= set(run_regions):
            return finished if finished.tzinfo else finished.replace(tzinfo=dt.UTC)
    return None


class _Heartbeat:
    """Keeps a long batch's messages invisible (ChangeMessageVisibility) until it is finished."""

    def __init__(self, service: WatchService, batch: list[Received]) -> None:
        self.service = service
        self.batch = batch
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        timeout = self.service._visibility
        if not timeout or timeout < 2:
            return
        self._thread = threading.Thread(target=self._loop, args=(timeout,), name="phiwatch-watch-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self, timeout: int) -> None:
        while not self._done.wait(timeout / 2):
            entries = [{"Id": str(i), "ReceiptHandle": r.receipt, "VisibilityTimeout": timeout} for i, r in enumerate(self.batch)]
            try:
                self.service.sqs.change_message_visibility_batch(QueueUrl=self.service.options.queue_url, Entries=entries)
            except (ClientError, BotoCoreError):
                pass

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
