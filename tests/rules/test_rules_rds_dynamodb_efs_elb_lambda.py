"""RDS, DynamoDB, EFS, ELB (classic and v2) and Lambda rules on one estate in moto's server.

One estate, one scan, a verdict per named resource (names say the expected verdict); cases
moto cannot represent (instance states, engines it does not run, failed reads) are judged on
ConfigurationItems built here.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile

import pytest

from denied import Denied
from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import ConfigurationItem
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import judge_rule

ACCOUNT = "123456789012"
SERVICES = ["rds", "dynamodb", "efs", "elbv2", "elb", "lambda"]
IAM_CERT = f"arn:aws:iam::{ACCOUNT}:server-certificate/legacy-cert"
GOOD_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/good-key"
RDS_COMMON = dict(DBInstanceClass="db.t3.micro", MasterUsername="admin1", MasterUserPassword="password123", AllocatedStorage=20)
TABLE_KEY = dict(
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}]
)


def _zip() -> dict:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return {"ZipFile": buf.getvalue()}


def _rds(session, endpoint):
    rds = make_client(session, "rds", endpoint)
    rds.create_db_instance(
        DBInstanceIdentifier="rds-all-good",
        Engine="postgres",
        StorageEncrypted=True,
        KmsKeyId=GOOD_KEY,
        PubliclyAccessible=False,
        MultiAZ=True,
        BackupRetentionPeriod=7,
        PreferredBackupWindow="03:00-04:00",
        AutoMinorVersionUpgrade=True,
        MonitoringInterval=30,
        MonitoringRoleArn=f"arn:aws:iam::{ACCOUNT}:role/rds-monitoring",
        EnableCloudwatchLogsExports=["postgresql", "upgrade"],
        DeletionProtection=True,
        **RDS_COMMON,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="rds-all-bad",
        Engine="mysql",
        StorageEncrypted=False,
        PubliclyAccessible=True,
        MultiAZ=False,
        BackupRetentionPeriod=0,
        AutoMinorVersionUpgrade=False,
        EnableCloudwatchLogsExports=["error"],
        **RDS_COMMON,
    )
    rds.create_db_instance_read_replica(DBInstanceIdentifier="rds-replica", SourceDBInstanceIdentifier="rds-all-good")
    rds.create_db_cluster(
        DBClusterIdentifier="aurora-multi-az",
        Engine="aurora-mysql",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        StorageEncrypted=True,
        DeletionProtection=True,
        EnableCloudwatchLogsExports=list(("audit", "error", "general", "slowquery")),
    )
    for name, zone in (("aurora-member-a", "us-east-1a"), ("aurora-member-b", "us-east-1b")):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier="aurora-multi-az",
            Engine="aurora-mysql",
            DBInstanceClass="db.r5.large",
            AvailabilityZone=zone,
        )
    rds.create_db_cluster(
        DBClusterIdentifier="aurora-single-az",
        Engine="aurora-postgresql",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        StorageEncrypted=False,
    )
    rds.create_db_snapshot(DBInstanceIdentifier="rds-all-good", DBSnapshotIdentifier="snap-encrypted-private")
    rds.create_db_snapshot(DBInstanceIdentifier="rds-all-bad", DBSnapshotIdentifier="snap-unencrypted-public")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="snap-unencrypted-public", AttributeName="restore", ValuesToAdd=["all"])
    rds.create_db_cluster_snapshot(DBClusterIdentifier="aurora-multi-az", DBClusterSnapshotIdentifier="csnap-encrypted-private")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="aurora-single-az", DBClusterSnapshotIdentifier="csnap-unencrypted-public")
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="csnap-unencrypted-public", AttributeName="restore", ValuesToAdd=["all"]
    )


def _dynamodb(session, endpoint):
    ddb = make_client(session, "dynamodb", endpoint)
    ddb.create_table(TableName="ddb-on-demand-pitr-on", BillingMode="PAY_PER_REQUEST", **TABLE_KEY)
    ddb.update_continuous_backups(TableName="ddb-on-demand-pitr-on", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ddb.create_table(
        TableName="ddb-provisioned-no-scaling", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}, **TABLE_KEY
    )
    ddb.create_table(
        TableName="ddb-provisioned-scaling",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
        KeySchema=TABLE_KEY["KeySchema"],
        AttributeDefinitions=TABLE_KEY["AttributeDefinitions"] + [{"AttributeName": "day", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-day",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        ],
    )
    scaling = make_client(session, "application-autoscaling", endpoint)
    for resource, kind in (("table/ddb-provisioned-scaling", "table"), ("table/ddb-provisioned-scaling/index/by-day", "index")):
        for direction in ("Read", "Write"):
            dimension = f"dynamodb:{kind}:{direction}CapacityUnits"
            scaling.register_scalable_target(
                ServiceNamespace="dynamodb", ResourceId=resource, ScalableDimension=dimension, MinCapacity=5, MaxCapacity=50
            )
            scaling.put_scaling_policy(
                PolicyName=f"{kind}-{direction}",
                ServiceNamespace="dynamodb",
                ResourceId=resource,
                ScalableDimension=dimension,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 70.0,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": f"DynamoDB{direction}CapacityUtilization"},
                },
            )


def _efs(session, endpoint):
    efs = make_client(session, "efs", endpoint)
    efs.create_file_system(
        CreationToken="efs-encrypted", Encrypted=True, KmsKeyId=GOOD_KEY, Tags=[{"Key": "Name", "Value": "efs-encrypted"}]
    )
    efs.create_file_system(CreationToken="efs-unencrypted", Encrypted=False, Tags=[{"Key": "Name", "Value": "efs-unencrypted"}])


def _load_balancers(session, endpoint, acm_cert):
    ec2 = make_client(session, "ec2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    v2 = make_client(session, "elbv2", endpoint)
    arns = {
        name: v2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        for name in ("alb-good", "alb-bad", "alb-no-listeners")
    }
    arns["nlb-tls"] = v2.create_load_balancer(Name="nlb-tls", Subnets=subnets, Type="network")["LoadBalancers"][0]["LoadBalancerArn"]
    tg = v2.create_target_group(Name="tg-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    tcp = v2.create_target_group(Name="tg-tcp", Protocol="TCP", Port=443, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": tg}]
    redirect = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    v2.create_listener(LoadBalancerArn=arns["alb-good"], Protocol="HTTP", Port=80, DefaultActions=redirect)
    v2.create_listener(
        LoadBalancerArn=arns["alb-good"], Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": acm_cert}], DefaultActions=forward
    )
    v2.create_listener(LoadBalancerArn=arns["alb-bad"], Protocol="HTTP", Port=80, DefaultActions=forward)
    v2.create_listener(
        LoadBalancerArn=arns["alb-bad"], Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": IAM_CERT}], DefaultActions=forward
    )
    v2.create_listener(
        LoadBalancerArn=arns["nlb-tls"],
        Protocol="TLS",
        Port=443,
        Certificates=[{"CertificateArn": acm_cert}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tcp}],
    )
    v2.modify_load_balancer_attributes(
        LoadBalancerArn=arns["alb-good"],
        Attributes=[
            {"Key": "deletion_protection.enabled", "Value": "true"},
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "alb-logs"},
        ],
    )

    elb = make_client(session, "elb", endpoint)
    elb.create_load_balancer(
        LoadBalancerName="clb-good",
        AvailabilityZones=["us-east-1a"],
        Listeners=[
            {"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstanceProtocol": "HTTP", "InstancePort": 80, "SSLCertificateId": acm_cert}
        ],
    )
    elb.create_load_balancer(
        LoadBalancerName="clb-bad",
        AvailabilityZones=["us-east-1a"],
        Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 80},
            {"Protocol": "SSL", "LoadBalancerPort": 8443, "InstanceProtocol": "TCP", "InstancePort": 8443, "SSLCertificateId": IAM_CERT},
        ],
    )
    elb.create_load_balancer(
        LoadBalancerName="clb-no-listeners",
        AvailabilityZones=["us-east-1a"],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
    )
    elb.delete_load_balancer_listeners(LoadBalancerName="clb-no-listeners", LoadBalancerPorts=[80])
    for name, port, reference in (("clb-good", 443, "ELBSecurityPolicy-TLS-1-2-2017-01"), ("clb-bad", 8443, "ELBSecurityPolicy-2016-08")):
        elb.create_load_balancer_policy(
            LoadBalancerName=name,
            PolicyName=f"{name}-tls",
            PolicyTypeName="SSLNegotiationPolicyType",
            PolicyAttributes=[{"AttributeName": "Reference-Security-Policy", "AttributeValue": reference}],
        )
        elb.set_load_balancer_policies_of_listener(LoadBalancerName=name, LoadBalancerPort=port, PolicyNames=[f"{name}-tls"])
    elb.modify_load_balancer_attributes(
        LoadBalancerName="clb-good",
        LoadBalancerAttributes={
            "CrossZoneLoadBalancing": {"Enabled": True},
            "AccessLog": {"Enabled": True, "S3BucketName": "clb-logs", "EmitInterval": 5},
        },
    )


def _lambda(session, endpoint):
    iam = make_client(session, "iam", endpoint)
    role = iam.create_role(
        RoleName="data-rules-lambda",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]
    lam = make_client(session, "lambda", endpoint)
    for name in ("lambda-no-policy", "lambda-s3-invoke", "lambda-org-only", "lambda-public", "lambda-public-url"):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler", Code=_zip())
    lam.add_permission(
        FunctionName="lambda-s3-invoke",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::uploads",
        SourceAccount=ACCOUNT,
    )
    lam.add_permission(
        FunctionName="lambda-org-only", StatementId="org", Action="lambda:InvokeFunction", Principal="*", PrincipalOrgID="o-abc123def456"
    )
    lam.add_permission(FunctionName="lambda-public", StatementId="everyone", Action="lambda:InvokeFunction", Principal="*")
    lam.add_permission(
        FunctionName="lambda-public-url", StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE"
    )


def _verdicts(outcome) -> dict[tuple[str, str], dict]:
    return {(e["rule_id"], e["resource_name"]): e for e in outcome.scan["evaluations"]}


@pytest.fixture(scope="module")
def data_scan(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session()
    endpoint = emulator.endpoint
    acm_cert = make_client(session, "acm", endpoint).request_certificate(DomainName="portal.example.org")["CertificateArn"]
    _rds(session, endpoint)
    _dynamodb(session, endpoint)
    _efs(session, endpoint)
    _load_balancers(session, endpoint, acm_cert)
    _lambda(session, endpoint)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('datarules') / 'p.db'}")
    ctx = AwsContext(endpoint_url=endpoint, regions=["us-east-1"], session=session)
    outcome = run_scan(ctx, store, Policy(), services=SERVICES)
    assert outcome.scan["errors"] == []
    yield _verdicts(outcome), store, ctx, acm_cert
    store.close()


def verdict(verdicts, rule_id, name):
    assert (rule_id, name) in verdicts, f"no evaluation of {rule_id} on {name}"
    return verdicts[(rule_id, name)]["compliance"]


@pytest.mark.parametrize(
    "rule_id,compliant,non_compliant",
    [
        ("db-instance-backup-enabled", "rds-all-good", "rds-all-bad"),
        ("rds-automatic-minor-version-upgrade-enabled", "rds-all-good", "rds-all-bad"),
        ("rds-enhanced-monitoring-enabled", "rds-all-good", "rds-all-bad"),
        ("rds-instance-public-access-check", "rds-all-good", "rds-all-bad"),
        ("rds-logging-enabled", "rds-all-good", "rds-all-bad"),
        ("rds-multi-az-support", "rds-all-good", "rds-all-bad"),
        ("rds-storage-encrypted", "rds-all-good", "rds-all-bad"),
        ("rds-cluster-deletion-protection-enabled", "aurora-multi-az", "aurora-single-az"),
        ("rds-cluster-multi-az-enabled", "aurora-multi-az", "aurora-single-az"),
        ("rds-snapshot-encrypted", "snap-encrypted-private", "snap-unencrypted-public"),
        ("rds-snapshot-encrypted", "csnap-encrypted-private", "csnap-unencrypted-public"),
        ("rds-snapshots-public-prohibited", "snap-encrypted-private", "snap-unencrypted-public"),
        ("rds-snapshots-public-prohibited", "csnap-encrypted-private", "csnap-unencrypted-public"),
        ("dynamodb-pitr-enabled", "ddb-on-demand-pitr-on", "ddb-provisioned-no-scaling"),
        ("dynamodb-autoscaling-enabled", "ddb-on-demand-pitr-on", "ddb-provisioned-no-scaling"),
        ("dynamodb-autoscaling-enabled", "ddb-provisioned-scaling", "ddb-provisioned-no-scaling"),
        ("efs-encrypted-check", "efs-encrypted", "efs-unencrypted"),
        ("alb-http-to-https-redirection-check", "alb-good", "alb-bad"),
        ("elb-deletion-protection-enabled", "alb-good", "alb-bad"),
        ("elb-logging-enabled", "alb-good", "alb-bad"),
        ("elb-logging-enabled", "clb-good", "clb-bad"),
        ("elbv2-acm-certificate-required", "alb-good", "alb-bad"),
        ("elbv2-acm-certificate-required", "nlb-tls", "alb-bad"),
        ("elb-acm-certificate-required", "clb-good", "clb-bad"),
        ("elb-cross-zone-load-balancing-enabled", "clb-good", "clb-bad"),
        ("elb-predefined-security-policy-ssl-check", "clb-good", "clb-bad"),
        ("elb-tls-https-listeners-only", "clb-good", "clb-bad"),
        ("lambda-function-public-access-prohibited", "lambda-no-policy", "lambda-public"),
        ("lambda-function-public-access-prohibited", "lambda-s3-invoke", "lambda-public-url"),
        ("lambda-function-public-access-prohibited", "lambda-org-only", "lambda-public"),
    ],
)
def test_rules_on_the_estate(data_scan, rule_id, compliant, non_compliant):
    verdicts = data_scan[0]
    assert verdict(verdicts, rule_id, compliant) == "COMPLIANT", verdicts[(rule_id, compliant)]["annotation"]
    assert verdict(verdicts, rule_id, non_compliant) == "NON_COMPLIANT", verdicts[(rule_id, non_compliant)]["annotation"]
    assert verdicts[(rule_id, non_compliant)]["annotation"]


@pytest.mark.parametrize(
    "rule_id,name",
    [
        ("db-instance-backup-enabled", "rds-replica"),  # read replicas only with checkReadReplicas
        ("rds-multi-az-support", "aurora-member-a"),  # the rule does not evaluate Aurora instances
        ("alb-http-to-https-redirection-check", "nlb-tls"),
        ("elb-logging-enabled", "nlb-tls"),
        ("elbv2-acm-certificate-required", "alb-no-listeners"),
        ("elb-tls-https-listeners-only", "clb-no-listeners"),
        ("elb-acm-certificate-required", "clb-no-listeners"),
        ("elb-predefined-security-policy-ssl-check", "clb-no-listeners"),
    ],
)
def test_not_applicable(data_scan, rule_id, name):
    assert verdict(data_scan[0], rule_id, name) == "NOT_APPLICABLE"


def test_annotations_name_what_is_wrong(data_scan):
    verdicts = data_scan[0]
    logging = verdicts[("rds-logging-enabled", "rds-all-bad")]["annotation"]
    assert "audit" in logging and "general" in logging and "slowquery" in logging and "error" not in logging.split(":")[1]
    assert "HTTP:80" in verdicts[("alb-http-to-https-redirection-check", "alb-bad")]["annotation"]
    assert "HTTP:80" in verdicts[("elb-tls-https-listeners-only", "clb-bad")]["annotation"]
    assert "SSL:8443" in verdicts[("elb-acm-certificate-required", "clb-bad")]["annotation"]
    assert "everyone" in verdicts[("lambda-function-public-access-prohibited", "lambda-public")]["annotation"]
    scaling = verdicts[("dynamodb-autoscaling-enabled", "ddb-provisioned-no-scaling")]["annotation"]
    assert "table read capacity has no auto scaling" in scaling


def test_aurora_members_log_through_their_cluster(data_scan):
    verdicts = data_scan[0]
    # the cluster exports every Aurora MySQL log type: its members comply although they list none
    assert verdict(verdicts, "rds-logging-enabled", "aurora-member-a") == "COMPLIANT"
    assert verdict(verdicts, "rds-logging-enabled", "aurora-member-b") == "COMPLIANT"


def test_throughput_limit_on_the_account_item(data_scan):
    e = data_scan[0][("dynamodb-throughput-limit-check", ACCOUNT)]
    assert e["compliance"] == "COMPLIANT" and e["region"] == "us-east-1"
    # 5 + 10 + 5 (index) provisioned RCU of moto's 20000
    assert "20 of 20000 RCU" in e["annotation"]


def test_parameters_change_verdicts(data_scan):
    _, store, ctx, acm_cert = data_scan
    policy = parse_policy(f"""
