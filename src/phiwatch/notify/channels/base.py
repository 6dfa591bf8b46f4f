"""What every channel shares: the registry, secrets, errors, redaction and the batch loop.

A channel is a ``Channel`` subclass with ``@register`` and a ``name`` equal to the policy's
``channel`` value; modules of this package are discovered automatically. The dispatcher makes
one channel object per route and per delivery run: ``__init__`` checks the route's settings
(raising ``ChannelConfigError``), ``open`` makes the connection once (SNS client, SMTP session,
HTTP session), ``send`` delivers one ``Outgoing`` message (raising ``DeliveryError``) and
``close`` releases the connection. Secrets are read from ``secret_env`` / ``secret_file`` only,
registered with ``self.secret(...)`` and scrubbed from every error text the dispatcher stores
or logs.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from phiwatch.plugins import import_package, register_unique
from phiwatch.policy import NotificationRoute


class ChannelConfigError(Exception):
    """The route cannot work as configured (missing secret, malformed topic ARN, no recipient).

    Retrying within the run cannot help; the rows stay in the outbox and are retried on later
    runs, so fixing the configuration delivers them.
    """


class DeliveryError(Exception):
    """One message was not accepted by the channel.

    ``retryable``: worth retrying in this run (timeouts, 5xx, throttling). ``stop_batch``: the
    channel itself is failing (connection refused, timeouts, authentication), so the rest of
    the batch is not attempted this run. ``retry_after``: seconds the server asked us to wait.
    """

    def __init__(self, message: str, *, retryable: bool = True, stop_batch: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.stop_batch = stop_batch
        self.retry_after = retry_after


@dataclass
class Outgoing:
    """One message to send: a single alert or a digest, and the outbox rows it delivers."""

    ids: list[int]
    payload: dict[str, Any]  # the contract JSON, keys starting with "_" stripped
    event: str
    recipient: str | None = None  # owner routes: the address from the owner tag
    finding_id: str | None = None
    tried: int = 0  # attempts made in this run
    error: DeliveryError | None = None
    sent: bool = False
    last_failure: str | None = None  # the error of an earlier attempt in this run
    recorded: bool = False  # its rows are marked sent in the store already

    @property
    def delivery_id(self) -> str:
        """Stable across retries: receivers can de-duplicate on it."""
        return f"{self.ids[0]}" if len(self.ids) == 1 else f"{self.ids[0]}-{self.ids[-1]}.{len(self.ids)}"


@dataclass
class ChannelSettings:
    """Dispatcher-wide knobs and shared connections (reused across runs of one dispatcher)."""

    aws: Any = None  # phiwatch.aws.AwsContext (SNS); made on first use when None
    endpoint_url: str | None = None
    profile: str | None = None
    timeout: float = 10.0  # seconds to connect and to read a response, per request
    base_dir: str = "."  # the policy file's folder: relative secret_file / template paths
    shared: dict[str, Any] = field(default_factory=dict)  # cached clients (one SNS client per region)
    lock: Any = field(default_factory=threading.Lock)  # routes are delivered in threads: guards ``shared``

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p


class _ScrubSecrets(logging.Filter):
    """Removes known secret values from log records of the libraries that may print them
    (urllib3 logs each request line, with a Slack webhook's secret path, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.lock = threading.Lock()

    def add(self, value: str) -> None:
        with self.lock:
            self.secrets.add(value)

    def scrub(self, text: str) -> str:
        for value in sorted(self.secrets, key=len, reverse=True):
            if value in text:
                text = text.replace(value, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a malformed record: leave it to logging
                return True
            cleaned = self.scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
            if record.exc_info and not record.exc_text:  # exception texts may quote a URL
                record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        return True


SCRUB = _ScrubSecrets()
# logger filters are not inherited: name every logger that may print a secret
for _name in (
    "urllib3.connectionpool",
    "urllib3.util.retry",
    "requests",
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.hooks",
    "apprise",
    "phiwatch.notify.dispatcher",
    "phiwatch.notify.channels.base",
    "phiwatch.cli",
):
    logging.getLogger(_name).addFilter(SCRUB)


REGISTRY: dict[str, type[Channel]] = {}


def register(cls: type[Channel]) -> type[Channel]:
    return register_unique(REGISTRY, cls.name, cls, "channel")


def load_channels() -> dict[str, type[Channel]]:
    import_package("phiwatch.notify.channels", skip={"base"})
    return REGISTRY


def channel_for(route: NotificationRoute, settings: ChannelSettings) -> Channel:
    cls = load_channels().get(route.channel)
    if cls is None:  # the policy model only admits known channels; a stale row may still name one
        raise ChannelConfigError(f"unknown channel '{route.channel}' (known: {', '.join(sorted(REGISTRY))})")
    return cls(route, settings)


def public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The contract JSON: internal keys (``_recipient``) removed."""
    return {k: v for k, v in payload.items() if not k.startswith("_")}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str, *, secret: bool) -> str:
    """An https URL (http only to a loopback address, for local receivers and tests); no credentials in it."""
    shown = "the URL" if secret else f"'{url}'"
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise ChannelConfigError(f"{what}: {shown} is not a URL") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ChannelConfigError(f"{what}: {shown} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ChannelConfigError(f"{what}: {shown} must use https (plain http is allowed to loopback addresses only)")
    if not secret and (parts.username or parts.password):
        raise ChannelConfigError(f"{what}: the URL holds credentials; the policy file must not: use secret_env / secret_file")
    return url.strip()


class Channel:
    """Base class of the channels. Subclasses set ``name`` and implement ``send``."""

    name: ClassVar[str] = ""
    #: largest message body the channel accepts (bytes of JSON); digests are split to fit
    max_bytes: ClassVar[int | None] = None
    #: messages handed to ``send_many`` at a time; the dispatcher records each slice as sent before
    #: the next one (a crash re-sends at most one slice)
    batch_size: ClassVar[int] = 1

    def __init__(self, route: NotificationRoute, settings: ChannelSettings) -> None:
        self.route = route
        self.settings = settings
        self._secrets: list[str] = []

    # -- secrets ------------------------------------------------------------------------------
    def secret(self, value: str) -> str:
        """Remember a secret value so that it is scrubbed from error texts; returns it."""
        if value and value not in self._secrets:
            self._secrets.append(value)
            SCRUB.add(value)
            # URL secrets: the path and query alone are secret too (error texts may quote them)
            try:
                parts = urlsplit(value)
            except ValueError:
                parts = None
            if parts is not None and parts.scheme and parts.netloc:
                for piece in (parts.path, parts.query, parts.password or "", parts.username or ""):
                    if piece and len(piece) >= 6 and piece not in self._secrets:
                        self._secrets.append(piece)
                        SCRUB.add(piece)
        return value

    def route_secret(self, what: str, required: bool = True) -> str | None:
        """The route's secret from ``secret_env`` (an environment variable) or ``secret_file``."""
        route = self.route
        if route.secret_env:
            value = os.environ.get(route.secret_env)
            if not value:
                raise ChannelConfigError(f"{what}: environment variable {route.secret_env} (secret_env) is not set or empty")
            return self.secret(value.strip())
        if route.secret_file:
            path = self.settings.path(route.secret_file)
            try:
                value = path.read_text().strip()
            except OSError as exc:
                raise ChannelConfigError(f"{what}: cannot read secret_file {path}: {exc.strerror or exc}") from exc
            if not value:
                raise ChannelConfigError(f"{what}: secret_file {path} is empty")
            return self.secret(value)
        if required:
            raise ChannelConfigError(f"{what}: set secret_env (an environment variable) or secret_file on route '{route.name}'")
        return None

    def redact(self, text: str) -> str:
        for value in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    # -- delivery -----------------------------------------------------------------------------
    def describe(self) -> str:
        """Where messages go, safe to print (never a secret)."""
        return self.route.target or self.name

    def open(self) -> None:
        """Connect once for the batch (default: nothing to do)."""

    def close(self) -> None:
        """Release the connection (default: nothing to do)."""

    def send(self, message: Outgoing) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def send_many(self, messages: list[Outgoing]) -> None:
        """Send each message, recording ``sent`` / ``error`` / ``tried`` on it.

        Stops at the first error that says the channel itself is failing: the remaining
        messages get that error without being attempted (``tried`` unchanged).
        """
        for i, message in enumerate(messages):
            message.tried += 1
            try:
                self.send(message)
            except DeliveryError as exc:
                message.error = exc
                if exc.stop_batch:
                    for rest in messages[i + 1 :]:
                        rest.error = DeliveryError(f"not attempted: {exc}", retryable=exc.retryable, stop_batch=True)
                    return
                continue
            message.sent = True
            message.error = None

    def __enter__(self) -> Channel:
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
