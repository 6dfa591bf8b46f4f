"""SNS: publish the alert JSON to a topic (``target``: the topic ARN), as the seed's Config rule did.

The message body is exactly the contract JSON. Message attributes ``event``, ``severity`` and
``rule_id`` let subscribers filter (SNS subscription filter policies); ``Subject`` is a short
line for email subscriptions. Messages go out with PublishBatch (10 per call) through one
client per region, reused across runs. FIFO topics (``.fifo``) get the finding id as message
group and the outbox row as de-duplication id. Needs ``sns:Publish`` on the topic.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from phiwatch.aws.session import AwsContext
from phiwatch.notify.channels.base import Channel, ChannelConfigError, DeliveryError, Outgoing, register

TOPIC_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,256}(\.fifo)?)$"
)
MAX_MESSAGE_BYTES = 262_144  # 256 KiB per message and per batch
_RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "KMSThrottling",
    "RequestTimeout",
}
_CHANNEL_FAILING_CODES = {
    "NotFound",
    "AuthorizationError",
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "KMSAccessDenied",
    "KMSDisabled",
    "KMSNotFound",
    "InvalidSecurity",
}


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)


@register
class SnsChannel(Channel):
    name = "sns"
    max_bytes = MAX_MESSAGE_BYTES - 1024  # room for the subject and attributes
    batch_size = 10  # one PublishBatch call

    def __init__(self, route: Any, settings: Any) -> None:
        super().__init__(route, settings)
        arn = (route.target or "").strip()
        if not arn:
            raise ChannelConfigError("sns route needs target: the topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC)")
        match = TOPIC_ARN.match(arn)
        if match is None:
            raise ChannelConfigError(f"malformed SNS topic ARN '{arn}': expected arn:aws:sns:REGION:ACCOUNT_ID:TOPIC_NAME")
        self.arn = arn
        self.region = match["region"]
        self.fifo = arn.endswith(".fifo")
        self.client: Any = None

    def describe(self) -> str:
        return self.arn

    def open(self) -> None:
        key = f"sns:{self.region}"
        with self.settings.lock:  # boto3 sessions are not thread-safe: make clients one at a time
            client = self.settings.shared.get(key)
            if client is None:
                client = self._make_client()
                self.settings.shared[key] = client
        self.client = client

    def _make_client(self) -> Any:
        aws = self.settings.aws
        if aws is None:
            aws = AwsContext(endpoint_url=self.settings.endpoint_url, profile=self.settings.profile)
            self.settings.aws = aws
        # no botocore retries (the dispatcher retries with backoff and knows when to stop), short timeouts
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=self.settings.timeout,
            read_timeout=self.settings.timeout,
            user_agent_extra="phiwatch-notify",
            max_pool_connections=4,
        )
        return aws.session.client("sns", region_name=self.region, endpoint_url=aws.endpoint_url, config=config)

    def _entry(self, message: Outgoing, index: int) -> dict[str, Any]:
        payload = message.payload
        subject = f"phiwatch: {payload.get('event')} {payload.get('rule_id') or ''}".strip()
        if payload.get("event") == "digest":
            subject = f"phiwatch: {len(payload.get('findings', []))} compliance changes"
        attributes = {"event": payload.get("event")}
        if payload.get("event") != "digest":
            attributes.update(severity=payload.get("severity"), rule_id=payload.get("rule_id"))
        entry: dict[str, Any] = {
            "Id": str(index),
            "Message": _json(payload),
            "Subject": subject[:100],
            "MessageAttributes": {k: {"DataType": "String", "StringValue": str(v)} for k, v in attributes.items() if v},
        }
        if self.fifo:
            entry["MessageGroupId"] = (message.finding_id or "phiwatch")[:128]
            entry["MessageDeduplicationId"] = f"{self.route.name}-{message.delivery_id}"[-128:]
        return entry

    def send_many(self, messages: list[Outgoing]) -> None:
        """PublishBatch in chunks of at most 10 messages and 256 KiB."""
        chunks: list[list[Outgoing]] = []
        size = 0
        for m in messages:
            n = len(_json(m.payload).encode()) + 512
            if not chunks or len(chunks[-1]) == 10 or size + n > MAX_MESSAGE_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(m)
            size += n
        for i, chunk in enumerate(chunks):
            error = self._publish(chunk)
            if error is not None and error.stop_batch:
                for rest in chunks[i + 1 :]:
                    for m in rest:
                        m.error = DeliveryError(f"not attempted: {error}", retryable=error.retryable, stop_batch=True)
                return

    def send(self, message: Outgoing) -> None:
        self.send_many([message])
        if message.error is not None:
            raise message.error

    def _publish(self, chunk: list[Outgoing]) -> DeliveryError | None:
        """Publish one batch; sets sent/error on each message; returns a channel-wide error, if any."""
        for m in chunk:
            m.tried += 1
        try:
            response = self.client.publish_batch(
                TopicArn=self.arn, PublishBatchRequestEntries=[self._entry(m, i) for i, m in enumerate(chunk)]
            )
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code", "ClientError")
            text = f"SNS {code}: {err.get('Message') or ''}".strip().rstrip(":")
            if code in ("AuthorizationError", "AccessDenied", "AccessDeniedException"):
                text += f" (the caller needs sns:Publish on {self.arn})"
            elif code == "NotFound":
                text = f"SNS NotFound: topic {self.arn} does not exist (or is in another account or region)"
            error = DeliveryError(
                text, retryable=code in _RETRYABLE_CODES, stop_batch=code in _CHANNEL_FAILING_CODES or code in _RETRYABLE_CODES
            )
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            error = DeliveryError(f"cannot reach SNS in {self.region}: {type(exc).__name__}", stop_batch=True)
        except ReadTimeoutError:
            error = DeliveryError(f"SNS in {self.region} did not answer within {self.settings.timeout:g}s", stop_batch=True)
        except BotoCoreError as exc:
            error = DeliveryError(f"SNS publish failed: {type(exc).__name__}: {exc}", retryable=False, stop_batch=True)
        else:
            failed = {f["Id"]: f for f in response.get("Failed", [])}
            for i, m in enumerate(chunk):
                f = failed.get(str(i))
                if f is None:
                    m.sent, m.error = True, None
                else:
                    m.error = DeliveryError(
                        f"SNS {f.get('Code')}: {f.get('Message') or ''}".strip(), retryable=not f.get("SenderFault", False)
                    )
            return None
        for m in chunk:
            m.error = error
        return error
