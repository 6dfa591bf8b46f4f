"""The event table: CloudTrail write calls and Config item changes -> the resources to re-collect.

No emulator here: events are the documented "AWS API Call via CloudTrail" shape (EventBridge
envelope, the CloudTrail record in ``detail``); the EventBridge patterns are checked with moto's
own pattern matcher.
"""

from __future__ import annotations

import json

import pytest

from phiwatch.collect.registry import load_collectors
from phiwatch.model import ACCOUNT_TYPE
from phiwatch.resources import event_index
from phiwatch.watch.events import (
    PATTERN_LIMIT,
    BadEvent,
    Change,
    Ignored,
    cloudtrail_patterns,
    config_pattern,
    parse_event,
    service_for_type,
    write_calls,
)

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def cloudtrail_event(
    source: str,
    name: str,
    request: dict | None = None,
    response: dict | None = None,
    *,
    region: str = "us-east-1",
    identity: dict | None = None,
    **record,
) -> str:
    detail = {
        "eventVersion": "1.08",
        "userIdentity": identity
        or {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": ALICE, "accountId": ACCOUNT, "userName": "alice"},
        "eventTime": "2026-01-31T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2",
        "requestParameters": request,
        "responseElements": response,
        "requestID": "req-1",
        "eventID": f"evt-{name}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        **record,
    }
    return json.dumps(
        {
            "version": "0",
            "id": f"eb-{name}",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws." + source.split(".")[0],
            "account": ACCOUNT,
            "time": "2026-01-31T10:00:01Z",
            "region": region,
            "resources": [],
            "detail": detail,
        }
    )


def refs(change) -> set[tuple]:
    assert isinstance(change, Change), change
    return {(r.resource_type, r.service, r.region, r.identifiers) for r in change.refs}


def table_types() -> set[str]:
    return {r.resource_type for readings in event_index().values() for r in readings}


def test_table_covers_every_collected_type_and_every_collector():
    collectors = load_collectors()
    produced = {t for cls in collectors.values() for t in cls.resource_types}
    assert produced <= table_types(), f"types with no event: {sorted(produced - table_types())}"
    for t in table_types() - {ACCOUNT_TYPE}:
        assert service_for_type(t) in collectors, t
    account_services = {r.service for readings in event_index().values() for r in readings if r.resource_type == ACCOUNT_TYPE}
    assert account_services <= set(collectors)
    covered = {service_for_type(t) for t in table_types() - {ACCOUNT_TYPE}} | account_services
    assert covered == set(collectors)
    # only write calls: no Describe/Get/List in the table
    for source, names in write_calls().items():
        assert not [n for n in names if n.startswith(("Describe", "Get", "List"))], source


def test_security_group_ingress_names_the_group_and_the_actor():
    change = parse_event(
        cloudtrail_event(
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            {"groupId": "sg-0abc", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22}]}},
        )
    )
    assert refs(change) == {("AWS::EC2::SecurityGroup", "ec2", "us-east-1", ("sg-0abc",))}
    assert change.actor == ALICE and change.event_id == "evt-AuthorizeSecurityGroupIngress"
    assert change.event_time.isoformat() == "2026-01-31T10:00:00+00:00" and change.account_id == ACCOUNT


def test_account_level_calls_map_to_the_account_item():
    ebs = parse_event(cloudtrail_event("ec2.amazonaws.com", "DisableEbsEncryptionByDefault", {}, region="eu-west-1"))
    assert refs(ebs) == {(ACCOUNT_TYPE, "ec2", "eu-west-1", ())}
    password = parse_event(cloudtrail_event("iam.amazonaws.com", "UpdateAccountPasswordPolicy", {"minimumPasswordLength": 8}))
    assert refs(password) == {(ACCOUNT_TYPE, "iam", "global", ())}
    bpa = parse_event(cloudtrail_event("s3.amazonaws.com", "PutAccountPublicAccessBlock", {"accountId": ACCOUNT}))
    assert refs(bpa) == {(ACCOUNT_TYPE, "s3", "global", ())}


@pytest.mark.parametrize(
    "name",
    [
        "PutBucketLogging",
        "DeleteBucketEncryption",
        "PutBucketPolicy",
        "PutBucketAcl",
        "PutBucketPublicAccessBlock",
        "PutPublicAccessBlock",
        "DeleteBucket",
    ],
)
def test_s3_bucket_calls(name):
    change = parse_event(cloudtrail_event("s3.amazonaws.com", name, {"bucketName": "phi-records", "Host": "phi-records.s3.amazonaws.com"}))
    assert refs(change) == {("AWS::S3::Bucket", "s3", "us-east-1", ("phi-records",))}


