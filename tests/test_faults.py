"""Faults during collection: denied calls, throttling, crashing collectors, a dying store, kill -9.

The rule these tests hold the engine to: whatever goes wrong, a value phiwatch could not read
is *absent* with an error naming the IAM action, never "not configured"; a listing that did not
complete never marks resources deleted; and what was stored stays consistent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from conftest import iam_enforcing_moto, moto_api
from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.base import REGISTRY, CollectContext, Collector
from phiwatch.collect.runner import collect
from phiwatch.store import Store
from phiwatch.store.db import Writer

BUCKET = "AWS::S3::Bucket"
# the installed console script (what users run), else the same entry point through -c
_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]


def _item(store: Store, name: str) -> dict[str, Any]:
    row = store.resolve(name, BUCKET)
    return store.item_at(row["id"])["item"]


# -- injected faults ------------------------------------------------------------------------


class _Body:
    """The ``raw`` of a botocore AWSResponse: only ``stream()`` is read."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


@dataclass
class Fault:
    """Answer the first ``times`` requests of ``operation`` (whose URL contains ``url_part``) with an error."""

    operation: str
    times: int
    status: int
    code: str
    url_part: str = ""


class FaultInjector:
    """A ``before-send`` handler that answers some requests with an AWS error response.

    The request never reaches the server; botocore sees an ordinary error response and
    applies its retry logic to it (throttling codes are retried, AccessDenied is not).
    Registered after the AwsContext's request counter, which therefore counts every attempt.
    """

    def __init__(self, *faults: Fault) -> None:
        self.faults = faults
        self.injected: Counter[int] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        for n, fault in enumerate(self.faults):
            if fault.operation != operation or fault.url_part not in request.url:
                continue
            with self._lock:
                if self.injected[n] >= fault.times:
                    continue
                self.injected[n] += 1
            body = f"<Error><Code>{fault.code}</Code><Message>injected</Message><RequestId>x</RequestId></Error>"
            return AWSResponse(request.url, fault.status, {"Content-Type": "application/xml"}, _Body(body.encode()))
        return None

    def install(self, aws: AwsContext) -> FaultInjector:
        # the S3 collector's clients: s3 (global -> default region) and s3control
        for service in ("s3", "s3control"):
            aws.client(service).meta.events.register("before-send", self)
        return self


@contextmanager
def registered(cls: type[Collector]) -> Iterator[type[Collector]]:
    """Register a throwaway collector for one test."""
    assert cls.name not in REGISTRY
    REGISTRY[cls.name] = cls
    try:
        yield cls
    finally:
        REGISTRY.pop(cls.name, None)


WIDGET = "Custom::Test::Widget"


class _WidgetCollector(Collector):
    """Yields widgets named in ``widgets``; the test configures its behaviour through class attributes."""

    name = "widgets"
    resource_types = (WIDGET,)
    widgets: list[str] = []
    crash_after: int | None = None  # raise after yielding this many widgets
    mark_complete_first = False

    def collect(self, ctx: CollectContext) -> Iterator:
        if self.mark_complete_first:
            ctx.mark_complete(WIDGET)  # a buggy collector that claims completeness too early
        for n, widget in enumerate(self.widgets):
            if self.crash_after is not None and n == self.crash_after:
                raise RuntimeError(f"collector bug at widget {widget}")
            yield ctx.item(WIDGET, widget, resourceName=widget, configuration={"n": n})
        ctx.mark_complete(WIDGET)


def _widget_collector(**attrs: Any) -> type[Collector]:
    return type("WidgetCollector", (_WidgetCollector,), dict(attrs))


# -- denied API: a second moto server with IAM enforcement ----------------------------------


@pytest.fixture(scope="module")
def iam_enforcing_server() -> Iterator[str]:
    """moto's server in a child process whose requests will be checked against IAM policies.

    moto counts requests and enforces IAM after ``INITIAL_NO_AUTH_ACTION_COUNT`` of them
    (moto/core/authorization.py); the test's setup calls run before that with root
    credentials, then POST /moto-api/reset-auth with 0 turns enforcement on at once, so the
    test does not depend on counting its own setup calls.
    """
    with iam_enforcing_moto() as endpoint:
        yield endpoint


