"""AWS Config managed rules for containers and delivery: ECS, ECR, EKS, CodeBuild, CodeDeploy,
CodePipeline, CloudFormation and Elastic Beanstalk. One estate is built in moto's server with boto3
and collected once; each rule is judged on the stored items, then on constructed items for what
moto cannot represent (drift status, deployment configurations, Beanstalk option settings) and for
reads that failed."""

from __future__ import annotations

import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import ConfigurationItem
from phiwatch.rules.registry import catalogue
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule, verdict_and_annotation

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICES = ["ecs", "ecr", "eks", "codebuild", "codedeploy", "codepipeline", "cloudformation", "elasticbeanstalk"]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/delivery"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
            "action": {"type": "expire"},
        }
    ]
}
RULES = [
    "beanstalk-enhanced-health-reporting-enabled",
    "cloudformation-stack-drift-detection-check",
    "cloudformation-stack-notification-check",
    "codebuild-project-artifact-encryption",
    "codebuild-project-environment-privileged-check",
    "codebuild-project-logging-enabled",
    "codebuild-project-s3-logs-encrypted",
    "codedeploy-auto-rollback-monitor-enabled",
    "codedeploy-ec2-minimum-healthy-hosts-configured",
    "codedeploy-lambda-allatonce-traffic-shift-disabled",
    "codepipeline-deployment-count-check",
    "codepipeline-region-fanout-check",
    "ecr-private-image-scanning-enabled",
    "ecr-private-lifecycle-policy-configured",
    "ecr-private-tag-immutability-enabled",
    "ecs-awsvpc-networking-enabled",
    "ecs-container-insights-enabled",
    "ecs-containers-nonprivileged",
    "ecs-fargate-latest-platform-version",
    "ecs-no-environment-secrets",
    "ecs-task-definition-log-configuration",
    "ecs-task-definition-memory-hard-limit",
    "ecs-task-definition-nonroot-user",
    "ecs-task-definition-pid-mode-check",
    "eks-cluster-logging-enabled",
    "eks-cluster-oldest-supported-version",
    "eks-cluster-supported-version",
    "eks-endpoint-no-public-access",
    "eks-secrets-encrypted",
    "elastic-beanstalk-logs-to-cloudwatch",
]


