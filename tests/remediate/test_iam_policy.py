"""Least-privilege policies: runbooks' policies from their steps, and the scanner's read-only policy
tested for real against moto's server with IAM enforcement on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from conftest import iam_enforcing_moto, moto_api
from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.remediate.iam_policy import SCANNER_ACTIONS, policy_size, record_actions, runbook_policy, scanner_policies, scanner_policy
from phiwatch.resources import services
from phiwatch.runbooks.document import builtin, builtin_ids
from phiwatch.store import Store

_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]
WRITE_PREFIXES = (
    "Put",
    "Create",
    "Delete",
    "Update",
    "Enable",
    "Disable",
    "Modify",
    "Authorize",
    "Revoke",
    "Attach",
    "Detach",
    "Tag",
    "Untag",
    "Set",
    "Start",
    "Stop",
    "Terminate",
    "Reset",
    "Restore",
    "Associate",
)


def _actions(policy: dict) -> list[str]:
    return [a for s in policy["Statement"] for a in s["Action"]]


# -- runbooks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("runbook_id", builtin_ids())
def test_runbook_policy_is_exactly_its_steps_actions(runbook_id):
    doc = builtin(runbook_id)
    policy = runbook_policy(doc)
    assert policy["Version"] == "2012-10-17"
    assert sorted(_actions(policy)) == doc.iam_actions()
    assert all(s["Effect"] == "Allow" and s["Resource"] == "*" for s in policy["Statement"])
    assert all(s["Sid"].isalnum() for s in policy["Statement"])
    assert not any("*" in a for a in _actions(policy))  # no wildcards


def test_runbook_policy_examples():
    ebs = _actions(runbook_policy(builtin("phiwatch-EnableEbsEncryptionByDefault")))
    assert "ec2:EnableEbsEncryptionByDefault" in ebs and "ec2:GetEbsEncryptionByDefault" in ebs
    assert all(a.startswith(("ec2:", "sts:")) for a in ebs)
    logging_actions = _actions(runbook_policy(builtin("phiwatch-EnableS3BucketLogging")))
    assert "s3:PutBucketLogging" in logging_actions and "s3:GetBucketLogging" in logging_actions


def test_scanner_policy_is_read_only_and_fits_a_managed_policy():
    policy = scanner_policy()
    actions = _actions(policy)
    assert sorted(actions) == sorted(set(SCANNER_ACTIONS))
    assert list(SCANNER_ACTIONS) == sorted(SCANNER_ACTIONS) and len(set(SCANNER_ACTIONS)) == len(SCANNER_ACTIONS)
    writes = [a for a in actions if a.split(":", 1)[1].startswith(WRITE_PREFIXES)]
    assert writes == []
    assert "sts:GetCallerIdentity" in actions and "s3:ListAllMyBuckets" in actions
    # as managed policies: each within IAM's limit (whitespace excluded), together every action once
    parts = scanner_policies()
    assert all(policy_size(part) <= 6144 for part in parts)
    granted = [a for part in parts for a in _actions(part)]
    assert sorted(granted) == sorted(actions) and len(granted) == len(set(granted))
    assert len(parts) == (1 if policy_size(policy) <= 6144 else len(parts))


def test_a_policy_too_long_for_one_managed_policy_is_split_by_service():
    parts = scanner_policies(limit=1500)
    assert len(parts) > 1 and all(policy_size(part) <= 1500 for part in parts)
    prefixes = [{a.split(":")[0] for a in _actions(part)} for part in parts]
    # a service is split only when it alone is longer than a part may be
    assert sum(len(p) for p in prefixes) <= len(set().union(*prefixes)) + len(parts)
    assert sorted(a for part in parts for a in _actions(part)) == sorted(set(SCANNER_ACTIONS))


def test_iam_policy_cli():
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*PHIWATCH, "iam-policy", *args], capture_output=True, text=True, timeout=60)

    rb = run("--runbook", "phiwatch-RevokeOpenIngress")
    assert rb.returncode == 0, rb.stderr
    assert sorted(_actions(json.loads(rb.stdout))) == builtin("phiwatch-RevokeOpenIngress").iam_actions()
    sc = run("--scanner")
    assert sc.returncode == 0 and json.loads(sc.stdout) == scanner_policy()
    parts = scanner_policies()
    first = run("--scanner", "--part", "1")
    assert first.returncode == 0 and json.loads(first.stdout) == parts[0]
    beyond = run("--scanner", "--part", str(len(parts) + 1))
    assert beyond.returncode == 2 and f"--part must be 1 to {len(parts)}" in beyond.stderr
    assert run("--runbook", "phiwatch-RevokeOpenIngress", "--part", "1").returncode == 2
    assert run().returncode == 2
    assert run("--scanner", "--runbook", "phiwatch-RevokeOpenIngress").returncode == 2
    unknown = run("--runbook", "phiwatch-Nope")
    assert unknown.returncode == 2 and "unknown runbook" in unknown.stderr


# -- the scanner policy, for real ----------------------------------------------------------------


@pytest.fixture(scope="module")
def enforcing_server() -> Iterator[str]:
    """moto's server in a child process; IAM is enforced once POST /moto-api/reset-auth says so
    (moto counts requests and checks them against IAM after INITIAL_NO_AUTH_ACTION_COUNT)."""
    with iam_enforcing_moto() as endpoint:
        yield endpoint


# moto authorises some requests under its own action names, not AWS's (moto/core/authorization.py
# and moto/s3/responses.py ACTION_MAP): only in the test's copy of the policy, each next to the
# real action it stands for. Real AWS needs only SCANNER_ACTIONS.
MOTO_ACTION_NAMES = {
    "s3:GetBucketPublicAccessBlock": ["s3:GetPublicAccessBlock"],
    "s3:GetAccountPublicAccessBlock": ["s3:GetPublicAccessBlock"],
    "s3:GetEncryptionConfiguration": ["s3:ListBucket"],
    "s3:GetBucketOwnershipControls": ["s3:ListBucket"],
    "s3:GetBucketObjectLockConfiguration": ["s3:ListBucket"],
    "s3:GetReplicationConfiguration": ["s3:ListBucket"],
    "apigateway:GET": ["apigateway:GetRestApis", "apigateway:GetStages", "apigateway:GetApis"],
    "cloudwatch:DescribeAlarms": ["monitoring:DescribeAlarms"],  # moto uses the endpoint prefix
    "cloudwatch:ListTagsForResource": ["monitoring:ListTagsForResource"],
}

# services whose requests moto's server cannot authenticate with IAM enforcement on (REST-JSON
# protocol: SignatureDoesNotMatch even for a user allowed "*"), so the test cannot check them
MOTO_SIGNATURE_BUG_SERVICES = {
    "lambda",
    "efs",
    "apigateway",
    "apigatewayv2",
    "guardduty",
    "securityhub",
    "opensearch",
    "backup",
    "appsync",  # REST-JSON, like the above
    "eks",
    "mq",
    "cloudfront",  # REST-XML: SignatureDoesNotMatch too, in a body botocore cannot read (below)
}
# of those, services whose SignatureDoesNotMatch answer botocore cannot parse (moto wraps the error in
# the query protocol's <ErrorResponse><Errors>): the error arrives as a bare HTTP 403, AccessDenied
# with no message
MOTO_UNREADABLE_SIGNATURE_ERRORS = {"cloudfront"}

ACCESS_ERRORS = (
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "NotAuthorized",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
)


@pytest.fixture(scope="module")
def seeded_demo(enforcing_server) -> dict:
    """The demo estate seeded as root, and the actions a root collection of it calls."""
    from phiwatch.demo.estate import seed_estate

    moto_api(enforcing_server, "reset-auth", b"1000000")
    root = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    seed_estate(root, enforcing_server, "us-east-1")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/root.db")
        aws = AwsContext(endpoint_url=enforcing_server, session=root)
        with record_actions(aws) as recorder:
            aws.account_id()
            result = collect(aws, store)
        by_service = {}
        for name in services():
            one = AwsContext(endpoint_url=enforcing_server, session=root)  # new clients: they copy the recorder
            with record_actions(one) as service_recorder:
                collect(one, store, services=[name])
            by_service[name] = set(service_recorder.actions) - {"sts:GetCallerIdentity"}
        store.close()
    return {
        "by_service": by_service,
        "actions": recorder.actions,
        "calls": recorder.calls,
        "root_errors": result.errors,
        "seen": result.seen,
        "types": dict(result.types_seen),
    }


def test_static_scanner_list_covers_every_action_a_collection_calls(seeded_demo):
    """Re-derive the list against the demo estate: a collector calling a new API must add it."""
    assert seeded_demo["seen"] > 50
    missing = sorted(set(seeded_demo["actions"]) - set(SCANNER_ACTIONS))
    assert missing == [], f"declare in the iam tuple of phiwatch/resources/<service>.py: {missing}"
    # each service declares what its own collector calls (the scanner policy is their union)
    undeclared = {name: sorted(actions - services()[name].iam_actions()) for name, actions in seeded_demo["by_service"].items()}
    assert {name: missing for name, missing in undeclared.items() if missing} == {}
    assert set(SCANNER_ACTIONS) == {"sts:GetCallerIdentity"}.union(*(s.iam_actions() for s in services().values()))
    # and the recorder really saw every service (no silent gap in the derivation)
    prefixes = {a.split(":")[0] for a in seeded_demo["actions"]}
    assert {"s3", "ec2", "iam", "rds", "kms", "cloudtrail", "logs", "dynamodb", "sts"} <= prefixes


def test_collection_with_only_the_scanner_policy_is_never_denied(enforcing_server, seeded_demo, tmp_path):
    endpoint = enforcing_server
    root = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    iam = make_client(root, "iam", endpoint)
    policy = scanner_policy()
    for statement in policy["Statement"]:  # moto's own names for some of the same reads
        statement["Action"] = sorted(set(statement["Action"]) | {m for a in statement["Action"] for m in MOTO_ACTION_NAMES.get(a, [])})
    arn = iam.create_policy(PolicyName="phiwatch-scanner", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.create_user(UserName="phiwatch-scanner")
    iam.attach_user_policy(UserName="phiwatch-scanner", PolicyArn=arn)
    key = iam.create_access_key(UserName="phiwatch-scanner")["AccessKey"]
    moto_api(endpoint, "reset-auth", b"0")  # enforcement on from now
    try:
        scanner = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1")
        # enforcement is real: a write outside the policy is refused
        with pytest.raises(Exception, match="AccessDenied|not authorized"):
            make_client(scanner, "s3", endpoint).create_bucket(Bucket="scanner-may-not-write")
        store = Store(f"sqlite:///{tmp_path / 'scanner.db'}")
        result = collect(AwsContext(endpoint_url=endpoint, session=scanner), store)
        store.close()
    finally:
        moto_api(endpoint, "reset-auth", b"1000000")
    # moto's signature check fails for its REST-JSON services under enforcement, whatever the
    # policy (an admin user with "*" gets the same): those services cannot be checked here
    unverifiable = [
        e
        for e in result.errors
        if "SignatureDoesNotMatch" in (e.message or "")
        or (e.service in MOTO_UNREADABLE_SIGNATURE_ERRORS and e.error == "AccessDenied" and not e.message)
    ]
    assert {e.service for e in unverifiable} <= MOTO_SIGNATURE_BUG_SERVICES
    errors = [e for e in result.errors if e not in unverifiable]
    denied = [e.to_dict() for e in errors if e.error in ACCESS_ERRORS or "not authorized" in (e.message or "")]
    assert denied == [], json.dumps(denied)
    root_errors = {(e.service, e.api, e.error) for e in seeded_demo["root_errors"]}
    assert {(e.service, e.api, e.error) for e in errors} <= root_errors  # no error root did not get too
    # every resource type of the verifiable services was collected as completely as by root
    from phiwatch.collect.base import REGISTRY

    skipped_types = {t for name in MOTO_SIGNATURE_BUG_SERVICES if name in REGISTRY for t in REGISTRY[name].resource_types}
    expected = {t: n for t, n in seeded_demo["types"].items() if t not in skipped_types}
    for added in ("AWS::IAM::User", "AWS::IAM::Policy"):  # the scanner user and its policy
        expected[added] = expected.get(added, 0) + 1
    assert {t: n for t, n in result.types_seen.items() if t not in skipped_types} == expected
    assert sum(n for t, n in result.types_seen.items() if t not in skipped_types) > 50
