"""Kinesis, ElastiCache, Auto Scaling, SageMaker, EMR, ECS, CodeBuild and DMS: collectors and
HIPAA rules on one estate in moto's server (one collection, one scan), then what moto cannot
represent on constructed items."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.policy import Policy
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule, verdict_and_annotation

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICES = ["kinesis", "elasticache", "autoscaling", "sagemaker", "emr", "ecs", "codebuild", "dms"]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/phi-workloads"
PHI_TAGS = [{"Key": "PHI", "Value": "Yes"}, {"Key": "Environment", "Value": "PROD"}]


def build(client) -> dict[str, str]:
    """Create one compliant and one non-compliant resource per rule; returns name -> resource id."""
    ids: dict[str, str] = {}
    kms_key = client("kms").create_key(Description="phi-data")["KeyMetadata"]["Arn"]
    ids["kms-key"] = kms_key

    kinesis = client("kinesis")
    for name in ("stream-encrypted", "stream-unencrypted"):
        kinesis.create_stream(StreamName=name, ShardCount=1)
        kinesis.add_tags_to_stream(StreamName=name, Tags={"PHI": "Yes"})
        ids[name] = name
    kinesis.start_stream_encryption(StreamName="stream-encrypted", EncryptionType="KMS", KeyId=kms_key)

    ec = client("elasticache")
    ec.create_cache_cluster(
        CacheClusterId="redis-backup-15d",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        SnapshotRetentionLimit=15,
        Tags=PHI_TAGS,
    )
    ec.create_cache_cluster(
        CacheClusterId="redis-backup-3d", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1, SnapshotRetentionLimit=3
    )
    ec.create_cache_cluster(CacheClusterId="redis-backup-off", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    ec.create_cache_cluster(CacheClusterId="memcached-no-backups", Engine="memcached", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    ec.create_replication_group(
        ReplicationGroupId="rg-backup-20d",
        ReplicationGroupDescription="claims cache",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
        SnapshotRetentionLimit=20,
    )
    ec.create_replication_group(
        ReplicationGroupId="rg-backup-off",
        ReplicationGroupDescription="portal cache",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
    )
    ids.update(
        (n, n)
        for n in ("redis-backup-15d", "redis-backup-3d", "redis-backup-off", "memcached-no-backups", "rg-backup-20d", "rg-backup-off")
    )

    asg = client("autoscaling")
    elb = client("elb")
    elb.create_load_balancer(
        LoadBalancerName="portal-clb",
        AvailabilityZones=[f"{REGION}a"],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
    )
    lc_arn = {}
    for name, public in (("lc-public-ip-off", False), ("lc-public-ip-on", True)):
        asg.create_launch_configuration(
            LaunchConfigurationName=name,
            ImageId="ami-12c6146b",
            InstanceType="t3.micro",
            AssociatePublicIpAddress=public,
            UserData="#!/bin/sh\necho not-stored\n",
        )
    asg.create_launch_configuration(LaunchConfigurationName="lc-public-ip-unset", ImageId="ami-12c6146b", InstanceType="t3.micro")
    for lc in asg.describe_launch_configurations()["LaunchConfigurations"]:
        lc_arn[lc["LaunchConfigurationName"]] = lc["LaunchConfigurationARN"]
    ids.update(lc_arn)
    common = dict(LaunchConfigurationName="lc-public-ip-off", MinSize=0, MaxSize=1, AvailabilityZones=[f"{REGION}a"])
    asg.create_auto_scaling_group(
        AutoScalingGroupName="asg-elb-health",
        LoadBalancerNames=["portal-clb"],
        HealthCheckType="ELB",
        HealthCheckGracePeriod=60,
        Tags=[{"Key": "PHI", "Value": "Yes", "PropagateAtLaunch": True}],
        **common,
    )
    asg.create_auto_scaling_group(AutoScalingGroupName="asg-ec2-health", LoadBalancerNames=["portal-clb"], HealthCheckType="EC2", **common)
    asg.create_auto_scaling_group(AutoScalingGroupName="asg-no-balancer", **common)
    for group in asg.describe_auto_scaling_groups()["AutoScalingGroups"]:
        ids[group["AutoScalingGroupName"]] = group["AutoScalingGroupARN"]

    sm = client("sagemaker")
    sm.create_notebook_instance(
        NotebookInstanceName="notebook-kms-no-internet",
        InstanceType="ml.t3.medium",
        RoleArn=ROLE,
        KmsKeyId=kms_key,
        DirectInternetAccess="Disabled",
        SubnetId="subnet-0123",
        SecurityGroupIds=["sg-0123"],
        Tags=PHI_TAGS,
    )
    sm.create_notebook_instance(NotebookInstanceName="notebook-no-kms-internet", InstanceType="ml.t3.medium", RoleArn=ROLE)
    sm.create_model(
        ModelName="triage-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/triage:1"}
    )
    variant = [{"VariantName": "main", "ModelName": "triage-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]
    sm.create_endpoint_config(EndpointConfigName="endpoint-config-kms", ProductionVariants=variant, KmsKeyId=kms_key)
    sm.create_endpoint_config(EndpointConfigName="endpoint-config-no-kms", ProductionVariants=variant)
    for name in ("notebook-kms-no-internet", "notebook-no-kms-internet", "endpoint-config-kms", "endpoint-config-no-kms"):
        ids[name] = name

    emr = client("emr")
    emr.create_security_configuration(Name="kerberos-on", SecurityConfiguration=json.dumps(KERBEROS_CONFIGURATION))
    emr.create_security_configuration(
        Name="encryption-only",
        SecurityConfiguration=json.dumps(
            {"EncryptionConfiguration": {"EnableInTransitEncryption": False, "EnableAtRestEncryption": False}}
        ),
    )
    # moto gives every instance-group node a public IP (even in a private subnet) and lists no
    # instances for clusters made with InstanceCount: the no-public-IP case is tested on items
    groups = {
        "InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1, "Market": "ON_DEMAND"}],
        "KeepJobFlowAliveWhenNoSteps": True,
    }
    simple = {"MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True}
    for name, security in (
        ("emr-kerberos", "kerberos-on"),
        ("emr-no-kerberos-public-master", "encryption-only"),
        ("emr-no-security-config", None),
    ):
        extra = {"SecurityConfiguration": security} if security else {}
        if security == "kerberos-on":
            extra["KerberosAttributes"] = {"Realm": "EC2.INTERNAL", "KdcAdminPassword": "kdc-admin-not-stored"}
        ids[name] = emr.run_job_flow(
            Name=name,
            ReleaseLabel="emr-6.15.0",
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
            Instances=groups if "public-master" in name else simple,
            Configurations=[{"Classification": "hive-site", "Properties": {"javax.jdo.option.ConnectionPassword": "hive-not-stored"}}],
            Tags=PHI_TAGS,
            **extra,
        )["JobFlowId"]

    ecs = client("ecs")

    def task(family, network_mode, **container):
        definition = {
            "name": "app",
            "image": "registry.example.org/claims:1",
            "memory": 512,
            "environment": [{"name": "DB_PASSWORD", "value": "env-not-stored"}],
            **container,
        }
        return ecs.register_task_definition(
            family=family, networkMode=network_mode, containerDefinitions=[definition], tags=[{"key": "PHI", "value": "Yes"}]
        )["taskDefinition"]["taskDefinitionArn"]

    task("task-readonly-nonroot-host", "host", readonlyRootFilesystem=False, user="app")  # revision 1, superseded
    ids["task-readonly-nonroot-host"] = task("task-readonly-nonroot-host", "host", readonlyRootFilesystem=True, user="app")
    ids["task-writable-root-host"] = task("task-writable-root-host", "host")
    ids["task-privileged-root-host"] = task("task-privileged-root-host", "host", user="root", privileged=True)
    ids["task-awsvpc-root"] = task("task-awsvpc-root", "awsvpc", readonlyRootFilesystem=True)

    codebuild = client("codebuild")

    def project(name, location, variables, source_type="BITBUCKET"):
        codebuild.create_project(
            name=name,
            source={"type": source_type, "location": location},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
                "environmentVariables": variables,
            },
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/codebuild",
        )
        ids[name] = name

    project(
        "build-clean",
        "https://bitbucket.org/clinic/claims.git",
        [
            {"name": "AWS_ACCESS_KEY_ID", "value": "/ci/key-id", "type": "PARAMETER_STORE"},
            {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
        ],
    )
    project(
        "build-leaky",
        "https://x-token-auth:tok3n-not-stored@bitbucket.org/clinic/claims.git",
        [{"name": "AWS_SECRET_ACCESS_KEY", "value": "secret-not-stored", "type": "PLAINTEXT"}],
    )
    project("build-s3-source", "clinic-artifacts/source.zip", [], source_type="S3")

    dms = client("dms")
    for name, public in (("dms-private", False), ("dms-public", True)):
        dms.create_replication_instance(
            ReplicationInstanceIdentifier=name, ReplicationInstanceClass="dms.t3.micro", PubliclyAccessible=public, Tags=PHI_TAGS
        )
        ids[name] = name
    return ids


KERBEROS_CONFIGURATION = {
    "AuthenticationConfiguration": {
        "KerberosConfiguration": {
            "Provider": "ClusterDedicatedKdc",
            "ClusterDedicatedKdcConfiguration": {
                "TicketLifetimeInHours": 24,
                "CrossRealmTrustConfiguration": {
                    "Realm": "CORP.EXAMPLE.ORG",
                    "Domain": "corp.example.org",
                    "AdminServer": "corp.example.org",
                    "KdcServer": "corp.example.org",
                },
            },
        }
    }
}


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session()

    def client(service, region=REGION):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    ids = build(client)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('moresvc') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=session)
    outcome = run_scan(ctx, store, Policy(), services=SERVICES)
    verdicts = {(e["rule_id"], e["resource_id"]): e for e in outcome.scan["evaluations"]}
    yield {"verdicts": verdicts, "ids": ids, "store": store, "scan": outcome.scan, "client": client, "ctx": ctx}
    store.close()


def verdict(estate, rule_id, name):
    return estate["verdicts"][(rule_id, estate["ids"][name])]


def stored(estate, resource_type, name):
    row = estate["store"].resolve(estate["ids"][name], resource_type)
    return estate["store"].item_at(row["id"])["item"]


def test_collection_has_no_errors(estate):
    assert estate["scan"]["errors"] == []


@pytest.mark.parametrize(
    "rule_id,compliant,non_compliant",
    [
        ("kinesis-stream-encrypted", "stream-encrypted", "stream-unencrypted"),
        ("elasticache-redis-cluster-automatic-backup-check", "redis-backup-15d", "redis-backup-3d"),
        ("elasticache-redis-cluster-automatic-backup-check", "redis-backup-15d", "redis-backup-off"),
        ("elasticache-redis-cluster-automatic-backup-check", "rg-backup-20d", "rg-backup-off"),
        ("autoscaling-group-elb-healthcheck-required", "asg-elb-health", "asg-ec2-health"),
        ("autoscaling-launch-config-public-ip-disabled", "lc-public-ip-off", "lc-public-ip-on"),
        ("autoscaling-launch-config-public-ip-disabled", "lc-public-ip-unset", "lc-public-ip-on"),
        ("sagemaker-endpoint-configuration-kms-key-configured", "endpoint-config-kms", "endpoint-config-no-kms"),
        ("sagemaker-notebook-instance-kms-key-configured", "notebook-kms-no-internet", "notebook-no-kms-internet"),
        ("sagemaker-notebook-no-direct-internet-access", "notebook-kms-no-internet", "notebook-no-kms-internet"),
        ("emr-kerberos-enabled", "emr-kerberos", "emr-no-kerberos-public-master"),
        ("emr-kerberos-enabled", "emr-kerberos", "emr-no-security-config"),
        ("ecs-containers-readonly-access", "task-readonly-nonroot-host", "task-writable-root-host"),
        ("ecs-task-definition-user-for-host-mode-check", "task-readonly-nonroot-host", "task-writable-root-host"),
        ("ecs-task-definition-user-for-host-mode-check", "task-privileged-root-host", "task-writable-root-host"),
        ("codebuild-project-envvar-awscred-check", "build-clean", "build-leaky"),
        ("codebuild-project-source-repo-url-check", "build-clean", "build-leaky"),
        ("dms-replication-not-public", "dms-private", "dms-public"),
    ],
)
def test_compliant_and_non_compliant(estate, rule_id, compliant, non_compliant):
    good = verdict(estate, rule_id, compliant)
    assert good["compliance"] == "COMPLIANT", good["annotation"]
    bad = verdict(estate, rule_id, non_compliant)
    assert bad["compliance"] == "NON_COMPLIANT", bad["annotation"]
    assert bad["annotation"]


def test_not_applicable_cases(estate):
    assert verdict(estate, "elasticache-redis-cluster-automatic-backup-check", "memcached-no-backups")["compliance"] == "NOT_APPLICABLE"
    assert verdict(estate, "autoscaling-group-elb-healthcheck-required", "asg-no-balancer")["compliance"] == "NOT_APPLICABLE"
    assert verdict(estate, "emr-master-no-public-ip", "emr-kerberos")["compliance"] == "NOT_APPLICABLE"  # no master listed
    public = verdict(estate, "emr-master-no-public-ip", "emr-no-kerberos-public-master")
    assert public["compliance"] == "NON_COMPLIANT" and "has a public IP address" in public["annotation"]
    assert verdict(estate, "ecs-task-definition-user-for-host-mode-check", "task-awsvpc-root")["compliance"] == "COMPLIANT"
    assert verdict(estate, "codebuild-project-source-repo-url-check", "build-s3-source")["compliance"] == "NOT_APPLICABLE"
    assert (
        verdict(estate, "elasticache-redis-cluster-automatic-backup-check", "redis-backup-3d")["annotation"]
        == "automatic backups kept 3 day(s), below snapshotRetentionPeriod 15"
    )


# -- collector items ---------------------------------------------------------------------------


def test_kinesis_items(estate):
    encrypted = stored(estate, "AWS::Kinesis::Stream", "stream-encrypted")
    assert encrypted["resourceId"] == encrypted["resourceName"] == "stream-encrypted"
    assert encrypted["arn"] == f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/stream-encrypted"
    assert encrypted["configuration"]["EncryptionType"] == "KMS"
    assert encrypted["configuration"]["KeyId"] == estate["ids"]["kms-key"]
    assert encrypted["tags"] == {"PHI": "Yes"}
    assert encrypted["relationships"][0]["resourceType"] == "AWS::KMS::Key"
    assert stored(estate, "AWS::Kinesis::Stream", "stream-unencrypted")["configuration"]["EncryptionType"] == "NONE"


def test_elasticache_items(estate):
    cluster = stored(estate, "AWS::ElastiCache::CacheCluster", "redis-backup-15d")
    assert cluster["arn"] == f"arn:aws:elasticache:{REGION}:{ACCOUNT}:cluster:redis-backup-15d"
    assert cluster["configuration"]["SnapshotRetentionLimit"] == 15 and cluster["configuration"]["Engine"] == "redis"
    assert cluster["tags"] == {"PHI": "Yes", "Environment": "PROD"}
    group = stored(estate, "AWS::ElastiCache::ReplicationGroup", "rg-backup-off")
    assert group["resourceId"] == "rg-backup-off" and group["configuration"]["SnapshotRetentionLimit"] == 0


def test_autoscaling_items_keep_no_user_data(estate):
    lc = stored(estate, "AWS::AutoScaling::LaunchConfiguration", "lc-public-ip-on")
    assert lc["resourceId"] == lc["arn"] and lc["arn"].startswith(f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:launchConfiguration:")
    assert lc["resourceName"] == "lc-public-ip-on" and lc["configuration"]["AssociatePublicIpAddress"] is True
    assert "UserData" not in lc["configuration"] and lc["configuration"]["UserDataPresent"] is True
    assert "not-stored" not in json.dumps(lc)
    group = stored(estate, "AWS::AutoScaling::AutoScalingGroup", "asg-elb-health")
    assert group["resourceName"] == "asg-elb-health" and group["resourceId"] == group["arn"]
    assert group["configuration"]["HealthCheckType"] == "ELB" and group["configuration"]["LoadBalancerNames"] == ["portal-clb"]
    assert group["tags"] == {"PHI": "Yes"} and "Tags" not in group["configuration"]


def test_sagemaker_items(estate):
    notebook = stored(estate, "AWS::SageMaker::NotebookInstance", "notebook-kms-no-internet")
    assert notebook["arn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/notebook-kms-no-internet"
    assert notebook["configuration"]["KmsKeyId"] == estate["ids"]["kms-key"]
    assert notebook["configuration"]["DirectInternetAccess"] == "Disabled"
    assert notebook["tags"] == {"PHI": "Yes", "Environment": "PROD"}
    open_notebook = stored(estate, "AWS::SageMaker::NotebookInstance", "notebook-no-kms-internet")
    assert not open_notebook["configuration"].get("KmsKeyId") and open_notebook["configuration"]["DirectInternetAccess"] == "Enabled"
    config = stored(estate, "AWS::SageMaker::EndpointConfig", "endpoint-config-kms")
    assert config["arn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/endpoint-config-kms"
    assert config["configuration"]["KmsKeyId"] == estate["ids"]["kms-key"]


def test_emr_items_keep_no_passwords(estate):
    cluster = stored(estate, "AWS::EMR::Cluster", "emr-kerberos")
    assert cluster["resourceId"].startswith("j-") and cluster["resourceName"] == "emr-kerberos"
    assert cluster["arn"] == f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/{cluster['resourceId']}"
    assert cluster["configuration"]["SecurityConfiguration"] == "kerberos-on"
    assert cluster["configuration"]["KerberosAttributes"] == {"Realm": "EC2.INTERNAL"}
    assert cluster["configuration"]["Configurations"][0]["Properties"] == {"javax.jdo.option.ConnectionPassword": "REDACTED"}
    assert cluster["supplementaryConfiguration"]["SecurityConfiguration"] == KERBEROS_CONFIGURATION
    assert cluster["tags"] == {"PHI": "Yes", "Environment": "PROD"} and "Tags" not in cluster["configuration"]
    assert "not-stored" not in json.dumps(cluster)
    none = stored(estate, "AWS::EMR::Cluster", "emr-no-security-config")
    assert none["supplementaryConfiguration"]["SecurityConfiguration"] is None
    public = stored(estate, "AWS::EMR::Cluster", "emr-no-kerberos-public-master")
    assert [bool(i["PublicIpAddress"]) for i in public["supplementaryConfiguration"]["MasterInstances"]] == [True]


def test_ecs_items_latest_revision_and_redacted_environment(estate):
    rows = estate["store"].inventory(resource_type="AWS::ECS::TaskDefinition")
    assert sorted(r["resource_name"] for r in rows) == [
        "task-awsvpc-root:1",
        "task-privileged-root-host:1",
        "task-readonly-nonroot-host:2",
        "task-writable-root-host:1",
    ]
    item = stored(estate, "AWS::ECS::TaskDefinition", "task-readonly-nonroot-host")
    assert item["resourceId"] == item["arn"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/task-readonly-nonroot-host:2"
    container = item["configuration"]["containerDefinitions"][0]
    assert container["readonlyRootFilesystem"] is True and container["user"] == "app"
    assert container["environment"] == [{"name": "DB_PASSWORD", "value": "REDACTED"}]
    assert item["configuration"]["networkMode"] == "host" and item["tags"] == {"PHI": "Yes"}
    assert "env-not-stored" not in json.dumps(item)


def test_codebuild_items_keep_no_credentials(estate):
    leaky = stored(estate, "AWS::CodeBuild::Project", "build-leaky")
    assert leaky["arn"] == f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/build-leaky"
    assert leaky["configuration"]["source"] == {
        "type": "BITBUCKET",
        "location": "https://bitbucket.org/clinic/claims.git",
        "locationHasCredentials": True,
    }
    assert leaky["configuration"]["environment"]["environmentVariables"] == [{"name": "AWS_SECRET_ACCESS_KEY", "type": "PLAINTEXT"}]
    dumped = json.dumps(leaky)
    assert "not-stored" not in dumped and "tok3n" not in dumped
    clean = stored(estate, "AWS::CodeBuild::Project", "build-clean")
    assert clean["configuration"]["source"]["locationHasCredentials"] is False
    assert all("value" not in v for v in clean["configuration"]["environment"]["environmentVariables"])


def test_dms_items(estate):
    public = stored(estate, "AWS::DMS::ReplicationInstance", "dms-public")
    assert public["resourceName"] == "dms-public" and public["arn"].startswith(f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:")
    assert public["configuration"]["PubliclyAccessible"] is True
    assert public["tags"] == {"PHI": "Yes", "Environment": "PROD"}
    assert stored(estate, "AWS::DMS::ReplicationInstance", "dms-private")["configuration"]["PubliclyAccessible"] is False


def test_deleted_resources_are_recorded(estate, tmp_path):
    """A resource gone from a complete listing is recorded as deleted (own store, same estate)."""
    store = Store(f"sqlite:///{tmp_path / 'del.db'}")
    try:
        collect(estate["ctx"], store, services=["kinesis", "sagemaker"])
        kinesis = estate["client"]("kinesis")
        kinesis.create_stream(StreamName="stream-short-lived", ShardCount=1)
        collect(estate["ctx"], store, services=["kinesis"])
        assert store.resolve("stream-short-lived", "AWS::Kinesis::Stream")
        kinesis.delete_stream(StreamName="stream-short-lived")
        result = collect(estate["ctx"], store, services=["kinesis"])
        assert result.deleted == 1
        live = {r["resource_id"] for r in store.inventory(resource_type="AWS::Kinesis::Stream")}
        assert live == {"stream-encrypted", "stream-unencrypted"}
    finally:
        store.close()


# -- parameters and what moto cannot represent: rules run on items -----------------------------

RULES = catalogue()
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def run(rule_id, item, **params):
    return verdict_and_annotation(judge_rule(rule_id, item, lookup=lambda t: [], now=NOW, params=params))


def test_insufficient_data_when_describe_failed():
    stream = built_item(
        "AWS::Kinesis::Stream", {"StreamName": "s"}, errors=denied_read("DescribeStreamSummary", "kinesis:DescribeStreamSummary")
    )
    result = run("kinesis-stream-encrypted", stream)
    assert result[0] == "INSUFFICIENT_DATA" and "kinesis:DescribeStreamSummary" in result[1]
    notebook = built_item(
        "AWS::SageMaker::NotebookInstance",
        {"NotebookInstanceName": "n"},
        errors=denied_read("DescribeNotebookInstance", "sagemaker:DescribeNotebookInstance"),
    )
    for rule_id in ("sagemaker-notebook-instance-kms-key-configured", "sagemaker-notebook-no-direct-internet-access"):
        assert run(rule_id, notebook)[0] == "INSUFFICIENT_DATA"
    config = built_item(
        "AWS::SageMaker::EndpointConfig",
        {"EndpointConfigName": "e"},
        errors=denied_read("DescribeEndpointConfig", "sagemaker:DescribeEndpointConfig"),
    )
    assert run("sagemaker-endpoint-configuration-kms-key-configured", config)[0] == "INSUFFICIENT_DATA"


def test_retention_and_key_parameters():
    group = built_item("AWS::ElastiCache::ReplicationGroup", {"SnapshotRetentionLimit": 7})
    assert run("elasticache-redis-cluster-automatic-backup-check", group)[0] == "NON_COMPLIANT"
    assert run("elasticache-redis-cluster-automatic-backup-check", group, snapshotRetentionPeriod=7)[0] == "COMPLIANT"
    member = built_item("AWS::ElastiCache::CacheCluster", {"Engine": "redis", "ReplicationGroupId": "rg-1", "SnapshotRetentionLimit": 0})
    assert run("elasticache-redis-cluster-automatic-backup-check", member)[0] == "NOT_APPLICABLE"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    notebook = built_item("AWS::SageMaker::NotebookInstance", {"KmsKeyId": key, "DirectInternetAccess": "Disabled"})
    assert run("sagemaker-notebook-instance-kms-key-configured", notebook, kmsKeyArns=f"{key}, arn:aws:kms:x")[0] == "COMPLIANT"
    assert run("sagemaker-notebook-instance-kms-key-configured", notebook, kmsKeyArns="arn:aws:kms:other")[0] == "NON_COMPLIANT"
    # target groups count as load balancers; "EC2,ELB" includes ELB checks
    asg = built_item("AWS::AutoScaling::AutoScalingGroup", {"TargetGroupARNs": ["arn:tg"], "HealthCheckType": "EC2"})
    assert run("autoscaling-group-elb-healthcheck-required", asg)[0] == "NON_COMPLIANT"
    asg.configuration["HealthCheckType"] = "EC2,ELB"
    assert run("autoscaling-group-elb-healthcheck-required", asg)[0] == "COMPLIANT"


def test_emr_parameters_and_master_ip_on_items():
    kerberos = built_item(
        "AWS::EMR::Cluster",
        {"SecurityConfiguration": "kerberos-on"},
        {"SecurityConfiguration": KERBEROS_CONFIGURATION, "MasterInstances": [{"Ec2InstanceId": "i-1", "PrivateIpAddress": "10.0.0.5"}]},
    )
    assert run("emr-master-no-public-ip", kerberos) == ("COMPLIANT", "master node has no public IP address")
    assert (
        run("emr-kerberos-enabled", kerberos, TicketLifetimeInHours=24, Realm="corp.example.org", KdcServer="corp.example.org")[0]
        == "COMPLIANT"
    )
    wrong = run("emr-kerberos-enabled", kerberos, TicketLifetimeInHours=10, Domain="other.example.org")
    assert wrong == ("NON_COMPLIANT", "Kerberos is enabled but TicketLifetimeInHours, Domain does not match the rule parameters")
    denied = built_item(
        "AWS::EMR::Cluster",
        {"SecurityConfiguration": "kerberos-on"},
        {"MasterInstances": []},
        errors=denied_read("DescribeSecurityConfiguration", "elasticmapreduce:DescribeSecurityConfiguration"),
    )
    result = run("emr-kerberos-enabled", denied)
    assert result[0] == "INSUFFICIENT_DATA" and "elasticmapreduce:DescribeSecurityConfiguration" in result[1]
    no_list = built_item(
        "AWS::EMR::Cluster", {}, {"SecurityConfiguration": None}, errors=denied_read("ListInstances", "elasticmapreduce:ListInstances")
    )
    assert run("emr-master-no-public-ip", no_list)[0] == "INSUFFICIENT_DATA"


def test_ecs_user_forms_and_codebuild_url_forms():
    def host(**container):
        return built_item(
            "AWS::ECS::TaskDefinition", {"networkMode": "host", "status": "ACTIVE", "containerDefinitions": [{"name": "a", **container}]}
        )

    assert run("ecs-task-definition-user-for-host-mode-check", host(user="0:0"))[0] == "NON_COMPLIANT"
    assert run("ecs-task-definition-user-for-host-mode-check", host(user="1000:1000"))[0] == "COMPLIANT"
    assert run("ecs-task-definition-user-for-host-mode-check", host(user="root", privileged=False))[0] == "NON_COMPLIANT"
    from phiwatch.resources.codebuild import split_credentials

    assert split_credentials("https://user:pass@bitbucket.org/a/b.git") == ("https://bitbucket.org/a/b.git", True)
    assert split_credentials("https://x-token-auth:t@bitbucket.org/a/b.git") == ("https://bitbucket.org/a/b.git", True)
    assert split_credentials("https://clinic-dev@bitbucket.org/a/b.git") == ("https://bitbucket.org/a/b.git", False)
    assert split_credentials("https://github.com/a/b") == ("https://github.com/a/b", False)
