"""Load balancer, Auto Scaling, Lambda, API Gateway, WAF, CodeBuild, ECS, EMR, SageMaker and Elastic
Beanstalk rules of the HIPAA pack held to AWS's current semantics: what the emulator can represent
through boto3 and one scan, the rest on constructed items."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ACCOUNT_TYPE
from phiwatch.policy import Policy
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import built_item, judge_rule

ACCOUNT = "123456789012"
REGION = "us-east-1"
ALB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/alb-portal/50dc6c495c0c9188"
CLASSIC_ACL_ID = "0a1b2c3d-0000-4000-8000-00000000c1a5"
CLASSIC_ACL_ARN = f"arn:aws:waf-regional:{REGION}:{ACCOUNT}:webacl/{CLASSIC_ACL_ID}"


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service):
        return make_client(emulator.session(REGION), service, emulator.endpoint, REGION)

    ids: dict[str, str] = {}
    ecs = client("ecs")
    for family, mode, user in (("task-awsvpc-root", "awsvpc", None), ("task-bridge-root", "bridge", "root")):
        container = {"name": "app", "image": "registry.example.org/claims:1", "memory": 512}
        if user:
            container["user"] = user
        ids[family] = ecs.register_task_definition(family=family, networkMode=mode, containerDefinitions=[container])["taskDefinition"][
            "taskDefinitionArn"
        ]
    codebuild = client("codebuild")
    for name, source in (
        ("build-github-token-url", {"type": "GITHUB", "location": "https://user:ghp-token-not-stored@github.com/clinic/claims.git"}),
        ("build-bitbucket-clean", {"type": "BITBUCKET", "location": "https://bitbucket.org/clinic/claims.git"}),
    ):
        codebuild.create_project(
            name=name,
            source=source,
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/codebuild",
        )
        ids[name] = name
    apigw = client("apigateway")
    api = apigw.create_rest_api(name="claims-api")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = apigw.create_deployment(restApiId=api)["id"]
    apigw.create_stage(restApiId=api, stageName="stage-metrics-override", deploymentId=deployment)
    apigw.update_stage(
        restApiId=api,
        stageName="stage-metrics-override",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
            {"op": "replace", "path": "/~1/GET/metrics/enabled", "value": "true"},  # an override of another setting
        ],
    )
    ids["stage-metrics-override"] = f"arn:aws:apigateway:{REGION}::/restapis/{api}/stages/stage-metrics-override"
    role = client("iam").create_role(
        RoleName="audit-lambda",
        AssumeRolePolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    lam = client("lambda")
    for name, account in (("lambda-s3-any-account", None), ("lambda-s3-own-account", ACCOUNT)):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": code.getvalue()})
        extra = {"SourceAccount": account} if account else {}
        lam.add_permission(
            FunctionName=name,
            StatementId="s3",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn="arn:aws:s3:::clinic-uploads",
            **extra,
        )
        ids[name] = name
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('auditcompute') / 'a.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session())
    outcome = run_scan(ctx, store, Policy(), services=["ecs", "codebuild", "apigateway", "lambda"])
    verdicts = {(e["rule_id"], e["resource_id"]): e for e in outcome.scan["evaluations"]}
    verdicts |= {(e["rule_id"], e["resource_name"]): e for e in outcome.scan["evaluations"] if e["resource_name"].startswith("lambda-")}
    yield verdicts, ids
    store.close()


def _verdict(estate, rule_id, name):
    verdicts, ids = estate
    return verdicts[(rule_id, ids[name])]


# -- lambda-function-public-access-prohibited ----------------------------------------------------


def test_s3_invoke_permission_without_source_account_is_public(estate):
    """AWS's page: NON_COMPLIANT when S3 may invoke the function without a condition such as
    aws:SourceAccount (a SourceArn alone names a bucket that any account could own)."""
    open_ = _verdict(estate, "lambda-function-public-access-prohibited", "lambda-s3-any-account")
    assert open_["compliance"] == "NON_COMPLIANT", open_["annotation"]
    pinned = _verdict(estate, "lambda-function-public-access-prohibited", "lambda-s3-own-account")
    assert pinned["compliance"] == "COMPLIANT", pinned["annotation"]


# -- api-gw-execution-logging-enabled ------------------------------------------------------------


def test_execution_logging_method_override_without_level_inherits_the_stage_level(estate):
    """moto leaves loggingLevel out of a method override made for another setting (AWS returns the
    inherited level): the override logs at the stage-wide level."""
    result = _verdict(estate, "api-gw-execution-logging-enabled", "stage-metrics-override")
    assert result["compliance"] == "COMPLIANT", result["annotation"]


def test_execution_logging_explicit_off_override_is_non_compliant():
    stage = built_item("AWS::ApiGateway::Stage", {"methodSettings": {"*/*": {"loggingLevel": "INFO"}, "~1/GET": {"loggingLevel": "OFF"}}})
    result = judge_rule("api-gw-execution-logging-enabled", stage, params={"loggingLevel": " error , info "})
    assert result is not None and result.compliance.value == "NON_COMPLIANT" and "~1/GET" in result.annotation


# -- ecs-task-definition-user-for-host-mode-check -----------------------------------------------


@pytest.mark.parametrize("name", ["task-awsvpc-root", "task-bridge-root"])
def test_host_mode_check_is_compliant_outside_host_network_mode(estate, name):
    """AWS's current page: a network mode other than host is COMPLIANT (not NOT_APPLICABLE)."""
    result = _verdict(estate, "ecs-task-definition-user-for-host-mode-check", name)
    assert result["compliance"] == "COMPLIANT", result["annotation"]
    assert "not host" in result["annotation"]