rules:
  db-instance-backup-enabled:
    parameters: {{backupRetentionMinimum: 14, checkReadReplicas: true}}
  rds-enhanced-monitoring-enabled:
    parameters: {{monitoringInterval: 60}}
  rds-storage-encrypted:
    parameters: {{kmsKeyId: good-key}}
  rds-logging-enabled:
    parameters: {{additionalLogs: "postgres: iam-db-auth-error; oracle: general"}}
  efs-encrypted-check:
    parameters: {{KmsKeyId: other-key}}
  elb-logging-enabled:
    parameters: {{s3BucketNames: "alb-logs, other-logs"}}
  elbv2-acm-certificate-required:
    parameters: {{AcmCertificatesAllowed: "{acm_cert}"}}
  elb-predefined-security-policy-ssl-check:
    parameters: {{predefinedPolicyName: ELBSecurityPolicy-2016-08}}
  dynamodb-autoscaling-enabled:
    parameters: {{targetReadUtilization: "50", minProvisionedWriteCapacity: "5"}}
  dynamodb-throughput-limit-check:
    parameters: {{accountRCUThresholdPercentage: 0}}
""")
    verdicts = _verdicts(run_scan(ctx, store, policy, collect_first=False))
    assert verdict(verdicts, "db-instance-backup-enabled", "rds-all-good") == "NON_COMPLIANT"  # 7 < 14 days
    assert verdict(verdicts, "db-instance-backup-enabled", "rds-replica") == "NON_COMPLIANT"  # now evaluated
    assert verdict(verdicts, "rds-enhanced-monitoring-enabled", "rds-all-good") == "NON_COMPLIANT"
    assert verdict(verdicts, "rds-storage-encrypted", "rds-all-good") == "COMPLIANT"  # key id matches the key ARN
    assert "iam-db-auth-error" in verdicts[("rds-logging-enabled", "rds-all-good")]["annotation"]
    assert verdict(verdicts, "efs-encrypted-check", "efs-encrypted") == "NON_COMPLIANT"
    assert verdict(verdicts, "elb-logging-enabled", "alb-good") == "COMPLIANT"
    assert verdict(verdicts, "elb-logging-enabled", "clb-good") == "NON_COMPLIANT"  # logs go to clb-logs
    assert verdict(verdicts, "elbv2-acm-certificate-required", "nlb-tls") == "COMPLIANT"
    assert verdict(verdicts, "elb-predefined-security-policy-ssl-check", "clb-bad") == "COMPLIANT"
    assert verdict(verdicts, "elb-predefined-security-policy-ssl-check", "clb-good") == "NON_COMPLIANT"
    scaling = verdicts[("dynamodb-autoscaling-enabled", "ddb-provisioned-scaling")]
    assert scaling["compliance"] == "NON_COMPLIANT" and "50%" in scaling["annotation"]
    assert verdict(verdicts, "dynamodb-autoscaling-enabled", "ddb-on-demand-pitr-on") == "COMPLIANT"
    assert verdict(verdicts, "dynamodb-throughput-limit-check", ACCOUNT) == "NON_COMPLIANT"

    policy = parse_policy("""
