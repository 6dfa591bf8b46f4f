"""Slack: an incoming-webhook message rendered from a Jinja2 template (``slack.md.j2``, mrkdwn).

The webhook URL is a secret: it comes from ``secret_env`` or ``secret_file``, never from the
policy (a ``target`` on a Slack route is rejected when the policy is loaded), and it is scrubbed
from every error text. ``template`` overrides the rendering with the user's file. Slack answers
429 with Retry-After when a webhook gets more than about one message a second; that is honoured.
"""

from __future__ import annotations

import json
from typing import Any

from phiwatch.notify.channels._http import HttpSession, check_response, where
from phiwatch.notify.channels.base import Channel, DeliveryError, Outgoing, check_url, register
from phiwatch.notify.templates import TemplateError, render


@register
class SlackChannel(Channel):
    name = "slack"
    max_bytes = 30_000  # Slack truncates long texts; digests are split into several messages

    def __init__(self, route: Any, settings: Any) -> None:
        super().__init__(route, settings)
        self.url = check_url(self.route_secret("Slack incoming webhook URL") or "", "Slack webhook", secret=True)
        self.template = settings.path(route.template) if route.template else None
        self.http: HttpSession | None = None

    def describe(self) -> str:
        source = f"${self.route.secret_env}" if self.route.secret_env else str(self.route.secret_file)
        return f"Slack webhook at {where(self.url)} (URL from {source})"

    def open(self) -> None:
        self.http = HttpSession(self.settings.timeout)

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None

    def send(self, message: Outgoing) -> None:
        assert self.http is not None, "open() first"
        try:
            _, text = render("slack", message.payload, self.route.name, self.template)
        except TemplateError as exc:
            raise DeliveryError(str(exc), retryable=False, stop_batch=True) from exc
        body = json.dumps({"text": text}).encode()
        response = self.http.post(self.url, body, {"Content-Type": "application/json"})
        check_response(response, self.url)