def test_iam_user_calls_and_own_access_keys():
    mfa = parse_event(cloudtrail_event("iam.amazonaws.com", "DeactivateMFADevice", {"userName": "bob", "serialNumber": "arn:x"}))
    assert refs(mfa) == {("AWS::IAM::User", "iam", "global", ("bob",)), (ACCOUNT_TYPE, "iam", "global", ())}
    # CreateAccessKey without userName: the caller's own key
    own = parse_event(cloudtrail_event("iam.amazonaws.com", "CreateAccessKey", {}, {"accessKey": {"accessKeyId": "AKIA..."}}))
    assert ("AWS::IAM::User", "iam", "global", ("alice",)) in refs(own)
    attach = parse_event(
        cloudtrail_event(
            "iam.amazonaws.com", "AttachUserPolicy", {"userName": "bob", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/phi-read"}
        )
    )
    assert refs(attach) == {
        ("AWS::IAM::User", "iam", "global", ("bob",)),
        ("AWS::IAM::Policy", "iam", "global", (f"arn:aws:iam::{ACCOUNT}:policy/phi-read",)),
    }


def test_other_collected_services_map_too():
    cases = {
        ("cloudtrail.amazonaws.com", "StopLogging", json.dumps({"name": "org-trail"})): {
            ("AWS::CloudTrail::Trail", "cloudtrail", "us-east-1", ("org-trail",)),
            (ACCOUNT_TYPE, "cloudtrail", "us-east-1", ()),
        },
        ("kms.amazonaws.com", "DisableKeyRotation", json.dumps({"keyId": "1234abcd-12ab"})): {
            ("AWS::KMS::Key", "kms", "us-east-1", ("1234abcd-12ab",))
        },
        ("kms.amazonaws.com", "ScheduleKeyDeletion", json.dumps({"keyId": "1234abcd-12ab", "pendingWindowInDays": 7})): {
            ("AWS::KMS::Key", "kms", "us-east-1", ("1234abcd-12ab",))
        },
        ("rds.amazonaws.com", "ModifyDBInstance", json.dumps({"dBInstanceIdentifier": "ehr-db", "publiclyAccessible": True})): {
            ("AWS::RDS::DBInstance", "rds", "us-east-1", ("ehr-db",))
        },
        ("dynamodb.amazonaws.com", "UpdateContinuousBackups", json.dumps({"tableName": "claims"})): {
            ("AWS::DynamoDB::Table", "dynamodb", "us-east-1", ("claims",))
        },
    }
    for (source, name, request), expected in cases.items():
        assert refs(parse_event(cloudtrail_event(source, name, json.loads(request)))) == expected, name


_LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1"
_WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/phi-acl/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
_TASK_DEF = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/intake:7"
_REP = f"arn:aws:dms:us-east-1:{ACCOUNT}:rep:OFRUSXCSXWQQAVF4VXLH2WWBSE"
_NOTEBOOK = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/research-nb"


@pytest.mark.parametrize(
    "source, name, request_, response, expected",
    [
        pytest.param(
            "autoscaling.amazonaws.com",
            "CreateOrUpdateTags",
            {"tags": [{"resourceId": "web-asg", "resourceType": "auto-scaling-group", "key": "PHI", "value": "yes"}]},
            None,
            {("AWS::AutoScaling::AutoScalingGroup", "autoscaling", "us-east-1", ("web-asg",))},
            id="autoscaling",
        ),
        pytest.param(
            "backup.amazonaws.com",
            "DeleteBackupSelection",
            {"backupPlanId": "plan-1", "selectionId": "sel-1"},
            None,
            {("AWS::Backup::BackupPlan", "backup", "us-east-1", ("plan-1",)), (ACCOUNT_TYPE, "backup", "us-east-1", ())},
            id="backup",
        ),
        pytest.param(
            "codebuild.amazonaws.com",
            "UpdateProjectVisibility",
            {"projectArn": f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/etl-build", "projectVisibility": "PUBLIC_READ"},
            None,
            {("AWS::CodeBuild::Project", "codebuild", "us-east-1", ("etl-build",))},
            id="codebuild",
        ),
        pytest.param(
            "dms.amazonaws.com",
            "ModifyReplicationInstance",
            {"replicationInstanceArn": _REP, "multiAZ": True},
            {"replicationInstance": {"replicationInstanceIdentifier": "migrator", "replicationInstanceArn": _REP}},
            {("AWS::DMS::ReplicationInstance", "dms", "us-east-1", ("migrator", _REP))},
            id="dms",
        ),
        pytest.param(
            "ecs.amazonaws.com",
            "RegisterTaskDefinition",
            {"family": "intake", "networkMode": "host"},
            {"taskDefinition": {"taskDefinitionArn": _TASK_DEF, "family": "intake", "revision": 7}},
            {("AWS::ECS::TaskDefinition", "ecs", "us-east-1", (_TASK_DEF,))},
            id="ecs",
        ),
        pytest.param(
            "elasticache.amazonaws.com",
            "ModifyReplicationGroup",
            {"replicationGroupId": "sessions", "snapshotRetentionLimit": 0},
            None,
            {
                ("AWS::ElastiCache::ReplicationGroup", "elasticache", "us-east-1", ("sessions",)),
                ("AWS::ElastiCache::CacheCluster", "elasticache", "us-east-1", ()),
            },
            id="elasticache",
        ),
        pytest.param(
            "elasticbeanstalk.amazonaws.com",
            "UpdateEnvironment",
            {"environmentId": "e-abcd1234", "optionSettings": []},
            {"environmentName": "portal-prod", "environmentId": "e-abcd1234"},
            {("AWS::ElasticBeanstalk::Environment", "elasticbeanstalk", "us-east-1", ("portal-prod",))},
            id="elasticbeanstalk",
        ),
        pytest.param(
            "elasticmapreduce.amazonaws.com",
            "SetTerminationProtection",
            {"jobFlowIds": ["j-2AXXXXXXGAPLF"], "terminationProtected": False},
            None,
            {("AWS::EMR::Cluster", "emr", "us-east-1", ("j-2AXXXXXXGAPLF",))},
            id="emr",
        ),
        pytest.param(
            "kinesis.amazonaws.com",
            "StopStreamEncryption",
            {"streamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/claims-feed", "encryptionType": "KMS", "keyId": "alias/phi"},
            None,
            {("AWS::Kinesis::Stream", "kinesis", "us-east-1", ("claims-feed",))},
            id="kinesis",
        ),
        pytest.param(
            "sagemaker.amazonaws.com",
            "AddTags",
            {"resourceArn": _NOTEBOOK, "tags": [{"key": "PHI", "value": "yes"}]},
            None,
            {("AWS::SageMaker::NotebookInstance", "sagemaker", "us-east-1", (_NOTEBOOK,))},
            id="sagemaker",
        ),
        pytest.param(
            "ssm.amazonaws.com",
            "ModifyDocumentPermission",
            {"name": "phi-runbook", "permissionType": "Share", "accountIdsToAdd": ["all"]},
            None,
            {("AWS::SSM::Document", "ssm", "us-east-1", ("phi-runbook",))},
            id="ssm",
        ),
        pytest.param(
            "ec2.amazonaws.com",
            "ModifyVpnTunnelOptions",
            {"ModifyVpnTunnelOptionsRequest": {"VpnConnectionId": "vpn-0abc", "VpnTunnelOutsideIpAddress": "203.0.113.5"}},
            None,
            {("AWS::EC2::VPNConnection", "vpn", "us-east-1", ("vpn-0abc",))},
            id="vpn",
        ),
        pytest.param(
            "ec2.amazonaws.com",
            "CreateTags",
            {"resourcesSet": {"items": [{"resourceId": "vpn-0abc"}]}},
            None,
            {("AWS::EC2::VPNConnection", "vpn", "us-east-1", ("vpn-0abc",))},
            id="vpn-tags",
        ),
        pytest.param(
            "wafv2.amazonaws.com",
            "AssociateWebACL",
            {"webACLArn": _WEB_ACL, "resourceArn": _LB},
            None,
            {
                ("AWS::WAFv2::WebACL", "wafv2", "us-east-1", ("a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",)),
                (ACCOUNT_TYPE, "wafv2", "us-east-1", ()),
            },
            id="wafv2",
        ),
    ],
)
def test_calls_name_the_id_each_collector_stores(source, name, request_, response, expected):
    assert refs(parse_event(cloudtrail_event(source, name, request_, response))) == expected


def test_ssm_calls_on_other_resource_kinds_are_not_mapped():
    tags = parse_event(cloudtrail_event("ssm.amazonaws.com", "AddTagsToResource", {"resourceType": "Parameter", "resourceId": "/app/db"}))
    assert isinstance(tags, Ignored) and tags.reason == "unknown-event"
    patch = parse_event(cloudtrail_event("ssm.amazonaws.com", "PutComplianceItems", {"resourceId": "i-0abc", "complianceType": "Patch"}))
    assert refs(patch) == {("AWS::SSM::PatchCompliance", "ssm", "us-east-1", ("i-0abc",))}
    custom = parse_event(
        cloudtrail_event("ssm.amazonaws.com", "PutComplianceItems", {"resourceId": "i-0abc", "complianceType": "Custom:scan"})
    )
    assert isinstance(custom, Ignored) and custom.reason == "unknown-event"


def test_created_resources_come_from_the_response():
    run = parse_event(
        cloudtrail_event(
            "ec2.amazonaws.com",
            "RunInstances",
            {"instanceType": "t3.micro"},
            {"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}},
        )
    )
    assert refs(run) == {("AWS::EC2::Instance", "ec2", "us-east-1", ("i-1", "i-2"))}
    vpc = parse_event(cloudtrail_event("ec2.amazonaws.com", "CreateVpc", {"cidrBlock": "10.0.0.0/16"}, {"vpc": {"vpcId": "vpc-9"}}))
    assert refs(vpc) == {("AWS::EC2::VPC", "vpc", "us-east-1", ("vpc-9",))}


def test_ec2_tags_classified_by_id_prefix():
    change = parse_event(
        cloudtrail_event(
            "ec2.amazonaws.com",
            "CreateTags",
            {
                "resourcesSet": {"items": [{"resourceId": "vol-1"}, {"resourceId": "sg-2"}]},
                "tagSet": {"items": [{"key": "PHI", "value": "Yes"}]},
            },
        )
    )
    assert refs(change) == {
        ("AWS::EC2::Volume", "ec2", "us-east-1", ("vol-1",)),
        ("AWS::EC2::SecurityGroup", "ec2", "us-east-1", ("sg-2",)),
    }


def test_shared_names_are_told_apart_by_their_parameters():
    v2 = parse_event(
        cloudtrail_event(
            "elasticloadbalancing.amazonaws.com",
            "ModifyLoadBalancerAttributes",
            {"loadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1"},
        )
    )
    assert {r[0] for r in refs(v2)} == {"AWS::ElasticLoadBalancingV2::LoadBalancer"}
    classic = parse_event(
        cloudtrail_event("elasticloadbalancing.amazonaws.com", "ModifyLoadBalancerAttributes", {"loadBalancerName": "legacy"})
    )
    assert refs(classic) == {("AWS::ElasticLoadBalancing::LoadBalancer", "elb", "us-east-1", ("legacy",))}
    stage = parse_event(cloudtrail_event("apigateway.amazonaws.com", "UpdateStage", {"restApiId": "a1", "stageName": "prod"}))
    assert refs(stage) == {
        ("AWS::ApiGateway::Stage", "apigateway", "us-east-1", ("arn:aws:apigateway:us-east-1::/restapis/a1/stages/prod",))
    }
    # neither reading found an id: re-collect both
    unknown = parse_event(cloudtrail_event("elasticloadbalancing.amazonaws.com", "DeleteLoadBalancer", {}))
    assert {r[0] for r in refs(unknown)} == {"AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancing::LoadBalancer"}


def test_lambda_versioned_event_names():
    change = parse_event(cloudtrail_event("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", {"functionName": "intake"}))
    assert refs(change) == {("AWS::Lambda::Function", "lambda", "us-east-1", ("intake",))}


def test_autoscaling_only_for_dynamodb():
    table = parse_event(
        cloudtrail_event(
            "application-autoscaling.amazonaws.com",
            "RegisterScalableTarget",
            {"serviceNamespace": "dynamodb", "resourceId": "table/claims/index/by-date"},
        )
    )
    assert refs(table) == {("AWS::DynamoDB::Table", "dynamodb", "us-east-1", ("claims",))}
    ecs = parse_event(
        cloudtrail_event(
            "application-autoscaling.amazonaws.com", "RegisterScalableTarget", {"serviceNamespace": "ecs", "resourceId": "service/c/s"}
        )
    )
    assert isinstance(ecs, Ignored) and ecs.reason == "unknown-event"


def test_config_item_change_names_the_resource():
    body = json.dumps(
        {
            "version": "0",
            "id": "cfg-1",
            "detail-type": "Config Configuration Item Change",
            "source": "aws.config",
            "account": ACCOUNT,
            "time": "2026-01-31T10:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "messageType": "ConfigurationItemChangeNotification",
                "configurationItem": {
                    "resourceType": "AWS::S3::Bucket",
                    "resourceId": "phi-records",
                    "awsRegion": "us-east-1",
                    "awsAccountId": ACCOUNT,
                    "configurationItemCaptureTime": "2026-01-31T09:59:00.000Z",
                    "configurationStateId": 1706,
                },
            },
        }
    )
    change = parse_event(body)
    assert refs(change) == {("AWS::S3::Bucket", "s3", "us-east-1", ("phi-records",))}
    assert change.origin == "config" and change.actor is None
    oversized = json.loads(body)
    oversized["detail"] = {
        "messageType": "OversizedConfigurationItemChangeNotification",
        "configurationItemSummary": {**oversized["detail"]["configurationItem"], "resourceType": "AWS::IAM::User", "resourceId": "AIDA1"},
    }
    assert refs(parse_event(json.dumps(oversized))) == {("AWS::IAM::User", "iam", "global", ("AIDA1",))}
    not_collected = json.loads(body)
    not_collected["detail"]["configurationItem"]["resourceType"] = "AWS::Glue::Job"
    assert parse_event(json.dumps(not_collected)).reason == "not-collected"


def test_bad_and_irrelevant_messages():
    for body in ("{not json", "[1, 2]", json.dumps({"hello": "world"}), json.dumps({"detail": {"eventName": "X"}})):
        with pytest.raises(BadEvent):
            parse_event(body)
    failed = parse_event(
        cloudtrail_event("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": "sg-1"}, errorCode="UnauthorizedOperation")
    )
    assert isinstance(failed, Ignored) and failed.reason == "failed-call"
    unknown = parse_event(cloudtrail_event("ec2.amazonaws.com", "DescribeInstances", {}))
    assert isinstance(unknown, Ignored) and unknown.reason == "unknown-event"
    signin = json.loads(cloudtrail_event("signin.amazonaws.com", "ConsoleLogin"))
    signin["detail-type"] = "AWS Console Signin via CloudTrail"
    assert parse_event(json.dumps(signin)).reason == "not-an-event"
    no_time = json.loads(cloudtrail_event("ec2.amazonaws.com", "DeleteVolume", {"volumeId": "vol-1"}))
    no_time["detail"]["eventTime"] = "yesterday"
    no_time["time"] = None
    with pytest.raises(BadEvent):
        parse_event(json.dumps(no_time))


def test_sns_wrapped_and_bare_records_are_read():
    inner = cloudtrail_event("ec2.amazonaws.com", "DeleteVolume", {"volumeId": "vol-1"})
    wrapped = json.dumps({"Type": "Notification", "MessageId": "m", "Message": inner})
    assert refs(parse_event(wrapped)) == {("AWS::EC2::Volume", "ec2", "us-east-1", ("vol-1",))}
    bare = json.dumps(json.loads(inner)["detail"])
    assert refs(parse_event(bare)) == {("AWS::EC2::Volume", "ec2", "us-east-1", ("vol-1",))}


def test_patterns_fit_eventbridge_and_match_exactly_the_write_calls():
    from moto.events.models import EventPattern

    patterns = cloudtrail_patterns()
    assert all(len(json.dumps(p, separators=(",", ":"))) <= PATTERN_LIMIT for p in patterns)
    matchers = [EventPattern(json.dumps(p), p) for p in patterns]

    def matched(source: str, name: str) -> bool:
        event = json.loads(cloudtrail_event(source, name))
        return any(m.matches_event(event) for m in matchers)

    for source, names in write_calls().items():
        for name in names:
            shown = name + "20150331v2" if source == "lambda.amazonaws.com" else name
            assert matched(source, shown), (source, shown)
    assert not matched("ec2.amazonaws.com", "DescribeSecurityGroups")
    assert not matched("s3.amazonaws.com", "GetBucketPolicy")
    config = EventPattern(json.dumps(config_pattern()), config_pattern())
    assert config.matches_event({"source": "aws.config", "detail-type": "Config Configuration Item Change", "detail": {}})
    # only some services: fewer calls
    only_s3 = cloudtrail_patterns(["s3"])
    assert len(only_s3) == 1 and only_s3[0]["detail"]["eventSource"] == ["s3.amazonaws.com"] and only_s3[0]["source"] == ["aws.s3"]
