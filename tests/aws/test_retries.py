"""Retries by error class (phiwatch/aws/retries.py) against the emulator, with chosen answers injected
before the request leaves the client: attempt counts, "could not check" reasons and the budget."""

from __future__ import annotations

from phiwatch.aws.session import AwsContext
from phiwatch.collect.runner import collect
from phiwatch.resources.s3 import BUCKET
from stored import stored_item
from test_faults import Fault, FaultInjector


def _context(aws_env, **retries) -> AwsContext:
    aws = AwsContext(endpoint_url=aws_env.endpoint, session=aws_env.emu.session(), **retries)
    return aws


def _errors(store, bucket: str) -> list[tuple[str, str]]:
    return [(e["api"], e["error"]) for e in stored_item(store, bucket, BUCKET)["collectionErrors"]]


def test_each_error_class_has_its_own_attempts(aws_env, store):
    s3 = aws_env.client("s3")
    for name in ("retry-not-implemented", "retry-server-error", "retry-throttled"):
        s3.create_bucket(Bucket=name)
    aws = _context(aws_env, max_attempts=4, transient_attempts=3)
    for _ in range(2):  # let the adaptive rate limiter measure the send rate before any throttle
        assert collect(aws, store, services=["s3"]).errors == []
    faults = FaultInjector(
        Fault("GetBucketLogging", 1000, 501, "NotImplemented", url_part="/retry-not-implemented"),
        Fault("GetBucketVersioning", 1000, 500, "InternalError", url_part="/retry-server-error"),
        Fault("GetBucketAcl", 2, 400, "Throttling", url_part="/retry-throttled"),
    ).install(aws)
    result = collect(aws, store, services=["s3"])

    assert faults.injected[0] == 1  # permanent: never retried
    assert faults.injected[1] == 3  # transient: 3 attempts in all, not max_attempts
    assert faults.injected[2] == 2  # throttled twice, then answered
    assert sorted((e.api, e.error, e.resource_id) for e in result.errors) == [
        ("GetBucketLogging", "NotImplemented", "retry-not-implemented"),
        ("GetBucketVersioning", "InternalError", "retry-server-error"),
    ]
    assert ("GetBucketLogging", "NotImplemented") in _errors(store, "retry-not-implemented")
    assert _errors(store, "retry-throttled") == []  # the throttled read succeeded on its third attempt
    stats = {(a["service"], a["api"]): a for a in aws.retry_stats.summary()["apis"]}
    assert stats[("s3", "GetBucketAcl")]["throttles"] == 2 and stats[("s3", "GetBucketAcl")]["retries"] == 2
    assert stats[("s3", "GetBucketVersioning")]["retries"] == 2 and stats[("s3", "GetBucketVersioning")]["give_ups"] == 1
    assert "gave up after 3 attempts" in stats[("s3", "GetBucketVersioning")]["gave_up_because"]
    assert stats[("s3", "GetBucketLogging")]["retries"] == 0
    assert "cannot succeed (NotImplemented)" in stats[("s3", "GetBucketLogging")]["gave_up_because"]


def test_a_spent_retry_budget_stops_retrying(aws_env, store):
    s3 = aws_env.client("s3")
    for name in ("budget-a", "budget-b"):
        s3.create_bucket(Bucket=name)
    aws = _context(aws_env, transient_attempts=3, retry_budget=2)
    faults = FaultInjector(
        Fault("GetBucketVersioning", 1000, 503, "ServiceUnavailable", url_part="/budget-a"),
        Fault("GetBucketVersioning", 1000, 503, "ServiceUnavailable", url_part="/budget-b"),
    ).install(aws)
    result = collect(aws, store, services=["s3"])
    summary = aws.retry_stats.summary()
    assert summary["retries"] == 2 and summary["budget_left"] == 0  # the budget, and no more
    assert sum(faults.injected.values()) == 4  # 2 first attempts + the 2 retries the budget allowed
    assert sorted(e.resource_id for e in result.errors if e.api == "GetBucketVersioning") == ["budget-a", "budget-b"]
    assert "retry budget (2) is spent" in next(a for a in summary["apis"] if a["api"] == "GetBucketVersioning")["gave_up_because"]