def _enforce_iam(endpoint: str, after: int) -> None:
    """Check requests against IAM policies after ``after`` more requests (moto's reset-auth)."""
    moto_api(endpoint, "reset-auth", str(after).encode())


# What a least-privilege read-only auditor gets, minus s3:GetBucketLogging. moto names some
# bucket actions its own way (GetPublicAccessBlock; ListBucket for the encryption, ownership,
# object lock and replication sub-resources), so those names are allowed too.
AUDITOR_ACTIONS = [
    "sts:GetCallerIdentity",
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetPublicAccessBlock",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucketPolicy",
    "s3:GetBucketPolicyStatus",
    "s3:GetBucketAcl",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketNotification",
    "s3:GetBucketTagging",
    "s3:ListBucket",
]


def test_denied_call_is_recorded_not_read_as_not_configured(iam_enforcing_server, store):
    endpoint = iam_enforcing_server
    _enforce_iam(endpoint, after=1_000_000)  # setup as root (the test may run once per store kind)
    moto_api(endpoint, "reset")
    root = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    s3 = make_client(root, "s3", endpoint)
    s3.create_bucket(Bucket="bucket-logging-denied")
    s3.put_bucket_versioning(Bucket="bucket-logging-denied", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket="bucket-logging-denied", Tagging={"TagSet": [{"Key": "PHI", "Value": "Yes"}]})
    iam = make_client(root, "iam", endpoint)
    iam.create_user(UserName="phiwatch-auditor")
    iam.put_user_policy(
        UserName="phiwatch-auditor",
        PolicyName="phiwatch-read-without-logging",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": AUDITOR_ACTIONS, "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="phiwatch-auditor")["AccessKey"]
    _enforce_iam(endpoint, after=0)

    auditor = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1")
    # enforcement is really on: root's fake credentials are now refused for what the auditor lacks
    with pytest.raises(Exception, match="AccessDenied"):
        make_client(auditor, "s3", endpoint).get_bucket_logging(Bucket="bucket-logging-denied")

    result = collect(AwsContext(endpoint_url=endpoint, session=auditor), store, services=["s3"])

    item = _item(store, "bucket-logging-denied")
    sup = item["supplementaryConfiguration"]
    # denied is "could not read" (key absent), never "logging not configured" (None)
    assert "BucketLoggingConfiguration" not in sup
    logging_errors = [e for e in item["collectionErrors"] if e["api"] == "GetBucketLogging"]
    assert len(logging_errors) == 1
    assert logging_errors[0]["iam_action"] == "s3:GetBucketLogging"
    assert logging_errors[0]["error"] == "AccessDenied"
    assert logging_errors[0]["resource_id"] == "bucket-logging-denied"

    run_errors = store.run_errors(result.run_id)
    assert any(
        e["api"] == "GetBucketLogging" and e["iam_action"] == "s3:GetBucketLogging" and e["resource_id"] == "bucket-logging-denied"
        for e in run_errors
    )
    assert store.run(result.run_id)["complete"] is False
    # collection went on after the denied call
    assert sup["BucketVersioningConfiguration"]["status"] == "Enabled"
    assert "AccessControlList" in sup
    assert item["tags"] == {"PHI": "Yes"}
    assert item["configuration"]["name"] == "bucket-logging-denied"


# -- throttling ------------------------------------------------------------------------------


