"""Recovery after a process died mid-work (what bench/faults.py found with kill -9): alerts claimed
by a dead dispatcher, a delivery batch cut short, remediations left running."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess

import pytest
from sqlalchemy import update

from notify_support import T0, bucket, evaluate, outbox_rows, policy, receiver, write  # noqa: F401 - fixtures
from phiwatch.notify.dispatcher import Dispatcher, deliver
from phiwatch.store.claims import holder_gone, process_token
from phiwatch.store.tables import outbox

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


# -- remediations left running by a dead process ------------------------------------------------
VERSIONING = "s3-bucket-versioning-enabled"


def _auto_policy():
    from phiwatch.policy import parse_policy

    return parse_policy(f"packs: [hipaa]\nremediation:\n  mode: 'off'\n  rules:\n    {VERSIONING}: {{mode: auto}}\n", "policy.yaml", ".")


def _scan(aws_env, store, pol):
    from phiwatch.scan import run_scan

    return run_scan(aws_env.context(regions=["eu-west-1"]), store, pol, services=["s3"])


def _rows(store, table, *where):
    from sqlalchemy import select

    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]


@pytest.mark.parametrize("calls_sent", [True, False], ids=["died-after-the-call", "died-before-the-call"])
def test_a_remediation_left_running_by_a_dead_process_is_closed_audited_and_not_repeated(aws_env, store, monkeypatch, calls_sent):
    """A scan killed while a runbook ran left the remediation ``running`` for ever, executed but
    never audited, and the next scan either saw the fix as a finding that resolved by itself or
    never retried. Now the next scan judges it on the re-collected item: applied (the finding
    remediated, audited) when the calls took effect, else closed as interrupted and run again."""
    from phiwatch.remediate import applying, audit, orchestrator
    from phiwatch.store.tables import finding_events, findings, remediations

    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="phi-versioning-off", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    pol = _auto_policy()

    class Died(BaseException):
        pass

    original = orchestrator.Remediator._execute

    def execute_then_die(self, doc, params, region):
        if calls_sent:
            original(self, doc, params, region)
        raise Died()

    monkeypatch.setattr(orchestrator.Remediator, "_execute", execute_then_die)
    monkeypatch.setattr(applying, "process_token", dead_token)
    with pytest.raises(Died):
        _scan(aws_env, store, pol)
    monkeypatch.undo()
    [running] = _rows(store, remediations)
    assert running["status"] == "running" and running["executed"]
    sent_puts = {"n": 0}

    def count_put(**_):
        sent_puts["n"] += 1

    from phiwatch.aws import session as aws_session

    monkeypatch.setattr(aws_session.AwsContext, "client", _counting_client(aws_session.AwsContext.client, count_put))
    outcome = _scan(aws_env, store, pol)  # the re-run: a plain scan
    monkeypatch.undo()

    by_status = sorted((r["status"], (r["reason"] or "")[:13]) for r in _rows(store, remediations))
    if calls_sent:
        assert by_status == [("applied", "interrupted: ")]  # the run that died took effect
        assert sent_puts["n"] == 0  # and was not repeated
    else:
        assert by_status == [("applied", ""), ("failed", "interrupted: ")]
        assert sent_puts["n"] == 1
    [finding] = _rows(store, findings, findings.c.rule_id == VERSIONING)
    assert finding["status"] == "remediated"
    events = [e["event"] for e in _rows(store, finding_events, finding_events.c.finding_id == finding["id"])]
    # the lifecycle event (what point-in-time answers read) and the alert's, once each
    assert events == ["opened", "remediated", "remediation_applied"]
    assert {e["event"] for e in outcome.scan["events"]} >= {"remediation_applied"}
    assert s3.get_bucket_versioning(Bucket="phi-versioning-off")["Status"] == "Enabled"
    with store.engine.connect() as conn:
        assert audit.verify(conn).ok
        executes = [e for e in audit.entries(conn) if e["action"] == "execute"]
    assert {e["remediation_id"] for e in executes} == {r["id"] for r in _rows(store, remediations)}  # every run audited


def _counting_client(client_method, on_put):
    def client(self, service, region=None):
        c = client_method(self, service, region)
        if service == "s3" and not getattr(c, "_counted_puts", False):
            c.meta.events.register("before-send.s3.PutBucketVersioning", lambda **kw: on_put(**kw))
            c._counted_puts = True
        return c

    return client


# -- the first call of a run, throttled -------------------------------------------------------------
def test_a_throttled_first_call_is_retried_not_read_as_refused_credentials(aws_env):
    """The STS probe (2 attempts, so an unreachable endpoint fails in seconds) gave up on two
    throttling answers in a row: the whole scan stopped with exit 3, "check that the credentials are
    valid". Throttling and 5xx answers are retried with the ordinary, adaptive client."""
    import boto3
    from botocore.awsrequest import AWSResponse

    from phiwatch.aws.session import AwsContext

    class Body:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def stream(self, **_):
            yield self.data

    answered = {"n": 0}

    def throttle(request, **_):
        answered["n"] += 1
        if answered["n"] <= 3:
            body = (
                b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
            )
            return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, Body(body))
        return None

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    session.events.register("before-send.sts.GetCallerIdentity", throttle)
    assert AwsContext(endpoint_url=aws_env.endpoint, session=session).check_access() == "123456789012"
    assert answered["n"] == 4


def test_a_refused_connection_still_fails_fast():
    import boto3

    from phiwatch.aws.session import AwsContext
    from phiwatch.emulator import free_port
    from phiwatch.errors import CannotRunError

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    with pytest.raises(CannotRunError, match="cannot reach"):
        AwsContext(endpoint_url=f"http://127.0.0.1:{free_port()}", session=session).check_access()
