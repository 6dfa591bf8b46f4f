"""Systems Manager rules. Documents and an EC2 instance in the emulator with one scan (no SSM Agent
runs there, so it has no managed node); managed nodes and compliance summaries on constructed items."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.policy import Policy
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import judge_rule

ACCOUNT = "123456789012"
CONTENT = json.dumps(
    {
        "schemaVersion": "2.2",
        "description": "d",
        "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["true"]}}],
    }
)


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service):
        return make_client(emulator.session("us-east-1"), service, emulator.endpoint, "us-east-1")

    ssm = client("ssm")
    for name in ("doc-not-shared", "doc-shared-with-one-account", "doc-shared-publicly"):
        ssm.create_document(Name=name, Content=CONTENT, DocumentType="Command")
    ssm.modify_document_permission(Name="doc-shared-with-one-account", PermissionType="Share", AccountIdsToAdd=["210987654321"])
    ssm.modify_document_permission(Name="doc-shared-publicly", PermissionType="Share", AccountIdsToAdd=["all"])
    ec2 = client("ec2")
    image = ec2.register_image(Name="ssm-rules-image", RootDeviceName="/dev/xvda")["ImageId"]
    instance = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('ssmrules') / 's.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1"], session=emulator.session())
    outcome = run_scan(ctx, store, Policy(), services=["ssm", "ec2"])
    verdicts = {(e["rule_id"], e["resource_id"]): e for e in outcome.scan["evaluations"]}
    yield verdicts, instance
    store.close()


@pytest.mark.parametrize(
    "name,expected",
    [
        ("doc-not-shared", "COMPLIANT"),
        ("doc-shared-with-one-account", "COMPLIANT"),
        ("doc-shared-publicly", "NON_COMPLIANT"),
    ],
)
def test_document_sharing_verdicts(estate, name, expected):
    verdicts, _ = estate
    assert verdicts[("ssm-document-not-public", name)]["compliance"] == expected


def test_running_instance_without_agent_is_not_managed(estate):
    verdicts, instance = estate
    result = verdicts[("ec2-instance-managed-by-systems-manager", instance)]
    assert result["compliance"] == "NON_COMPLIANT" and "not a Systems Manager managed node" in result["annotation"]


def test_managed_instance_insufficient_when_listing_failed():
    error = {"api": "DescribeInstanceInformation", "error": "AccessDeniedException", "iam_action": "ssm:DescribeInstanceInformation"}
    account = _account(None)
    account.collectionErrors.append(error)
    result = _run("ec2-instance-managed-by-systems-manager", _instance(), [account])
    assert result.compliance.value == "INSUFFICIENT_DATA" and "ssm:DescribeInstanceInformation" in result.annotation


# -- constructed items -------------------------------------------------------------------------


def _run(rule_id, item, others=()):
    return judge_rule(rule_id, item, others=others, now=dt.datetime.now(dt.UTC))


def _instance(state="running", instance_id="i-0aaaaaaaaaaaaaaa1"):
    return ConfigurationItem(
        resourceType="AWS::EC2::Instance",
        resourceId=instance_id,
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"InstanceId": instance_id, "State": {"Name": state}},
    )


def _account(nodes=None):
    return ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={} if nodes is None else {"ssmManagedInstances": nodes},
    )


@pytest.mark.parametrize(
    "nodes,expected",
    [
        ({"i-0aaaaaaaaaaaaaaa1": "Online"}, "COMPLIANT"),
        ({"i-0aaaaaaaaaaaaaaa1": "ConnectionLost"}, "NON_COMPLIANT"),
        ({"i-0bbbbbbbbbbbbbbb2": "Online"}, "NON_COMPLIANT"),
        ({}, "NON_COMPLIANT"),
    ],
)
def test_running_instance_managed_by_systems_manager(nodes, expected):
    assert _run("ec2-instance-managed-by-systems-manager", _instance(), [_account(nodes)]).compliance.value == expected


def test_managed_instance_rule_scope():
    assert _run("ec2-instance-managed-by-systems-manager", _instance("stopped"), [_account({})]).compliance.value == "NOT_APPLICABLE"
    assert _run("ec2-instance-managed-by-systems-manager", _instance(), [_account(None)]) is None  # SSM not collected
    inventory = ConfigurationItem(
        resourceType="AWS::SSM::ManagedInstanceInventory",
        resourceId="i-0aaaaaaaaaaaaaaa1",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"PingStatus": "Online"},
    )
    assert _run("ec2-instance-managed-by-systems-manager", inventory, [_account({})]) is None


def _summary(resource_type, status, errors=()):
    configuration = (
        {}
        if status is None
        else {
            "ComplianceType": "Patch" if "Patch" in resource_type else "Association",
            "ResourceType": "ManagedInstance",
            "ResourceId": "i-0aaaaaaaaaaaaaaa1",
            "Status": status,
            "NonCompliantSummary": {"NonCompliantCount": 0 if status == "COMPLIANT" else 3},
        }
    )
    return ConfigurationItem(
        resourceType=resource_type,
        resourceId="i-0aaaaaaaaaaaaaaa1",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration=configuration,
        collectionErrors=list(errors),
    )


@pytest.mark.parametrize(
    "rule_id,resource_type",
    [
        ("ec2-managedinstance-association-compliance-status-check", "AWS::SSM::AssociationCompliance"),
        ("ec2-managedinstance-patch-compliance-status-check", "AWS::SSM::PatchCompliance"),
    ],
)
def test_compliance_summaries(rule_id, resource_type):
    assert _run(rule_id, _summary(resource_type, "COMPLIANT")).compliance.value == "COMPLIANT"
    bad = _run(rule_id, _summary(resource_type, "NON_COMPLIANT"))
    assert bad.compliance.value == "NON_COMPLIANT" and "3 non-compliant" in bad.annotation
    error = {"api": "ListResourceComplianceSummaries", "error": "AccessDenied", "iam_action": "ssm:ListResourceComplianceSummaries"}
    assert _run(rule_id, _summary(resource_type, None, [error])).compliance.value == "INSUFFICIENT_DATA"


def test_document_insufficient_when_permission_read_failed():
    error = {"api": "DescribeDocumentPermission", "error": "AccessDenied", "iam_action": "ssm:DescribeDocumentPermission"}
    item = ConfigurationItem(
        resourceType="AWS::SSM::Document", resourceId="doc-x", awsRegion="us-east-1", accountId=ACCOUNT, collectionErrors=[error]
    )
    result = _run("ssm-document-not-public", item)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "ssm:DescribeDocumentPermission" in result.annotation
