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


def test_an_operation_the_endpoint_does_not_have_is_asked_once_per_run(aws_env, store):
    """UnknownOperation for one table's DescribeContinuousBackups: the other tables are not asked
    (each is "could not check" with the same code at once), until the next run."""
    import json

    from botocore.awsrequest import AWSResponse

    from test_faults import _Body

    ddb = aws_env.client("dynamodb")
    for n in range(3):
        ddb.create_table(
            TableName=f"unknown-op-{n}",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    aws = _context(aws_env)
    aws.limiter.service_limits["dynamodb"] = 1  # one table after the other (in parallel, calls already in flight are answered)
    sent: list[str] = []

    def unknown(request, event_name, **_):
        if event_name.endswith(".DescribeContinuousBackups"):
            sent.append(event_name)
            body = json.dumps({"__type": "com.amazonaws.dynamodb#UnknownOperationException", "message": "no such operation"})
            return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body.encode()))
        return None

    aws.client("dynamodb", "us-east-1").meta.events.register("before-send", unknown)
    result = collect(aws, store, services=["dynamodb"], regions=["us-east-1"])

    assert len(sent) == 1  # asked once; the other two tables were not asked
    failed = sorted((e.api, e.error, e.resource_id) for e in result.errors)
    assert failed == [("DescribeContinuousBackups", "UnknownOperationException", f"unknown-op-{n}") for n in range(3)]
    row = next(a for a in aws.retry_stats.summary()["apis"] if a["api"] == "DescribeContinuousBackups")
    assert row["not_sent"] == 2 and row["retries"] == 0
    aws.retry_stats.refill()  # a new run asks again
    collect(aws, store, services=["dynamodb"], regions=["us-east-1"])
    assert len(sent) == 2
