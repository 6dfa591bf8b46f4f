"""The SQS side of the watch service: the queue's region and client, receiving a batch, keeping
it invisible while it is handled (:class:`Heartbeat`), releasing, deleting and returning messages.

These functions take the client and queue URL they act on and keep no state: the service holds
the client (``WatchService.sqs``) and the queue's visibility timeout, read once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from phiwatch.errors import CannotRunError
from phiwatch.watch.events import Change, Ignored
from phiwatch.watch.log_format import error_code, log_line


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


def sqs_client(aws: Any, region: str, wait_seconds: int) -> Any:
    """An SQS client whose read timeout outlasts a long poll of ``wait_seconds``."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=wait_seconds + 10,
        user_agent_extra="phiwatch-watch",
    )
    return aws.session.client("sqs", region_name=region, endpoint_url=aws.endpoint_url, config=config)


def read_visibility_timeout(sqs: Any, queue_url: str) -> int:
    """The queue's VisibilityTimeout (an unknown queue cannot be watched; one without a
    dead-letter queue is watched with a warning)."""
    try:
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidAddress"):
            raise CannotRunError(f"no queue {queue_url}: run `phiwatch watch setup` first or check --queue-url") from exc
        raise
    attributes = attrs.get("Attributes", {})
    if "RedrivePolicy" not in attributes:
        log_line(
            logging.WARNING,
            "queue has no dead-letter queue: failing events are retried until they expire",
            queue=queue_url,
        )
    return int(attributes.get("VisibilityTimeout", "30"))


def receive(sqs: Any, queue_url: str, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
    """One long-polled receive (SQS caps both at 10 messages and 20 seconds)."""
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max(1, min(10, max_messages)),
        WaitTimeSeconds=max(0, min(20, wait_seconds)),
        AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
    )
    return response.get("Messages", []) or []


def received(message: dict[str, Any]) -> Received:
    """A received SQS message as the batch tracks it."""
    attrs = message.get("Attributes", {}) or {}
    sent = attrs.get("SentTimestamp")
    return Received(
        message_id=message.get("MessageId", "?"),
        receipt=message["ReceiptHandle"],
        body=message.get("Body", ""),
        sent_at=int(sent) / 1000 if sent and str(sent).isdigit() else None,
        receive_count=int(attrs.get("ApproximateReceiveCount", "1") or 1),
    )


def release(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Make messages received but not started visible again at once."""
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(messages)]
    try:
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
    except (ClientError, BotoCoreError) as exc:  # they come back after the visibility timeout anyway
        log_line(logging.WARNING, "could not release messages", error=error_code(exc))


def delete(sqs: Any, queue_url: str, done: list[Received]) -> set[str]:
    """Delete handled messages (in chunks of 10); the ids of those deleted."""
    deleted: set[str] = set()
    for start in range(0, len(done), 10):
        chunk = done[start : start + 10]
        entries = [{"Id": str(i), "ReceiptHandle": r.receipt} for i, r in enumerate(chunk)]
        try:
            response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            # processed but not deleted: it comes back and is a harmless duplicate
            log_line(logging.WARNING, "could not delete processed messages", error=error_code(exc), count=len(chunk))
            continue
        ok = {e["Id"] for e in response.get("Successful", [])}
        deleted.update(chunk[int(i)].message_id for i in ok)
    return deleted


def retry_delay(receive_count: int, first: float, visibility: int | None) -> int:
    """Seconds before a failed message returns: ``first``, doubling per receive, capped by the
    queue's visibility timeout."""
    cap = visibility or 900
    return int(min(cap, first * (2 ** max(0, receive_count - 1))))


def return_later(sqs: Any, queue_url: str, receipt: str, delay: int) -> None:
    """Make a failed message visible again after ``delay`` seconds."""
    try:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=delay)
    except (ClientError, BotoCoreError):
        pass  # it returns after the queue's visibility timeout


class Heartbeat:
    """Keeps a long batch's messages invisible (ChangeMessageVisibility) until it is finished."""

    def __init__(self, sqs: Any, queue_url: str, batch: list[Received], timeout: int | None) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.batch = batch
        self.timeout = timeout
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        timeout = self.timeout
        if not timeout or timeout < 2:
            return
        self._thread = threading.Thread(target=self._loop, args=(timeout,), name="phiwatch-watch-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self, timeout: int) -> None:
        while not self._done.wait(timeout / 2):
            entries = [{"Id": str(i), "ReceiptHandle": r.receipt, "VisibilityTimeout": timeout} for i, r in enumerate(self.batch)]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError):
                pass

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