def _task(status="ACTIVE", network_mode="host", **container):
    return built_item(
        "AWS::ECS::TaskDefinition",
        {"status": status, "networkMode": network_mode, "containerDefinitions": [{"name": "app", **container}]},
    )


@pytest.mark.parametrize("flag", [True, "true", "TRUE"])
def test_host_mode_check_skips_inactive_definitions_when_asked(flag):
    assert (
        judge_rule("ecs-task-definition-user-for-host-mode-check", _task("INACTIVE"), params={"SkipInactiveTaskDefinitions": flag}) is None
    )


@pytest.mark.parametrize("flag", [None, False, "false", "FALSE"])
def test_host_mode_check_judges_inactive_definitions_otherwise(flag):
    result = judge_rule("ecs-task-definition-user-for-host-mode-check", _task("INACTIVE"), params={"SkipInactiveTaskDefinitions": flag})
    assert result is not None and result.compliance.value == "NON_COMPLIANT"


# -- ecs-containers-readonly-access --------------------------------------------------------------


def test_readonly_access_judges_only_active_revisions():
    """AWS: only the latest active revision is evaluated; an INACTIVE one is NOT_APPLICABLE."""
    result = judge_rule("ecs-containers-readonly-access", _task("INACTIVE", readonlyRootFilesystem=False))
    assert result is not None and result.compliance.value == "NOT_APPLICABLE"
    active = judge_rule("ecs-containers-readonly-access", _task("ACTIVE", readonlyRootFilesystem=False))
    assert active is not None and active.compliance.value == "NON_COMPLIANT"


# -- codebuild-project-source-repo-url-check -----------------------------------------------------


def test_source_repo_url_check_judges_bitbucket_sources_only(estate):
    """AWS's current page checks the Bitbucket source URL only: a GitHub source is not judged."""
    github = _verdict(estate, "codebuild-project-source-repo-url-check", "build-github-token-url")
    assert github["compliance"] == "NOT_APPLICABLE", github["annotation"]
    clean = _verdict(estate, "codebuild-project-source-repo-url-check", "build-bitbucket-clean")
    assert clean["compliance"] == "COMPLIANT", clean["annotation"]


def test_source_repo_url_check_reads_secondary_bitbucket_sources():
    item = built_item(
        "AWS::CodeBuild::Project",
        {
            "source": {"type": "S3", "location": "clinic-artifacts/source.zip", "locationHasCredentials": False},
            "secondarySources": [
                {"type": "BITBUCKET", "location": "https://bitbucket.org/clinic/claims.git", "locationHasCredentials": True},
                {"type": "GITHUB", "location": "https://github.com/clinic/claims.git", "locationHasCredentials": False},
            ],
        },
    )
    result = judge_rule("codebuild-project-source-repo-url-check", item)
    assert result is not None and result.compliance.value == "NON_COMPLIANT" and "Bitbucket" in result.annotation


# -- alb-waf-enabled -----------------------------------------------------------------------------


def _alb():
    item = built_item("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Type": "application"}, resource_id=ALB_ARN)
    item.arn = ALB_ARN
    return item


