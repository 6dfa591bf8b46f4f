"""Real receivers for the notification tests (no mocks of channel clients).

* ``Receiver``: an HTTP server on 127.0.0.1 (Slack, webhooks, Apprise's json://) that records
  every request and can answer with a given status, or hang, to test faults.
* ``SmtpServer``: aiosmtpd on 127.0.0.1 with STARTTLS (a self-signed certificate made with
  ``cryptography``) and AUTH required over TLS; it records messages, logins and connections.
* Store helpers: buckets written straight to the store and a policy enabling one rule, so
  findings open and resolve without AWS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from phiwatch.evaluation import Evaluator
from phiwatch.model import ConfigurationItem
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.active import resolve_rules

ACCOUNT = "111122223333"
T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
CONTRACT_KEYS = [
    "event",
    "finding_id",
    "rule_id",
    "resource_type",
    "resource_id",
    "arn",
    "account_id",
    "region",
    "severity",
    "hipaa_sections",
    "annotation",
    "time",
]


# -- HTTP receiver ------------------------------------------------------------------------------
class Receiver:
    """Records POSTs. ``statuses``: codes to answer in order (then 200); ``hang``: seconds to stall."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.hang = 0.0
        self.body = b"ok"
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add 40 ms to every keep-alive request
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    hang = receiver.hang
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": status,
                            "connection": self.client_address,
                        }
                    )
                if hang:
                    time.sleep(hang)
                reply = receiver.body if status == 200 else b"server_error" if status >= 500 else b"invalid_token"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 200]

    def json(self, path: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.ok() if path is None or r["path"] == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def verify_signature(request: dict[str, Any], key: str) -> bool:
    expected = "sha256=" + hmac.new(key.encode(), request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(request["headers"].get("X-Phiwatch-Signature", ""), expected)


# -- SMTP server with STARTTLS and AUTH ------------------------------------------------------------
_CERT_CACHE: dict[str, tuple[Path, Path]] = {}


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key (made once per process)."""
    if "cert" in _CERT_CACHE and _CERT_CACHE["cert"][0].exists():
        return _CERT_CACHE["cert"]
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _CERT_CACHE["cert"] = (cert_path, key_path)
    return cert_path, key_path


class SmtpServer:
    """aiosmtpd with STARTTLS required before AUTH; ``data_reply`` makes DATA answer an error."""

    def __init__(self, folder: Path, user: str = "alerts", password: str = "smtp-pass-123") -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        from phiwatch.emulator import free_port

        self.user, self.password = user, password
        self.messages: list[Any] = []
        self.logins: list[tuple[str, bool]] = []  # (user, over TLS)
        self.sessions: list[int] = []  # one entry per login, the SMTP session's id
        self.data_replies: list[str] = []  # replies to DATA in order (then 250)
        self.cert, key = self_signed_cert(folder)
        server = self

        class Handler:
            async def handle_DATA(self, srv: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                if server.data_replies:
                    return server.data_replies.pop(0)
                from email import message_from_bytes
                from email.policy import default

                msg = message_from_bytes(envelope.content, policy=default)
                server.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "msg": msg})
                return "250 OK"

        def authenticator(srv: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
            pw = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
            server.logins.append((login, bool(session.ssl)))
            server.sessions.append(id(session))
            return AuthResult(success=login == server.user and pw == server.password, handled=False)

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(str(self.cert), str(key))
        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=tls,
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=True,
            server_hostname="localhost",
        )
        self.controller.start()

    @property
    def connections(self) -> int:
        """Authenticated connections (smtplib may try two mechanisms on one)."""
        return len(set(self.sessions))

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server(tmp_path):
    s = SmtpServer(tmp_path / "tls")
    yield s
    s.stop()


# -- store and policy ---------------------------------------------------------------------------
def bucket(name: str, *, logging: bool, tags: dict | None = None, capture: str = "2026-06-01T00:00:00Z") -> ConfigurationItem:
    return ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId=name,
        resourceName=name,
        arn=f"arn:aws:s3:::{name}",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        tags=tags or {},
        supplementaryConfiguration={
            "BucketLoggingConfiguration": {"destinationBucketName": "logs", "logFilePrefix": ""} if logging else None,
            "ServerSideEncryptionConfiguration": None,
            "BucketPolicy": None,
        },
        configurationItemCaptureTime=capture,
    )


def write(store: Any, *items: ConfigurationItem) -> None:
    with store.writer(None) as w:
        for item in items:
            w.record(item)


RULE = "s3-bucket-logging-enabled"
_RULES_CACHE: dict[str, Any] = {}


def only_rule() -> dict[str, Any]:
    """Just s3-bucket-logging-enabled: rules other test modules register globally stay out."""
    if "rules" not in _RULES_CACHE:
        _RULES_CACHE["rules"] = {RULE: resolve_rules(Policy())[RULE]}
    return _RULES_CACHE["rules"]


def policy(text: str, base_dir: str = ".") -> Policy:
    return parse_policy(text, "policy.yaml", base_dir)


def evaluate(store: Any, pol: Policy, now: dt.datetime = T0) -> Any:
    """Evaluate s3-bucket-logging-enabled only; alerts go to the outbox in the same transaction."""
    return Evaluator(store, pol, only_rule()).evaluate(now=now)


def outbox_rows(store: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from phiwatch.store.tables import outbox

    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def no_sleep(log: list[float] | None = None) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        if log is not None:
            log.append(seconds)

    return sleep