def build(client) -> dict[str, str]:
    """One resource (or more) per verdict of each rule; returns name -> resource id."""
    ids: dict[str, str] = {}

    ecr = client("ecr")
    ecr.create_repository(repositoryName="repo-good", imageTagMutability="IMMUTABLE", imageScanningConfiguration={"scanOnPush": True})
    ecr.put_lifecycle_policy(repositoryName="repo-good", lifecyclePolicyText=json.dumps(LIFECYCLE))
    ecr.create_repository(repositoryName="repo-bad", tags=[{"Key": "PHI", "Value": "Yes"}])
    ids.update({"repo-good": "repo-good", "repo-bad": "repo-bad"})

    ecs = client("ecs")

    def task(family, containers, **definition):
        return ecs.register_task_definition(family=family, containerDefinitions=containers, **definition)["taskDefinition"][
            "taskDefinitionArn"
        ]

    logs = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/claims", "awslogs-region": REGION}}
    ids["td-good"] = task(
        "td-good",
        [
            {
                "name": "app",
                "image": "registry.example.org/claims:1",
                "memory": 512,
                "user": "1000:1000",
                "logConfiguration": logs,
                "environment": [{"name": "STAGE", "value": "prod"}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db"}],
            }
        ],
        networkMode="awsvpc",
        requiresCompatibilities=["EC2"],
    )
    ids["td-bad"] = task(
        "td-bad",
        [
            {
                "name": "app",
                "image": "registry.example.org/claims:1",
                "memoryReservation": 256,
                "privileged": True,
                "environment": [{"name": "DB_PASSWORD", "value": "hunter2-not-stored"}],
            },
            {"name": "sidecar", "image": "registry.example.org/agent:1", "memory": 128, "user": "root", "logConfiguration": logs},
        ],
        networkMode="host",
        pidMode="host",
    )
    ids["td-fargate"] = task(
        "td-fargate",
        [{"name": "app", "image": "registry.example.org/claims:1", "memory": 512, "logConfiguration": logs}],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
    )
    ecs.create_cluster(clusterName="cluster-insights", settings=[{"name": "containerInsights", "value": "enabled"}])
    ecs.create_cluster(clusterName="cluster-plain", tags=[{"key": "PHI", "value": "Yes"}])
    ids.update({"cluster-insights": "cluster-insights", "cluster-plain": "cluster-plain"})
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="svc", Description="services", VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    for name, extra in (
        ("svc-latest", {"launchType": "FARGATE", "platformVersion": "LATEST"}),
        ("svc-default", {"launchType": "FARGATE"}),
        ("svc-pinned", {"launchType": "FARGATE", "platformVersion": "1.3.0"}),
        ("svc-ec2", {"launchType": "EC2"}),
    ):
        ids[name] = ecs.create_service(
            cluster="cluster-plain", serviceName=name, taskDefinition="td-fargate", desiredCount=0, networkConfiguration=network, **extra
        )["service"]["serviceArn"]

    eks = client("eks")
    eks.create_cluster(
        name="eks-good",
        version="1.29",
        roleArn=ROLE,
        resourcesVpcConfig={"subnetIds": [subnet], "endpointPublicAccess": False, "endpointPrivateAccess": True},
        logging={"clusterLogging": [{"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": True}]},
        encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": KMS_KEY}}],
        tags={"PHI": "Yes"},
    )
    eks.create_cluster(
        name="eks-bad",
        version="1.24",
        roleArn=ROLE,
        resourcesVpcConfig={"subnetIds": [subnet], "endpointPublicAccess": True},
        logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]},
    )
    ids.update({"eks-good": "eks-good", "eks-bad": "eks-bad"})

    codebuild = client("codebuild")

    def project(name, artifacts, logs_config=None, privileged=False, secondary=None):
        codebuild.create_project(
            name=name,
            source={"type": "S3", "location": "clinic-ci/source.zip"},
            artifacts=artifacts,
            **({"secondaryArtifacts": secondary} if secondary else {}),
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
                "privilegedMode": privileged,
            },
            serviceRole=ROLE,
            **({"logsConfig": logs_config} if logs_config else {}),
        )
        ids[name] = name

    project(
        "build-good",
        {"type": "S3", "location": "clinic-artifacts", "encryptionDisabled": False},
        {"cloudWatchLogs": {"status": "ENABLED", "groupName": "/ci/builds"}, "s3Logs": {"status": "ENABLED", "location": "clinic-logs/ci"}},
    )
    project(
        "build-bad",
        {"type": "S3", "location": "clinic-artifacts", "encryptionDisabled": True},
        {"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": {"status": "DISABLED"}},
        privileged=True,
        secondary=[{"type": "S3", "location": "clinic-reports", "artifactIdentifier": "reports", "encryptionDisabled": True}],
    )
    project(
        "build-s3-logs-clear",
        {"type": "NO_ARTIFACTS"},
        {
            "cloudWatchLogs": {"status": "DISABLED"},
            "s3Logs": {"status": "ENABLED", "location": "clinic-logs/ci", "encryptionDisabled": True},
        },
    )

    codedeploy = client("codedeploy")
    codedeploy.create_application(applicationName="portal", computePlatform="Server")
    codedeploy.create_application(applicationName="triage", computePlatform="Lambda")

    def deployment_group(application, name, config, **extra):
        ids[name] = codedeploy.create_deployment_group(
            applicationName=application, deploymentGroupName=name, serviceRoleArn=ROLE, deploymentConfigName=config, **extra
        )["deploymentGroupId"]

    deployment_group(
        "portal",
        "dg-server-monitored",
        "CodeDeployDefault.HalfAtATime",
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        alarmConfiguration={"enabled": True, "alarms": [{"name": "portal-5xx"}]},
        tags=[{"Key": "PHI", "Value": "Yes"}],
    )
    deployment_group(
        "portal",
        "dg-server-rollback-only",
        "CodeDeployDefault.AllAtOnce",
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
    )
    lambda_style = {"deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}}
    deployment_group("triage", "dg-lambda-all-at-once", "CodeDeployDefault.LambdaAllAtOnce", **lambda_style)
    deployment_group("triage", "dg-lambda-canary", "CodeDeployDefault.LambdaCanary10Percent5Minutes", **lambda_style)

    iam = client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    pipeline_role = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    pipelines = client("codepipeline")

    def deploy(name, region=None):
        action = {
            "name": name,
            "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
            "configuration": {"ApplicationName": "portal", "DeploymentGroupName": "dg-server-monitored"},
            "inputArtifacts": [{"name": "bundle"}],
        }
        return {**action, "region": region} if region else action

    source = {
        "name": "Source",
        "actions": [
            {
                "name": "bundle",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "clinic-ci", "S3ObjectKey": "patient-portal.zip"},
                "outputArtifacts": [{"name": "bundle"}],
            }
        ],
    }

    def pipeline(name, *stages):
        pipelines.create_pipeline(
            pipeline={
                "name": name,
                "roleArn": pipeline_role,
                "artifactStore": {"type": "S3", "location": "clinic-ci"},
                "stages": [source, *[{"name": n, "actions": a} for n, a in stages]],
            }
        )
        ids[name] = name

    pipeline("pipeline-good", ("Staging", [deploy("staging")]), ("Production", [deploy("east"), deploy("west", "us-west-2")]))
    pipeline("pipeline-bad", ("Everywhere", [deploy("east"), deploy("west", "us-west-2")]))
    build_action = {
        "name": "build",
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "build-good"},
        "inputArtifacts": [{"name": "bundle"}],
    }
    pipeline("pipeline-build-only", ("Build", [build_action]))  # no deployment stage

    sns = client("sns")
    topic = sns.create_topic(Name="stack-events")["TopicArn"]
    ids["topic"] = topic
    cloudformation = client("cloudformation")
    template = json.dumps(
        {
            "Parameters": {"DbPassword": {"Type": "String", "Default": "hunter2-not-stored"}},
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}},
        }
    )
    ids["stack-notified"] = cloudformation.create_stack(StackName="stack-notified", TemplateBody=template, NotificationARNs=[topic])[
        "StackId"
    ]
    ids["stack-silent"] = cloudformation.create_stack(
        StackName="stack-silent", TemplateBody=template, Tags=[{"Key": "PHI", "Value": "Yes"}]
    )["StackId"]

    beanstalk = client("elasticbeanstalk")
    beanstalk.create_application(ApplicationName="patient-portal")
    beanstalk.create_environment(
        ApplicationName="patient-portal",
        EnvironmentName="portal-prod",
        SolutionStackName="64bit Amazon Linux 2023 v6.1.0 running Node.js 20",
    )
    ids["portal-prod"] = "portal-prod"
    return ids


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service, region=REGION):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    ids = build(client)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('containers') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session())
    result = collect(ctx, store, services=SERVICES)
    items: dict[str, ConfigurationItem] = {i.resourceId: i for i in store.current_items()}
    yield {"ids": ids, "items": items, "errors": result.errors, "store": store}
    store.close()