rules:
  rds-storage-encrypted:
    parameters: {kmsKeyId: some-other-key}
  dynamodb-autoscaling-enabled:
    parameters: {targetReadUtilization: "70", minProvisionedReadCapacity: "5", maxProvisionedWriteCapacity: "50"}
""")
    verdicts = _verdicts(run_scan(ctx, store, policy, collect_first=False))
    assert verdict(verdicts, "rds-storage-encrypted", "rds-all-good") == "NON_COMPLIANT"
    assert verdict(verdicts, "dynamodb-autoscaling-enabled", "ddb-provisioned-scaling") == "COMPLIANT"
    # back to the pack defaults
    verdicts = _verdicts(run_scan(ctx, store, Policy(), collect_first=False))
    assert verdict(verdicts, "rds-storage-encrypted", "rds-all-good") == "COMPLIANT"


# -- collector additions ---------------------------------------------------------------------------


def test_dynamodb_autoscaling_and_limits_are_collected(data_scan):
    _, store, _, _ = data_scan
    row = store.resolve("ddb-provisioned-scaling", "AWS::DynamoDB::Table")
    scaling = store.item_at(row["id"])["item"]["supplementaryConfiguration"]["AutoScaling"]
    assert sorted((t["ResourceId"], t["ScalableDimension"]) for t in scaling["ScalableTargets"]) == [
        ("table/ddb-provisioned-scaling", "dynamodb:table:ReadCapacityUnits"),
        ("table/ddb-provisioned-scaling", "dynamodb:table:WriteCapacityUnits"),
        ("table/ddb-provisioned-scaling/index/by-day", "dynamodb:index:ReadCapacityUnits"),
        ("table/ddb-provisioned-scaling/index/by-day", "dynamodb:index:WriteCapacityUnits"),
    ]
    assert {p["TargetValue"] for p in scaling["ScalingPolicies"]} == {70.0} and len(scaling["ScalingPolicies"]) == 4
    other = store.item_at(store.resolve("ddb-provisioned-no-scaling", "AWS::DynamoDB::Table")["id"])["item"]
    assert other["supplementaryConfiguration"]["AutoScaling"] == {"ScalableTargets": [], "ScalingPolicies": []}
    account = [r for r in store.find(ACCOUNT, "AWS::::Account") if r["region"] == "us-east-1"][0]
    limits = store.item_at(account["id"])["item"]["configuration"]["dynamodbLimits"]
    assert limits["AccountMaxReadCapacityUnits"] == 20000 and limits["TableMaxWriteCapacityUnits"] == 10000


def test_denied_autoscaling_read_is_insufficient_for_provisioned_tables_only(aws_env, store):
    ddb = aws_env.client("dynamodb")
    ddb.create_table(TableName="ddb-on-demand", BillingMode="PAY_PER_REQUEST", **TABLE_KEY)
    ddb.create_table(TableName="ddb-provisioned", ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}, **TABLE_KEY)
    ctx = aws_env.context()
    ctx.client("application-autoscaling", "us-east-1").meta.events.register("before-call", Denied("DescribeScalableTargets"))
    result = collect(ctx, store, services=["dynamodb"])
    assert [(e.api, e.iam_action) for e in result.errors] == [
        ("DescribeScalableTargets", "application-autoscaling:DescribeScalableTargets")
    ]
    verdicts = _verdicts(run_scan(ctx, store, Policy(), collect_first=False))
    e = verdicts[("dynamodb-autoscaling-enabled", "ddb-provisioned")]
    assert e["compliance"] == "INSUFFICIENT_DATA" and "application-autoscaling:DescribeScalableTargets" in e["annotation"]
    assert verdict(verdicts, "dynamodb-autoscaling-enabled", "ddb-on-demand") == "COMPLIANT"
    assert verdict(verdicts, "dynamodb-pitr-enabled", "ddb-provisioned") == "NON_COMPLIANT"  # other reads unaffected


# -- constructed items -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _rules():
    return catalogue()


def _run(rule_id, item, params=None, lookup=None):
    return judge_rule(rule_id, item, lookup=lookup or (lambda resource_type: []), params=params)


def _item(resource_type, resource_id, configuration=None, supplementary=None, errors=None, region="us-east-1"):
    return ConfigurationItem(
        resourceType=resource_type,
        resourceId=resource_id,
        resourceName=resource_id,
        awsRegion=region,
        accountId=ACCOUNT,
        configuration=configuration or {},
        supplementaryConfiguration=supplementary or {},
        collectionErrors=errors or [],
    )


def _error(api, action):
    return {"api": api, "error": "AccessDenied", "iam_action": action}


@pytest.mark.parametrize(
    "rule_id,item",
    [
        (
            "dynamodb-pitr-enabled",
            _item(
                "AWS::DynamoDB::Table",
                "ddb-pitr-denied",
                {"TableName": "ddb-pitr-denied"},
                errors=[_error("DescribeContinuousBackups", "dynamodb:DescribeContinuousBackups")],
            ),
        ),
        (
            "dynamodb-autoscaling-enabled",
            _item("AWS::DynamoDB::Table", "ddb-describe-denied", errors=[_error("DescribeTable", "dynamodb:DescribeTable")]),
        ),
        (
            "rds-snapshots-public-prohibited",
            _item(
                "AWS::RDS::DBSnapshot",
                "snap-attributes-denied",
                {"Encrypted": True},
                errors=[_error("DescribeDBSnapshotAttributes", "rds:DescribeDBSnapshotAttributes")],
            ),
        ),
        (
            "rds-snapshots-public-prohibited",
            _item(
                "AWS::RDS::DBClusterSnapshot",
                "csnap-attributes-denied",
                {"StorageEncrypted": True},
                errors=[_error("DescribeDBClusterSnapshotAttributes", "rds:DescribeDBClusterSnapshotAttributes")],
            ),
        ),
        (
            "elb-logging-enabled",
            _item(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "alb-attributes-denied",
                {"Type": "application"},
                errors=[_error("DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes")],
            ),
        ),
        (
            "elb-logging-enabled",
            _item(
                "AWS::ElasticLoadBalancing::LoadBalancer",
                "clb-attributes-denied",
                {"ListenerDescriptions": []},
                errors=[_error("DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes")],
            ),
        ),
        (
            "alb-http-to-https-redirection-check",
            _item(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "alb-listeners-denied",
                {"Type": "application"},
                errors=[_error("DescribeListeners", "elasticloadbalancing:DescribeListeners")],
            ),
        ),
        (
            "elb-predefined-security-policy-ssl-check",
            _item(
                "AWS::ElasticLoadBalancing::LoadBalancer",
                "clb-policies-denied",
                {"ListenerDescriptions": []},
                errors=[_error("DescribeLoadBalancerPolicies", "elasticloadbalancing:DescribeLoadBalancerPolicies")],
            ),
        ),
        (
            "lambda-function-public-access-prohibited",
            _item("AWS::Lambda::Function", "lambda-policy-denied", errors=[_error("GetPolicy", "lambda:GetPolicy")]),
        ),
        ("dynamodb-throughput-limit-check", _item("AWS::::Account", ACCOUNT, errors=[_error("DescribeLimits", "dynamodb:DescribeLimits")])),
    ],
)
def test_failed_read_is_insufficient_data(rule_id, item):
    result = _run(rule_id, item)
    assert result is not None and result.compliance.value == "INSUFFICIENT_DATA"
    assert item.collectionErrors[0]["iam_action"] in result.annotation


def test_key_missing_for_another_reason_does_not_apply():
    # a Classic Load Balancer item never has ELBv2 attributes: no error, so no verdict at all
    assert _run("elb-deletion-protection-enabled", _item("AWS::ElasticLoadBalancingV2::LoadBalancer", "alb-old")) is None
    assert _run("rds-snapshots-public-prohibited", _item("AWS::RDS::DBSnapshot", "snap-old", {"Encrypted": True})) is None


@pytest.mark.parametrize(
    "engine,exports,expected",
    [
        ("oracle-ee", ["alert", "audit", "trace", "listener"], "COMPLIANT"),
        ("oracle-se2-cdb", ["alert", "audit"], "NON_COMPLIANT"),
        ("sqlserver-se", ["error", "agent"], "COMPLIANT"),
        ("sqlserver-ex", ["error"], "NON_COMPLIANT"),
        ("mariadb", ["audit", "error", "general", "slowquery"], "COMPLIANT"),
        ("aurora-postgresql", ["postgresql"], "COMPLIANT"),
        ("postgres", ["postgresql"], "NON_COMPLIANT"),  # upgrade missing
        ("docdb", [], "NOT_APPLICABLE"),  # no log types documented for the engine
    ],
)
def test_rds_logging_engine_defaults(engine, exports, expected):
    item = _item(
        "AWS::RDS::DBInstance", f"db-{engine}", {"Engine": engine, "DBInstanceStatus": "available", "EnabledCloudwatchLogsExports": exports}
    )
    assert _run("rds-logging-enabled", item).compliance.value == expected


def test_rds_logging_states_and_bad_parameter():
    stopped = _item("AWS::RDS::DBInstance", "db-stopped", {"Engine": "mysql", "DBInstanceStatus": "stopped"})
    assert _run("rds-logging-enabled", stopped).compliance.value == "NOT_APPLICABLE"
    available = _item(
        "AWS::RDS::DBInstance",
        "db-mysql",
        {"Engine": "mysql", "DBInstanceStatus": "available", "EnabledCloudwatchLogsExports": ["audit", "error", "general", "slowquery"]},
    )
    assert _run("rds-logging-enabled", available, {"additionalLogs": "mysql: iam-db-auth-error"}).compliance.value == "NON_COMPLIANT"
    assert _run("rds-logging-enabled", available, {"additionalLogs": "no colon here"}).compliance.value == "INSUFFICIENT_DATA"


def test_rds_backup_window_and_exact_period():
    item = _item("AWS::RDS::DBInstance", "db-backups", {"BackupRetentionPeriod": 7, "PreferredBackupWindow": "03:00-04:00"})
    assert _run("db-instance-backup-enabled", item, {"backupRetentionPeriod": 7}).compliance.value == "COMPLIANT"
    assert _run("db-instance-backup-enabled", item, {"backupRetentionPeriod": 14}).compliance.value == "NON_COMPLIANT"
    assert _run("db-instance-backup-enabled", item, {"preferredBackupWindow": "05:00-06:00"}).compliance.value == "NON_COMPLIANT"
    # moto and AWS report a KmsKeyId default even when storage is not encrypted: it is ignored then
    plain = _item("AWS::RDS::DBInstance", "db-plain", {"StorageEncrypted": False, "KmsKeyId": "default_kms_key_id"})
    assert _run("rds-storage-encrypted", plain).compliance.value == "NON_COMPLIANT"


def test_lambda_function_url_condition_in_aws_shape():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FunctionURLAllowPublicAccess",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:InvokeFunctionUrl",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
            }
        ],
    }
    item = _item("AWS::Lambda::Function", "lambda-url-aws-shape", supplementary={"Policy": policy})
    assert _run("lambda-function-public-access-prohibited", item).compliance.value == "NON_COMPLIANT"
    wildcard = json.loads(json.dumps(policy))
    wildcard["Statement"][0]["Principal"] = {"AWS": ["*"]}
    wildcard["Statement"][0]["Condition"] = {"StringLike": {"aws:SourceArn": "arn:aws:s3:::*"}}
    item = _item("AWS::Lambda::Function", "lambda-wildcard-source", supplementary={"Policy": wildcard})
    assert _run("lambda-function-public-access-prohibited", item).compliance.value == "NON_COMPLIANT"
    for condition in (
        {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}},  # passes when the key is absent
        {"StringNotEquals": {"aws:SourceAccount": "111122223333"}},
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/0"]}},
    ):
        weak = json.loads(json.dumps(policy))
        weak["Statement"][0]["Condition"] = condition
        item = _item("AWS::Lambda::Function", "lambda-weak-condition", supplementary={"Policy": weak})
        assert _run("lambda-function-public-access-prohibited", item).compliance.value == "NON_COMPLIANT", condition
    account = json.loads(json.dumps(policy))
    account["Statement"][0]["Condition"] = {"StringEquals": {"AWS:SourceAccount": ACCOUNT}}
    item = _item("AWS::Lambda::Function", "lambda-account-source", supplementary={"Policy": account})
    assert _run("lambda-function-public-access-prohibited", item).compliance.value == "COMPLIANT"


def test_dynamodb_autoscaling_suspended_and_throughput_over_limit():
    targets = [
        {
            "ResourceId": "table/ddb-suspended",
            "ScalableDimension": f"dynamodb:table:{d}CapacityUnits",
            "MinCapacity": 1,
            "MaxCapacity": 10,
            "SuspendedState": {"DynamicScalingInSuspended": d == "Read", "DynamicScalingOutSuspended": False},
        }
        for d in ("Read", "Write")
    ]
    policies = [
        {
            "ResourceId": t["ResourceId"],
            "ScalableDimension": t["ScalableDimension"],
            "PolicyType": "TargetTrackingScaling",
            "TargetValue": 70.0,
        }
        for t in targets
    ]
    table = _item(
        "AWS::DynamoDB::Table",
        "ddb-suspended",
        {"TableName": "ddb-suspended", "ProvisionedThroughput": {"ReadCapacityUnits": 900, "WriteCapacityUnits": 10}},
        {"AutoScaling": {"ScalableTargets": targets, "ScalingPolicies": policies}},
    )
    result = _run("dynamodb-autoscaling-enabled", table)
    assert result.compliance.value == "NON_COMPLIANT" and "suspended" in result.annotation
    account = _item(
        "AWS::::Account", ACCOUNT, {"dynamodbLimits": {"AccountMaxReadCapacityUnits": 1000, "AccountMaxWriteCapacityUnits": 1000}}
    )
    lookup = {
        "AWS::DynamoDB::Table": [
            table,
            _item(
                "AWS::DynamoDB::Table",
                "ddb-other-region",
                {"ProvisionedThroughput": {"ReadCapacityUnits": 500, "WriteCapacityUnits": 500}},
                region="eu-west-1",
            ),
        ]
    }
    result = _run("dynamodb-throughput-limit-check", account, lookup=lambda t: lookup.get(t, []))
    assert result.compliance.value == "NON_COMPLIANT" and "RCU 900 is 90.0%" in result.annotation
    assert "WCU" not in result.annotation  # 10 of 1000 WCU is fine; the other region's table is not counted
    unreadable = _item("AWS::DynamoDB::Table", "ddb-unreadable", errors=[_error("DescribeTable", "dynamodb:DescribeTable")])
    lookup["AWS::DynamoDB::Table"].append(unreadable)
    assert _run("dynamodb-throughput-limit-check", account, lookup=lambda t: lookup.get(t, [])).compliance.value == "INSUFFICIENT_DATA"
