"""Recovery after a process died mid-work (what bench/faults.py found with kill -9): alerts claimed
by a dead dispatcher, a delivery batch cut short, remediations left running."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess

import pytest
from sqlalchemy import update

from phiwatch.notify.dispatcher import Dispatcher, deliver
from phiwatch.store.claims import holder_gone, process_token
from phiwatch.store.tables import outbox
from test_notify_support import T0, bucket, evaluate, outbox_rows, policy, receiver, write  # noqa: F401 - fixtures

KEY = "recovery-signing-key"


def dead_token() -> str:
    """The claim token of a process of this host that has exited."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}:1"


def hook_policy(url: str):
    return policy(f"notifications:\n  - {{name: hook, channel: webhook, target: '{url}/hook', secret_env: HOOK_KEY}}\n")


def test_claim_tokens_tell_a_dead_holder_from_a_live_one():
    assert not holder_gone(process_token())
    assert holder_gone(dead_token())
    assert not holder_gone("another-host:1:1") and not holder_gone(None) and not holder_gone("garbage")
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        from phiwatch.store.claims import _start_ticks

        assert not holder_gone(f"{socket.gethostname()}:{sleeper.pid}:{_start_ticks(sleeper.pid)}")
        assert holder_gone(f"{socket.gethostname()}:{sleeper.pid}:1")  # same pid, another process (recycled)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_alerts_claimed_by_a_dead_dispatcher_go_out_on_the_next_run(store, receiver, monkeypatch):
    """A dispatcher killed after claiming its rows held them for the whole lease (10 minutes):
    the next scan sent nothing. Rows of a holder that is gone are due at once; a live holder's are not."""
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, bucket("logs-off-a", logging=False), bucket("logs-off-b", logging=False))
    pol = hook_policy(receiver.url)
    evaluate(store, pol)
    first, second = [r["id"] for r in outbox_rows(store)]
    lease_end = T0 + dt.timedelta(minutes=10)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        from phiwatch.store.claims import _start_ticks

        live = f"{socket.gethostname()}:{sleeper.pid}:{_start_ticks(sleeper.pid)}"
        with store.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id == first).values(next_attempt_at=lease_end, claimed_by=dead_token()))
            conn.execute(update(outbox).where(outbox.c.id == second).values(next_attempt_at=lease_end, claimed_by=live))
        result = deliver(store, pol, now=T0 + dt.timedelta(seconds=5))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.sent == 1
    assert [r["body"] for r in receiver.requests] and len(receiver.requests) == 1
    rows = {r["id"]: r for r in outbox_rows(store)}
    assert (rows[first]["status"], rows[first]["claimed_by"]) == ("sent", None)
    assert rows[second]["status"] == "pending"  # still leased by a running dispatcher


def test_a_batch_cut_short_resends_only_what_was_not_recorded(store, receiver, monkeypatch):
    """The results of a route's batch were written only after the last message: a process dying
    after sending some messages sent them all again on the next run. Each accepted message is
    recorded as sent at once."""
    monkeypatch.setenv("HOOK_KEY", KEY)
    write(store, *(bucket(f"logs-off-{i}", logging=False) for i in range(4)))
    pol = hook_policy(receiver.url)
    evaluate(store, pol)

    class Died(BaseException):
        """The process ends here (BaseException: no handler of phiwatch's records anything)."""

    sends = {"n": 0}
    original = Dispatcher._record_sent

    def record_then_die(self, channel, by_id, messages, now):
        original(self, channel, by_id, messages, now)
        sends["n"] += len(messages)
        if sends["n"] == 3:
            raise Died()

    monkeypatch.setattr(Dispatcher, "_record_sent", record_then_die)
    with pytest.raises(Died):
        deliver(store, pol, now=T0)
    monkeypatch.undo()
    monkeypatch.setenv("HOOK_KEY", KEY)
    assert [r["status"] for r in outbox_rows(store)] == ["sent", "sent", "sent", "pending"]
    with store.engine.begin() as conn:  # the dead process's claim
        conn.execute(update(outbox).where(outbox.c.status != "sent").values(claimed_by=dead_token()))
    assert deliver(store, pol, now=T0 + dt.timedelta(seconds=5)).sent == 1
    ids = [r["headers"]["X-Phiwatch-Delivery"] for r in receiver.requests]
    assert len(ids) == 4 and len(set(ids)) == 4  # each alert once
