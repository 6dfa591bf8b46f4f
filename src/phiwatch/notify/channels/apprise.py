"""Apprise: any Apprise URL (Teams, PagerDuty, Opsgenie, Discord, Matrix, ...), rendered from ``text.txt.j2``.

The Apprise URL holds the service's token, so it comes from ``secret_env`` or ``secret_file``
(several URLs: one per line or comma-separated) and never from the policy. Needs the optional
``apprise`` package (``pip install 'phiwatch[apprise]'``), imported only when such a route
sends. Apprise's own log lines are captured into the delivery log's error, with secrets scrubbed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from phiwatch.notify.channels.base import Channel, ChannelConfigError, DeliveryError, Outgoing, register
from phiwatch.notify.templates import TemplateError, render


def _import_apprise() -> Any:
    try:
        import apprise
    except ImportError as exc:
        raise ChannelConfigError(
            "the apprise channel needs the apprise package: pip install 'phiwatch[apprise]' (or pip install apprise)"
        ) from exc
    return apprise


@register
class AppriseChannel(Channel):
    name = "apprise"
    max_bytes = 30_000

    def __init__(self, route: Any, settings: Any) -> None:
        super().__init__(route, settings)
        raw = self.route_secret("Apprise URL") or ""
        self.urls = [u for u in re.split(r"[\s,]+", raw) if u]
        for url in self.urls:
            self.secret(url)
        self.apprise = _import_apprise()
        self.template = settings.path(route.template) if route.template else None
        self.client: Any = None

    def describe(self) -> str:
        schemes = sorted({u.split("://", 1)[0] for u in self.urls})
        source = f"${self.route.secret_env}" if self.route.secret_env else str(self.route.secret_file)
        return f"Apprise {', '.join(s + '://' for s in schemes)} (URL from {source})"

    def open(self) -> None:
        # Apprise logs at INFO/DEBUG with service details: keep it out of our log handlers
        logging.getLogger("apprise").propagate = False
        client = self.apprise.Apprise()
        for i, url in enumerate(self.urls, 1):
            if not client.add(url):
                raise ChannelConfigError(f"Apprise URL #{i} (from the route's secret) is not a URL Apprise knows")
        self.client = client

    def close(self) -> None:
        self.client = None

    def send(self, message: Outgoing) -> None:
        if self.client is None:
            self.open()
        try:
            title, body = render("text", message.payload, self.route.name, self.template)
        except TemplateError as exc:
            raise DeliveryError(str(exc), retryable=False, stop_batch=True) from exc
        with self.apprise.LogCapture(level=logging.WARNING) as output:
            ok = self.client.notify(body=body, title=title or "phiwatch", body_format=self.apprise.NotifyFormat.TEXT)
            log_text = output.getvalue() if hasattr(output, "getvalue") else ""
        if not ok:
            detail = self.redact(" ".join(str(log_text).split()))[-300:] or "no detail from Apprise"
            raise DeliveryError(f"Apprise could not deliver: {detail}", stop_batch=True)
