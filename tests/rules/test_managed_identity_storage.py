"""AWS Config managed rules on identity, storage and account settings (IAM, S3, CloudWatch, Systems
Manager, EFS, ACM, SageMaker, GuardDuty, CloudTrail, Organizations and Account Management): one
estate in moto's server, one collection, each rule judged on the stored items; what moto cannot
represent (managed nodes' inventory, GuardDuty findings, an account outside any organization, ...)
on constructed items."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE, Compliance, ConfigurationItem
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICES = ["s3", "iam", "efs", "sagemaker", "logs", "acm", "cloudtrail", "guardduty", "organizations", "kms"]
OTHER = "999988887777"
ALL_BPA = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
C, N, NA, INS = Compliance.COMPLIANT, Compliance.NON_COMPLIANT, Compliance.NOT_APPLICABLE, Compliance.INSUFFICIENT_DATA
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal, action, resource="arn:aws:s3:::b/*", **extra) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


def build(client) -> None:
    s3 = client("s3")
    for name in ("tagged-locked", "untagged-open", "lifecycle-glacier", "shared-other", "shared-own"):
        s3.create_bucket(Bucket=name)
    s3.put_public_access_block(Bucket="tagged-locked", PublicAccessBlockConfiguration=ALL_BPA)
    s3.put_public_access_block(Bucket="untagged-open", PublicAccessBlockConfiguration={**ALL_BPA, "BlockPublicPolicy": False})
    s3.put_bucket_tagging(Bucket="tagged-locked", Tagging={"TagSet": [{"Key": "CostCenter", "Value": "cc-1"}]})
    s3.put_bucket_lifecycle_configuration(
        Bucket="lifecycle-glacier",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "archive",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "logs/"},
                    "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
                    "Expiration": {"Days": 395},
                }
            ]
        },
    )
    s3.put_bucket_policy(
        Bucket="shared-other",
        Policy=_policy(_allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, ["s3:GetObject", "s3:DeleteObject"], "arn:aws:s3:::shared-other/*")),
    )
    s3.put_bucket_policy(
        Bucket="shared-own",
        Policy=_policy(_allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "s3:*", "arn:aws:s3:::shared-own/*")),
    )
    client("s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_BPA)

    iam = client("iam")
    denied = iam.create_policy(PolicyName="denied-admin", PolicyDocument=_policy({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    denied_arn = denied["Policy"]["Arn"]
    logs_read = iam.create_policy(
        PolicyName="logs-read", PolicyDocument=_policy({"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"})
    )["Policy"]["Arn"]
    iam.create_policy(PolicyName="unused", PolicyDocument=_policy({"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}))
    iam.create_group(GroupName="clinicians")
    iam.create_group(GroupName="empty-group")
    iam.attach_group_policy(GroupName="clinicians", PolicyArn=logs_read)
    iam.attach_group_policy(GroupName="empty-group", PolicyArn=denied_arn)
    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    iam.add_user_to_group(GroupName="clinicians", UserName="alice")
    iam.attach_user_policy(UserName="bob", PolicyArn=denied_arn)
    trust = _policy({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="app-role", PolicyArn=logs_read)
    iam.attach_role_policy(RoleName="admin-role", PolicyArn=denied_arn)

    efs = client("efs")
    fs = efs.create_file_system(CreationToken="claims")["FileSystemId"]
    efs.create_access_point(
        FileSystemId=fs,
        PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/claims", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "750"}},
        Tags=[{"Key": "Name", "Value": "ap-enforced"}],
    )
    efs.create_access_point(FileSystemId=fs, Tags=[{"Key": "Name", "Value": "ap-open"}])

    sm = client("sagemaker")
    role = f"arn:aws:iam::{ACCOUNT}:role/app-role"
    sm.create_notebook_instance(
        NotebookInstanceName="nb-vpc-no-root",
        InstanceType="ml.t3.medium",
        RoleArn=role,
        SubnetId="subnet-0a1",
        SecurityGroupIds=["sg-1"],
        RootAccess="Disabled",
    )
    sm.create_notebook_instance(NotebookInstanceName="nb-public-root", InstanceType="ml.t3.medium", RoleArn=role)

    cw = client("cloudwatch")
    alarm = dict(Namespace="AWS/S3", Statistic="Average", ComparisonOperator="GreaterThanThreshold", EvaluationPeriods=1)
    cw.put_metric_alarm(
        AlarmName="bucket-4xx",
        MetricName="4xxErrors",
        Period=300,
        Threshold=5,
        ActionsEnabled=True,
        Dimensions=[{"Name": "BucketName", "Value": "tagged-locked"}, {"Name": "FilterId", "Value": "all"}],
        **alarm,
    )
    cw.put_metric_alarm(AlarmName="quiet-alarm", MetricName="4xxErrors", Period=60, Threshold=5, ActionsEnabled=False, **alarm)

    kms = client("kms")
    key = kms.create_key(Description="trail")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="trail-logs")
    trail = client("cloudtrail")
    trail.create_trail(
        Name="security-trail",
        S3BucketName="trail-logs",
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KmsKeyId=key,
    )
    trail.start_logging(Name="security-trail")
    client("guardduty").create_detector(Enable=True)
    client("organizations").create_organization(FeatureSet="ALL")
    client("account").put_alternate_contact(
        AlternateContactType="SECURITY", Name="Sec Ops", Title="SOC", EmailAddress="soc@example.org", PhoneNumber="+10000000000"
    )


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service, region=REGION):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    build(client)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('managed-idstor') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session())
    result = collect(ctx, store, services=SERVICES)
    items = list(store.current_items())
    yield {"items": items, "result": result}
    store.close()


def _find(estate, resource_type: str, name: str) -> ConfigurationItem:
    found = [i for i in estate["items"] if i.resourceType == resource_type and name in (i.resourceId, i.resourceName)]
    assert found, f"no {resource_type} {name}"
    return found[0]


def judge(estate, rule_id, resource_type, name, **params):
    item = _find(estate, resource_type, name)
    items = estate["items"]
    return judge_rule(rule_id, item, lookup=lambda t: [i for i in items if i.resourceType == t], params=params, now=NOW)


def verdict(estate, rule_id, resource_type, name, **params):
    result = judge(estate, rule_id, resource_type, name, **params)
    return None if result is None else result.compliance


# -- through boto3 and moto ---------------------------------------------------------------------------------

BUCKET, USER, GROUP, ROLE = "AWS::S3::Bucket", "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Role"
ALARM, NOTEBOOK, ACCESS_POINT = "AWS::CloudWatch::Alarm", "AWS::SageMaker::NotebookInstance", "AWS::EFS::AccessPoint"


@pytest.mark.parametrize(
    "rule_id,resource_type,name,params,expected",
    [
        ("required-tags", BUCKET, "tagged-locked", {}, C),
        ("required-tags", BUCKET, "untagged-open", {}, N),
        ("required-tags", BUCKET, "tagged-locked", {"tag1Value": "cc-1, cc-2"}, C),
        ("required-tags", BUCKET, "tagged-locked", {"tag1Value": "cc-9"}, N),
        ("required-tags", BUCKET, "tagged-locked", {"tag2Key": "Owner"}, N),
        ("s3-bucket-level-public-access-prohibited", BUCKET, "tagged-locked", {}, C),
        ("s3-bucket-level-public-access-prohibited", BUCKET, "untagged-open", {}, N),
        ("s3-bucket-level-public-access-prohibited", BUCKET, "untagged-open", {"excludedPublicBuckets": "x, untagged-open"}, C),
        ("s3-lifecycle-policy-check", BUCKET, "lifecycle-glacier", {}, C),
        ("s3-lifecycle-policy-check", BUCKET, "untagged-open", {}, N),
        (
            "s3-lifecycle-policy-check",
            BUCKET,
            "lifecycle-glacier",
            {"targetTransitionDays": 30, "targetTransitionStorageClass": "glacier"},
            C,
        ),
        ("s3-lifecycle-policy-check", BUCKET, "lifecycle-glacier", {"targetExpirationDays": 365}, N),
        ("s3-lifecycle-policy-check", BUCKET, "lifecycle-glacier", {"targetPrefix": "logs/"}, C),
        ("s3-lifecycle-policy-check", BUCKET, "lifecycle-glacier", {"targetPrefix": "other/"}, N),
        ("s3-lifecycle-policy-check", BUCKET, "untagged-open", {"bucketNames": "lifecycle-glacier"}, None),
        ("s3-bucket-blacklisted-actions-prohibited", BUCKET, "shared-other", {"blacklistedActionPattern": "s3:DeleteObject"}, N),
        ("s3-bucket-blacklisted-actions-prohibited", BUCKET, "shared-other", {"blacklistedActionPattern": "s3:PutBucket*"}, C),
        ("s3-bucket-blacklisted-actions-prohibited", BUCKET, "shared-own", {"blacklistedActionPattern": "s3:DeleteObject"}, C),
        ("s3-bucket-blacklisted-actions-prohibited", BUCKET, "untagged-open", {"blacklistedActionPattern": "s3:*"}, C),
        ("s3-bucket-policy-grantee-check", BUCKET, "shared-other", {"awsPrincipals": OTHER}, C),
        ("s3-bucket-policy-grantee-check", BUCKET, "shared-other", {"awsPrincipals": ACCOUNT}, N),
        ("s3-bucket-policy-grantee-check", BUCKET, "untagged-open", {}, C),
        (
            "s3-bucket-policy-not-more-permissive",
            BUCKET,
            "shared-other",
            {"controlPolicy": _policy(_allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "s3:*", "arn:aws:s3:::*"))},
            C,
        ),
        (
            "s3-bucket-policy-not-more-permissive",
            BUCKET,
            "shared-other",
            {"controlPolicy": _policy(_allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "s3:GetObject", "arn:aws:s3:::*"))},
            N,
        ),
        ("s3-bucket-policy-not-more-permissive", BUCKET, "shared-own", {"controlPolicy": _policy()}, C),
        ("s3-bucket-policy-not-more-permissive", BUCKET, "shared-other", {"controlPolicy": "{not json"}, INS),
        ("iam-group-has-users-check", GROUP, "clinicians", {}, C),
        ("iam-group-has-users-check", GROUP, "empty-group", {}, N),
        ("iam-user-group-membership-check", USER, "alice", {}, C),
        ("iam-user-group-membership-check", USER, "bob", {}, N),
        ("iam-user-group-membership-check", USER, "alice", {"groupNames": "admins,clinicians"}, C),
        ("iam-user-group-membership-check", USER, "alice", {"groupNames": "admins"}, N),
        ("iam-role-managed-policy-check", ROLE, "app-role", {"managedPolicyArns": f"arn:aws:iam::{ACCOUNT}:policy/logs-read"}, C),
        ("iam-role-managed-policy-check", ROLE, "admin-role", {"managedPolicyArns": f"arn:aws:iam::{ACCOUNT}:policy/logs-read"}, N),
        ("iam-policy-blacklisted-check", USER, "alice", {"policyArns": f"arn:aws:iam::{ACCOUNT}:policy/denied-admin"}, C),
        ("iam-policy-blacklisted-check", USER, "bob", {"policyArns": f"arn:aws:iam::{ACCOUNT}:policy/denied-admin"}, N),
        ("iam-policy-blacklisted-check", GROUP, "empty-group", {"policyArns": f"arn:aws:iam::{ACCOUNT}:policy/denied-admin"}, N),
        ("iam-policy-blacklisted-check", ROLE, "admin-role", {"policyArns": f"arn:aws:iam::{ACCOUNT}:policy/denied-admin"}, N),
        (
            "iam-policy-blacklisted-check",
            ROLE,
            "admin-role",
            {"policyArns": f"arn:aws:iam::{ACCOUNT}:policy/denied-admin", "exceptionList": "users:[bob], roles:[other;admin-role]"},
            NA,
        ),
        ("iam-policy-blacklisted-check", ROLE, "app-role", {}, C),  # default: AdministratorAccess
        ("cloudwatch-alarm-action-enabled-check", ALARM, "bucket-4xx", {}, C),
        ("cloudwatch-alarm-action-enabled-check", ALARM, "quiet-alarm", {}, N),
        ("cloudwatch-alarm-settings-check", ALARM, "bucket-4xx", {"metricName": "4xxErrors", "threshold": 5, "statistic": "average"}, C),
        ("cloudwatch-alarm-settings-check", ALARM, "quiet-alarm", {"metricName": "4xxErrors"}, N),  # period 60, not 300
        ("cloudwatch-alarm-settings-check", ALARM, "bucket-4xx", {"metricName": "4xxErrors", "comparisonOperator": "LessThanThreshold"}, N),
        ("cloudwatch-alarm-settings-check", ALARM, "bucket-4xx", {"metricName": "CPUUtilization"}, NA),
        ("cloudwatch-alarm-resource-check", BUCKET, "tagged-locked", {"resourceType": BUCKET, "metricName": "4xxErrors"}, C),
        ("cloudwatch-alarm-resource-check", BUCKET, "untagged-open", {"resourceType": BUCKET, "metricName": "4xxErrors"}, N),
        ("cloudwatch-alarm-resource-check", BUCKET, "tagged-locked", {"resourceType": BUCKET, "metricName": "5xxErrors"}, N),
        ("cloudwatch-alarm-resource-check", BUCKET, "tagged-locked", {"resourceType": "AWS::EC2::Volume", "metricName": "4xxErrors"}, None),
        ("sagemaker-notebook-instance-inside-vpc", NOTEBOOK, "nb-vpc-no-root", {}, C),
        ("sagemaker-notebook-instance-inside-vpc", NOTEBOOK, "nb-public-root", {}, N),
        ("sagemaker-notebook-instance-inside-vpc", NOTEBOOK, "nb-vpc-no-root", {"SubnetIds": "subnet-0a1, subnet-0b2"}, C),
        ("sagemaker-notebook-instance-inside-vpc", NOTEBOOK, "nb-vpc-no-root", {"SubnetIds": "subnet-0b2"}, N),
        ("sagemaker-notebook-instance-root-access-check", NOTEBOOK, "nb-vpc-no-root", {}, C),
        ("sagemaker-notebook-instance-root-access-check", NOTEBOOK, "nb-public-root", {}, N),
        ("efs-access-point-enforce-root-directory", ACCESS_POINT, "ap-enforced", {}, C),
        ("efs-access-point-enforce-root-directory", ACCESS_POINT, "ap-open", {}, N),
        ("efs-access-point-enforce-root-directory", ACCESS_POINT, "ap-enforced", {"approvedDirectories": "/claims/, /billing"}, C),
        ("efs-access-point-enforce-root-directory", ACCESS_POINT, "ap-enforced", {"approvedDirectories": "/billing"}, N),
        ("efs-access-point-enforce-user-identity", ACCESS_POINT, "ap-enforced", {}, C),
        ("efs-access-point-enforce-user-identity", ACCESS_POINT, "ap-open", {}, N),
        ("efs-access-point-enforce-user-identity", ACCESS_POINT, "ap-enforced", {"approvedUids": "1000", "approvedGids": "1000,2000"}, C),
        ("efs-access-point-enforce-user-identity", ACCESS_POINT, "ap-enforced", {"approvedUids": "0"}, N),
        ("efs-access-point-enforce-user-identity", ACCESS_POINT, "ap-enforced", {"approvedGids": "0"}, N),
    ],
)
def test_rule_on_the_collected_estate(estate, rule_id, resource_type, name, params, expected):
    assert verdict(estate, rule_id, resource_type, name, **params) == expected


def _account(estate, region):
    return next(i for i in estate["items"] if i.resourceType == ACCOUNT_TYPE and i.awsRegion == region)


def judge_account(estate, rule_id, region=REGION, **params):
    items = estate["items"]
    return judge_rule(rule_id, _account(estate, region), lookup=lambda t: [i for i in items if i.resourceType == t], params=params, now=NOW)


def test_account_rules_on_the_collected_estate(estate):
    for rule_id in (
        "account-part-of-organizations",
        "security-account-information-provided",
        "s3-account-level-public-access-blocks",
        "cloudtrail-security-trail-enabled",
    ):
        result = judge_account(estate, rule_id)
        assert result is not None and result.compliance == C, (rule_id, result)
        assert judge_account(estate, rule_id, region="global") is None  # per region, not on the global item
    assert judge_account(estate, "account-part-of-organizations", MasterAccountId=OTHER).compliance == N
    assert judge_account(estate, "account-part-of-organizations", MasterAccountId=f"{OTHER},{ACCOUNT}").compliance == C
    assert judge_account(estate, "s3-account-level-public-access-blocks", BlockPublicAcls="False").compliance == N
    assert judge_account(estate, "s3-account-level-public-access-blocks", BlockPublicAcls="").compliance == C
    assert judge_account(estate, "s3-account-level-public-access-blocks", BlockPublicAcls="yes").compliance == INS
    # IAM is global: iam-policy-in-use is judged once, on the global account item
    used = judge_account(estate, "iam-policy-in-use", region="global", policyARN=f"arn:aws:iam::{ACCOUNT}:policy/logs-read")
    assert used.compliance == C
    assert judge_account(estate, "iam-policy-in-use", policyARN=f"arn:aws:iam::{ACCOUNT}:policy/logs-read") is None
    unused = f"arn:aws:iam::{ACCOUNT}:policy/unused"
    assert judge_account(estate, "iam-policy-in-use", region="global", policyARN=unused).compliance == N
    denied = f"arn:aws:iam::{ACCOUNT}:policy/denied-admin"
    assert judge_account(estate, "iam-policy-in-use", region="global", policyARN=denied, policyUsageType="IAM_GROUP").compliance == N
    assert judge_account(estate, "iam-policy-in-use", region="global", policyARN=denied, policyUsageType="iam_role").compliance == C
    assert judge_account(estate, "iam-policy-in-use", region="global", policyARN=denied, policyUsageType="IAM_THING").compliance == INS


def test_guardduty_findings_of_the_emulator_detector(estate):
    """The detector and its non-archived findings are read (moto keeps no findings: none)."""
    result = judge_account(estate, "guardduty-non-archived-findings")
    assert result.compliance == C and result.annotation == "no non-archived finding is older than allowed"
    assert judge_account(estate, "guardduty-enabled-centralized").compliance == C


def test_nothing_stored_names_the_security_contact(estate):
    account = _account(estate, "global")
    assert account.configuration["securityContact"] == {"Name": True, "Title": True, "EmailAddress": True, "PhoneNumber": True}
    assert "soc@example.org" not in json.dumps(account.configuration) and "Sec Ops" not in json.dumps(account.configuration)
    assert account.configuration["organization"]["MasterAccountId"] == ACCOUNT


# -- constructed items: what moto cannot represent -------------------------------------------------------------


def _judge(rule_id, item, others=(), **params):
    return judge_rule(rule_id, item, others=others, params=params, now=NOW)


def _global_account(**configuration):
    return built_item(ACCOUNT_TYPE, configuration, resource_id=ACCOUNT, region="global")


def _regional_account(**configuration):
    return built_item(ACCOUNT_TYPE, configuration, resource_id=ACCOUNT)


def test_account_outside_any_organization_and_without_security_contact():
    regional = _regional_account()
    outside = _global_account(organization=None, securityContact=None)
    assert _judge("account-part-of-organizations", regional, [outside]).compliance == N
    assert _judge("security-account-information-provided", regional, [outside]).compliance == N
    empty = _global_account(securityContact={"Name": False, "Title": False, "EmailAddress": False, "PhoneNumber": False})
    assert _judge("security-account-information-provided", regional, [empty]).compliance == N
    refused = built_item(
        ACCOUNT_TYPE,
        {},
        errors=denied_read("DescribeOrganization", "organizations:DescribeOrganization")
        + denied_read("GetAlternateContact", "account:GetAlternateContact"),
        resource_id=ACCOUNT,
        region="global",
    )
    result = _judge("account-part-of-organizations", regional, [refused])
    assert result.compliance == INS and "organizations:DescribeOrganization" in result.annotation
    assert _judge("security-account-information-provided", regional, [refused]).compliance == INS
    assert _judge("account-part-of-organizations", regional) is None  # Organizations not collected: no verdict


def test_account_public_access_block_absent_or_unreadable():
    regional = _regional_account()
    assert _judge("s3-account-level-public-access-blocks", regional, [_global_account(s3AccountPublicAccessBlock=None)]).compliance == N
    none_wanted = dict.fromkeys(("IgnorePublicAcls", "BlockPublicPolicy", "BlockPublicAcls", "RestrictPublicBuckets"), "false")
    assert (
        _judge(
            "s3-account-level-public-access-blocks", regional, [_global_account(s3AccountPublicAccessBlock=None)], **none_wanted
        ).compliance
        == C
    )
    refused = built_item(
        ACCOUNT_TYPE, {}, errors=denied_read("GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"), resource_id=ACCOUNT, region="global"
    )
    assert _judge("s3-account-level-public-access-blocks", regional, [refused]).compliance == INS


def _finding(severity: float, days_old: float) -> dict:
    return {
        "Id": f"f-{severity}-{days_old}",
        "Type": "Recon:EC2/PortProbeUnprotectedPort",
        "Severity": severity,
        "CreatedAt": (NOW - dt.timedelta(days=days_old)).isoformat(),
    }


@pytest.mark.parametrize(
    "findings,params,expected",
    [
        ([], {}, C),
        ([_finding(2.0, 29), _finding(5.0, 6), _finding(8.0, 0.5)], {}, C),
        ([_finding(2.0, 31)], {}, N),
        ([_finding(5.0, 8)], {}, N),
        ([_finding(8.0, 2)], {}, N),
        ([_finding(9.5, 2)], {}, N),  # critical counts as high
        ([_finding(8.0, 2)], {"daysHighSev": 3}, C),
        ([_finding(5.0, 8)], {"daysMediumSev": "10"}, C),
    ],
)
def test_guardduty_non_archived_findings(findings, params, expected):
    item = _regional_account(guardDutyDetectors=[{"DetectorId": "d-1", "Status": "ENABLED", "NonArchivedFindings": findings}])
    assert _judge("guardduty-non-archived-findings", item, **params).compliance == expected


def test_guardduty_findings_edge_cases():
    assert _judge("guardduty-non-archived-findings", _regional_account(guardDutyDetectors=[])).compliance == NA
    assert _judge("guardduty-non-archived-findings", _regional_account()) is None  # GuardDuty not collected
    failed = built_item(
        ACCOUNT_TYPE,
        {"guardDutyDetectors": [{"DetectorId": "d-1", "Status": "ENABLED"}]},
        errors=denied_read("ListFindings", "guardduty:ListFindings"),
    )
    result = _judge("guardduty-non-archived-findings", failed)
    assert result.compliance == INS and "guardduty:ListFindings" in result.annotation


NODE = "AWS::SSM::ManagedInstanceInventory"


def _node(platform="Linux", applications=(), types=("AWS:Application", "AWS:InstanceInformation"), **configuration):
    return built_item(
        NODE,
        {
            "InstanceId": "i-0abc",
            "PlatformType": platform,
            "PlatformName": "Amazon Linux",
            "PlatformVersion": "2023",
            "AgentVersion": "3.2.1",
            **configuration,
        },
        {"Inventory": {"TypeNames": list(types), "Applications": [{"Name": n, "Version": v} for n, v in applications]}},
        resource_id="i-0abc",
    )


@pytest.mark.parametrize(
    "rule_id,node,params,expected",
    [
        ("ec2-managedinstance-applications-blacklisted", _node(applications=[("telnet", "0.17")]), {"applicationNames": "telnet"}, N),
        ("ec2-managedinstance-applications-blacklisted", _node(applications=[("curl", "8.0")]), {"applicationNames": "telnet, ftp"}, C),
        (
            "ec2-managedinstance-applications-blacklisted",
            _node(applications=[("Chrome", "0.5.3")]),
            {"applicationNames": "Chrome:0.5.3"},
            N,
        ),
        (
            "ec2-managedinstance-applications-blacklisted",
            _node(applications=[("Chrome", "0.5.1")]),
            {"applicationNames": "Chrome:0.5.3"},
            N,
        ),
        (
            "ec2-managedinstance-applications-blacklisted",
            _node(applications=[("Chrome", "1.0.0")]),
            {"applicationNames": "Chrome:0.5.3"},
            C,
        ),
        (
            "ec2-managedinstance-applications-blacklisted",
            _node(applications=[("telnet", "1")]),
            {"applicationNames": "telnet", "platformType": "Windows"},
            NA,
        ),
        (
            "ec2-managedinstance-applications-blacklisted",
            _node(applications=[("telnet", "1")]),
            {"applicationNames": "Telnet"},
            C,
        ),  # exact names
        (
            "ec2-managedinstance-applications-required",
            _node(applications=[("amazon-ssm-agent", "3.2")]),
            {"applicationNames": "amazon-ssm-agent"},
            C,
        ),
        (
            "ec2-managedinstance-applications-required",
            _node(applications=[("curl", "8")]),
            {"applicationNames": "amazon-ssm-agent, curl"},
            N,
        ),
        ("ec2-managedinstance-applications-required", _node(applications=[("curl", "8.4.0")]), {"applicationNames": "curl:8.2"}, C),
        ("ec2-managedinstance-applications-required", _node(applications=[("curl", "7.9")]), {"applicationNames": "curl:8.2"}, N),
        ("ec2-managedinstance-applications-required", _node(platform="Windows"), {"applicationNames": "curl", "platformType": "linux"}, NA),
        (
            "ec2-managedinstance-inventory-blacklisted",
            _node(types=("AWS:Network", "AWS:Application")),
            {"inventoryNames": "AWS:Network"},
            N,
        ),
        ("ec2-managedinstance-inventory-blacklisted", _node(), {"inventoryNames": "AWS:Network, AWS:WindowsUpdate"}, C),
        ("ec2-managedinstance-inventory-blacklisted", _node(types=()), {"inventoryNames": "AWS:Network"}, C),
        ("ec2-managedinstance-platform-check", _node(), {"platformType": "linux"}, C),
        ("ec2-managedinstance-platform-check", _node(), {"platformType": "Linux", "platformVersion": "2023", "agentVersion": "3.2.1"}, C),
        ("ec2-managedinstance-platform-check", _node(platform="Windows"), {"platformType": "Linux"}, N),
        ("ec2-managedinstance-platform-check", _node(), {"platformType": "Linux", "agentVersion": "2.0.433.0"}, N),
        ("ec2-managedinstance-platform-check", _node(), {"platformType": "Linux", "platformName": "Ubuntu"}, N),
    ],
)
def test_managed_node_rules(rule_id, node, params, expected):
    result = _judge(rule_id, node, **params)
    assert (None if result is None else result.compliance) == expected


def test_managed_node_inventory_unreadable_is_could_not_check():
    node = built_item(NODE, {"InstanceId": "i-0abc", "PlatformType": "Linux"}, errors=denied_read("GetInventory", "ssm:GetInventory"))
    for rule_id, params in (
        ("ec2-managedinstance-applications-blacklisted", {"applicationNames": "telnet"}),
        ("ec2-managedinstance-applications-required", {"applicationNames": "curl"}),
        ("ec2-managedinstance-inventory-blacklisted", {"inventoryNames": "AWS:Network"}),
    ):
        result = _judge(rule_id, node, **params)
        assert result.compliance == INS and "ssm:GetInventory" in result.annotation


def test_inventory_is_reduced_to_type_names_and_application_names():
    from phiwatch.resources.ssm import inventory_summary

    entities = [
        {
            "Id": "i-0abc",
            "Data": {
                "AWS:Application": {"Content": [{"Name": "curl", "Version": "8.4", "Publisher": "x", "InstalledTime": "t"}]},
                "AWS:File": {"Content": [{"Name": "/home/patient-records.csv"}]},
            },
        }
    ]
    assert inventory_summary(entities) == {
        "TypeNames": ["AWS:Application", "AWS:File"],
        "Applications": [{"Name": "curl", "Version": "8.4"}],
    }
    assert inventory_summary([]) == {"TypeNames": [], "Applications": []}


def _certificate(algorithm, **extra):
    return built_item("AWS::ACM::Certificate", {"KeyAlgorithm": algorithm, **extra} if algorithm else extra)


@pytest.mark.parametrize(
    "algorithm,expected",
    [("RSA_2048", C), ("RSA_4096", C), ("RSA_1024", N), ("EC_prime256v1", NA), ("RSA-1024", N)],
)
def test_acm_certificate_rsa_check(algorithm, expected):
    assert _judge("acm-certificate-rsa-check", _certificate(algorithm)).compliance == expected


def test_acm_certificate_unreadable_is_could_not_check():
    item = built_item(
        "AWS::ACM::Certificate", {"CertificateArn": "arn"}, errors=denied_read("DescribeCertificate", "acm:DescribeCertificate")
    )
    assert _judge("acm-certificate-rsa-check", item).compliance == INS


def test_required_tags_on_other_types_and_failed_tag_reads():
    volume = built_item("AWS::EC2::Volume", {})
    volume.tags = {"CostCenter": "cc-1", "Owner": "billing"}
    assert _judge("required-tags", volume, tag2Key="Owner", tag2Value="billing,claims").compliance == C
    assert _judge("required-tags", volume, tag1Key="costcenter").compliance == N  # keys are case-sensitive
    result = _judge("required-tags", volume, tag2Key="Owner", tag2Value="claims")
    assert result.compliance == N and "billing" not in result.annotation  # never a tag value in the annotation
    bucket = built_item(BUCKET, {}, errors=denied_read("GetBucketTagging", "s3:GetBucketTagging"))
    assert _judge("required-tags", bucket).compliance == INS
    assert _judge("required-tags", volume, tag1Key="") is None


def test_sagemaker_and_s3_reads_that_failed_are_could_not_check():
    notebook = built_item(
        NOTEBOOK, {"NotebookInstanceName": "nb"}, errors=denied_read("DescribeNotebookInstance", "sagemaker:DescribeNotebookInstance")
    )
    assert _judge("sagemaker-notebook-instance-inside-vpc", notebook).compliance == INS
    assert _judge("sagemaker-notebook-instance-root-access-check", notebook).compliance == INS
    bucket = built_item(
        BUCKET,
        {},
        errors=denied_read("GetBucketPolicy", "s3:GetBucketPolicy")
        + denied_read("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock")
        + denied_read("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
    )
    assert _judge("s3-bucket-policy-grantee-check", bucket).compliance == INS
    assert _judge("s3-bucket-blacklisted-actions-prohibited", bucket, blacklistedActionPattern="s3:*").compliance == INS
    assert _judge("s3-bucket-policy-not-more-permissive", bucket, controlPolicy=_policy()).compliance == INS
    assert _judge("s3-bucket-level-public-access-prohibited", bucket).compliance == INS
    assert _judge("s3-lifecycle-policy-check", bucket).compliance == INS


def _bucket_with_policy(*statements):
    return built_item(BUCKET, {"name": "b"}, {"BucketPolicy": {"policyText": _policy(*statements)}}, resource_id="b")


def test_bucket_policy_grantee_conditions_and_principal_kinds():
    anyone_from_vpn = _allow("*", "s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "10.1.2.0/24"}})
    assert _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(anyone_from_vpn), ipAddresses="10.0.0.0/8").compliance == C
    assert _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(anyone_from_vpn), ipAddresses="192.168.0.0/16").compliance == N
    from_vpc = _allow("*", "s3:GetObject", Condition={"StringEquals": {"aws:SourceVpc": "vpc-1234"}})
    assert _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(from_vpc), vpcIds="vpc-1234, vpc-9").compliance == C
    service = _allow({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject")
    assert (
        _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(service), servicePrincipals="cloudtrail.amazonaws.com").compliance == C
    )
    assert _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(service)).compliance == N
    federated = _allow({"Federated": "cognito-identity.amazonaws.com"}, "s3:GetObject")
    assert (
        _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(federated), federatedUsers="cognito-identity.amazonaws.com").compliance
        == C
    )
    role = _allow({"AWS": f"arn:aws:iam::{OTHER}:role/reader"}, "s3:GetObject")
    assert (
        _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(role), awsPrincipals=f"arn:aws:iam::{OTHER}:role/reader").compliance
        == C
    )
    deny_only = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    assert _judge("s3-bucket-policy-grantee-check", _bucket_with_policy(deny_only)).compliance == C


def test_blacklisted_actions_with_wildcards_and_not_action():
    everyone_all = _bucket_with_policy(_allow("*", "s3:*"))
    assert _judge("s3-bucket-blacklisted-actions-prohibited", everyone_all, blacklistedActionPattern="s3:GetBucket*").compliance == N
    not_action = _bucket_with_policy(_allow({"AWS": OTHER}, None, NotAction="s3:Delete*"))
    assert _judge("s3-bucket-blacklisted-actions-prohibited", not_action, blacklistedActionPattern="s3:DeleteObject").compliance == C
    assert _judge("s3-bucket-blacklisted-actions-prohibited", not_action, blacklistedActionPattern="s3:PutObject").compliance == N
    service_only = _bucket_with_policy(_allow({"Service": "logging.s3.amazonaws.com"}, "s3:PutObject"))
    assert _judge("s3-bucket-blacklisted-actions-prohibited", service_only, blacklistedActionPattern="s3:PutObject").compliance == C


def test_not_more_permissive_with_everyone_and_not_action():
    control = _policy(_allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "s3:Get*", "arn:aws:s3:::b/*"))
    assert (
        _judge("s3-bucket-policy-not-more-permissive", _bucket_with_policy(_allow("*", "s3:GetObject")), controlPolicy=control).compliance
        == N
    )
    wide = _bucket_with_policy(_allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, None, NotAction="s3:Delete*"))
    assert _judge("s3-bucket-policy-not-more-permissive", wide, controlPolicy=control).compliance == N
    narrow = _bucket_with_policy(_allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "s3:GetObject"))
    assert _judge("s3-bucket-policy-not-more-permissive", narrow, controlPolicy=control).compliance == C
    no_policy = built_item(BUCKET, {}, {"BucketPolicy": None})
    assert _judge("s3-bucket-policy-not-more-permissive", no_policy, controlPolicy=control).compliance == C


TRAIL = "AWS::CloudTrail::Trail"


def _trail(name="t", **configuration):
    settings = {
        "IsMultiRegionTrail": True,
        "IncludeGlobalServiceEvents": True,
        "LogFileValidationEnabled": True,
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
    }
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"
    item = built_item(
        TRAIL,
        {"Name": name, "TrailARN": arn, **settings, **configuration},
        {"EventSelectors": {"EventSelectors": [], "AdvancedEventSelectors": []}},
        resource_id=name,
    )
    item.arn = arn
    return item


def _trails_account(*trails, multi=True):
    return _regional_account(
        cloudTrailTrails=[
            {"name": t.resourceId, "arn": t.arn, "homeRegion": REGION, "isMultiRegionTrail": multi, "isLogging": True} for t in trails
        ]
    )


@pytest.mark.parametrize(
    "trail,expected",
    [
        (_trail(), C),
        (_trail(KmsKeyId=None), N),
        (_trail(LogFileValidationEnabled=False), N),
        (_trail(IncludeGlobalServiceEvents=False), N),
    ],
)
def test_cloudtrail_security_trail_settings(trail, expected):
    assert _judge("cloudtrail-security-trail-enabled", _trails_account(trail), [trail]).compliance == expected


def test_cloudtrail_security_trail_selectors_and_missing_trails():
    write_only = _trail()
    write_only.supplementaryConfiguration["EventSelectors"] = {
        "EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    }
    assert _judge("cloudtrail-security-trail-enabled", _trails_account(write_only), [write_only]).compliance == N
    excluding = _trail()
    excluding.supplementaryConfiguration["EventSelectors"] = {
        "EventSelectors": [
            {"ReadWriteType": "All", "IncludeManagementEvents": True, "ExcludeManagementEventSources": ["kms.amazonaws.com"]}
        ]
    }
    assert _judge("cloudtrail-security-trail-enabled", _trails_account(excluding), [excluding]).compliance == N
    assert _judge("cloudtrail-security-trail-enabled", _trails_account(_trail(), multi=False), [_trail()]).compliance == N
    assert _judge("cloudtrail-security-trail-enabled", _trails_account(_trail())).compliance == INS  # home-region item missing
    good, bad = _trail("good"), _trail("bad", KmsKeyId=None)
    assert _judge("cloudtrail-security-trail-enabled", _trails_account(bad, good), [bad, good]).compliance == C


def test_iam_rules_when_the_authorization_listing_failed():
    refused = built_item(
        ACCOUNT_TYPE,
        {"iamAccountSummary": {}},
        errors=denied_read("GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails"),
        resource_id=ACCOUNT,
        region="global",
    )
    group = built_item(GROUP, {"GroupName": "g"}, resource_id="g", region="global")
    assert _judge("iam-group-has-users-check", group, [refused]).compliance == INS
    result = _judge("iam-policy-in-use", refused, policyARN="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert result.compliance == INS and "iam:GetAccountAuthorizationDetails" in result.annotation
    assert _judge("iam-policy-in-use", _global_account(), policyARN="arn:aws:iam::aws:policy/ReadOnlyAccess") is None  # IAM not collected


def test_iam_policy_in_use_by_a_role_needs_a_trusted_entity():
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    attached = [{"PolicyName": "ReadOnlyAccess", "PolicyArn": arn}]
    lonely = built_item(
        ROLE, {"RoleName": "r", "AssumeRolePolicyDocument": {"Statement": []}, "attachedManagedPolicies": attached}, region="global"
    )
    account = _global_account(iamAccountSummary={})
    assert _judge("iam-policy-in-use", account, [lonely], policyARN=arn).compliance == N
    trusted = built_item(
        ROLE,
        {
            "RoleName": "r",
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole"}]},
            "attachedManagedPolicies": attached,
        },
        region="global",
    )
    assert _judge("iam-policy-in-use", account, [trusted], policyARN=arn).compliance == C


def test_alarm_resource_check_names_an_rds_cluster_by_identifier():
    cluster = built_item("AWS::RDS::DBCluster", {"DBClusterIdentifier": "claims-db"}, resource_id="cluster-ABCDEF")
    alarm = built_item(
        ALARM, {"MetricName": "CPUUtilization", "Dimensions": [{"Name": "DBClusterIdentifier", "Value": "claims-db"}]}, resource_id="cpu"
    )
    params = {"resourceType": "AWS::RDS::DBCluster", "metricName": "CPUUtilization"}
    assert _judge("cloudwatch-alarm-resource-check", cluster, [alarm], **params).compliance == C
    assert _judge("cloudwatch-alarm-resource-check", cluster, [], **params).compliance == N