def test_throttled_calls_are_retried_and_give_the_same_items(aws_env, store):
    """Transient throttling is retried to the same result; throttling that never ends is an error."""
    s3 = aws_env.client("s3")
    for name in ("bucket-throttled-a", "bucket-throttled-b", "bucket-always-throttled"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket="bucket-throttled-b", VersioningConfiguration={"Status": "Enabled"})
    # phiwatch's own retry settings (adaptive mode), with one retry (botocore's max_attempts
    # counts retries: 1 -> 2 attempts) so that the never-ending throttle gives up quickly
    aws = AwsContext(endpoint_url=aws_env.endpoint, session=aws_env.emu.session(), max_attempts=1)
    # runs without faults. They also let botocore's adaptive limiter measure the send rate
    # (in 0.5 s buckets): a throttle on a client's very first requests (measured rate 0) drops
    # it to 0.5 req/s for seconds, which would only make this test slow.
    for _ in range(3):
        plain = collect(aws, store, services=["s3"])
        assert plain.errors == []
    assert (plain.created, plain.changed) == (0, 0)
    before = {r["resource_id"]: r["state_id"] for r in store.inventory(resource_type=BUCKET)}
    assert len(before) == 3

    faults = FaultInjector(
        Fault("ListBuckets", 1, 400, "Throttling"),
        Fault("GetBucketLogging", 1, 503, "SlowDown", url_part="/bucket-throttled-a"),
        Fault("GetBucketVersioning", 1, 400, "ThrottlingException", url_part="/bucket-throttled-b"),
        Fault("GetPublicAccessBlock", 1, 503, "SlowDown", url_part="/v20180820/"),  # s3control, account item
        Fault("GetBucketLogging", 1000, 503, "SlowDown", url_part="/bucket-always-throttled"),
    ).install(aws)
    throttled = collect(aws, store, services=["s3"])

    transient = sum(n for i, n in faults.injected.items() if i < 4)
    assert transient == 4 and faults.injected[4] == 2  # 2 attempts, both refused
    # every attempt went out and was counted
    assert throttled.requests == plain.requests + transient + (faults.injected[4] - 1)
    # transient throttling: the same items as without it
    after = {r["resource_id"]: r["state_id"] for r in store.inventory(resource_type=BUCKET)}
    assert after["bucket-throttled-a"] == before["bucket-throttled-a"]
    assert after["bucket-throttled-b"] == before["bucket-throttled-b"]
    assert _item(store, "bucket-throttled-b")["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"] == "Enabled"
    assert throttled.deleted == 0 and throttled.created == 0
    # the only item that changed (account item included) is the one whose read never succeeded
    assert [key[3] for key in throttled.changed_keys] == ["bucket-always-throttled"]
    # never-ending throttling: "could not read", not "logging off"; the rest of the item is there
    never = _item(store, "bucket-always-throttled")
    assert "BucketLoggingConfiguration" not in never["supplementaryConfiguration"]
    assert never["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"] == "Off"
    assert [(e["api"], e["error"], e["iam_action"]) for e in never["collectionErrors"]] == [
        ("GetBucketLogging", "SlowDown", "s3:GetBucketLogging")
    ]
    assert [(e.api, e.resource_id) for e in throttled.errors] == [("GetBucketLogging", "bucket-always-throttled")]


# -- listing failures and crashing collectors ------------------------------------------------


def test_failed_listing_does_not_mark_resources_deleted(aws_env, store):
    aws_env.client("s3").create_bucket(Bucket="bucket-kept-when-list-denied")
    collect(aws_env.context(), store, services=["s3"])

    aws = aws_env.context()
    FaultInjector(Fault("ListBuckets", 1, 403, "AccessDenied")).install(aws)
    result = collect(aws, store, services=["s3"])

    assert result.deleted == 0
    row = store.resolve("bucket-kept-when-list-denied", BUCKET)
    assert row["status"] == "OK" and row["version"] == 1
    errors = store.run_errors(result.run_id)
    assert [(e["api"], e["iam_action"], e["error"]) for e in errors] == [("ListBuckets", "s3:ListAllMyBuckets", "AccessDenied")]
    assert store.run(result.run_id)["complete"] is False


def test_crashing_collector_does_not_stop_the_others(aws_env, store):
    aws_env.client("s3").create_bucket(Bucket="bucket-collected-despite-crash")
    crashing = _widget_collector(widgets=["w1", "w2", "w3", "w4"], crash_after=2)
    with registered(crashing):
        result = collect(aws_env.context(), store, services=["s3", "widgets"])

    # the other collector finished
    assert result.types_seen[BUCKET] == 1
    assert _item(store, "bucket-collected-despite-crash")["collectionErrors"] == []
    # what the crashing collector yielded before the crash is kept
    assert sorted(r["resource_id"] for r in store.inventory(resource_type=WIDGET)) == ["w1", "w2"]
    # the run is recorded, with the crash as an error
    run = store.run(result.run_id)
    assert run["status"] == "complete" and run["complete"] is False
    errors = store.run_errors(result.run_id)
    assert len(errors) == 1
    assert errors[0]["service"] == "widgets" and errors[0]["api"] == "*" and errors[0]["error"] == "RuntimeError"
    assert "collector bug at widget w3" in errors[0]["message"]


