"""Requests in flight (phiwatch/aws/limits.py): one limit for the run and one per service, slots
given back after every attempt whatever its answer, and requests counted per collection task."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from phiwatch.aws.limits import RequestLimiter, TaskStats, propagating, task_scope
from phiwatch.aws.session import AwsContext
from phiwatch.collect.runner import CollectionTask, collect, plan_tasks, run_task
from test_faults import Fault, FaultInjector

REGION = "us-east-1"


def _context(aws_env, workers: int, **limits: int) -> AwsContext:
    aws = AwsContext(endpoint_url=aws_env.endpoint, session=aws_env.emu.session(), workers=workers)
    aws.limiter.service_limits.update(limits)
    return aws


def _slow(aws: AwsContext, service: str, seconds: float) -> None:
    """Hold every request of ``service`` for ``seconds`` after it took its slot (as a slow network would)."""
    aws.client(service).meta.events.register_last("before-send", lambda **_: time.sleep(seconds))


def _together(calls: list[Any]) -> None:
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a request never got a slot"


def test_no_more_requests_in_flight_than_the_limits_allow(aws_env):
    aws = _context(aws_env, workers=4, s3=2)
    for service in ("s3", "sns", "sqs"):
        _slow(aws, service, 0.05)
    calls = [aws.client("s3").list_buckets] * 8 + [aws.client("sns").list_topics] * 8 + [aws.client("sqs").list_queues] * 8
    _together(calls)

    assert aws.limiter.peak == 4  # the run's limit, reached and never passed
    assert aws.limiter.peak_by_service[("s3", REGION)] == 2  # S3's own limit
    assert aws.limiter.peak_by_service[("sns", REGION)] <= 4
    assert aws.limiter.in_flight == 0


def test_a_slot_is_given_back_after_every_attempt_whatever_the_answer(aws_env):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="slots-bucket")
    aws = _context(aws_env, workers=1, s3=1)
    FaultInjector(
        Fault("GetBucketVersioning", 2, 400, "Throttling"),  # retried, then answered
        Fault("GetBucketLogging", 1000, 500, "InternalError"),  # 3 attempts, then given up
        Fault("GetBucketAcl", 1000, 501, "NotImplemented"),  # never retried
        Fault("GetBucketPolicy", 1000, 403, "AccessDenied"),
    ).install(aws)
    client = aws.client("s3")
    client.get_bucket_versioning(Bucket="slots-bucket")
    for call in (client.get_bucket_logging, client.get_bucket_acl, client.get_bucket_policy):
        with pytest.raises(ClientError):
            call(Bucket="slots-bucket")
    assert aws.limiter.in_flight == 0
    # one slot in all: every call above gave it back, or this one would wait for ever
    _together([lambda: client.list_buckets()])


def test_a_retry_waits_for_its_back_off_without_holding_the_slot(aws_env):
    aws = _context(aws_env, workers=1, s3=1)
    FaultInjector(Fault("ListBuckets", 1, 400, "Throttling")).install(aws)
    seen_in_flight: list[int] = []
    aws.client("s3").meta.events.register_last(
        "needs-retry", lambda attempts, response=None, **_: seen_in_flight.append(aws.limiter.in_flight)
    )
    aws.client("s3").list_buckets()
    assert seen_in_flight[0] == 0  # the throttled attempt's slot was free before botocore slept


def test_requests_are_counted_for_the_task_that_made_them_on_whichever_thread(aws_env):
    s3 = aws_env.client("s3")
    for n in range(5):
        s3.create_bucket(Bucket=f"counted-{n}")
    aws = _context(aws_env, workers=16)
    aws.account_id()
    task = CollectionTask("123456789012", "s3", "global", (REGION,))
    before = aws.counter.total
    ctx = run_task(aws, task, lambda item: True)
    assert ctx.errors == []
    assert ctx.stats.requests == aws.counter.total - before > 5 * 5  # the per-bucket reads ran on detail threads
    assert ctx.detail_workers == aws.limiter.limit("s3") == 16

    outside = TaskStats()
    with task_scope(outside):
        propagating(lambda: aws.client("sns").list_topics())()
        threading.Thread(target=propagating(lambda: aws.client("sns").list_topics())).start()
        threading.Thread(target=lambda: aws.client("sns").list_topics()).start()  # not handed on: not counted
    time.sleep(0.5)
    assert outside.requests == 2


def test_a_collection_reports_each_task_slowest_first_and_starts_the_costliest(aws_env, store):
    aws_env.client("s3").create_bucket(Bucket="timed-bucket")
    aws_env.client("sns").create_topic(Name="timed-topic")
    aws = _context(aws_env, workers=2)
    assert [t.service for t in plan_tasks(["sns", "kms", "s3", "iam"], [REGION], "1")] == ["s3", "iam", "kms", "sns"]
    result = collect(aws, store, services=["sns", "s3"], regions=[REGION])
    assert {(t.service, t.region) for t in result.tasks} == {("s3", "global"), ("sns", REGION)}
    assert [t.seconds for t in result.tasks] == sorted((t.seconds for t in result.tasks), reverse=True)
    assert sum(t.requests for t in result.tasks) == result.requests
    by_service = {t.service: t for t in result.tasks}
    assert by_service["sns"].items >= 1 and by_service["s3"].items >= 1
    assert set(by_service["s3"].to_dict()) == {"service", "region", "seconds", "requests", "items", "waited_seconds"}


def test_a_limiter_needs_at_least_one_slot():
    with pytest.raises(ValueError):
        RequestLimiter(0)
    assert RequestLimiter(4).limit("s3") == 4  # a service never gets more than the run


def test_service_models_are_parsed_once_per_process(monkeypatch):
    """Every AWS context and the runbook validator read botocore's models through one loader."""
    from phiwatch.aws.session import AwsContext
    from phiwatch.runbooks.botocore_model import _botocore, service_model

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    first, second = AwsContext(regions=["us-east-1"]), AwsContext(regions=["eu-west-1"])
    loader = first.session._session.get_component("data_loader")
    assert second.session._session.get_component("data_loader") is loader
    assert _botocore().get_component("data_loader") is loader
    parsed: list[str] = []
    load_file = loader.file_loader.load_file
    monkeypatch.setattr(loader.file_loader, "load_file", lambda path: parsed.append(str(path)) or load_file(path))
    first.client("sqs", "us-east-1")
    sqs_files = [p for p in parsed if "/sqs/" in p and p.endswith("/service-2")]
    assert sqs_files  # the first client parsed the model
    second.client("sqs", "eu-west-1")
    assert service_model("sqs").operation_model("SendMessage").input_shape is not None
    assert [p for p in parsed if "/sqs/" in p and p.endswith("/service-2")] == sqs_files  # nobody parsed it again


def test_the_commands_default_to_the_schedulers_limit():
    """`scan` and `collect` spell the default out (their modules import no AWS code); it must be the limiter's."""
    import inspect

    from phiwatch.aws.limits import DEFAULT_TOTAL, SERVICE_LIMITS
    from phiwatch.cli import inventory, scan
    from phiwatch.cli.common import WorkersOpt

    for command in (scan.scan, inventory.collect):
        assert inspect.signature(command).parameters["workers"].default == DEFAULT_TOTAL, command.__name__
    help_text = WorkersOpt.__metadata__[0].help
    assert f"S3 gets at most {SERVICE_LIMITS['s3']} of them, IAM {SERVICE_LIMITS['iam']}" in help_text
