"""Email over SMTP with STARTTLS (or implicit TLS) and authentication, rendered from ``email.txt.j2``.

Recipients: the route's ``target`` (one address or a comma-separated list), or, for owner
routes (``owner_tag: InstanceOwnerEmail``), the address in the resource's tag. The server is
the route's ``smtp`` block::

    smtp: {host: smtp.example.org, port: 587, starttls: true, from_address: phiwatch@example.org,
           username_env: SMTP_USER, password_env: SMTP_PASSWORD}

The password comes from ``password_env`` or ``password_file`` (or the route's ``secret_env`` /
``secret_file``), never from the policy. Credentials are never sent over an unencrypted
connection except to a loopback server. One SMTP connection serves the whole batch.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from phiwatch.notify.channels.base import Channel, ChannelConfigError, DeliveryError, Outgoing, is_loopback, register
from phiwatch.notify.templates import TemplateError, render


def _address(value: str, what: str) -> str:
    name, addr = parseaddr(value)
    if "@" not in addr or any(c in addr for c in "\r\n ,;"):
        raise ChannelConfigError(f"{what}: '{value}' is not an email address")
    return value.strip()


@register
class EmailChannel(Channel):
    name = "email"

    def __init__(self, route: Any, settings: Any) -> None:
        super().__init__(route, settings)
        smtp = route.smtp
        if smtp is None:
            raise ChannelConfigError("email route needs an smtp block: {host, port, starttls, from_address, username_env, password_env}")
        if not route.target and not route.owner_tag:
            raise ChannelConfigError("email route needs target (addresses) or owner_tag (the tag holding the owner's address)")
        self.smtp = smtp
        self.sender = _address(smtp.from_address, "smtp.from_address")
        self.recipients = [_address(a, "target") for a in (route.target or "").split(",") if a.strip()]
        self.username = None
        if smtp.username_env:
            self.username = os.environ.get(smtp.username_env) or None
            if self.username is None:
                raise ChannelConfigError(f"SMTP user: environment variable {smtp.username_env} (smtp.username_env) is not set or empty")
        self.password = self._password()
        if self.username and self.password is None:
            raise ChannelConfigError("SMTP user given without a password: set smtp.password_env or smtp.password_file")
        if self.password and not self.username:
            raise ChannelConfigError("SMTP password given without a user: set smtp.username_env")
        if self.username and not (smtp.starttls or smtp.ssl) and not is_loopback(smtp.host):
            raise ChannelConfigError(f"refusing to send SMTP credentials to {smtp.host} without TLS: set smtp.starttls or smtp.ssl")
        self.template = settings.path(route.template) if route.template else None
        self.conn: smtplib.SMTP | None = None

    def _password(self) -> str | None:
        smtp = self.smtp
        if smtp.password_env:
            value = os.environ.get(smtp.password_env)
            if not value:
                raise ChannelConfigError(f"SMTP password: environment variable {smtp.password_env} (smtp.password_env) is not set or empty")
            return self.secret(value)
        if smtp.password_file:
            path = self.settings.path(smtp.password_file)
            try:
                value = path.read_text().strip()
            except OSError as exc:
                raise ChannelConfigError(f"SMTP password: cannot read smtp.password_file {path}: {exc.strerror or exc}") from exc
            return self.secret(value)
        return self.route_secret("SMTP password", required=False)

    def describe(self) -> str:
        to = ", ".join(self.recipients) if self.recipients else f"owner from tag {self.route.owner_tag}"
        return f"{to} via {self.smtp.host}:{self.smtp.port}"

    # -- connection ---------------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        cafile = str(self.settings.path(self.smtp.ca_file)) if self.smtp.ca_file else None
        try:
            return ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"cannot load smtp.ca_file {cafile}: {exc}", retryable=False, stop_batch=True) from exc

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        where = f"{smtp.host}:{smtp.port}"
        timeout = self.settings.timeout
        conn: smtplib.SMTP | None = None
        try:
            if smtp.ssl:
                conn = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=self._tls_context())
            else:
                conn = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
            conn.ehlo()
            if smtp.starttls and not smtp.ssl:
                if not conn.has_extn("starttls"):
                    raise DeliveryError(
                        f"SMTP server {where} does not offer STARTTLS (set smtp.starttls: false only for a trusted relay)",
                        retryable=False,
                        stop_batch=True,
                    )
                conn.starttls(context=self._tls_context())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password or "")
            return conn
        except DeliveryError:
            self._quit(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self._quit(conn)
            raise DeliveryError(
                f"SMTP authentication failed at {where}: {exc.smtp_code} {self._text(exc.smtp_error)}", retryable=False, stop_batch=True
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self._quit(conn)
            raise DeliveryError(
                f"SMTP server {where} refused: {exc.smtp_code} {self._text(exc.smtp_error)}", retryable=exc.smtp_code < 500, stop_batch=True
            ) from exc
        except ssl.SSLError as exc:
            self._quit(conn)
            raise DeliveryError(f"TLS with SMTP server {where} failed: {exc.reason or exc}", retryable=False, stop_batch=True) from exc
        except TimeoutError as exc:
            self._quit(conn)
            raise DeliveryError(f"SMTP server {where} did not answer within {timeout:g}s", stop_batch=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._quit(conn)
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise DeliveryError(f"cannot connect to SMTP server {where}: {reason}", stop_batch=True) from exc

    def _text(self, raw: Any) -> str:
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return self.redact(" ".join(text.split()))[:200]

    @staticmethod
    def _quit(conn: smtplib.SMTP | None) -> None:
        if conn is None:
            return
        try:
            conn.quit()
        except Exception:  # noqa: BLE001 - the connection is going away anyway
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        self._quit(self.conn)
        self.conn = None

    # -- sending ------------------------------------------------------------------------------
    def build(self, message: Outgoing) -> EmailMessage:
        try:
            subject, body = render("email", message.payload, self.route.name, self.template)
        except TemplateError as exc:
            raise DeliveryError(str(exc), retryable=False, stop_batch=True) from exc
        to = [message.recipient] if message.recipient else self.recipients
        if not to:
            raise DeliveryError(
                f"no recipient: the resource has no {self.route.owner_tag} tag and the route has no target", retryable=False
            )
        for addr in to:
            try:
                _address(addr, "recipient")
            except ChannelConfigError as exc:
                raise DeliveryError(str(exc), retryable=False) from exc
        msg = EmailMessage()
        msg["Subject"] = subject or f"[phiwatch] {message.payload.get('event')}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=parseaddr(self.sender)[1].rpartition("@")[2] or None)
        msg["X-Phiwatch-Event"] = str(message.payload.get("event"))
        if message.finding_id:
            msg["X-Phiwatch-Finding"] = message.finding_id
        msg.set_content(body)
        return msg

    def send(self, message: Outgoing) -> None:
        msg = self.build(message)
        if self.conn is None:
            self.conn = self._connect()
        where = f"{self.smtp.host}:{self.smtp.port}"
        try:
            refused = self.conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = "; ".join(f"{addr}: {code} {self._text(text)}" for addr, (code, text) in exc.recipients.items())
            raise DeliveryError(f"SMTP server {where} refused the recipient(s): {codes}", retryable=False) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise DeliveryError(
                f"SMTP server {where} refused the sender {self.sender}: {exc.smtp_code} {self._text(exc.smtp_error)}",
                retryable=exc.smtp_code < 500,
                stop_batch=True,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the connection
                self.close()
            raise DeliveryError(
                f"SMTP server {where} refused the message: {exc.smtp_code} {self._text(exc.smtp_error)}",
                retryable=exc.smtp_code < 500,
                stop_batch=exc.smtp_code in (421, 554),
            ) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()  # reconnect on the next attempt
            raise DeliveryError(f"SMTP connection to {where} lost: {type(exc).__name__}", stop_batch=True) from exc
        if refused:
            codes = "; ".join(f"{addr}: {code}" for addr, (code, _) in refused.items())
            raise DeliveryError(f"SMTP server {where} refused some recipients: {codes}", retryable=False)
