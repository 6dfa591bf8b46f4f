"""Readable renderings of alert messages (email, Slack, Apprise) with Jinja2.

Each channel renders one template: ``email.txt.j2``, ``slack.md.j2`` or ``text.txt.j2`` from
this folder, or the route's own file (``template:`` in the policy, relative to the policy
file). A template sees:

* ``findings``: the alert messages (contract JSON: event, finding_id, rule_id, resource_type,
  resource_id, arn, account_id, region, severity, hipaa_sections, annotation, time); one for
  a single alert, every change for a digest;
* ``digest`` (bool), ``event`` (the message's event, ``digest`` for digests), ``message``
  (the whole payload), ``route`` (the route's name), ``counts`` (changes per event);
* ``label(event)``: a readable event name ("New finding", "Resolved", ...).

A first line ``Subject: ...`` becomes the email subject or the Apprise title. Only the
message's fields are available, so a template cannot leak configuration values (which may
hold PHI). Templates run in Jinja2's sandbox.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

LABELS = {
    "opened": "New finding",
    "resolved": "Resolved",
    "excepted": "Excepted",
    "exception_expired": "Exception expired, finding reopened",
    "remediation_planned": "Remediation planned",
    "remediation_applied": "Remediation applied",
    "remediation_failed": "Remediation failed",
    "reminder": "Still open",
    "test": "Test message",
    "digest": "Digest",
}


class TemplateError(Exception):
    """A template could not be read or rendered (the message names the file)."""


def label(event: str) -> str:
    return LABELS.get(event, event.replace("_", " ").capitalize())


def slack_escape(value: Any) -> Any:
    """Slack mrkdwn control characters (applied to every value a Slack template prints)."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


@lru_cache(maxsize=4)
def _environment(kind: str) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    finalize: Callable[[Any], Any] | None = slack_escape if kind == "slack" else None
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
        finalize=finalize,
    )
    env.globals["label"] = label
    return env


DEFAULTS = {"email": "email.txt.j2", "slack": "slack.md.j2", "text": "text.txt.j2"}


def _source(kind: str, override: str | Path | None) -> tuple[str, str]:
    if override is not None:
        path = Path(override)
        try:
            return path.read_text(), str(path)
        except OSError as exc:
            raise TemplateError(f"cannot read template {path}: {exc.strerror or exc}") from exc
    name = DEFAULTS[kind]
    return resources.files(__package__).joinpath(name).read_text(), name


def render(kind: str, payload: dict[str, Any], route: str, override: str | Path | None = None) -> tuple[str | None, str]:
    """Render a message; returns (subject or None, body)."""
    from jinja2 import TemplateError as JinjaError

    text, name = _source(kind, override)
    findings = list(payload.get("findings", [])) if payload.get("event") == "digest" else [payload]
    context = {
        "findings": findings,
        "digest": payload.get("event") == "digest",
        "event": payload.get("event"),
        "message": payload,
        "route": route,
        "counts": dict(Counter(f.get("event") for f in findings)),
    }
    try:
        out = _environment(kind).from_string(text).render(**context)
    except JinjaError as exc:
        lineno = getattr(exc, "lineno", None)  # TemplateSyntaxError only
        where = f" line {lineno}" if lineno else ""
        raise TemplateError(f"template {name}{where}: {exc.message or exc}") from exc
    subject = None
    first, sep, rest = out.lstrip("\n").partition("\n")
    if first.lower().startswith("subject:"):
        subject = " ".join(first[len("subject:") :].split())  # one line: no header injection
        out = rest.lstrip("\n")
    return subject, out.strip() + "\n"
