"""boto3 session and client factory.

Honours the standard credential chain, ``AWS_PROFILE``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION`` and ``AWS_ENDPOINT_URL``. Every client uses botocore's adaptive
retry mode's rate limiter, so a throttled collection slows down instead of failing, with
retries decided by error class (:mod:`phiwatch.aws.retries`: throttling, transient, permanent;
one retry budget per context), and every request is counted through botocore's event hooks
so benchmarks and ``--verbose`` can report it.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from phiwatch.aws.limits import DEFAULT_TOTAL, RequestLimiter
from phiwatch.aws.models import create_loader
from phiwatch.aws.retries import RetryStats
from phiwatch.aws.retries import install as install_retries
from phiwatch.errors import CannotRunError, UsageError
from phiwatch.model import GLOBAL_REGION

# boto3 service name -> IAM action prefix, where they differ.
_IAM_PREFIX = {
    "efs": "elasticfilesystem",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "logs": "logs",
    "opensearch": "es",
    "es": "es",
    "apigatewayv2": "apigateway",
    "emr": "elasticmapreduce",
    "s3control": "s3",
    "secretsmanager": "secretsmanager",
    "rds": "rds",
    "stepfunctions": "states",
    "cloudwatch": "cloudwatch",
}

# API names whose IAM action is not "<prefix>:<ApiName>".
_IAM_ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
    ("s3", "GetBucketOwnershipControls"): "s3:GetBucketOwnershipControls",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "GetBucketLocation"): "s3:GetBucketLocation",
    ("s3", "GetBucketTagging"): "s3:GetBucketTagging",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketPolicyStatus"): "s3:GetBucketPolicyStatus",
    ("s3", "GetBucketAcl"): "s3:GetBucketAcl",
    ("s3", "GetBucketVersioning"): "s3:GetBucketVersioning",
    ("s3", "GetBucketLogging"): "s3:GetBucketLogging",
    ("s3", "GetBucketNotificationConfiguration"): "s3:GetBucketNotification",
    ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
    ("elbv2", "DescribeLoadBalancerAttributes"): "elasticloadbalancing:DescribeLoadBalancerAttributes",
    ("lambda", "ListFunctions"): "lambda:ListFunctions",
    ("lambda", "GetFunctionUrlConfig"): "lambda:GetFunctionUrlConfig",
    ("lambda", "GetPolicy"): "lambda:GetPolicy",
    ("lambda", "ListTags"): "lambda:ListTags",
    ("efs", "DescribeFileSystems"): "elasticfilesystem:DescribeFileSystems",
    ("efs", "DescribeBackupPolicy"): "elasticfilesystem:DescribeBackupPolicy",
    ("efs", "DescribeFileSystemPolicy"): "elasticfilesystem:DescribeFileSystemPolicy",
    ("apigateway", "GetRestApis"): "apigateway:GET",
    ("apigateway", "GetStages"): "apigateway:GET",
    ("apigatewayv2", "GetApis"): "apigateway:GET",
    ("apigatewayv2", "GetStages"): "apigateway:GET",
}


def _transient(exc: ClientError) -> bool:
    """A throttling error or a server-side failure: worth retrying, not a refusal."""
    from botocore.retries.standard import ThrottledRetryableChecker

    error = exc.response.get("Error", {}) if exc.response else {}
    status = (exc.response or {}).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return error.get("Code") in ThrottledRetryableChecker._THROTTLED_ERROR_CODES or status == 429 or status >= 500


def iam_action_for(service: str, api: str) -> str:
    """The IAM action a botocore operation needs, e.g. ('s3', 'ListBuckets') -> s3:ListAllMyBuckets."""
    if (service, api) in _IAM_ACTION_OVERRIDES:
        return _IAM_ACTION_OVERRIDES[(service, api)]
    return f"{_IAM_PREFIX.get(service, service)}:{api}"


class RequestCounter:
    """Counts HTTP requests (every attempt, retries included) per (service, operation) through
    botocore's ``before-send`` event, whose name is ``before-send.<service-id>.<Operation>``: the
    service is botocore's hyphenated service id (``s3``, ``s3-control``, ``elastic-load-balancing-v2``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_operation: Counter[tuple[str, str]] = Counter()

    def sent_hook(self, request: Any = None, **kwargs: Any) -> None:  # before-send handler
        event = kwargs.get("event_name", "")
        parts = event.split(".")
        service = parts[1] if len(parts) > 1 else "?"
        operation = parts[2] if len(parts) > 2 else "?"
        with self._lock:
            self.by_operation[(service, operation)] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_operation.values())

    def per_service(self) -> dict[str, int]:
        with self._lock:
            out: Counter[str] = Counter()
            for (svc, _op), n in self.by_operation.items():
                out[svc] += n
            return dict(out)

    def per_operation(self) -> dict[tuple[str, str], int]:
        """Requests per (service, operation) so far."""
        with self._lock:
            return dict(self.by_operation)

    def reset(self) -> None:
        with self._lock:
            self.by_operation.clear()