def item(estate, name) -> ConfigurationItem:
    return estate["items"][estate["ids"][name]]


def judge(estate, rule_id, name, **params):
    return verdict_and_annotation(judge_rule(rule_id, item(estate, name), lookup=lambda t: [], params=params))


def run(rule_id, built, **params):
    return verdict_and_annotation(judge_rule(rule_id, built, lookup=lambda t: [], params=params))


def test_every_rule_is_registered_with_awss_identifier():
    rules = catalogue()
    for rule_id in RULES:
        assert rules[rule_id].implemented and rules[rule_id].aws_identifier == rule_id.upper().replace("-", "_"), rule_id


def test_collection_errors_are_only_what_moto_lacks(estate):
    # moto implements neither GetDeploymentConfig nor DescribeConfigurationSettings
    assert {(e.service, e.api) for e in estate["errors"]} == {
        ("codedeploy", "GetDeploymentConfig"),
        ("elasticbeanstalk", "DescribeConfigurationSettings"),
    }


@pytest.mark.parametrize(
    ("rule_id", "good", "bad", "params"),
    [
        ("ecr-private-image-scanning-enabled", "repo-good", "repo-bad", {}),
        ("ecr-private-lifecycle-policy-configured", "repo-good", "repo-bad", {}),
        ("ecr-private-tag-immutability-enabled", "repo-good", "repo-bad", {}),
        ("ecs-awsvpc-networking-enabled", "td-good", "td-bad", {}),
        ("ecs-containers-nonprivileged", "td-good", "td-bad", {}),
        ("ecs-no-environment-secrets", "td-good", "td-bad", {"secretKeys": "DB_PASSWORD, API_KEY"}),
        ("ecs-task-definition-log-configuration", "td-good", "td-bad", {}),
        ("ecs-task-definition-memory-hard-limit", "td-good", "td-bad", {}),
        ("ecs-task-definition-nonroot-user", "td-good", "td-bad", {}),
        ("ecs-task-definition-pid-mode-check", "td-good", "td-bad", {}),
        ("ecs-container-insights-enabled", "cluster-insights", "cluster-plain", {}),
        ("ecs-fargate-latest-platform-version", "svc-latest", "svc-pinned", {}),
        ("ecs-fargate-latest-platform-version", "svc-default", "svc-pinned", {"latestLinuxVersion": "1.4.0"}),
        ("eks-cluster-logging-enabled", "eks-good", "eks-bad", {}),
        ("eks-cluster-oldest-supported-version", "eks-good", "eks-bad", {"oldestVersionSupported": "1.24"}),
        ("eks-cluster-supported-version", "eks-good", "eks-bad", {"oldestVersionSupported": "1.25"}),
        ("eks-endpoint-no-public-access", "eks-good", "eks-bad", {}),
        ("eks-secrets-encrypted", "eks-good", "eks-bad", {}),
        ("eks-secrets-encrypted", "eks-good", "eks-bad", {"kmsKeyArns": f"{KMS_KEY},arn:aws:kms:{REGION}:{ACCOUNT}:key/other"}),
        ("codebuild-project-artifact-encryption", "build-good", "build-bad", {}),
        ("codebuild-project-environment-privileged-check", "build-good", "build-bad", {}),
        ("codebuild-project-logging-enabled", "build-good", "build-bad", {}),
        (
            "codebuild-project-logging-enabled",
            "build-good",
            "build-bad",
            {"s3BucketNames": "clinic-logs,archive", "cloudWatchGroupNames": "/ci/builds"},
        ),
        ("codebuild-project-s3-logs-encrypted", "build-good", "build-s3-logs-clear", {}),
        ("codedeploy-lambda-allatonce-traffic-shift-disabled", "dg-lambda-canary", "dg-lambda-all-at-once", {}),
        ("codepipeline-deployment-count-check", "pipeline-good", "pipeline-bad", {}),
        ("codepipeline-region-fanout-check", "pipeline-good", "pipeline-bad", {}),
        ("cloudformation-stack-notification-check", "stack-notified", "stack-silent", {}),
        (
            "cloudformation-stack-notification-check",
            "stack-notified",
            "stack-silent",
            {"snsTopic2": f"arn:aws:sns:{REGION}:{ACCOUNT}:stack-events"},
        ),
    ],
)
def test_compliant_and_non_compliant_on_moto(estate, rule_id, good, bad, params):
    verdict, annotation = judge(estate, rule_id, good, **params)
    assert verdict == "COMPLIANT", annotation
    verdict, annotation = judge(estate, rule_id, bad, **params)
    assert verdict == "NON_COMPLIANT" and annotation, annotation


