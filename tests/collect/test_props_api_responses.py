"""Property tests: AWS responses with members missing, null, of another type, or with unknown extra
members never crash a collector, and never cost the other services their items.

The estate is the demo estate in moto's server; each example collects one service (plus SNS as
a control) with a botocore ``after-call`` hook that rewrites every parsed response of the
service's operations, walking the operation's output shape from botocore's service model and
dropping, nulling or retyping members, or adding unknown ones (a seeded random choice per
operation, so an example is reproducible). Properties:

* ``collect`` returns; no collector crashes (an error with ``api="*"`` naming a Python exception):
  a response phiwatch cannot read is a collection error naming the service, the API and the
  reason, i.e. "could not check" for what that call would have told;
* every recorded error names service, API, region and error;
* the control service's items are all there.

Every registered collector is covered, with a few random examples each; the deterministic companion
(:func:`blank`) carries most of the coverage: for every operation a collector calls, every optional member
at one level of the response null (or absent), level by level.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phiwatch.aws.session import AwsContext
from phiwatch.collect.iam import IamCollector
from phiwatch.collect.registry import load_collectors
from phiwatch.collect.runner import collect
from phiwatch.store import Store

CONTROL = "sns"
#: the control of the SNS collector itself
OTHER_CONTROL = ("kms", "AWS::KMS::")
UNTOUCHED = {"sns", "sts"}  # the control service, and the account id every collection starts with
#: every registered collector
SERVICES = sorted(load_collectors())
#: levels of the deterministic null/absent responses (0: the response's own members). Levels 3 and 4 of the
#: demo estate's responses cost no collector anything (checked when this was written); the random examples
#: reach every level
LEVELS = range(3)
OTHER_TYPES = [0, "", "x", -1, True, [], {}, [{"x": 1}], {"x": None}, 1.5]


def mutate(value: Any, shape: Any, rng: random.Random, rate: float, depth: int = 0) -> Any:
    """``value`` (of botocore ``shape``) with some members dropped, nulled, retyped or added, in place where possible."""
    if depth > 12 or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name in list(value):
            member = shape.members.get(name)
            if member is None or name == "ResponseMetadata":
                continue
            roll = rng.random()
            if roll < rate / 3:
                del value[name]
            elif roll < 2 * rate / 3:
                value[name] = None
            elif roll < rate:
                value[name] = rng.choice(OTHER_TYPES)
            else:
                value[name] = mutate(value[name], member, rng, rate, depth + 1)
        if rng.random() < rate:
            value[f"Unknown{rng.randint(0, 99)}"] = rng.choice(OTHER_TYPES)
        return value
    if kind == "list" and isinstance(value, list):
        for i, element in enumerate(value):
            roll = rng.random()
            if roll < rate / 2:
                value[i] = rng.choice([None] + OTHER_TYPES)
            else:
                value[i] = mutate(element, shape.member, rng, rate, depth + 1)
        return value
    if kind == "map" and isinstance(value, dict):
        for key in list(value):
            if rng.random() < rate / 2:
                value[key] = rng.choice([None] + OTHER_TYPES)
            else:
                value[key] = mutate(value[key], shape.value, rng, rate, depth + 1)
        return value
    return value


class Mutator:
    """A botocore ``after-call`` handler rewriting the parsed responses of every service but :data:`UNTOUCHED`."""

    def __init__(self, seed: int, rate: float, untouched: set[str] = UNTOUCHED) -> None:
        self.seed = seed
        self.rate = rate
        self.untouched = untouched
        self.calls = 0

    def __call__(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is None or not isinstance(parsed, dict) or "Error" in parsed:
            return
        if model.service_model.service_name in self.untouched or model.service_model.endpoint_prefix in self.untouched:
            return
        self.calls += 1
        rng = random.Random(self.seed ^ zlib.crc32(model.name.encode()))
        mutate(parsed, model.output_shape, rng, self.rate)


def blank(value: Any, shape: Any, mode: str, level: int, depth: int = 0) -> Any:
    """``value`` (of botocore ``shape``) with every optional member of every object at ``level`` of objects
    (0: the response's own members) set to null (``mode="null"``) or left out (``"absent"``), in place."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        required = set(shape.required_members or ())
        for name in list(value):
            member = shape.members.get(name)
            if member is None or name == "ResponseMetadata":
                continue
            if depth == level and name not in required:
                if mode == "null":
                    value[name] = None
                else:
                    del value[name]
            elif depth < level:
                blank(value[name], member, mode, level, depth + 1)
    elif kind == "list" and isinstance(value, list):
        for element in value:
            blank(element, shape.member, mode, level, depth)
    elif kind == "map" and isinstance(value, dict):
        for element in value.values():
            blank(element, shape.value, mode, level, depth)
    return value


@pytest.fixture(autouse=True)
def short_credential_report_wait(monkeypatch):
    # a null GenerateCredentialReport State is polled until the wait ends (a Timeout error): 60 s by default
    monkeypatch.setattr(IamCollector, "credential_report_wait", 0.5)


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    """The demo estate, and how many items of the control service a clean collection stores."""
    from phiwatch.demo.estate import seed_estate

    emulator.reset()
    seed_estate(emulator.session("us-east-1"), emulator.endpoint)
    path = tmp_path_factory.mktemp("props-api") / "baseline.db"
    store = Store(f"sqlite:///{path}")
    result = collect(context(emulator), store, services=SERVICES)
    assert not result.errors, [(e.service, e.api, e.error) for e in result.errors]
    control = len([i for i in store.current_items() if i.resourceType.startswith("AWS::SNS::")])
    other = len([i for i in store.current_items() if i.resourceType.startswith(OTHER_CONTROL[1])])
    store.close()
    assert control >= 1 and other >= 1
    ESTATE_BASELINE[emulator] = path
    yield emulator, {CONTROL: control, OTHER_CONTROL[0]: other}
    emulator.reset()


ESTATE_BASELINE: dict[Any, Any] = {}


@pytest.fixture(scope="module")
def baseline(estate):
    """A store holding a clean collection of every service (copied by tests that collect into it again)."""
    return ESTATE_BASELINE[estate[0]]


def context(emulator) -> AwsContext:
    return AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1"], session=emulator.session("us-east-1"), max_attempts=1)


def check_collection(estate, tmp_path, service: str, seed: int, rate: float, label: str) -> None:
    emulator, controls = estate
    control, prefix = (CONTROL, "AWS::SNS::") if service != CONTROL else OTHER_CONTROL
    aws = context(emulator)
    mutator = Mutator(seed, rate, UNTOUCHED if service != CONTROL else {control, "sts"})
    aws.session.events.register("after-call", mutator)
    store = Store(f"sqlite:///{tmp_path / f'{label}.db'}")
    try:
        result = collect(aws, store, services=[service, control])
        crashes = [e for e in result.errors if e.api == "*" and e.error != "UnstorableItem"]
        assert not crashes, [(e.service, e.error, e.message) for e in crashes]
        for e in result.errors:
            assert e.service and e.api and e.region and e.error, e
        control_items = [i for i in store.current_items() if i.resourceType.startswith(prefix)]
        assert len(control_items) == controls[control]
        assert not [e for e in result.errors if e.service == control]
    finally:
        store.close()


@pytest.mark.parametrize("service", SERVICES)
def test_malformed_responses_never_crash_a_collector(estate, tmp_path, service):
    counter = iter(range(10**6))
    salt = zlib.crc32(service.encode())  # derandomized examples differ from one collector to the next

    @settings(max_examples=1)  # a collection against the emulator per example: ~1 s; test_null_or_absent_members carries the coverage
    @given(st.integers(0, 2**32 - 1), st.sampled_from([0.2, 0.5, 0.05]))
    def run(seed, rate):
        check_collection(estate, tmp_path, service, seed ^ salt, rate, f"{service}-{next(counter)}")

    run()


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", ["null", "absent"])
def test_null_or_absent_members_never_crash_a_collector(estate, tmp_path, mode, level):
    """Every collector at once (each runs alone in its thread): every response of every operation with
    every optional member at ``level`` null, or absent. Null members are what AWS sends for a member it has
    no value for."""
    emulator, _ = estate
    aws = context(emulator)

    def hook(parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is None or not isinstance(parsed, dict) or "Error" in parsed or model.service_model.service_name == "sts":
            return
        blank(parsed, model.output_shape, mode, level)

    aws.session.events.register("after-call", hook)
    store = Store(f"sqlite:///{tmp_path / 'blank.db'}")
    try:
        result = collect(aws, store, services=SERVICES)
        crashes = [e for e in result.errors if e.api == "*"]
        assert not crashes, [(e.service, e.error, e.message) for e in crashes]
        for e in result.errors:
            assert e.service and e.api and e.region and e.error, e
    finally:
        store.close()


# -- regressions: inputs Hypothesis found ------------------------------------------------------------


def _collect_with(estate, tmp_path, services: list[str], rewrite) -> tuple[Any, Store]:
    emulator, _ = estate
    aws = context(emulator)

    def hook(parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is not None and isinstance(parsed, dict):
            rewrite(model.name, parsed)

    aws.session.events.register("after-call", hook)
    store = Store(f"sqlite:///{tmp_path / 'regression.db'}")
    return collect(aws, store, services=services), store


def test_a_list_member_of_another_type_is_an_error_of_that_call(estate, tmp_path):
    # was: ListBuckets answering "Buckets" as an object crashed the S3 collector (TypeError: string indices
    # must be integers): every bucket was lost with an error naming no API
    def rewrite(op: str, parsed: dict) -> None:
        if op == "ListBuckets":
            parsed["Buckets"] = {"Name": "x"}

    result, store = _collect_with(estate, tmp_path, ["s3", CONTROL], rewrite)
    errors = [(e.service, e.api, e.error) for e in result.errors]
    assert errors == [("s3", "ListBuckets", "InvalidResponse")]
    assert "Buckets: dict, not a list" in result.errors[0].message
    store.close()


def test_a_listed_element_without_its_id_is_an_error_and_nothing_is_marked_deleted(estate, tmp_path):
    # was: a ListBuckets element without "Name" (and likewise log groups, alarms, certificates, EMR clusters,
    # RDS instances and snapshots, KMS keys, load balancers, domains, IAM users) crashed the collector with KeyError
    emulator, _ = estate
    store = Store(f"sqlite:///{tmp_path / 'regression.db'}")
    collect(context(emulator), store, services=["s3"])
    before = {r["resource_id"] for r in store.inventory(resource_type="AWS::S3::Bucket")}
    aws = context(emulator)

    def hook(parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is not None and model.name == "ListBuckets" and parsed.get("Buckets"):
            parsed["Buckets"][0].pop("Name")

    aws.session.events.register("after-call", hook)
    result = collect(aws, store, services=["s3"])
    assert [(e.api, e.error) for e in result.errors] == [("ListBuckets", "InvalidResponse")]
    assert "without Name" in result.errors[0].message
    after = {r["resource_id"] for r in store.inventory(resource_type="AWS::S3::Bucket")}
    assert after == before and result.deleted == 0  # the unnamed bucket is not recorded deleted
    store.close()


def test_a_page_botocore_cannot_paginate_is_an_error_of_that_call(estate, tmp_path):
    # was: DescribeAlarms answering "MetricAlarms" as a number made botocore's paginator raise TypeError
    # (len() of a float) inside the logs collector: the collector crashed
    def rewrite(op: str, parsed: dict) -> None:
        if op == "DescribeAlarms":
            parsed["MetricAlarms"] = 1.5

    result, store = _collect_with(estate, tmp_path, ["logs"], rewrite)
    assert [(e.api, e.error) for e in result.errors] == [("DescribeAlarms", "InvalidResponse")]
    assert store.inventory(resource_type="AWS::Logs::LogGroup")  # the log groups are still there
    store.close()


def test_an_item_without_an_id_is_unstorable_not_a_crash_of_the_run():
    # was: an item whose resourceId came from a null response member reached the store, whose NOT NULL
    # constraint raised IntegrityError out of collect() (EC2)
    from phiwatch.collect.runner import _unstorable
    from phiwatch.model import ConfigurationItem

    assert (
        _unstorable(
            ConfigurationItem(
                resourceType="AWS::EC2::Volume",
                resourceId=None,
                awsRegion="us-east-1",  # type: ignore[arg-type]
                accountId="123456789012",
            )
        )
        == "no resourceId"
    )
    assert (
        _unstorable(
            ConfigurationItem(resourceType="AWS::EC2::Volume", resourceId="vol-1", awsRegion="us-east-1", accountId="123456789012", arn=5)
        )
        == "arn is not text"
    )  # type: ignore[arg-type]


#: (collector, operation, the listing in its response, the member identifying an element). Each was a
#: KeyError crash of the collector when the first element came without that member (absent, or null, which
#: AWS sends): every resource of the service was lost, with an error naming no API. Now it is an error of
#: that call and nothing is recorded deleted.
MISSING_IDS = [
    ("apigateway", "GetRestApis", "items", "id"),
    ("apigateway", "GetStages", "item", "stageName"),
    ("cloudtrail", "DescribeTrails", "trailList", "Name"),
    ("codebuild", "BatchGetProjects", "projects", "name"),
    ("dms", "DescribeReplicationInstances", "ReplicationInstances", "ReplicationInstanceIdentifier"),
    ("ec2", "DescribeInstances", "Reservations.0.Instances", "InstanceId"),
    ("efs", "DescribeFileSystems", "FileSystems", "FileSystemId"),
    ("elasticache", "DescribeCacheClusters", "CacheClusters", "CacheClusterId"),
    ("iam", "GetAccountAuthorizationDetails", "GroupDetailList", "GroupId"),
    ("lambda", "ListFunctions", "Functions", "FunctionName"),
    ("opensearch", "DescribeDomains", "DomainStatusList", "DomainName"),
    ("redshift", "DescribeClusterParameterGroups", "ParameterGroups", "ParameterGroupName"),
    ("sagemaker", "ListEndpointConfigs", "EndpointConfigs", "EndpointConfigName"),
    ("secretsmanager", "ListSecrets", "SecretList", "ARN"),
    ("sns", "ListTopics", "Topics", "TopicArn"),
    ("ssm", "ListDocuments", "DocumentIdentifiers", "Name"),
    ("vpc", "DescribeVpcs", "Vpcs", "VpcId"),
    ("wafv2", "ListWebACLs", "WebACLs", "ARN"),
]


@pytest.mark.parametrize("how", ["null", "absent"])
def test_a_listed_element_without_its_id_is_an_error_of_that_call(baseline, estate, tmp_path, how):
    # every collector at once (one collection per round); API Gateway's two listings in separate rounds
    cases = [c for i, c in enumerate(MISSING_IDS) if not (c[0] == "apigateway" and (c[1] == "GetStages") == (how == "null"))]
    ops = {op: (listing, id_key) for _, op, listing, id_key in cases}
    seen: set[str] = set()
    emulator, _ = estate
    import shutil

    shutil.copy(baseline, tmp_path / "copy.db")
    aws = context(emulator)

    def hook(parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is None or not isinstance(parsed, dict) or "Error" in parsed or model.name not in ops or model.name in seen:
            return
        listing, id_key = ops[model.name]
        elements: Any = parsed
        for part in listing.split("."):
            elements = elements[int(part)] if part.isdigit() else elements.get(part)
            if not elements:
                return
        seen.add(model.name)
        if how == "absent":
            elements[0].pop(id_key, None)
        else:
            elements[0][id_key] = None

    aws.session.events.register("after-call", hook)
    store = Store(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        result = collect(aws, store, services=sorted({c[0] for c in cases}))
        assert seen == set(ops), f"the demo estate has nothing in {set(ops) - seen}"
        assert not [e for e in result.errors if e.api == "*"], [(e.service, e.error, e.message) for e in result.errors]
        # (EC2's collector lists VPCs too: the one of the two that got the element without its id names it)
        found = {e.api for e in result.errors if e.error == "InvalidResponse" and " element without " in e.message}
        assert found == set(ops)
        assert not [e for e in result.errors if e.api not in ops], [(e.service, e.api, e.error) for e in result.errors]
        assert result.deleted == 0  # the unidentified resources are "could not check", not gone
    finally:
        store.close()


@pytest.mark.parametrize(
    "service,op,member",
    [
        ("iam", "ListAccessKeys", "AccessKeyMetadata"),
        ("s3", "GetBucketOwnershipControls", "OwnershipControls"),
    ],
)
def test_null_members_read_as_absent(estate, tmp_path, service, op, member):
    # was: a null member (AWS sends null for members it has no value for) reached collectors reading it with
    # ``response.get(key, default)``: TypeError/AttributeError on None, the collector crashed (IAM iterating
    # the access keys; S3 reading OwnershipControls; ECS, EFS, Kinesis, SageMaker alike)
    def rewrite(name: str, parsed: dict) -> None:
        if name == op:
            parsed[member] = None

    result, store = _collect_with(estate, tmp_path, [service], rewrite)
    assert not [e for e in result.errors if e.api == "*"], [(e.api, e.error, e.message) for e in result.errors]
    assert not [e for e in result.errors if e.api == op]
    store.close()


@pytest.mark.parametrize(
    "service,op,listing", [("ecs", "ListTaskDefinitions", "taskDefinitionArns"), ("kinesis", "ListStreams", "StreamNames")]
)
def test_a_null_or_object_element_of_a_list_is_an_error_of_that_call(estate, tmp_path, service, op, listing):
    # was: a null ARN in ListTaskDefinitions crashed the ECS collector (AttributeError on None), and a stream
    # name given as an object crashed the Kinesis collector (a dict used as a key: TypeError, unhashable)
    for bad in (None, {"x": 1}):

        def rewrite(name: str, parsed: dict, bad=bad) -> None:
            if name == op:
                parsed[listing] = [bad, *(parsed.get(listing) or [])]

        result, store = _collect_with(estate, tmp_path, [service], rewrite)
        assert [(e.api, e.error) for e in result.errors] == [(op, "InvalidResponse")], [(e.api, e.error, e.message) for e in result.errors]
        store.close()
