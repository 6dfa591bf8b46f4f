"""Demo analytics and build workloads: Kinesis, ElastiCache, Auto Scaling, SageMaker, EMR, ECS,
CodeBuild and DMS, each done right and wrong.

Names say the verdict: streams ``claims-stream-encrypted`` / ``claims-stream-unencrypted``;
Redis clusters ``claims-redis-backups-on`` (15 days) / ``claims-redis-backups-off``; launch
configurations ``portal-lc-private`` / ``portal-lc-public-ip`` and groups
``portal-asg-elb-health`` / ``portal-asg-ec2-health`` behind the Classic load balancer
``portal-workers-clb``; SageMaker notebooks ``triage-notebook-private-kms`` /
``triage-notebook-internet-no-kms`` and endpoint configurations ``triage-endpoint-kms`` /
``triage-endpoint-no-kms``; EMR clusters ``cohort-emr-kerberos`` / ``cohort-emr-no-kerberos-public-master``;
ECS task definitions ``intake-task-hardened`` / ``intake-task-root-host``; CodeBuild projects
``claims-build-clean`` / ``claims-build-plaintext-keys``; DMS replication instances
``ehr-migration-private`` / ``ehr-migration-public``. Elastic Beanstalk is not seeded (the
emulator cannot read environment settings).
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from phiwatch.aws.session import make_client

OWNER = "InstanceOwnerEmail"


def _tags(phi: str, environment: str, owner: str) -> list[dict[str, str]]:
    return [{"Key": "PHI", "Value": phi}, {"Key": "Environment", "Value": environment}, {"Key": OWNER, "Value": owner}]


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    def client(service: str) -> Any:
        return make_client(session, service, endpoint, region)

    account = client("sts").get_caller_identity()["Account"]
    role = f"arn:aws:iam::{account}:role/phi-workloads"
    key = client("kms").create_key(Description="phi-workloads")["KeyMetadata"]["Arn"]
    prod = _tags("Yes", "PROD", "data-platform@example.org")
    dev = _tags("No", "DEV", "developers@example.org")
    created: dict[str, Any] = {}

    kinesis = client("kinesis")
    streams = ["claims-stream-encrypted", "claims-stream-unencrypted"]
    for name in streams:
        kinesis.create_stream(StreamName=name, ShardCount=1)
        kinesis.add_tags_to_stream(StreamName=name, Tags={t["Key"]: t["Value"] for t in prod})
    kinesis.start_stream_encryption(StreamName=streams[0], EncryptionType="KMS", KeyId=key)
    created["streams"] = streams

    elasticache = client("elasticache")
    for name, days in (("claims-redis-backups-on", 15), ("claims-redis-backups-off", 0)):
        elasticache.create_cache_cluster(
            CacheClusterId=name, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1, SnapshotRetentionLimit=days, Tags=prod
        )
    created["cache_clusters"] = ["claims-redis-backups-on", "claims-redis-backups-off"]

    client("elb").create_load_balancer(
        LoadBalancerName="portal-workers-clb",
        AvailabilityZones=[f"{region}a"],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}],
    )
    autoscaling = client("autoscaling")
    for name, public in (("portal-lc-private", False), ("portal-lc-public-ip", True)):
        autoscaling.create_launch_configuration(
            LaunchConfigurationName=name, ImageId="ami-12c6146b", InstanceType="t3.micro", AssociatePublicIpAddress=public
        )
    for name, check in (("portal-asg-elb-health", "ELB"), ("portal-asg-ec2-health", "EC2")):
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchConfigurationName="portal-lc-private",
            MinSize=0,
            MaxSize=2,
            AvailabilityZones=[f"{region}a"],
            LoadBalancerNames=["portal-workers-clb"],
            HealthCheckType=check,
            Tags=[{**t, "PropagateAtLaunch": True} for t in prod],
        )
    created["autoscaling_groups"] = ["portal-asg-elb-health", "portal-asg-ec2-health"]

    sagemaker = client("sagemaker")
    sagemaker.create_notebook_instance(
        NotebookInstanceName="triage-notebook-private-kms",
        InstanceType="ml.t3.medium",
        RoleArn=role,
        KmsKeyId=key,
        DirectInternetAccess="Disabled",
        SubnetId="subnet-0a1b2c3d",
        SecurityGroupIds=["sg-0a1b2c3d"],
        Tags=prod,
    )
    sagemaker.create_notebook_instance(
        NotebookInstanceName="triage-notebook-internet-no-kms", InstanceType="ml.t3.medium", RoleArn=role, Tags=dev
    )
    sagemaker.create_model(
        ModelName="triage-model", ExecutionRoleArn=role, PrimaryContainer={"Image": f"{account}.dkr.ecr.{region}.amazonaws.com/triage:1"}
    )
    variants = [{"VariantName": "main", "ModelName": "triage-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]
    sagemaker.create_endpoint_config(EndpointConfigName="triage-endpoint-kms", ProductionVariants=variants, KmsKeyId=key, Tags=prod)
    sagemaker.create_endpoint_config(EndpointConfigName="triage-endpoint-no-kms", ProductionVariants=variants, Tags=dev)

    emr = client("emr")
    emr.create_security_configuration(
        Name="cohort-kerberos",
        SecurityConfiguration=json.dumps(
            {
                "AuthenticationConfiguration": {
                    "KerberosConfiguration": {
                        "Provider": "ClusterDedicatedKdc",
                        "ClusterDedicatedKdcConfiguration": {"TicketLifetimeInHours": 24},
                    }
                }
            }
        ),
    )
    # the Kerberos cluster is created without instance groups (the emulator then lists no master
    # node); the other one's master node gets a public IP, as the emulator gives every EMR node
    groups = {
        "InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1, "Market": "ON_DEMAND"}],
        "KeepJobFlowAliveWhenNoSteps": True,
    }
    simple = {"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True}
    emr.run_job_flow(
        Name="cohort-emr-kerberos",
        ReleaseLabel="emr-6.15.0",
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Instances=simple,
        Tags=prod,
        SecurityConfiguration="cohort-kerberos",
        KerberosAttributes={"Realm": "EC2.INTERNAL", "KdcAdminPassword": "DemoOnly-Kdc-Passw0rd"},
    )
    public = emr.run_job_flow(
        Name="cohort-emr-no-kerberos-public-master",
        ReleaseLabel="emr-6.15.0",
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Instances=groups,
        Tags=prod,
    )["JobFlowId"]
    masters = [i["Ec2InstanceId"] for i in emr.list_instances(ClusterId=public, InstanceGroupTypes=["MASTER"])["Instances"]]
    if masters:  # EMR tags its nodes; name the node by what it shows
        client("ec2").create_tags(Resources=masters, Tags=[{"Key": "Name", "Value": "cohort-emr-master-public-ip"}, *prod])

    ecs = client("ecs")
    for family, container in (
        ("intake-task-hardened", {"user": "1000", "readonlyRootFilesystem": True}),
        ("intake-task-root-host", {}),
    ):
        ecs.register_task_definition(
            family=family,
            networkMode="host",
            tags=[{"key": t["Key"], "value": t["Value"]} for t in prod],
            containerDefinitions=[
                {
                    "name": "intake",
                    "image": "registry.example.org/intake:3",
                    "memory": 512,
                    "environment": [{"name": "LOG_LEVEL", "value": "info"}],
                    **container,
                }
            ],
        )

    codebuild = client("codebuild")
    for name, variables in (
        ("claims-build-clean", [{"name": "AWS_ACCESS_KEY_ID", "value": "/ci/claims/key-id", "type": "PARAMETER_STORE"}]),
        ("claims-build-plaintext-keys", [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIADEMOONLYNOTREAL00", "type": "PLAINTEXT"}]),
    ):
        codebuild.create_project(
            name=name,
            source={"type": "BITBUCKET", "location": "https://bitbucket.org/example-clinic/claims.git"},
            artifacts={"type": "NO_ARTIFACTS"},
            serviceRole=f"arn:aws:iam::{account}:role/codebuild-claims",
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
                "environmentVariables": variables,
            },
        )

    dms = client("dms")
    for name, public in (("ehr-migration-private", False), ("ehr-migration-public", True)):
        dms.create_replication_instance(
            ReplicationInstanceIdentifier=name, ReplicationInstanceClass="dms.t3.micro", PubliclyAccessible=public, Tags=prod
        )
    created["replication_instances"] = ["ehr-migration-private", "ehr-migration-public"]
    return created