@pytest.mark.parametrize(
    ("rule_id", "name", "params", "expected"),
    [
        ("ecs-task-definition-nonroot-user", "td-fargate", {}, "NOT_APPLICABLE"),
        ("ecs-fargate-latest-platform-version", "svc-ec2", {}, "NOT_APPLICABLE"),
        ("ecs-fargate-latest-platform-version", "svc-pinned", {"latestLinuxVersion": "1.3.0"}, "COMPLIANT"),
        ("ecs-no-environment-secrets", "td-bad", {"secretKeys": "db_password"}, "COMPLIANT"),  # names compare exactly
        ("eks-cluster-oldest-supported-version", "eks-bad", {"oldestVersionSupported": "1.25"}, "NON_COMPLIANT"),  # older still
        ("eks-cluster-supported-version", "eks-bad", {"oldestVersionSupported": "1.24"}, "COMPLIANT"),
        ("eks-secrets-encrypted", "eks-good", {"kmsKeyArns": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other"}, "NON_COMPLIANT"),
        ("codebuild-project-artifact-encryption", "build-s3-logs-clear", {}, "NOT_APPLICABLE"),  # NO_ARTIFACTS
        ("codebuild-project-s3-logs-encrypted", "build-bad", {}, "NOT_APPLICABLE"),  # no S3 logs
        ("codebuild-project-s3-logs-encrypted", "build-s3-logs-clear", {"exemptedProjects": "build-x, build-s3-logs-clear"}, "COMPLIANT"),
        ("codebuild-project-environment-privileged-check", "build-bad", {"exemptedProjects": "build-bad"}, "COMPLIANT"),
        ("codebuild-project-logging-enabled", "build-good", {"s3BucketNames": "other-bucket"}, "NON_COMPLIANT"),
        ("codebuild-project-logging-enabled", "build-good", {"cloudWatchGroupNames": "/other"}, "NON_COMPLIANT"),
        ("codebuild-project-logging-enabled", "build-s3-logs-clear", {"s3BucketNames": "clinic-logs"}, "COMPLIANT"),
        ("codedeploy-lambda-allatonce-traffic-shift-disabled", "dg-server-monitored", {}, "NOT_APPLICABLE"),
        ("codedeploy-auto-rollback-monitor-enabled", "dg-server-rollback-only", {}, "NON_COMPLIANT"),  # no alarms
        ("codedeploy-auto-rollback-monitor-enabled", "dg-lambda-canary", {}, "NON_COMPLIANT"),  # no rollback
        ("codedeploy-ec2-minimum-healthy-hosts-configured", "dg-lambda-canary", {}, "NOT_APPLICABLE"),
        ("codedeploy-ec2-minimum-healthy-hosts-configured", "dg-server-monitored", {}, "INSUFFICIENT_DATA"),  # moto: no GetDeploymentConfig
        ("codepipeline-deployment-count-check", "pipeline-good", {"deploymentLimit": 1}, "NON_COMPLIANT"),
        ("codepipeline-deployment-count-check", "pipeline-build-only", {}, "NOT_APPLICABLE"),
        ("codepipeline-region-fanout-check", "pipeline-good", {"regionFanoutFactor": 1}, "NON_COMPLIANT"),
        ("codepipeline-region-fanout-check", "pipeline-build-only", {}, "NOT_APPLICABLE"),
        (
            "cloudformation-stack-notification-check",
            "stack-notified",
            {"snsTopic1": f"arn:aws:sns:{REGION}:{ACCOUNT}:other"},
            "NON_COMPLIANT",
        ),
        ("cloudformation-stack-drift-detection-check", "stack-notified", {}, "INSUFFICIENT_DATA"),  # never detected
        ("beanstalk-enhanced-health-reporting-enabled", "portal-prod", {}, "INSUFFICIENT_DATA"),  # moto: no option settings
        ("elastic-beanstalk-logs-to-cloudwatch", "portal-prod", {}, "INSUFFICIENT_DATA"),
    ],
)
def test_edge_cases_on_moto(estate, rule_id, name, params, expected):
    verdict, annotation = judge(estate, rule_id, name, **params)
    assert verdict == expected, annotation


def test_could_not_check_names_the_refused_api(estate):
    result = judge(estate, "codedeploy-ec2-minimum-healthy-hosts-configured", "dg-server-monitored")
    assert "GetDeploymentConfig failed" in result[1] and "codedeploy:GetDeploymentConfig" in result[1]
    assert "DescribeConfigurationSettings failed" in judge(estate, "elastic-beanstalk-logs-to-cloudwatch", "portal-prod")[1]


# -- collected items ---------------------------------------------------------------------------


def test_items_keep_no_secret_values(estate):
    bad = item(estate, "td-bad")
    assert bad.configuration["containerDefinitions"][0]["environment"] == [{"name": "DB_PASSWORD", "value": "REDACTED"}]
    stack = item(estate, "stack-silent")
    assert stack.resourceName == "stack-silent" and stack.arn == estate["ids"]["stack-silent"] and stack.tags == {"PHI": "Yes"}
    assert stack.configuration["Parameters"] == [{"ParameterKey": "DbPassword", "ParameterValue": "REDACTED"}]
    assert all(o["OutputValue"] == "REDACTED" for o in stack.configuration["Outputs"])
    assert "Tags" not in stack.configuration
    source = item(estate, "pipeline-good").configuration["pipeline"]["stages"][0]["actions"][0]
    assert source["configuration"] == {"S3Bucket": "REDACTED", "S3ObjectKey": "REDACTED"}
    for name in ("td-bad", "stack-silent", "pipeline-good"):
        assert "hunter2" not in json.dumps(item(estate, name).to_dict()) and "patient-portal.zip" not in json.dumps(
            item(estate, name).to_dict()
        )


def test_item_identities_and_layouts(estate):
    repo = item(estate, "repo-bad")
    assert repo.arn == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/repo-bad" and repo.tags == {"PHI": "Yes"}
    assert repo.supplementaryConfiguration["LifecyclePolicy"] is None
    assert item(estate, "repo-good").supplementaryConfiguration["LifecyclePolicy"] == LIFECYCLE
    assert item(estate, "repo-good").supplementaryConfiguration["ScanningConfiguration"]["repositoryName"] == "repo-good"
    cluster = item(estate, "cluster-plain")
    assert cluster.arn == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/cluster-plain" and cluster.tags == {"PHI": "Yes"}
    assert "runningTasksCount" not in cluster.configuration and "tags" not in cluster.configuration
    service = item(estate, "svc-pinned")
    assert service.resourceName == "svc-pinned" and service.arn == estate["ids"]["svc-pinned"]
    assert "events" not in service.configuration and "deployments" not in service.configuration
    eks = item(estate, "eks-good")
    assert eks.arn == f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/eks-good" and eks.tags == {"PHI": "Yes"}
    assert "certificateAuthority" not in eks.configuration
    group = item(estate, "dg-server-monitored")
    assert group.resourceName == "dg-server-monitored" and group.tags == {"PHI": "Yes"}
    assert group.arn == f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:portal/dg-server-monitored"
    assert [e["api"] for e in group.collectionErrors] == ["GetDeploymentConfig"]
    assert item(estate, "dg-lambda-canary").collectionErrors == []  # Lambda groups need no deployment configuration
    pipeline = item(estate, "pipeline-good")
    assert pipeline.arn == f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:pipeline-good"
    assert "OptionSettings" not in item(estate, "portal-prod").supplementaryConfiguration


# -- constructed items: what moto cannot represent -------------------------------------------


def _environment(settings, errors=None):
    from phiwatch.resources.elasticbeanstalk import kept_settings

    supplementary = {} if settings is None else {"OptionSettings": kept_settings(settings)}
    return built_item("AWS::ElasticBeanstalk::Environment", {"EnvironmentName": "portal-prod"}, supplementary, errors, "portal-prod")


def _option(namespace, name, value):
    return {"Namespace": f"aws:elasticbeanstalk:{namespace}", "OptionName": name, "Value": value}


def test_beanstalk_rules_on_option_settings():
    from phiwatch.resources.elasticbeanstalk import kept_settings, managed_actions_of

    enhanced = [_option("healthreporting:system", "SystemType", "enhanced"), _option("application:environment", "DB_PASSWORD", "x")]
    assert kept_settings(enhanced) == {"aws:elasticbeanstalk:healthreporting:system": {"SystemType": "enhanced"}}  # no properties kept
    assert run("beanstalk-enhanced-health-reporting-enabled", _environment(enhanced))[0] == "COMPLIANT"
    basic = [_option("healthreporting:system", "SystemType", "basic")]
    assert run("beanstalk-enhanced-health-reporting-enabled", _environment(basic)) == ("NON_COMPLIANT", "health reporting is basic")
    assert run("beanstalk-enhanced-health-reporting-enabled", _environment([]))[0] == "NON_COMPLIANT"  # unset: basic

    streaming = [
        _option("cloudwatch:logs", "StreamLogs", "true"),
        _option("cloudwatch:logs", "RetentionInDays", "30"),
        _option("cloudwatch:logs", "DeleteOnTerminate", "false"),
    ]
    logs = "elastic-beanstalk-logs-to-cloudwatch"
    assert run(logs, _environment(streaming))[0] == "COMPLIANT"
    assert run(logs, _environment(streaming), RetentionInDays="30", DeleteOnTerminate="FALSE")[0] == "COMPLIANT"
    assert run(logs, _environment(streaming), RetentionInDays="90")[0] == "NON_COMPLIANT"
    assert run(logs, _environment(streaming), DeleteOnTerminate="true")[0] == "NON_COMPLIANT"
    assert run(logs, _environment(streaming[:1]), RetentionInDays="7")[0] == "COMPLIANT"  # unset: 7 days
    assert run(logs, _environment([_option("cloudwatch:logs", "StreamLogs", "false")]))[0] == "NON_COMPLIANT"
    assert run(logs, _environment([]))[0] == "NON_COMPLIANT"

    denied = _environment(None, denied_read("DescribeConfigurationSettings", "elasticbeanstalk:DescribeConfigurationSettings"))
    for rule_id in (logs, "beanstalk-enhanced-health-reporting-enabled"):
        assert run(rule_id, denied)[0] == "INSUFFICIENT_DATA"
    managed = [_option("managedactions", "ManagedActionsEnabled", "true"), _option("managedactions:platformupdate", "UpdateLevel", "minor")]
    assert managed_actions_of(kept_settings(managed)) == {"ManagedActionsEnabled": True, "UpdateLevel": "minor", "PreferredStartTime": None}


def _group(platform, config_name, minimum=None, errors=None):
    supplementary = {} if minimum is None else {"DeploymentConfig": {"deploymentConfigName": config_name, "minimumHealthyHosts": minimum}}
    return built_item(
        "AWS::CodeDeploy::DeploymentGroup", {"computePlatform": platform, "deploymentConfigName": config_name}, supplementary, errors
    )


def test_codedeploy_minimum_healthy_hosts_on_deployment_configs():
    rule_id = "codedeploy-ec2-minimum-healthy-hosts-configured"
    assert run(rule_id, _group("Server", "CodeDeployDefault.OneAtATime", {"type": "FLEET_PERCENT", "value": 99}))[0] == "COMPLIANT"
    half = _group("Server", "CodeDeployDefault.HalfAtATime", {"type": "FLEET_PERCENT", "value": 50})
    assert run(rule_id, half) == ("NON_COMPLIANT", "CodeDeployDefault.HalfAtATime keeps 50% of hosts healthy, below 66%")
    assert run(rule_id, half, minimumHealthyHostsFleetPercent=50)[0] == "COMPLIANT"
    none_kept = _group("Server", "CodeDeployDefault.AllAtOnce", {"type": "HOST_COUNT", "value": 0})
    assert run(rule_id, none_kept)[0] == "NON_COMPLIANT"
    assert run(rule_id, _group("Server", "custom", {"type": "HOST_COUNT", "value": 2}), minimumHealthyHostsHostCount=2)[0] == "COMPLIANT"
    assert (
        run(rule_id, _group("Server", "custom", {"type": "HOST_COUNT", "value": 2}), minimumHealthyHostsHostCount=3)[0] == "NON_COMPLIANT"
    )
    assert run(rule_id, _group("ECS", "CodeDeployDefault.ECSAllAtOnce"))[0] == "NOT_APPLICABLE"
    denied = _group("Server", "custom", errors=denied_read("GetDeploymentConfig", "codedeploy:GetDeploymentConfig"))
    verdict, annotation = run(rule_id, denied)
    assert verdict == "INSUFFICIENT_DATA" and "codedeploy:GetDeploymentConfig" in annotation
    # a Lambda group naming no configuration gets CodeDeploy's default, all at once
    unnamed = built_item("AWS::CodeDeploy::DeploymentGroup", {"computePlatform": "Lambda"})
    assert run("codedeploy-lambda-allatonce-traffic-shift-disabled", unnamed)[0] == "NON_COMPLIANT"
    # moto keeps no alarmConfiguration: the monitored case is built
    monitored = built_item(
        "AWS::CodeDeploy::DeploymentGroup",
        {"autoRollbackConfiguration": {"enabled": True}, "alarmConfiguration": {"enabled": True, "alarms": [{"name": "portal-5xx"}]}},
    )
    assert run("codedeploy-auto-rollback-monitor-enabled", monitored)[0] == "COMPLIANT"
    rollback_alarms_off = built_item(
        "AWS::CodeDeploy::DeploymentGroup",
        {"autoRollbackConfiguration": {"enabled": True}, "alarmConfiguration": {"enabled": True, "alarms": []}},
    )
    assert run("codedeploy-auto-rollback-monitor-enabled", rollback_alarms_off)[0] == "NON_COMPLIANT"


def _stack(drift):
    return built_item("AWS::CloudFormation::Stack", {"StackName": "s", "NotificationARNs": [], "DriftInformation": drift})


def test_cloudformation_drift_status():
    rule_id = "cloudformation-stack-drift-detection-check"
    synced = _stack({"StackDriftStatus": "IN_SYNC", "LastCheckTimestamp": "2025-05-01T00:00:00Z"})
    assert run(rule_id, synced, cloudformationRoleArn=ROLE)[0] == "COMPLIANT"
    assert run(rule_id, _stack({"StackDriftStatus": "DRIFTED"}))[0] == "NON_COMPLIANT"
    for status in ("NOT_CHECKED", "UNKNOWN"):
        verdict, annotation = run(rule_id, _stack({"StackDriftStatus": status}))
        assert verdict == "INSUFFICIENT_DATA" and status in annotation


def _pipeline(*stages, region="us-east-1"):
    def action(category, action_region=None):
        found = {"name": "a", "actionTypeId": {"category": category}}
        return {**found, "region": action_region} if action_region else found

    return built_item(
        "AWS::CodePipeline::Pipeline",
        {"pipeline": {"stages": [{"name": f"s{i}", "actions": [action(c, r) for c, r in acts]} for i, acts in enumerate(stages)]}},
        region=region,
    )


def test_codepipeline_fanout_and_counts_per_stage():
    fanout = "codepipeline-region-fanout-check"
    one, three, twelve = (
        [("Deploy", None)],
        [("Deploy", r) for r in ("us-east-2", "us-west-1", "us-west-2")],
        [("Deploy", f"r-{n}") for n in range(12)],
    )
    assert run(fanout, _pipeline([("Source", None)], one, three, twelve))[0] == "COMPLIANT"  # 1, 3, 12 = 3 x (1 + 3)
    assert run(fanout, _pipeline(one, three, [*twelve, ("Deploy", "r-13")]))[0] == "NON_COMPLIANT"
    assert run(fanout, _pipeline(one, [*three, ("Deploy", "eu-west-1")]))[0] == "NON_COMPLIANT"
    # actions without a region deploy in the pipeline's own region: two of them are one Region
    assert run(fanout, _pipeline([("Deploy", None), ("Deploy", "us-east-1")]))[0] == "COMPLIANT"
    counts = "codepipeline-deployment-count-check"
    assert run(counts, _pipeline(one, three), deploymentLimit=3)[0] == "COMPLIANT"
    assert run(counts, _pipeline(one, three), deploymentLimit=2)[0] == "NON_COMPLIANT"
    assert run(counts, _pipeline([("Deploy", None), ("Build", None)]))[0] == "COMPLIANT"  # builds are not deployments


def test_could_not_check_when_a_read_failed():
    cases = [
        (
            "ecr-private-lifecycle-policy-configured",
            built_item("AWS::ECR::Repository", {"repositoryName": "r"}, {}, denied_read("GetLifecyclePolicy", "ecr:GetLifecyclePolicy")),
        ),
        (
            "ecr-private-image-scanning-enabled",
            built_item(
                "AWS::ECR::Repository",
                {"repositoryName": "r", "imageScanningConfiguration": {"scanOnPush": True}},
                {},
                denied_read("BatchGetRepositoryScanningConfiguration", "ecr:BatchGetRepositoryScanningConfiguration"),
            ),
        ),
        (
            "eks-secrets-encrypted",
            built_item("AWS::EKS::Cluster", {"name": "k"}, {}, denied_read("DescribeCluster", "eks:DescribeCluster")),
        ),
        (
            "eks-endpoint-no-public-access",
            built_item("AWS::EKS::Cluster", {"name": "k"}, {}, denied_read("DescribeCluster", "eks:DescribeCluster")),
        ),
        (
            "ecs-task-definition-pid-mode-check",
            built_item(
                "AWS::ECS::TaskDefinition",
                {"family": "f", "revision": 1},
                {},
                denied_read("DescribeTaskDefinition", "ecs:DescribeTaskDefinition"),
            ),
        ),
        (
            "codepipeline-region-fanout-check",
            built_item("AWS::CodePipeline::Pipeline", {"name": "p"}, {}, denied_read("GetPipeline", "codepipeline:GetPipeline")),
        ),
    ]
    for rule_id, built in cases:
        verdict, annotation = run(rule_id, built)
        assert verdict == "INSUFFICIENT_DATA" and annotation.startswith("could not check"), rule_id


def test_ecs_edge_cases_on_items():
    def service(**configuration):
        return built_item("AWS::ECS::Service", {"serviceArn": "arn:aws:ecs:us-east-1:1:service/c/s", **configuration})

    rule_id = "ecs-fargate-latest-platform-version"
    windows = service(launchType="FARGATE", platformVersion="1.0.0", platformFamily="WINDOWS_SERVER_2019_CORE")
    assert run(rule_id, windows, latestLinuxVersion="1.0.0")[0] == "NON_COMPLIANT"  # Windows compares with latestWindowsVersion
    assert run(rule_id, windows, latestWindowsVersion="1.0.0")[0] == "COMPLIANT"
    spot = service(capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}], platformVersion="1.4.0")
    assert run(rule_id, spot, latestLinuxVersion="1.4.0")[0] == "COMPLIANT"
    blue_green = service(launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"}, taskSets=[{"platformVersion": "1.3.0"}])
    assert run(rule_id, blue_green, latestLinuxVersion="1.4.0")[0] == "NON_COMPLIANT"
    assert run(rule_id, service(launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"}))[0] == "NOT_APPLICABLE"

    def task(containers, **configuration):
        return built_item("AWS::ECS::TaskDefinition", {"containerDefinitions": containers, **configuration})

    assert run("ecs-awsvpc-networking-enabled", task([]))[0] == "NON_COMPLIANT"  # default network mode: bridge
    assert run("ecs-awsvpc-networking-enabled", task([], networkMode="awsvpc", status="INACTIVE"))[0] == "NOT_APPLICABLE"
    for user, verdict in (("0", "NON_COMPLIANT"), ("root:root", "NON_COMPLIANT"), ("app", "COMPLIANT")):
        assert run("ecs-task-definition-nonroot-user", task([{"name": "c", "user": user}]))[0] == verdict, user
    enhanced = built_item("AWS::ECS::Cluster", {"clusterArn": "a", "settings": [{"name": "containerInsights", "value": "enhanced"}]})
    assert run("ecs-container-insights-enabled", enhanced)[0] == "COMPLIANT"
    assert run("ecs-container-insights-enabled", built_item("AWS::ECS::Cluster", {"clusterArn": "a"}))[0] == "NON_COMPLIANT"


def test_codebuild_secondary_artifacts_on_items():
    # moto keeps no secondaryArtifacts
    def project(*secondary):
        return built_item("AWS::CodeBuild::Project", {"artifacts": {"type": "NO_ARTIFACTS"}, "secondaryArtifacts": list(secondary)})

    rule_id = "codebuild-project-artifact-encryption"
    verdict, annotation = run(rule_id, project({"type": "S3", "artifactIdentifier": "reports", "encryptionDisabled": True}))
    assert (verdict, annotation) == ("NON_COMPLIANT", "artifact encryption is disabled (reports)")
    assert run(rule_id, project({"type": "S3", "artifactIdentifier": "reports"}))[0] == "COMPLIANT"
    assert (
        run("codebuild-project-logging-enabled", built_item("AWS::CodeBuild::Project", {"name": "p"}))[0] == "COMPLIANT"
    )  # CloudWatch Logs by default


def test_eks_and_ecr_edge_cases_on_items():
    unset = built_item("AWS::EKS::Cluster", {"name": "k", "version": "1.30", "resourcesVpcConfig": {}})
    assert run("eks-endpoint-no-public-access", unset)[0] == "NON_COMPLIANT"  # EKS's default is public
    assert run("eks-cluster-supported-version", unset, oldestVersionSupported="1.9")[0] == "COMPLIANT"  # 1.30 > 1.9
    assert run("eks-cluster-oldest-supported-version", unset, oldestVersionSupported="1.30")[0] == "NON_COMPLIANT"
    assert run("eks-cluster-supported-version", unset, oldestVersionSupported="latest")[0] == "INSUFFICIENT_DATA"
    other = built_item(
        "AWS::EKS::Cluster", {"name": "k", "version": "1.30", "encryptionConfig": [{"resources": ["configmaps"], "provider": {}}]}
    )
    assert run("eks-secrets-encrypted", other)[0] == "NON_COMPLIANT"
    continuous = built_item(
        "AWS::ECR::Repository", {"repositoryName": "r"}, {"ScanningConfiguration": {"scanFrequency": "CONTINUOUS_SCAN"}}
    )
    assert run("ecr-private-image-scanning-enabled", continuous)[0] == "COMPLIANT"
    excluded = built_item("AWS::ECR::Repository", {"repositoryName": "r", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"})
    assert run("ecr-private-tag-immutability-enabled", excluded)[0] == "NON_COMPLIANT"
