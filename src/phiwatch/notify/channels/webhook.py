"""Webhook: HTTPS POST of the alert JSON, signed with HMAC-SHA256.

``target`` is the URL (https; plain http only to a loopback address). The signing key comes
from ``secret_env`` or ``secret_file`` and is required. Each request carries:

* ``Content-Type: application/json``; the body is exactly the contract JSON (UTF-8, compact);
* ``X-Phiwatch-Signature: sha256=<hex HMAC-SHA256 of the raw body with the key>``;
* ``X-Phiwatch-Event``: the event (``opened``, ..., ``digest``, ``test``);
* ``X-Phiwatch-Delivery``: an id stable across retries, to de-duplicate on.

Receivers verify with ``hmac.compare_digest(header, "sha256=" + hmac.new(key, body, sha256).hexdigest())``.
Any 2xx is success; 408, 429 and 5xx are retried (honouring Retry-After); redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from phiwatch.notify.channels._http import HttpSession, check_response, where
from phiwatch.notify.channels.base import Channel, ChannelConfigError, Outgoing, check_url, register

SIGNATURE_HEADER = "X-Phiwatch-Signature"


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def signature(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


@register
class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, route: Any, settings: Any) -> None:
        super().__init__(route, settings)
        if not route.target:
            raise ChannelConfigError("webhook route needs target: the https URL to POST to")
        self.url = check_url(route.target, "webhook target", secret=False)
        self.key = self.route_secret("webhook signing key (HMAC-SHA256)")
        self.http: HttpSession | None = None

    def describe(self) -> str:
        return where(self.url)

    def open(self) -> None:
        self.http = HttpSession(self.settings.timeout)

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None

    def send(self, message: Outgoing) -> None:
        assert self.http is not None, "open() first"
        body = body_bytes(message.payload)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.key or "", body),
            "X-Phiwatch-Event": str(message.payload.get("event")),
            "X-Phiwatch-Delivery": f"{self.route.name}:{message.delivery_id}",
        }
        response = self.http.post(self.url, body, headers)
        check_response(response, self.url)