def test_crash_after_claiming_completeness_marks_nothing_deleted(aws_env, store):
    with registered(_widget_collector(widgets=["w1", "w2", "w3"])):
        collect(aws_env.context(), store, services=["widgets"])
    assert len(store.inventory(resource_type=WIDGET)) == 3

    # second run: the collector says "complete" up front, yields w1 and dies
    with registered(_widget_collector(widgets=["w1", "w2", "w3"], crash_after=1, mark_complete_first=True)):
        result = collect(aws_env.context(), store, services=["widgets"])
    assert result.deleted == 0
    assert sorted(r["resource_id"] for r in store.inventory(resource_type=WIDGET)) == ["w1", "w2", "w3"]

    # a complete run still records real deletions
    with registered(_widget_collector(widgets=["w1"])):
        result = collect(aws_env.context(), store, services=["widgets"])
    assert result.deleted == 2
    assert [r["resource_id"] for r in store.inventory(resource_type=WIDGET)] == ["w1"]


class _UnstorableCollector(Collector):
    name = "unstorable"
    resource_types = (WIDGET,)

    def collect(self, ctx: CollectContext) -> Iterator:
        yield ctx.item(WIDGET, "w-good", configuration={"ok": True})
        yield ctx.item(WIDGET, "w-bad", configuration={"when": dt.datetime.now()})  # a collector bug: not to_jsonable()
        yield ctx.item(WIDGET, "w-nan", configuration={"size": float("nan")})  # PostgreSQL JSON refuses NaN
        yield ctx.item(WIDGET, "w-after", configuration={"ok": True})
        ctx.mark_complete(WIDGET)


def test_unstorable_item_is_an_error_on_that_resource_only(aws_env, store):
    with registered(_widget_collector(name="unstorable", widgets=["w-bad", "w-nan"])):
        collect(aws_env.context(), store, services=["unstorable"])
    with registered(_UnstorableCollector):
        result = collect(aws_env.context(), store, services=["unstorable"])
    assert sorted(r["resource_id"] for r in store.inventory(resource_type=WIDGET)) == ["w-after", "w-bad", "w-good", "w-nan"]
    assert result.deleted == 0  # w-bad and w-nan were not seen, but the listing is not complete
    assert sorted((e.error, e.resource_id) for e in result.errors) == [("UnstorableItem", "w-bad"), ("UnstorableItem", "w-nan")]


def test_store_failure_mid_run_stops_collection_promptly(aws_env, store, monkeypatch):
    """A writer error must end the run, not leave collector threads blocked on a full queue."""
    many = _widget_collector(name="many", widgets=[f"w{i:05d}" for i in range(3000)])
    original = Writer.record
    calls = {"n": 0}

    def failing_record(self, item, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 10:
            raise RuntimeError("disk full")
        return original(self, item, *args, **kwargs)

    monkeypatch.setattr(Writer, "record", failing_record)
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            collect(aws_env.context(), store, services=["many"])
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = exc

    with registered(many):
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(timeout=20)
        assert not thread.is_alive(), "collect() hung after a store error"
    assert isinstance(outcome.get("error"), RuntimeError)
    runs = [store.run(i) for i in range(1, 5)]
    assert [r["status"] for r in runs if r] == ["failed"]


# -- kill -9 in the middle of `phiwatch collect` ----------------------------------------------

# Runs the real CLI in a child process, with one bucket whose GetBucketLogging hangs: the
# other buckets are collected and committed (the writer commits within ~2 s while it waits),
# and the process is still running when it is killed. Nothing is timing-dependent.
_SLOW_CLI = r"""
import signal, sys, time
import botocore.handlers

# Ctrl-C raises KeyboardInterrupt, as in a terminal, even when the test runner's parent
# ignores SIGINT (background jobs do; Python then keeps it ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)

def _hang(request, **_):
    if "/bucket-kill-zz-hangs" in request.url and "logging" in request.url:
        time.sleep(120)

botocore.handlers.BUILTIN_HANDLERS.append(("before-send.s3.GetBucketLogging", _hang))
from phiwatch.cli import main
sys.argv = ["phiwatch", *sys.argv[1:]]
main()
"""


def _cli_env() -> dict[str, str]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "PHIWATCH_DB", "AWS_SESSION_TOKEN"):
        env.pop(var, None)
    return env