@functools.cache
def _shared_loader() -> Any:
    """The process's one botocore data loader (:mod:`phiwatch.aws.models`: one model at a time, read
    from compact copies), honouring ``AWS_DATA_PATH`` as botocore's own does."""
    return create_loader(botocore.session.get_session().get_config_variable("data_path"))


def botocore_session() -> botocore.session.Session:
    """A new botocore session reading service models through the process's one data loader.

    A loader parses each model once (the JSON of EC2, IAM or SageMaker takes tens of milliseconds);
    every session having its own made each AWS context, and the runbook validator, parse them again."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _shared_loader())
    return session


@functools.cache
def _known_regions() -> frozenset[str]:
    """Every region botocore knows (read once: building a session and its endpoint data costs ~0.4 s)."""
    session = botocore_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        for service in ("ec2", "sts"):
            regions.update(session.get_available_regions(service, partition_name=partition, allow_non_regional=False))
    return frozenset(regions)


def endpoint_config(service: str, endpoint_url: str | None) -> Config | None:
    """Client settings a custom endpoint (the emulator, a proxy) needs for ``service``."""
    if not endpoint_url:
        return None
    if service == "s3":
        return Config(s3={"addressing_style": "path"})
    return None


def _strip_account_host_prefix(request: Any, **_: Any) -> None:
    """s3control: botocore puts the account id in front of the host, which a loopback
    endpoint (the emulator) does not answer to; send the request to the endpoint itself."""
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    head, _dot, rest = host.partition(".")
    if head.isdigit() and len(head) == 12 and rest:
        netloc = rest + (f":{parts.port}" if parts.port else "")
        request.url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def adapt_client(client: Any, service: str, endpoint_url: str | None) -> Any:
    if endpoint_url and service == "s3control":
        client.meta.events.register_first("before-sign.s3-control", _strip_account_host_prefix)
    return client


def make_client(session: boto3.Session, service: str, endpoint_url: str | None, region: str | None = None) -> Any:
    """A client for ``service`` honouring a custom endpoint (used by seeding and tests)."""
    client = session.client(
        service,
        region_name=region or session.region_name or "us-east-1",
        endpoint_url=endpoint_url,
        config=endpoint_config(service, endpoint_url),
    )
    return adapt_client(client, service, endpoint_url)


class AwsContext:
    """Where and how phiwatch talks to AWS: credentials, endpoint, regions, clients."""

    def __init__(
        self,
        endpoint_url: str | None = None,
        profile: str | None = None,
        regions: list[str] | None = None,
        max_attempts: int = 10,
        max_pool_connections: int = 20,
        session: boto3.Session | None = None,
        transient_attempts: int = 3,
        retry_budget: int = 1000,
        workers: int = DEFAULT_TOTAL,
    ) -> None:
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self.profile = profile
        try:
            self.session = session or boto3.Session(profile_name=profile, botocore_session=botocore_session())
        except ProfileNotFound as exc:
            raise UsageError(f"AWS profile '{profile}' not found: check ~/.aws/config or --profile") from exc
        self.counter = RequestCounter()
        #: retries by error class (phiwatch/aws/retries.py): throttles up to ``max_attempts`` retries,
        #: transient failures ``transient_attempts`` attempts in all, permanent ones never; every retry of
        #: every client spends one unit of ``retry_budget``
        self.max_attempts = max_attempts
        self.transient_attempts = transient_attempts
        self.retry_stats = RetryStats(retry_budget)
        #: requests in flight at once: ``workers`` in all, fewer per service (phiwatch/aws/limits.py)
        self.limiter = RequestLimiter(workers)
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            # a client never waits for a connection while it holds a request slot
            max_pool_connections=max(max_pool_connections, workers),
            connect_timeout=5,
            read_timeout=60,
            user_agent_extra="phiwatch",
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._account_id: str | None = None
        default = self.session.region_name or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.default_region = default or "us-east-1"
        self.regions = list(dict.fromkeys(regions or [self.default_region]))
        self._validate_regions(self.regions)

    def _validate_regions(self, regions: list[str]) -> None:
        known = _known_regions()
        for region in regions:
            if region not in known:
                raise UsageError(f"unknown region '{region}': use an AWS region name such as us-east-1 (see `aws ec2 describe-regions`)")

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.default_region
        if region == GLOBAL_REGION:
            region = self.default_region
        key = (service, region)
        # every request asks for its client: a created one is returned without the lock, so no
        # thread waits while another creates a client (botocore's session creates one at a time)
        cached = self._clients.get(key)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None:
                return cached
            config = self._config
            extra = endpoint_config(service, self.endpoint_url)
            if extra is not None:
                config = config.merge(extra)
            client = self.session.client(service, region_name=region, endpoint_url=self.endpoint_url, config=config)
            adapt_client(client, service, self.endpoint_url)
            install_retries(client, self.max_attempts, self.transient_attempts, self.retry_stats)
            client.meta.events.register("before-send", self.counter.sent_hook)
            self.limiter.install(client, service, region)
            self._clients[key] = client
            return client

    def account_id(self) -> str:
        """The caller's account (STS GetCallerIdentity); clear errors when AWS cannot be reached."""
        if self._account_id is None:
            self._account_id = self.check_access()
        return self._account_id

    def _probe_client(self) -> Any:
        """STS client for the first call: fails in seconds, not after adaptive mode's 10 attempts
        with backoff (~25 s on a refused connection), when AWS or the endpoint cannot be reached."""
        config = self._config.merge(
            # total_max_attempts counts the first attempt (Config's max_attempts counts retries)
            Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=15)
        )
        client = self.session.client("sts", region_name=self.default_region, endpoint_url=self.endpoint_url, config=config)
        client.meta.events.register("before-send", self.counter.sent_hook)
        return client

    def check_access(self) -> str:
        where = f"endpoint {self.endpoint_url}" if self.endpoint_url else "AWS"
        try:
            try:
                return self._probe_client().get_caller_identity()["Account"]
            except (ClientError, HTTPClientError) as exc:
                # throttled, a 5xx or a dropped connection twice in a row: AWS is there, only busy.
                # Ask again with the ordinary client (adaptive retries) instead of giving up
                if isinstance(exc, ClientError) and not _transient(exc):
                    raise
                return self.client("sts").get_caller_identity()["Account"]
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise CannotRunError(
                "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile"
            ) from exc
        except EndpointConnectionError as exc:
            raise CannotRunError(f"cannot reach {where}: check --endpoint-url / AWS_ENDPOINT_URL and that the service is running") from exc
        except NoRegionError as exc:
            raise UsageError("no AWS region configured: pass --region or set AWS_REGION") from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise CannotRunError(f"{where} refused sts:GetCallerIdentity ({code}): check that the credentials are valid") from exc
        except BotoCoreError as exc:
            raise CannotRunError(f"cannot talk to {where}: {exc}") from exc
        except ResponseParserError as exc:
            raise CannotRunError(
                f"{where} did not answer like AWS (unreadable response to sts:GetCallerIdentity): check --endpoint-url"
            ) from exc

    def all_regions(self) -> list[str]:
        """Regions enabled for the account (EC2 DescribeRegions), for --all-regions."""
        try:
            resp = self.client("ec2").describe_regions(AllRegions=False)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise CannotRunError(f"cannot list regions ({code}): grant ec2:DescribeRegions or pass --region") from exc
        except EndpointConnectionError as exc:
            raise CannotRunError("cannot reach the endpoint to list regions: check --endpoint-url") from exc
        return sorted(r["RegionName"] for r in resp.get("Regions", []))
