"""Retries by error class through boto3 over HTTP: a server in front of the emulator answers chosen
operations with 501, 500 or throttling (``faultserver.py``), in each wire protocol, and the attempts
are counted twice, by the server and by ``AwsContext.retry_stats``, and asserted exactly.

* 501 ``NotImplemented``: one attempt, and a "could not check" error naming the API;
* 500: three attempts (``transient_attempts``), then "could not check";
* throttled N times, then answered: N + 1 attempts and nothing missing; throttled on every
  attempt: ``max_attempts`` + 1 attempts;
* a spent retry budget: every later failure is given up at its first attempt.

botocore's back-off is zero here and its adaptive rate limiter never waits: both only space the
attempts in time, they never change how many are made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.retries import bucket, standard
from faultserver import NOT_IMPLEMENTED, SERVER_ERROR, THROTTLE, Fault, FaultServer

from phiwatch.aws.session import AwsContext
from phiwatch.collect.runner import CollectResult, collect
from phiwatch.emulator import EMULATOR_ACCOUNT
from phiwatch.store import Store

REGION = "us-east-1"
BUCKET = "perf-retried-bucket"


@dataclass(frozen=True)
class Target:
    """An operation a collection of ``collector`` makes exactly once on the seeded estate."""

    collector: str
    #: the service as AwsContext.counter (botocore's service id) and retry_stats (boto3's name) both name it
    service: str
    operation: str
    seed: Callable[[Any], None] = lambda aws_env: None
    where: str = ""
    #: the resource of the "could not check" error (None: a listing, whose error names no resource)
    resource_id: str | None = None


def _topic(aws_env) -> None:
    aws_env.client("sns").create_topic(Name="perf-retried-topic")


def _bucket(aws_env) -> None:
    aws_env.client("s3").create_bucket(Bucket=BUCKET)


#: one operation per wire protocol
TARGETS = {
    "json": Target("ssm", "ssm", "DescribeInstanceInformation"),
    "query": Target("sns", "sns", "GetTopicAttributes", _topic, resource_id=f"arn:aws:sns:{REGION}:{EMULATOR_ACCOUNT}:perf-retried-topic"),
    "ec2": Target("ec2", "ec2", "GetEbsEncryptionByDefault", resource_id=EMULATOR_ACCOUNT),  # the account part
    "rest-xml": Target("s3", "s3", "GetBucketVersioning", _bucket, where=f"/{BUCKET}", resource_id=BUCKET),
    "rest-json": Target("efs", "efs", "DescribeFileSystems"),
}
PROTOCOLS = sorted(TARGETS)


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    """No back-off between attempts, and the adaptive rate limiter lets every request go at once."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)


@pytest.fixture
def server(emulator):
    emulator.reset()
    fault_server = FaultServer().start()
    yield fault_server
    fault_server.stop()


@pytest.fixture(scope="module")
def session(emulator):
    """One boto3 session for the module's contexts: its clients share the service models it loaded."""
    return emulator.session(REGION)


def _context(server: FaultServer, session, **retries: int) -> AwsContext:
    return AwsContext(endpoint_url=server.endpoint, regions=[REGION], session=session, **retries)


def _collect(aws: AwsContext, store: Store, target: Target) -> CollectResult:
    return collect(aws, store, services=[target.collector])


def _api(aws: AwsContext, target: Target) -> dict[str, Any]:
    stats = {(a["service"], a["api"]): a for a in aws.retry_stats.summary()["apis"]}
    return stats.get((target.service, target.operation), {"retries": 0, "throttles": 0, "give_ups": 0})


def _errors(result: CollectResult) -> list[tuple[str, str, str | None]]:
    return [(e.api, e.error, e.resource_id) for e in result.errors]


def _could_not_check(target: Target, code: str) -> list[tuple[str, str, str | None]]:
    return [(target.operation, code, target.resource_id)]


