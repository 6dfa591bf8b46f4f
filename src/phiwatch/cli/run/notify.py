"""What `notify test`, `notify send` and `notifications` do (declared in phiwatch.cli.notify)."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from phiwatch.cli.common import console, print_json
from phiwatch.cli.run.common import open_store
from phiwatch.errors import CannotRunError, UsageError
from phiwatch.notify.dispatcher import Dispatcher, queue_test_message
from phiwatch.notify.reminders import enqueue_reminders
from phiwatch.policy import NotificationRoute, Policy, load_policy
from phiwatch.rules.active import resolve_rules
from phiwatch.store.outbox import delivery_log

STATUSES = ("pending", "sent", "failed", "retried")


def _route(policy: Policy, name: str) -> NotificationRoute:
    for route in policy.notifications:
        if route.name == name:
            return route
    known = ", ".join(r.name for r in policy.notifications) or "none: add a notifications section to the policy file"
    raise UsageError(f"no route named '{name}' in {policy.source} (routes: {known})")


def notify_test(
    route: str, policy: Path | None, to: str | None, endpoint_url: str | None, profile: str | None, db: str | None, timeout: float
) -> None:
    pol = load_policy(policy)
    r = _route(pol, route)
    if r.channel == "email" and r.owner_tag and not r.target and not to:
        raise UsageError(f"route '{r.name}' mails each resource's owner (tag {r.owner_tag}): give --to ADDRESS for the test")
    if to and r.channel != "email":
        raise UsageError("--to applies to email routes only")
    store = open_store(db, create=True)
    row_id = queue_test_message(store, r, recipient=to)
    dispatcher = Dispatcher(store, pol, endpoint_url=endpoint_url, profile=profile, timeout=timeout, max_attempts=1)

    quiet = logging.getLogger("phiwatch.notify")  # a failure is this command's one error line, not a warning too
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        result = dispatcher.dispatch(ids=[row_id], force=True)
    finally:
        quiet.setLevel(level)
        dispatcher.close()
    rr = result.route(r.name)
    if rr is None or not rr.sent:
        error = rr.errors[0] if rr and rr.errors else "not sent"
        raise CannotRunError(f"test message on route '{r.name}' ({r.channel}) was not delivered: {error}")
    console.print(f"sent a test message on route [bold]{escape(r.name)}[/bold] ({r.channel}) to {escape(rr.target)} in {rr.seconds:.2f}s")


def notify_send(
    policy: Path | None,
    route: list[str] | None,
    force: bool,
    endpoint_url: str | None,
    profile: str | None,
    db: str | None,
    timeout: float,
    json_out: bool,
) -> None:
    pol = load_policy(policy)
    for name in route or []:
        _route(pol, name)
    store = open_store(db)
    enqueue_reminders(store, pol, resolve_rules(pol))
    dispatcher = Dispatcher(store, pol, endpoint_url=endpoint_url, profile=profile, timeout=timeout)
    try:
        result = dispatcher.dispatch(routes=set(route) if route else None, force=force)
    finally:
        dispatcher.close()
    if json_out:
        print_json(
            {"sent": result.sent, "failed": result.failed, "retried": result.retried, "routes": [r.to_dict() for r in result.routes]}
        )
        return
    console.print(escape(result.summary()), highlight=False, soft_wrap=True)


def _state(row: dict) -> str:
    if row["status"] == "sent":
        return "sent" if row["attempts"] <= 1 else f"sent after {row['attempts']} attempts"
    if row["status"] == "failed":
        return f"failed ({row['attempts']} attempt{'s' if row['attempts'] != 1 else ''}), retry after {str(row['next_attempt_at'])[:19]}"
    return "pending"


def notifications(status: list[str] | None, route: str | None, limit: int, json_out: bool, db: str | None) -> None:
    for s in status or []:
        if s not in STATUSES:
            raise UsageError(f"--status must be one of {', '.join(STATUSES)}, got '{s}'")
    store = open_store(db)
    log = delivery_log(store, statuses=status, route=route, limit=limit)
    rows, totals, retried = log.rows, log.totals, log.retried
    if json_out:
        print_json(
            [
                {
                    "id": r["id"],
                    "created_at": str(r["created_at"]),
                    "route": r["route"],
                    "channel": r["channel"],
                    "event": r["event"],
                    "finding_id": r["finding_id"],
                    "rule_id": (r["payload"] or {}).get("rule_id"),
                    "resource_id": (r["payload"] or {}).get("resource_id"),
                    "status": r["status"],
                    "attempts": r["attempts"],
                    "sent_at": str(r["sent_at"]) if r["sent_at"] else None,
                    "next_attempt_at": str(r["next_attempt_at"]) if r["status"] != "sent" else None,
                    "last_error": r["last_error"],
                }
                for r in rows
            ]
        )
        return
    t = Table(title=f"Alert delivery log ({len(rows)} most recent)", show_edge=False)
    for col in ("Id", "Queued (UTC)", "Route", "Channel", "Event", "Rule / resource", "Status", "Last error"):
        t.add_column(col, overflow="fold", no_wrap=col in ("Id", "Queued (UTC)"))
    for r in rows:
        p = r["payload"] or {}
        what = f"{p.get('rule_id', '')} / {p.get('resource_id', '')}" if r["event"] != "test" else "(test message)"
        state = _state(r)
        style = {"sent": "green", "failed": "red"}.get(r["status"], "yellow")
        t.add_row(
            str(r["id"]),
            str(r["created_at"])[5:16],
            r["route"],
            r["channel"],
            r["event"],
            what,
            f"[{style}]{escape(state)}[/{style}]",
            escape(r["last_error"] or ""),
        )
    console.print(t)
    console.print(
        f"[dim]In the store: {totals.get('sent', 0)} sent ({retried} needed a retry), {totals.get('failed', 0)} failed and "
        f"{totals.get('pending', 0)} pending (failed and pending alerts are retried on the next scan or `phiwatch notify send`).[/dim]"
    )
