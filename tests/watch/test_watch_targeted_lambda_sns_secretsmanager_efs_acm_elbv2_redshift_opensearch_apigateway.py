"""Targeted re-collection of the Lambda, SNS, Secrets Manager, EFS, ACM, ELBv2, Redshift, OpenSearch
and API Gateway collectors against moto's server (the checks of
test_watch_targeted_kinesis_elasticache_sagemaker_emr_codebuild_dms_ecs_autoscaling_wafv2_ssm_vpn_backup).
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from test_watch_targeted_kinesis_elasticache_sagemaker_emr_codebuild_dms_ecs_autoscaling_wafv2_ssm_vpn_backup import Case, check_targeted


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


CASES = [
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