def _count(db: Path, sql: str) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(con.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        con.close()


BUCKETS_IN_DB = "select count(*) from resources where resource_type = 'AWS::S3::Bucket'"


def _start_hanging_collect(aws_env, tmp_path: Path, prefix: str, count: int) -> tuple[subprocess.Popen, list[str], list[str]]:
    """``phiwatch collect`` over ``count`` buckets plus one that hangs; returns once the others are committed."""
    s3 = aws_env.client("s3")
    names = [f"{prefix}-{i:02d}" for i in range(count)] + [f"{prefix}-zz-hangs"]
    for name in names:
        s3.create_bucket(Bucket=name)
    db = tmp_path / f"{prefix}.db"
    args = ["collect", "--endpoint-url", aws_env.endpoint, "--db", f"sqlite:///{db}", "--service", "s3", "--region", "us-east-1"]
    stderr_path = tmp_path / f"{prefix}.stderr"
    with open(stderr_path, "wb") as stderr:  # a file, not a pipe nobody reads
        proc = subprocess.Popen(
            [sys.executable, "-c", _SLOW_CLI.replace("bucket-kill-zz-hangs", f"{prefix}-zz-hangs"), *args],
            env=_cli_env(),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 30
    try:
        while _count(db, BUCKETS_IN_DB) < count:
            assert proc.poll() is None, stderr_path.read_text()
            assert time.monotonic() < deadline, "the run never committed its items"
            time.sleep(0.1)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, names, args


def test_kill_9_mid_collect_leaves_a_store_the_next_run_completes(aws_env, tmp_path):
    proc, names, args = _start_hanging_collect(aws_env, tmp_path, "bucket-kill", 24)
    db = tmp_path / "bucket-kill.db"
    proc.kill()  # SIGKILL: no cleanup, no finally blocks
    proc.wait(timeout=10)
    assert proc.returncode == -9
    assert (tmp_path / "bucket-kill.db-wal").exists()  # SQLite's recovery has work to do
    assert _count(db, "select count(*) from collection_runs where status = 'running'") == 1

    done = subprocess.run(
        [*PHIWATCH, *args],
        env=_cli_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    store = Store(f"sqlite:///{db}")
    try:
        rows = store.inventory(resource_type=BUCKET)
        assert sorted(r["resource_id"] for r in rows) == sorted(names)
        # no duplicate versions: every bucket was recorded once, by one of the two runs
        assert all(r["version"] == 1 and r["status"] == "OK" for r in rows)
        for r in rows:
            assert [v["version"] for v in store.history(r["id"])] == [1]
        assert _count(db, "select count(*) from versions") == _count(db, "select count(*) from resources")
        latest = max(r["id"] for r in [store.run(i) for i in range(1, 4)] if r)
        assert store.run(latest)["status"] == "complete" and store.run(latest)["complete"] is True
        assert store.run(latest)["items_deleted"] == 0
    finally:
        store.close()


def test_ctrl_c_mid_collect_records_the_run_and_exits_promptly(aws_env, tmp_path):
    proc, names, _ = _start_hanging_collect(aws_env, tmp_path, "bucket-sigint", 4)
    db = tmp_path / "bucket-sigint.db"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    finally:
        proc.kill()
    # not after the hanging call returns (120 s): collector threads are not waited for
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 130
    stderr = (tmp_path / "bucket-sigint.stderr").read_text()
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    store = Store(f"sqlite:///{db}")
    try:
        run = store.run(1)
        assert run["status"] == "failed" and run["finished_at"] is not None and run["complete"] is False
        assert sorted(r["resource_id"] for r in store.inventory(resource_type=BUCKET)) == names[:-1]
    finally:
        store.close()
