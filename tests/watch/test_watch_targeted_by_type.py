"""Targeted re-collection, type by type (the CASES table; EC2, IAM and S3 are in test_watch_targeted.py),
against moto's server: a resource named as an event names it (and by its stored id and ARN, as a Config item change does) comes out
the same as in a full collection of its service, for fewer requests; a targeted resource that is
gone is recorded as deleted and an untargeted one that is gone too is left alone.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from phiwatch.collect.runner import collect

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service"
VISIBILITY = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}
DOCUMENT = json.dumps(
    {
        "schemaVersion": "2.2",
        "description": "d",
        "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["true"]}}],
    }
)


@dataclass
class Case:
    service: str
    resource_type: str
    #: makes two resources; returns the identifiers an event names them by (target first)
    seed: Callable[[Any], tuple[str, str]]
    #: deletes the resource an event names so; None where moto keeps deleted ones listed (ElastiCache's
    #: stay "deleting"): the gone resources are then ones recorded in the store that AWS never had
    delete: Callable[[Any, str], None] | None
    #: True when the targeted run must make fewer requests than the full one (a service listing
    #: everything in one call without per-resource calls can at best make as many)
    fewer: bool = True


def _streams(env):
    for name in ("stream-target", "stream-other"):
        env.client("kinesis").create_stream(StreamName=name, ShardCount=1)
    return "stream-target", "stream-other"


def _cache_clusters(env):
    for name in ("cache-target", "cache-other"):
        env.client("elasticache").create_cache_cluster(CacheClusterId=name, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    return "cache-target", "cache-other"


def _replication_groups(env):
    for name in ("group-target", "group-other"):
        env.client("elasticache").create_replication_group(
            ReplicationGroupId=name, ReplicationGroupDescription=name, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheClusters=1
        )
    return "group-target", "group-other"


def _notebooks(env):
    for name in ("notebook-target", "notebook-other"):
        env.client("sagemaker").create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE)
    return "notebook-target", "notebook-other"


def _delete_notebook(env, name):
    sm = env.client("sagemaker")
    sm.stop_notebook_instance(NotebookInstanceName=name)
    sm.delete_notebook_instance(NotebookInstanceName=name)


def _endpoint_configs(env):
    sm = env.client("sagemaker")
    sm.create_model(ModelName="model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/m:1"})
    variant = [{"VariantName": "main", "ModelName": "model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]
    for name in ("config-target", "config-other"):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variant)
    return "config-target", "config-other"


def _emr_clusters(env):
    emr = env.client("emr")
    instances = {
        "MasterInstanceType": "m5.xlarge",
        "SlaveInstanceType": "m5.xlarge",
        "InstanceCount": 1,
        "KeepJobFlowAliveWhenNoSteps": True,
    }
    return tuple(  # type: ignore[return-value]
        emr.run_job_flow(
            Name=name, ReleaseLabel="emr-6.15.0", JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole", Instances=instances
        )["JobFlowId"]
        for name in ("emr-target", "emr-other")
    )


def _projects(env):
    for name in ("build-target", "build-other"):
        env.client("codebuild").create_project(
            name=name,
            source={"type": "S3", "location": "builds/src.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/codebuild",
        )
    return "build-target", "build-other"


def _dms_instances(env):
    for name in ("dms-target", "dms-other"):
        env.client("dms").create_replication_instance(ReplicationInstanceIdentifier=name, ReplicationInstanceClass="dms.t3.micro")
    return "dms-target", "dms-other"


def _delete_dms(env, name):
    dms = env.client("dms")
    [instance] = dms.describe_replication_instances(Filters=[{"Name": "replication-instance-id", "Values": [name]}])["ReplicationInstances"]
    dms.delete_replication_instance(ReplicationInstanceArn=instance["ReplicationInstanceArn"])


def _task_definition(env, family: str) -> str:
    return env.client("ecs").register_task_definition(
        family=family, containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]


def _task_definitions(env):
    return _task_definition(env, "task-target"), _task_definition(env, "task-other")


def _launch_configurations(env):
    for name in ("lc-target", "lc-other"):
        env.client("autoscaling").create_launch_configuration(LaunchConfigurationName=name, ImageId="ami-12c6146b", InstanceType="t3.micro")
    return "lc-target", "lc-other"


def _groups(env):
    asg = env.client("autoscaling")
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12c6146b", InstanceType="t3.micro")
    for name in ("asg-target", "asg-other"):
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name, LaunchConfigurationName="lc", MinSize=0, MaxSize=1, AvailabilityZones=["us-east-1a"]
        )
    return "asg-target", "asg-other"


def _web_acls(env):
    waf = env.client("wafv2")
    return tuple(  # type: ignore[return-value]
        waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY)["Summary"]["Id"]
        for name in ("waf-target", "waf-other")
    )


def _delete_web_acl(env, acl_id):
    waf = env.client("wafv2")
    [acl] = [a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Id"] == acl_id]
    waf.delete_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl_id, LockToken=acl["LockToken"])


def _documents(env):
    for name in ("doc-target", "doc-other"):
        env.client("ssm").create_document(Name=name, Content=DOCUMENT, DocumentType="Command")
    return "doc-target", "doc-other"


def _vpn_connections(env):
    ec2 = env.client("ec2")
    ids = []
    for n, name in enumerate(("vpn-target", "vpn-other")):
        cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp=f"203.0.113.{n + 1}", BgpAsn=65000 + n)["CustomerGateway"][
            "CustomerGatewayId"
        ]
        vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
        ids.append(
            ec2.create_vpn_connection(
                Type="ipsec.1",
                CustomerGatewayId=cgw,
                VpnGatewayId=vgw,
                TagSpecifications=[{"ResourceType": "vpn-connection", "Tags": [{"Key": "Name", "Value": name}]}],
            )["VpnConnection"]["VpnConnectionId"]
        )
    return ids[0], ids[1]


def _plans(env):
    rules = [{"RuleName": "daily", "TargetBackupVaultName": "Default", "ScheduleExpression": "cron(0 5 ? * * *)"}]
    return tuple(  # type: ignore[return-value]
        env.client("backup").create_backup_plan(BackupPlan={"BackupPlanName": name, "Rules": rules})["BackupPlanId"]
        for name in ("plan-target", "plan-other")
    )


def _vaults(env):
    for name in ("vault-target", "vault-other"):
        env.client("backup").create_backup_vault(BackupVaultName=name)
    return "vault-target", "vault-other"


CASES = [
    Case("kinesis", "AWS::Kinesis::Stream", _streams, lambda env, n: env.client("kinesis").delete_stream(StreamName=n)),
    Case("elasticache", "AWS::ElastiCache::CacheCluster", _cache_clusters, None),
    Case("elasticache", "AWS::ElastiCache::ReplicationGroup", _replication_groups, None),
    Case("sagemaker", "AWS::SageMaker::NotebookInstance", _notebooks, _delete_notebook),
    Case(
        "sagemaker",
        "AWS::SageMaker::EndpointConfig",
        _endpoint_configs,
        lambda env, n: env.client("sagemaker").delete_endpoint_config(EndpointConfigName=n),
    ),
    Case("emr", "AWS::EMR::Cluster", _emr_clusters, lambda env, c: env.client("emr").terminate_job_flows(JobFlowIds=[c])),
    Case("codebuild", "AWS::CodeBuild::Project", _projects, lambda env, n: env.client("codebuild").delete_project(name=n)),
    Case("dms", "AWS::DMS::ReplicationInstance", _dms_instances, _delete_dms),
    Case(
        "ecs",
        "AWS::ECS::TaskDefinition",
        _task_definitions,
        lambda env, arn: env.client("ecs").deregister_task_definition(taskDefinition=arn),
    ),
    Case(
        "autoscaling",
        "AWS::AutoScaling::LaunchConfiguration",
        _launch_configurations,
        lambda env, n: env.client("autoscaling").delete_launch_configuration(LaunchConfigurationName=n),
    ),
    Case(
        "autoscaling",
        "AWS::AutoScaling::AutoScalingGroup",
        _groups,
        lambda env, n: env.client("autoscaling").delete_auto_scaling_group(AutoScalingGroupName=n, ForceDelete=True),
    ),
    Case("wafv2", "AWS::WAFv2::WebACL", _web_acls, _delete_web_acl),
    Case("ssm", "AWS::SSM::Document", _documents, lambda env, n: env.client("ssm").delete_document(Name=n)),
    Case(
        "vpn",
        "AWS::EC2::VPNConnection",
        _vpn_connections,
        lambda env, i: env.client("ec2").delete_vpn_connection(VpnConnectionId=i),
        fewer=False,
    ),
    Case("backup", "AWS::Backup::BackupPlan", _plans, lambda env, i: env.client("backup").delete_backup_plan(BackupPlanId=i)),
    Case("backup", "AWS::Backup::BackupVault", _vaults, lambda env, n: env.client("backup").delete_backup_vault(BackupVaultName=n)),
]


def stored(store, resource_type: str, identifier: str) -> dict:
    [found] = store.find(identifier, resource_type)
    return found


def _record_unknown(store, resource_type: str, model: str, resource_id: str) -> str:
    """Record in the store a resource AWS does not have (a copy of ``model`` under another id)."""
    item = next(i for i in store.current_items(resource_type) if i.resourceId == model)
    item.resourceId = item.resourceName = resource_id
    item.arn = f"{item.arn}-gone"
    item.refresh_state_id()
    with store.writer(None) as writer:
        writer.record(item)
    return resource_id


def check_targeted(aws_env, store, case: Case) -> None:
    """The targeted item equals the full collection's (by every identifier form), for fewer requests;
    then a gone target alone is recorded as deleted."""
    target, other = case.seed(aws_env)
    aws = aws_env.context()
    whole = collect(aws, store, services=[case.service])
    row = stored(store, case.resource_type, target)
    for identifier in dict.fromkeys((target, row["resource_id"], row["arn"])):  # as CloudTrail and Config events name it
        targeted = collect(aws, store, services=[case.service], only={case.resource_type: {identifier}})
        assert targeted.types_seen == {case.resource_type: 1}, (identifier, targeted.types_seen)
        assert targeted.changed_keys == [] and targeted.deleted == 0, (identifier, targeted.changed_keys)
        assert not targeted.errors or {e.api for e in targeted.errors} <= {e.api for e in whole.errors}, targeted.errors
        if case.fewer:
            assert targeted.requests < whole.requests, (identifier, targeted.requests, whole.requests)
        else:
            assert targeted.requests <= whole.requests, (identifier, targeted.requests, whole.requests)
    assert stored(store, case.resource_type, target)["version"] == 1
    assert stored(store, case.resource_type, other)["version"] == 1

    if case.delete is None:
        target, other = (_record_unknown(store, case.resource_type, target, f"{name}-gone") for name in (target, other))
    else:
        case.delete(aws_env, target)
        case.delete(aws_env, other)
    result = collect(aws, store, services=[case.service], only={case.resource_type: {target}})
    assert result.deleted == 1
    assert stored(store, case.resource_type, target)["status"] == "ResourceDeleted"
    assert stored(store, case.resource_type, other)["status"] != "ResourceDeleted"  # gone too, but not asked about


# -- Lambda, SNS, Secrets Manager, EFS, ACM, ELBv2, Redshift, OpenSearch, API Gateway --------------


def _topics(env):
    return tuple(env.client("sns").create_topic(Name=name)["TopicArn"] for name in ("topic-target", "topic-other"))  # type: ignore[return-value]


def _secrets(env):
    for name in ("secret-target", "secret-other"):
        env.client("secretsmanager").create_secret(Name=name, SecretString="not-stored")
    return "secret-target", "secret-other"


def _functions(env):
    role = env.client("iam").create_role(
        RoleName="lambda-exec",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    for name in ("function-target", "function-other"):
        env.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": buf.getvalue()}
        )
    return "function-target", "function-other"


def _file_systems(env):
    return tuple(
        env.client("efs").create_file_system(CreationToken=name)["FileSystemId"]  # type: ignore[return-value]
        for name in ("efs-target", "efs-other")
    )


def _certificates(env):
    return tuple(
        env.client("acm").request_certificate(DomainName=name)["CertificateArn"]  # type: ignore[return-value]
        for name in ("target.example.org", "other.example.org")
    )


def _load_balancers(env):
    ec2 = env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.2.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    return tuple(
        env.client("elbv2").create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]  # type: ignore[return-value]
        for name in ("alb-target", "alb-other")
    )


RS_COMMON = dict(NodeType="ra3.xlplus", MasterUsername="phiadmin", MasterUserPassword="DemoOnly-Passw0rd")


def _redshift_clusters(env):
    for name in ("redshift-target", "redshift-other"):
        env.client("redshift").create_cluster(ClusterIdentifier=name, **RS_COMMON)
    return "redshift-target", "redshift-other"


def _parameter_groups(env):
    for name in ("pg-target", "pg-other"):
        env.client("redshift").create_cluster_parameter_group(
            ParameterGroupName=name, ParameterGroupFamily="redshift-1.0", Description=name
        )
    return "pg-target", "pg-other"


def _domains(env):
    for name in ("search-target", "search-other"):
        env.client("opensearch").create_domain(DomainName=name)
    return "search-target", "search-other"


def _rest_stages(env):
    apigw = env.client("apigateway")
    arns = []
    for name in ("rest-target", "rest-other"):
        api = apigw.create_rest_api(name=name)["id"]
        root = apigw.get_resources(restApiId=api)["items"][0]["id"]
        apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        deployment = apigw.create_deployment(restApiId=api)["id"]
        apigw.create_stage(restApiId=api, stageName="prod", deploymentId=deployment)
        arns.append(f"arn:aws:apigateway:us-east-1::/restapis/{api}/stages/prod")  # as the event table builds it
    return arns[0], arns[1]


def _delete_rest_stage(env, arn):
    api, stage = arn.split("/restapis/", 1)[1].split("/stages/")
    env.client("apigateway").delete_stage(restApiId=api, stageName=stage)


def _v2_stages(env):
    v2 = env.client("apigatewayv2")
    arns = []
    for name in ("http-target", "http-other"):
        api = v2.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
        v2.create_stage(ApiId=api, StageName="prod")
        arns.append(f"arn:aws:apigateway:us-east-1::/apis/{api}/stages/prod")
    return arns[0], arns[1]


def _delete_v2_stage(env, arn):
    api, stage = arn.split("/apis/", 1)[1].split("/stages/")
    env.client("apigatewayv2").delete_stage(ApiId=api, StageName=stage)


CASES += [
    Case("sns", "AWS::SNS::Topic", _topics, lambda env, arn: env.client("sns").delete_topic(TopicArn=arn)),
    Case(
        "secretsmanager",
        "AWS::SecretsManager::Secret",
        _secrets,
        lambda env, n: env.client("secretsmanager").delete_secret(SecretId=n, ForceDeleteWithoutRecovery=True),
        fewer=False,
    ),
    Case("lambda", "AWS::Lambda::Function", _functions, lambda env, n: env.client("lambda").delete_function(FunctionName=n)),
    Case("efs", "AWS::EFS::FileSystem", _file_systems, lambda env, i: env.client("efs").delete_file_system(FileSystemId=i)),
    Case("acm", "AWS::ACM::Certificate", _certificates, lambda env, arn: env.client("acm").delete_certificate(CertificateArn=arn)),
    Case(
        "elbv2",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        _load_balancers,
        lambda env, arn: env.client("elbv2").delete_load_balancer(LoadBalancerArn=arn),
    ),
    Case(
        "redshift",
        "AWS::Redshift::Cluster",
        _redshift_clusters,
        lambda env, n: env.client("redshift").delete_cluster(ClusterIdentifier=n, SkipFinalClusterSnapshot=True),
    ),
    Case(
        "redshift",
        "AWS::Redshift::ClusterParameterGroup",
        _parameter_groups,
        lambda env, n: env.client("redshift").delete_cluster_parameter_group(ParameterGroupName=n),
    ),
    Case("opensearch", "AWS::OpenSearch::Domain", _domains, lambda env, n: env.client("opensearch").delete_domain(DomainName=n)),
    Case("opensearch", "AWS::Elasticsearch::Domain", _domains, lambda env, n: env.client("opensearch").delete_domain(DomainName=n)),
    Case("apigateway", "AWS::ApiGateway::Stage", _rest_stages, _delete_rest_stage),
    Case("apigateway", "AWS::ApiGatewayV2::Stage", _v2_stages, _delete_v2_stage),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.resource_type.split("::", 1)[1])
def test_a_targeted_item_is_the_full_collections_item_and_a_gone_target_alone_is_deleted(aws_env, store, case):
    check_targeted(aws_env, store, case)


def test_a_new_task_definition_revision_replaces_the_previous_one(aws_env, store):
    first = _task_definition(aws_env, "task-family")
    untouched = _task_definition(aws_env, "task-untouched")
    aws = aws_env.context()
    collect(aws, store, services=["ecs"])
    second = _task_definition(aws_env, "task-family")  # RegisterTaskDefinition names only the new revision
    result = collect(aws, store, services=["ecs"], only={"AWS::ECS::TaskDefinition": {second}})
    assert result.types_seen == {"AWS::ECS::TaskDefinition": 1} and result.deleted == 1
    assert stored(store, "AWS::ECS::TaskDefinition", second)["status"] != "ResourceDeleted"
    assert stored(store, "AWS::ECS::TaskDefinition", first)["status"] == "ResourceDeleted"
    assert stored(store, "AWS::ECS::TaskDefinition", untouched)["version"] == 1