def _called_once(aws_env, server: FaultServer, session, store: Store, target: Target, **retries: int) -> AwsContext:
    """A context whose collection, without faults, calls the target exactly once (so the counts
    after this are its attempts); its counts are then cleared."""
    target.seed(aws_env)
    aws = _context(server, session, **retries)
    assert _collect(aws, store, target).errors == []
    assert server.attempts(target.operation) == 1
    assert aws.counter.per_operation()[(target.service, target.operation)] == 1
    server.requests.clear()
    aws.counter.reset()
    return aws


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_not_implemented_is_asked_once_and_could_not_check_names_the_api(aws_env, server, session, store, protocol):
    target = TARGETS[protocol]
    aws = _called_once(aws_env, server, session, store, target, max_attempts=10, transient_attempts=3)
    server.faults.append(Fault(target.operation, NOT_IMPLEMENTED, where=target.where))

    result = _collect(aws, store, target)

    assert server.attempts(target.operation) == 1
    assert aws.counter.per_operation()[(target.service, target.operation)] == 1
    assert _errors(result) == _could_not_check(target, "NotImplemented")
    api = _api(aws, target)
    assert (api["retries"], api["throttles"], api["give_ups"]) == (0, 0, 1)
    assert api["gave_up_because"] == "not retried: the call cannot succeed (NotImplemented)"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_error_is_asked_three_times(aws_env, server, session, store, protocol):
    target = TARGETS[protocol]
    aws = _called_once(aws_env, server, session, store, target, max_attempts=10, transient_attempts=3)
    server.faults.append(Fault(target.operation, SERVER_ERROR, where=target.where))

    result = _collect(aws, store, target)

    code = "InternalFailure" if protocol in ("json", "rest-json") else "InternalError"
    assert server.attempts(target.operation) == 3
    assert aws.counter.per_operation()[(target.service, target.operation)] == 3
    assert _errors(result) == _could_not_check(target, code)
    api = _api(aws, target)
    assert (api["retries"], api["throttles"], api["give_ups"]) == (2, 0, 1)
    assert api["gave_up_because"] == "transient: gave up after 3 attempts"


@pytest.mark.parametrize(("protocol", "throttles"), [("json", 1), ("query", 2), ("ec2", 3), ("rest-xml", 4), ("rest-json", 10)])
def test_throttled_n_times_then_answered_takes_n_plus_one_attempts(aws_env, server, session, store, protocol, throttles):
    target = TARGETS[protocol]
    aws = _called_once(aws_env, server, session, store, target, max_attempts=10)
    server.faults.append(Fault(target.operation, THROTTLE, times=throttles, where=target.where))

    result = _collect(aws, store, target)

    assert server.attempts(target.operation) == throttles + 1
    assert aws.counter.per_operation()[(target.service, target.operation)] == throttles + 1
    assert result.errors == []
    api = _api(aws, target)
    assert (api["retries"], api["throttles"], api["give_ups"]) == (throttles, throttles, 0)
    assert aws.retry_stats.summary()["budget_left"] == 1000 - throttles


def test_throttled_on_every_attempt_gives_up_after_max_attempts_retries(aws_env, server, session, store):
    target = TARGETS["query"]
    aws = _called_once(aws_env, server, session, store, target, max_attempts=4)
    server.faults.append(Fault(target.operation, THROTTLE, where=target.where))

    result = _collect(aws, store, target)

    assert server.attempts(target.operation) == 5
    assert _errors(result) == _could_not_check(target, "Throttling")
    api = _api(aws, target)
    assert (api["retries"], api["throttles"], api["give_ups"]) == (4, 5, 1)
    assert api["gave_up_because"] == "throttle: gave up after 5 attempts"


def test_a_spent_retry_budget_answers_every_later_failure_at_once(aws_env, server, session, store):
    s3 = aws_env.client("s3")
    buckets = [f"perf-budget-{n}" for n in range(3)]
    for name in buckets:
        s3.create_bucket(Bucket=name)
    server.faults += [Fault("GetBucketVersioning", SERVER_ERROR, where=f"/{name}") for name in buckets]
    aws = _context(server, session, transient_attempts=3, retry_budget=2)

    result = collect(aws, store, services=["s3"])

    # three first attempts and the two retries the budget holds, whichever buckets they went to
    assert server.attempts("GetBucketVersioning") == 5
    assert sorted(e.resource_id for e in result.errors) == buckets
    assert {(e.api, e.error) for e in result.errors} == {("GetBucketVersioning", "InternalError")}
    summary = aws.retry_stats.summary()
    assert (summary["retries"], summary["give_ups"], summary["budget_left"]) == (2, 3, 0)
    assert "the scan's retry budget (2) is spent" in summary["apis"][0]["gave_up_because"]

    # the budget is the context's: a throttle in a later collection is not retried either
    server.faults = [Fault("GetBucketAcl", THROTTLE, times=1, where=f"/{buckets[0]}")]
    server.requests.clear()
    result = collect(aws, store, services=["s3"])

    assert server.attempts("GetBucketAcl") == len(buckets)  # one attempt each: the throttled one was not retried
    assert [(e.api, e.error, e.resource_id) for e in result.errors] == [("GetBucketAcl", "SlowDown", buckets[0])]
    acl = next(a for a in aws.retry_stats.summary()["apis"] if a["api"] == "GetBucketAcl")
    assert (acl["retries"], acl["throttles"], acl["give_ups"]) == (0, 1, 1)
    assert acl["gave_up_because"] == "throttle: the scan's retry budget (2) is spent"
