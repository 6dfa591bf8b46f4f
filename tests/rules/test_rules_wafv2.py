"""WAF rules: web ACL logging and ALB protection. One estate in the emulator, one scan;
parameters and failed reads on constructed items."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.policy import Policy
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store

ACCOUNT = "123456789012"
FIREHOSE = f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/aws-waf-logs-phi"
VISIBILITY = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}
ALB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/alb-portal/50dc6c495c0c9188"
ACL = {
    "Id": "a1b2c3d4-0000-4000-8000-000000000001",
    "Name": "portal-acl",
    "ARN": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/portal-acl/a1b2c3d4-0000-4000-8000-000000000001",
}


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service):
        return make_client(emulator.session("us-east-1"), service, emulator.endpoint, "us-east-1")

    waf = client("wafv2")
    ids = {}
    for name in ("waf-logging-on", "waf-logging-off"):
        ids[name] = waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY)["Summary"]
    waf.put_logging_configuration(LoggingConfiguration={"ResourceArn": ids["waf-logging-on"]["ARN"], "LogDestinationConfigs": [FIREHOSE]})
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    elbv2 = client("elbv2")
    albs = {
        name: elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        for name in ("alb-waf-on", "alb-waf-off")
    }
    nlb = elbv2.create_load_balancer(Name="nlb-no-waf", Subnets=subnets, Type="network")
    albs["nlb-no-waf"] = nlb["LoadBalancers"][0]["LoadBalancerArn"]
    waf.associate_web_acl(WebACLArn=ids["waf-logging-off"]["ARN"], ResourceArn=albs["alb-waf-on"])
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('wafrules') / 'w.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1"], session=emulator.session())
    outcome = run_scan(ctx, store, Policy(), services=["wafv2", "elbv2"])
    verdicts = {(e["rule_id"], e["resource_id"]): e for e in outcome.scan["evaluations"]}
    yield verdicts, {name: acl["Id"] for name, acl in ids.items()} | albs, outcome.scan["errors"]
    store.close()


def test_logging_verdicts_from_the_emulator(estate):
    verdicts, ids, _ = estate
    on = verdicts[("wafv2-logging-enabled", ids["waf-logging-on"])]
    assert on["compliance"] == "COMPLIANT", on["annotation"]
    off = verdicts[("wafv2-logging-enabled", ids["waf-logging-off"])]
    assert off["compliance"] == "NON_COMPLIANT" and "not enabled" in off["annotation"]


def test_alb_verdicts_from_the_emulator(estate):
    verdicts, ids, errors = estate
    assert errors == []
    on = verdicts[("alb-waf-enabled", ids["alb-waf-on"])]
    assert on["compliance"] == "COMPLIANT" and "waf-logging-off" in on["annotation"]
    assert verdicts[("alb-waf-enabled", ids["alb-waf-off"])]["compliance"] == "NON_COMPLIANT"
    assert verdicts[("alb-waf-enabled", ids["nlb-no-waf"])]["compliance"] == "NOT_APPLICABLE"


# -- constructed items -------------------------------------------------------------------------


def _run(rule_id, item, others=(), **params):
    rule = catalogue()[rule_id]
    items = [item, *others]
    ctx = RuleContext(now=dt.datetime.now(dt.UTC), lookup=lambda t: [i for i in items if i.resourceType == t])
    return run_rule(ActiveRule(rule, {**rule.defaults(), **params}, None), item, ctx)


def _alb(lb_type="application"):
    return ConfigurationItem(
        resourceType="AWS::ElasticLoadBalancingV2::LoadBalancer",
        resourceId=ALB_ARN,
        arn=ALB_ARN,
        resourceName="alb-portal",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"Type": lb_type},
    )


def _account(associations=None, errors=()):
    configuration = {} if associations is None else {"wafv2LoadBalancerWebAcls": associations}
    return ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration=configuration,
        collectionErrors=list(errors),
    )


def test_alb_with_web_acl_is_compliant():
    result = _run("alb-waf-enabled", _alb(), [_account({ALB_ARN: ACL})])
    assert result.compliance.value == "COMPLIANT" and "portal-acl" in result.annotation


def test_alb_without_web_acl_is_non_compliant():
    result = _run("alb-waf-enabled", _alb(), [_account({})])
    assert result.compliance.value == "NON_COMPLIANT"


@pytest.mark.parametrize(
    "allowed,expected",
    [
        (ACL["Id"], "COMPLIANT"),
        (ACL["ARN"], "COMPLIANT"),
        ("other-acl-id, another", "NON_COMPLIANT"),
    ],
)
def test_alb_web_acl_must_be_one_of_the_parameter(allowed, expected):
    assert _run("alb-waf-enabled", _alb(), [_account({ALB_ARN: ACL})], wafWebAclIds=allowed).compliance.value == expected


def test_alb_rule_scope():
    assert _run("alb-waf-enabled", _alb("network"), [_account({})]).compliance.value == "NOT_APPLICABLE"
    assert _run("alb-waf-enabled", _alb(), [_account(None)]) is None  # WAF not collected: no verdict


def test_alb_rule_insufficient_when_web_acl_listing_failed():
    error = {"api": "ListWebACLs", "error": "AccessDenied", "iam_action": "wafv2:ListWebACLs"}
    result = _run("alb-waf-enabled", _alb(), [_account(None, [error])])
    assert result.compliance.value == "INSUFFICIENT_DATA" and "wafv2:ListWebACLs" in result.annotation


def _web_acl(logging, errors=()):
    sup = {} if logging == "absent" else {"LoggingConfiguration": logging}
    return ConfigurationItem(
        resourceType="AWS::WAFv2::WebACL",
        resourceId=ACL["Id"],
        arn=ACL["ARN"],
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        supplementaryConfiguration=sup,
        collectionErrors=list(errors),
    )


def test_logging_destination_parameter():
    item = _web_acl({"ResourceArn": ACL["ARN"], "LogDestinationConfigs": [FIREHOSE]})
    assert _run("wafv2-logging-enabled", item, KinesisFirehoseDeliveryStreamArns=FIREHOSE).compliance.value == "COMPLIANT"
    other = f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/aws-waf-logs-other"
    assert _run("wafv2-logging-enabled", item, KinesisFirehoseDeliveryStreamArns=other).compliance.value == "NON_COMPLIANT"


def test_logging_insufficient_when_read_failed():
    error = {"api": "GetLoggingConfiguration", "error": "AccessDenied", "iam_action": "wafv2:GetLoggingConfiguration"}
    result = _run("wafv2-logging-enabled", _web_acl("absent", [error]))
    assert result.compliance.value == "INSUFFICIENT_DATA" and "wafv2:GetLoggingConfiguration" in result.annotation
