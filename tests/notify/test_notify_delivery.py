"""Delivery semantics: once per (finding, event, route), routing filters, digests, reminders,
retries with backoff, faults (webhook 500 or hanging, SMTP refusing) that never block other
routes and are delivered once the channel recovers, and crash safety of the outbox."""

from __future__ import annotations

import datetime as dt
import threading

from notify_support import (  # noqa: F401 - fixtures
    T0,
    bucket,
    evaluate,
    no_sleep,
    outbox_rows,
    policy,
    receiver,
    smtp_server,
    verify_signature,
    write,
)
from phiwatch.notify.dispatcher import Dispatcher, deliver
from phiwatch.notify.reminders import enqueue_reminders

KEY = "webhook-signing-key-1"


def hook(name: str, url: str, extra: str = "") -> str:
    return f"  - {{name: {name}, channel: webhook, target: '{url}/{name}', secret_env: HOOK_KEY{', ' + extra if extra else ''}}}\n"


def test_each_event_sent_once_per_route_and_nothing_when_unchanged(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(
        store,
        bucket("phi-a-logging-off", logging=False, tags={"PHI": "Yes"}),
        bucket("dev-b-logging-off", logging=False),
        bucket("c-logging-on", logging=True),
    )
    pol = policy(
        "notifications:\n"
        + hook("all", receiver.url)
        + hook("phi-only", receiver.url, "when: {tags: {PHI: 'Yes'}}")
        + hook("resolved-only", receiver.url, "when: {events: [resolved]}")
        + hook("other-rule", receiver.url, "when: {rules: [s3-bucket-ssl-requests-only]}")
    )
    evaluate(store, pol)
    first = deliver(store, pol, now=T0)
    assert (first.sent, first.failed) == (3, 0)
    assert sorted(b["resource_id"] for b in receiver.json("/all")) == ["dev-b-logging-off", "phi-a-logging-off"]
    assert [b["resource_id"] for b in receiver.json("/phi-only")] == ["phi-a-logging-off"]
    assert receiver.json("/resolved-only") == [] and receiver.json("/other-rule") == []
    assert all(verify_signature(r, KEY) for r in receiver.requests)
    # a second scan with nothing changed sends nothing
    again = evaluate(store, pol, T0 + dt.timedelta(hours=1))
    assert again.events == [] and again.queued_alerts == 0
    assert deliver(store, pol, now=T0 + dt.timedelta(hours=1)).sent == 0
    assert len(receiver.requests) == 3
    # the fix resolves the finding: one "resolved" per interested route
    write(store, bucket("phi-a-logging-off", logging=True, tags={"PHI": "Yes"}, capture="2026-06-02T00:00:00Z"))
    evaluate(store, pol, T0 + dt.timedelta(days=1))
    deliver(store, pol, now=T0 + dt.timedelta(days=1))
    resolved = [(r["path"], r["headers"]["X-Phiwatch-Event"]) for r in receiver.requests[3:]]
    assert sorted(resolved) == [("/all", "resolved"), ("/phi-only", "resolved"), ("/resolved-only", "resolved")]
    assert {r["status"] for r in outbox_rows(store)} == {"sent"}


def test_digest_is_one_message_per_run_listing_every_change(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, *[bucket(f"b{i}-logging-off", logging=False) for i in range(5)])
    pol = policy("notifications:\n" + hook("digest", receiver.url, "digest: true"))
    evaluate(store, pol)
    result = deliver(store, pol, now=T0)
    assert (result.sent, result.route("digest").messages) == (5, 1)
    [body] = receiver.json("/digest")
    assert list(body) == ["event", "findings"] and body["event"] == "digest"
    assert sorted(f["resource_id"] for f in body["findings"]) == [f"b{i}-logging-off" for i in range(5)]
    assert all(f["event"] == "opened" and "_recipient" not in f for f in body["findings"])
    evaluate(store, pol, T0 + dt.timedelta(hours=1))
    assert deliver(store, pol, now=T0 + dt.timedelta(hours=1)).sent == 0
    assert len(receiver.requests) == 1


def test_reminders_for_still_open_findings(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("a-logging-off", logging=False), bucket("b-logging-off", logging=False))
    pol = policy("notifications:\n" + hook("remind", receiver.url, "reminder_hours: 24") + hook("plain", receiver.url))
    evaluate(store, pol)
    deliver(store, pol, now=T0)
    assert enqueue_reminders(store, pol, {}, now=T0 + dt.timedelta(hours=23)) == 0
    result = deliver(store, pol, now=T0 + dt.timedelta(hours=25))
    assert result.route("remind").sent == 2 and result.route("plain") is None
    reminders = [b for b in receiver.json("/remind") if b["event"] == "reminder"]
    assert sorted(b["resource_id"] for b in reminders) == ["a-logging-off", "b-logging-off"]
    assert deliver(store, pol, now=T0 + dt.timedelta(hours=30)).sent == 0  # the next one is due 24 h after the reminder
    # a resolved finding gets no more reminders
    write(store, bucket("a-logging-off", logging=True, capture="2026-06-03T00:00:00Z"))
    evaluate(store, pol, T0 + dt.timedelta(hours=40))
    deliver(store, pol, now=T0 + dt.timedelta(hours=40))
    later = deliver(store, pol, now=T0 + dt.timedelta(hours=50))
    assert later.route("remind").sent == 1
    assert receiver.json("/remind")[-1]["resource_id"] == "b-logging-off"


def test_webhook_500_retried_with_backoff_then_delivered_once_recovered(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("a-logging-off", logging=False), bucket("b-logging-off", logging=False))
    pol = policy("notifications:\n" + hook("flaky", receiver.url))
    evaluate(store, pol)
    # one 500 then OK: retried within the run
    receiver.statuses = [500]
    slept: list[float] = []
    result = Dispatcher(store, pol, sleep=no_sleep(slept), backoff=0.5).dispatch(now=T0)
    assert (result.sent, result.retried, result.failed) == (2, 1, 0)
    assert slept == [0.5]
    first = outbox_rows(store)[0]
    assert first["attempts"] == 2 and "HTTP 500" in first["last_error"]  # why it needed a retry
    # a receiver down for longer: bounded attempts per run, then kept as failed with backoff
    write(store, bucket("c-logging-off", logging=False))
    evaluate(store, pol, T0 + dt.timedelta(minutes=1))
    receiver.statuses = [500] * 10
    slept.clear()
    down = Dispatcher(store, pol, sleep=no_sleep(slept), max_attempts=3, backoff=0.5, retry_base=60).dispatch(
        now=T0 + dt.timedelta(minutes=1)
    )
    assert (down.sent, down.failed) == (0, 1)
    assert slept == [0.5, 1.0]  # exponential backoff between the 3 attempts
    row = outbox_rows(store)[-1]
    assert row["status"] == "failed" and row["attempts"] == 3 and row["last_error"].startswith("HTTP 500 from 127.0.0.1")
    # not due before its backoff ends
    assert Dispatcher(store, pol, sleep=no_sleep()).dispatch(now=T0 + dt.timedelta(minutes=1, seconds=30)).sent == 0
    receiver.statuses = []  # recovered
    recovered = Dispatcher(store, pol, sleep=no_sleep()).dispatch(now=T0 + dt.timedelta(minutes=3))
    assert recovered.sent == 1
    assert [b["resource_id"] for b in receiver.json("/flaky")] == ["a-logging-off", "b-logging-off", "c-logging-off"]
    assert outbox_rows(store)[-1]["status"] == "sent" and outbox_rows(store)[-1]["attempts"] == 4


def test_hanging_webhook_times_out_without_blocking_other_routes(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    from notify_support import Receiver

    slow = Receiver()
    try:
        slow.hang = 3.0
        write(store, *[bucket(f"b{i}-logging-off", logging=False) for i in range(20)])
        pol = policy("notifications:\n" + hook("hanging", slow.url) + hook("healthy", receiver.url))
        evaluate(store, pol)
        result = Dispatcher(store, pol, timeout=0.3, max_attempts=2, backoff=0.05).dispatch(now=T0)
        assert result.route("healthy").sent == 20
        hanging = result.route("hanging")
        assert (hanging.sent, hanging.failed) == (0, 20)
        assert "no response from 127.0.0.1" in hanging.errors[0] and "within 0.3s" in hanging.errors[0]
        assert len(slow.requests) == 2  # the channel is failing: one message per attempt, not 20 timeouts
        rows = [r for r in outbox_rows(store) if r["route"] == "hanging"]
        assert sum(r["attempts"] for r in rows) == 2 and {r["status"] for r in rows} == {"failed", "pending"}
        assert all("no response" in r["last_error"] for r in rows)
        slow.hang = 0
        later = Dispatcher(store, pol, timeout=2).dispatch(now=T0 + dt.timedelta(hours=2))
        assert later.route("hanging").sent == 20 and later.route("healthy") is None
    finally:
        slow.stop()


def test_smtp_refusing_then_recovering(store, smtp_server, monkeypatch):
    monkeypatch.setenv("SMTP_USER", smtp_server.user)
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password")
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("a-logging-off", logging=False), bucket("b-logging-off", logging=False))
    smtp = (
        f"{{host: 127.0.0.1, port: {smtp_server.port}, from_address: phiwatch@example.org, username_env: SMTP_USER, "
        f"password_env: SMTP_PASSWORD, ca_file: '{smtp_server.cert}'}}"
    )
    pol = policy(f"notifications:\n  - {{name: mail, channel: email, target: sec@example.org, smtp: {smtp}}}\n")
    evaluate(store, pol)
    bad = Dispatcher(store, pol, sleep=no_sleep()).dispatch(now=T0)
    assert bad.failed == 2 and "SMTP authentication failed at 127.0.0.1" in bad.route("mail").errors[0]
    assert "wrong-password" not in str(outbox_rows(store))
    assert smtp_server.connections == 1  # not retried in the run: the password will not change by itself
    assert all(tls for _, tls in smtp_server.logins)
    # right password, but the server refuses the message for a while (451: try later)
    monkeypatch.setenv("SMTP_PASSWORD", smtp_server.password)
    smtp_server.data_replies = ["451 4.3.0 mailbox busy"] * 5  # 2 messages x 2 attempts, then the first once more
    slept: list[float] = []
    busy = Dispatcher(store, pol, sleep=no_sleep(slept), max_attempts=3).dispatch(now=T0 + dt.timedelta(hours=1))
    assert busy.sent == 1 and busy.failed == 1 and "451" in busy.route("mail").errors[0]
    assert len(slept) == 2 and smtp_server.connections == 2  # one connection for the whole batch and its retries
    ok = Dispatcher(store, pol, sleep=no_sleep()).dispatch(now=T0 + dt.timedelta(hours=3))
    assert ok.sent == 1
    assert sorted(m["msg"]["Subject"].rsplit(" ", 1)[-1] for m in smtp_server.messages) == ["a-logging-off", "b-logging-off"]


def test_claimed_rows_of_a_crashed_dispatcher_are_sent_after_the_lease(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("a-logging-off", logging=False))
    pol = policy("notifications:\n" + hook("h", receiver.url))
    evaluate(store, pol)
    crashed = Dispatcher(store, pol, lease=600)
    assert len(crashed._claim(T0, None, None, False)) == 1  # claimed, then the process died
    assert Dispatcher(store, pol).dispatch(now=T0 + dt.timedelta(minutes=5)).sent == 0  # leased: not sent twice
    assert Dispatcher(store, pol).dispatch(now=T0 + dt.timedelta(minutes=11)).sent == 1
    assert len(receiver.requests) == 1


def test_concurrent_dispatchers_send_each_alert_once(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, *[bucket(f"b{i}-logging-off", logging=False) for i in range(30)])
    pol = policy("notifications:\n" + hook("h", receiver.url))
    evaluate(store, pol)
    results = []
    threads = [threading.Thread(target=lambda: results.append(Dispatcher(store, pol).dispatch(now=T0))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 30
    assert len(receiver.requests) == 30 and len({r["body"] for r in receiver.requests}) == 30


def test_route_removed_from_policy_keeps_its_alerts(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("a-logging-off", logging=False))
    pol = policy("notifications:\n" + hook("old", receiver.url))
    evaluate(store, pol)
    without = policy("notifications:\n" + hook("new", receiver.url))
    result = Dispatcher(store, without).dispatch(now=T0)
    assert result.failed == 1 and "not in the policy" in result.route("old").errors[0]
    [row] = outbox_rows(store)
    assert row["status"] == "pending"  # never dropped
    assert Dispatcher(store, pol).dispatch(now=T0 + dt.timedelta(hours=1)).sent == 1


def test_routing_by_severity_sections_accounts_and_to_several_routes(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("a-logging-off", logging=False, tags={"PHI": "Yes"}))
    pol = policy(
        "notifications:\n"
        + hook("medium", receiver.url, "when: {severity: [medium]}")
        + hook("high", receiver.url, "when: {severity: [high, critical]}")
        + hook("audit-controls", receiver.url, "when: {hipaa_sections: ['164.312(b)']}")
        + hook("integrity", receiver.url, "when: {hipaa_sections: ['164.312(c)(2)']}")
        + hook("our-account", receiver.url, "when: {accounts: ['111122223333']}")
        + hook("other-account", receiver.url, "when: {accounts: ['999999999999']}")
        + hook("all-of", receiver.url, "when: {severity: [medium], tags: {PHI: 'Yes'}, events: [opened], accounts: ['111122223333']}")
        + hook("one-miss", receiver.url, "when: {severity: [medium], tags: {PHI: 'No'}}")
    )
    evaluate(store, pol)
    result = deliver(store, pol, now=T0)
    assert sorted(r.route for r in result.routes if r.sent) == ["all-of", "audit-controls", "medium", "our-account"]
    assert result.failed == 0
    bodies = [b for path in ("/medium", "/audit-controls", "/our-account", "/all-of") for b in receiver.json(path)]
    assert len(bodies) == 4 and {b["finding_id"] for b in bodies} == {bodies[0]["finding_id"]}
    assert [r["path"] for r in receiver.requests if r["path"] in ("/high", "/integrity", "/other-account", "/one-miss")] == []


def test_exception_granted_then_expired_are_alerted(store, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("site-logging-off", logging=False))
    pol = policy(
        "exceptions:\n"
        "  - {rule: s3-bucket-logging-enabled, resource: site-logging-off, justification: Static site without PHI, "
        "owner: web@example.org, expires: 2026-06-30}\n"
        "notifications:\n"
        + hook("exceptions", receiver.url, "when: {events: [excepted, exception_expired]}")
        + hook("new-only", receiver.url, "when: {events: [opened]}")
    )
    evaluate(store, pol)
    deliver(store, pol, now=T0)
    assert [b["event"] for b in receiver.json("/exceptions")] == ["excepted"]
    later = T0 + dt.timedelta(days=40)  # past the exception's expiry: the finding reopens
    assert [e["event"] for e in evaluate(store, pol, later).events] == ["exception_expired"]
    deliver(store, pol, now=later)
    got = receiver.json("/exceptions")
    assert [b["event"] for b in got] == ["excepted", "exception_expired"] and got[1]["resource_id"] == "site-logging-off"
    assert receiver.json("/new-only") == []
    assert deliver(store, pol, now=later + dt.timedelta(hours=1)).sent == 0  # once per (finding, event, route)