def _classic_acl(associated):
    item = built_item(
        "AWS::WAFRegional::WebACL", {"WebACLId": CLASSIC_ACL_ID}, {"AssociatedResources": associated}, resource_id=CLASSIC_ACL_ID
    )
    item.arn = CLASSIC_ACL_ARN
    return item


def _account(associations):
    return built_item(ACCOUNT_TYPE, {"wafv2LoadBalancerWebAcls": associations}, resource_id=ACCOUNT)


def test_alb_protected_by_a_waf_classic_web_acl_is_compliant():
    """AWS's rule counts WAF Classic regional web ACLs (wafWebAclIds takes their ids)."""
    result = judge_rule("alb-waf-enabled", _alb(), others=[_account({}), _classic_acl([ALB_ARN])])
    assert result is not None and result.compliance.value == "COMPLIANT", result
    without_v2 = judge_rule("alb-waf-enabled", _alb(), others=[_classic_acl([ALB_ARN])])
    assert without_v2 is not None and without_v2.compliance.value == "COMPLIANT"


@pytest.mark.parametrize(
    "allowed,expected",
    [(CLASSIC_ACL_ID, "COMPLIANT"), (f" other-id , {CLASSIC_ACL_ID} ", "COMPLIANT"), ("other-id", "NON_COMPLIANT"), ("", "COMPLIANT")],
)
def test_alb_classic_web_acl_against_waf_web_acl_ids(allowed, expected):
    result = judge_rule("alb-waf-enabled", _alb(), others=[_account({}), _classic_acl([ALB_ARN])], params={"wafWebAclIds": allowed})
    assert result is not None and result.compliance.value == expected


def test_alb_without_any_web_acl_when_only_waf_classic_was_collected():
    result = judge_rule("alb-waf-enabled", _alb(), others=[_classic_acl(["arn:aws:elasticloadbalancing:other"])])
    assert result is not None and result.compliance.value == "NON_COMPLIANT"
    assert judge_rule("alb-waf-enabled", _alb()) is None  # no WAF collected: no verdict


# -- emr-master-no-public-ip ---------------------------------------------------------------------


def _cluster(state, masters):
    return built_item("AWS::EMR::Cluster", {"Status": {"State": state}}, {"MasterInstances": masters}, resource_id="j-1")


PUBLIC_MASTER = {"Ec2InstanceId": "i-0master", "PublicIpAddress": "54.0.0.1", "Status": {"State": "RUNNING"}}


@pytest.mark.parametrize("state", ["STARTING", "BOOTSTRAPPING", "TERMINATING"])
def test_emr_master_rule_checks_running_and_waiting_clusters_only(state):
    result = judge_rule("emr-master-no-public-ip", _cluster(state, [PUBLIC_MASTER]))
    assert result is not None and result.compliance.value == "NOT_APPLICABLE"


@pytest.mark.parametrize("state", ["RUNNING", "WAITING"])
def test_emr_master_rule_judges_running_and_waiting_clusters(state):
    result = judge_rule("emr-master-no-public-ip", _cluster(state, [PUBLIC_MASTER]))
    assert result is not None and result.compliance.value == "NON_COMPLIANT"


def test_emr_master_rule_ignores_terminated_master_instances():
    replaced = {**PUBLIC_MASTER, "Ec2InstanceId": "i-0old", "Status": {"State": "TERMINATED"}}
    current = {"Ec2InstanceId": "i-0new", "PrivateIpAddress": "10.0.0.5", "Status": {"State": "RUNNING"}}
    result = judge_rule("emr-master-no-public-ip", _cluster("WAITING", [replaced, current]))
    assert result is not None and result.compliance.value == "COMPLIANT"


# -- elastic-beanstalk-managed-updates-enabled ---------------------------------------------------


def _environment(enabled, level):
    managed = {"ManagedActionsEnabled": enabled, "UpdateLevel": level, "PreferredStartTime": None}
    return built_item("AWS::ElasticBeanstalk::Environment", {}, {"ManagedActions": managed, "OptionSettings": {}}, resource_id="portal-env")


@pytest.mark.parametrize(
    "wanted,expected", [(" Minor ", "COMPLIANT"), ("MINOR", "COMPLIANT"), ("", "COMPLIANT"), ("patch", "NON_COMPLIANT")]
)
def test_beanstalk_update_level_parameter(wanted, expected):
    result = judge_rule("elastic-beanstalk-managed-updates-enabled", _environment(True, "minor"), params={"UpdateLevel": wanted})
    assert result is not None and result.compliance.value == expected
