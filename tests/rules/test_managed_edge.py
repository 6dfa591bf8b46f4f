"""Edge services' managed rules: CloudFront, WAF (Classic global and regional, v2), Shield and
Firewall Manager. One estate in the emulator, one collection, then each rule on the stored items;
what moto cannot represent (WAF Classic, Firewall Manager, S3 origins, SRT access, failed reads)
on constructed items."""

from __future__ import annotations

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE
from phiwatch.resources.cloudfront import DISTRIBUTION
from phiwatch.resources.ec2 import EIP
from phiwatch.resources.elbv2 import LOAD_BALANCER_V2
from phiwatch.resources.shield import PROTECTION, REGIONAL_PROTECTION
from phiwatch.resources.waf import RULE, RULE_GROUP, WEB_ACL
from phiwatch.resources.wafregional import RULE as REGIONAL_RULE
from phiwatch.resources.wafregional import RULE_GROUP as REGIONAL_RULE_GROUP
from phiwatch.resources.wafregional import WEB_ACL as REGIONAL_WEB_ACL
from phiwatch.resources.wafv2 import RULE_GROUP as V2_RULE_GROUP
from phiwatch.resources.wafv2 import WEB_ACL as V2_WEB_ACL
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICES = ["cloudfront", "wafv2", "shield", "elbv2", "ec2"]
VISIBILITY = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}
CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0b1c2d3e-0000-4000-8000-000000000001"
SHIELDED_TYPES = (
    "AWS::CloudFront::Distribution",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::EC2::EIP",
    "AWS::ElasticLoadBalancing::LoadBalancer",
)
V2_ACL_ARN = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/edge/a1b2c3d4-0000-4000-8000-000000000001"
FIREHOSE = f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/aws-waf-logs-edge"


def origin(origin_id, domain, policy="https-only", protocols=("TLSv1.2",)):
    return {
        "Id": origin_id,
        "DomainName": domain,
        "CustomOriginConfig": {
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": policy,
            "OriginSslProtocols": {"Quantity": len(protocols), "Items": list(protocols)},
        },
    }


def distribution_config(reference, origins, viewer, **extra):
    return {
        "CallerReference": reference,
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": {
            "TargetOriginId": origins[0]["Id"],
            "ViewerProtocolPolicy": viewer,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": 0,
        },
        "Comment": "",
        "Enabled": True,
        **extra,
    }


GOOD = distribution_config(
    "cf-good",
    [origin("app-primary", "app.example.org"), origin("app-standby", "standby.example.org")],
    "redirect-to-https",
    DefaultRootObject="index.html",
    Logging={"Enabled": True, "IncludeCookies": False, "Bucket": "edge-logs.s3.amazonaws.com", "Prefix": "cf/"},
    WebACLId=V2_ACL_ARN,
    ViewerCertificate={"ACMCertificateArn": CERT, "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
    OriginGroups={
        "Quantity": 1,
        "Items": [
            {
                "Id": "app-failover",
                "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [503]}},
                "Members": {"Quantity": 2, "Items": [{"OriginId": "app-primary"}, {"OriginId": "app-standby"}]},
            }
        ],
    },
)
BAD = distribution_config(
    "cf-bad",
    [origin("legacy", "legacy.example.org", policy="http-only", protocols=("SSLv3", "TLSv1"))],
    "allow-all",
)


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service):
        return make_client(emulator.session(REGION), service, emulator.endpoint, REGION)

    cloudfront = client("cloudfront")
    ids = {}
    for name, config in (("cf-good", GOOD), ("cf-bad", BAD)):
        ids[name] = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]

    waf = client("wafv2")
    for name in ("acl-empty", "acl-rules"):
        rules = []
        if name == "acl-rules":
            rules = [
                {
                    "Name": "block-bad-ips",
                    "Priority": 1,
                    "Statement": {"GeoMatchStatement": {"CountryCodes": ["KP"]}},
                    "Action": {"Block": {}},
                    "VisibilityConfig": VISIBILITY,
                }
            ]
        ids[name] = waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY, Rules=rules)[
            "Summary"
        ]["Id"]
    for name in ("group-empty", "group-rules"):
        rules = []
        if name == "group-rules":
            rules = [
                {
                    "Name": "geo",
                    "Priority": 1,
                    "Statement": {"GeoMatchStatement": {"CountryCodes": ["KP"]}},
                    "Action": {"Block": {}},
                    "VisibilityConfig": VISIBILITY,
                }
            ]
        ids[name] = waf.create_rule_group(Name=name, Scope="REGIONAL", Capacity=10, VisibilityConfig=VISIBILITY, Rules=rules)["Summary"][
            "Id"
        ]

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.41.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    elbv2 = client("elbv2")
    for name in ("alb-shielded", "alb-bare"):
        ids[name] = elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    acl_arn = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/acl-rules/{ids['acl-rules']}"
    waf.associate_web_acl(WebACLArn=acl_arn, ResourceArn=ids["alb-shielded"])
    ids["eip"] = ec2.allocate_address(Domain="vpc")["AllocationId"]

    shield = client("shield")
    shield.create_subscription()
    shield.create_protection(Name="alb-shielded", ResourceArn=ids["alb-shielded"])
    shield.create_protection(Name="eip", ResourceArn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:eip-allocation/{ids['eip']}")
    shield.create_protection(Name="cf-good", ResourceArn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/{ids['cf-good']}")

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('edge') / 'e.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session())
    result = collect(ctx, store, services=SERVICES)
    items = list(store.current_items())
    yield {"ids": ids, "items": items, "errors": result.errors}
    store.close()


def stored(estate, resource_type, name=None, region=None):
    wanted = estate["ids"].get(name, name)
    for item in estate["items"]:
        if item.resourceType != resource_type or (region and item.awsRegion != region):
            continue
        if wanted is None or wanted in (item.resourceId, item.resourceName, item.arn) or name == item.resourceName:
            return item
    raise LookupError(f"{resource_type} {name}")


def judge(estate, rule_id, item, **params):
    def lookup(resource_type):
        return [i for i in estate["items"] if i.resourceType == resource_type]

    result = judge_rule(rule_id, item, lookup=lookup, params=params)
    return None if result is None else (result.compliance.value, result.annotation)


def test_collection_records_every_edge_type_without_errors(estate):
    # only SRT access, which moto does not implement, could not be read
    assert {(e.service, e.api) for e in estate["errors"]} == set()
    good = stored(estate, DISTRIBUTION, "cf-good")
    assert good.awsRegion == "global" and good.arn.endswith(f"distribution/{estate['ids']['cf-good']}")
    assert "InProgressInvalidationBatches" not in good.configuration
    assert stored(estate, V2_RULE_GROUP, "group-rules").configuration["Scope"] == "REGIONAL"
    assert stored(estate, V2_WEB_ACL, "acl-rules").configuration["Rules"][0]["Name"] == "block-bad-ips"
    assert stored(estate, REGIONAL_PROTECTION, "alb-shielded").awsRegion == REGION
    assert stored(estate, PROTECTION, "cf-good").awsRegion == "global"
    account = stored(estate, ACCOUNT_TYPE, ACCOUNT, region="global")
    assert account.configuration["shieldSubscription"]["AutoRenew"] == "ENABLED"
    assert len(account.configuration["shieldProtectedResources"]) == 3


CLOUDFRONT_VERDICTS = [
    ("cloudfront-accesslogs-enabled", "COMPLIANT", "NON_COMPLIANT"),
    ("cloudfront-associated-with-waf", "COMPLIANT", "NON_COMPLIANT"),
    ("cloudfront-custom-ssl-certificate", "COMPLIANT", "NON_COMPLIANT"),
    ("cloudfront-default-root-object-configured", "COMPLIANT", "NON_COMPLIANT"),
    ("cloudfront-no-deprecated-ssl-protocols", "COMPLIANT", "NON_COMPLIANT"),
    ("cloudfront-origin-failover-enabled", "COMPLIANT", "NON_COMPLIANT"),
    ("cloudfront-security-policy-check", "COMPLIANT", "NOT_APPLICABLE"),
    ("cloudfront-sni-enabled", "COMPLIANT", "NOT_APPLICABLE"),
    ("cloudfront-traffic-to-origin-encrypted", "COMPLIANT", "NON_COMPLIANT"),
    ("cloudfront-viewer-policy-https", "COMPLIANT", "NON_COMPLIANT"),
]


@pytest.mark.parametrize(("rule_id", "good", "bad"), CLOUDFRONT_VERDICTS)
def test_cloudfront_verdicts_from_the_emulator(estate, rule_id, good, bad):
    assert judge(estate, rule_id, stored(estate, DISTRIBUTION, "cf-good"))[0] == good
    assert judge(estate, rule_id, stored(estate, DISTRIBUTION, "cf-bad"))[0] == bad


def test_cloudfront_annotations_name_what_is_wrong(estate):
    bad = stored(estate, DISTRIBUTION, "cf-bad")
    assert "legacy" in judge(estate, "cloudfront-no-deprecated-ssl-protocols", bad)[1]
    assert "http-only" in judge(estate, "cloudfront-traffic-to-origin-encrypted", bad)[1]
    assert "default" in judge(estate, "cloudfront-viewer-policy-https", bad)[1]


def test_cloudfront_parameters(estate):
    good = stored(estate, DISTRIBUTION, "cf-good")
    assert judge(estate, "cloudfront-accesslogs-enabled", good, S3BucketName="edge-logs")[0] == "COMPLIANT"
    assert judge(estate, "cloudfront-accesslogs-enabled", good, S3BucketName="edge-logs.s3.amazonaws.com")[0] == "COMPLIANT"
    assert judge(estate, "cloudfront-accesslogs-enabled", good, S3BucketName="other-logs")[0] == "NON_COMPLIANT"
    assert judge(estate, "cloudfront-associated-with-waf", good, wafWebAclIds=f" other-acl , {V2_ACL_ARN}")[0] == "COMPLIANT"
    assert judge(estate, "cloudfront-associated-with-waf", good, wafWebAclIds="other-acl")[0] == "NON_COMPLIANT"
    assert judge(estate, "cloudfront-associated-with-waf", good, wafWebAclIds="")[0] == "COMPLIANT"


def distribution(config=None, supplementary=None, errors=None):
    base = {"Id": "E1", "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"}
    configuration = base if config is None else {**base, "DistributionConfig": config}
    item = built_item(DISTRIBUTION, configuration, supplementary, errors, resource_id="E1", region="global")
    item.arn = base["ARN"]
    return item


S3_ORIGIN = {"Id": "phi-bucket", "DomainName": "phi-assets.s3.us-east-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}


def test_s3_origins_on_constructed_items():
    """moto drops S3OriginConfig from distributions: S3 origins are built by hand."""
    with_oai = {**S3_ORIGIN, "S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E2OAI"}}
    oac = {**S3_ORIGIN, "OriginAccessControlId": "E3OAC"}
    custom = origin("site", "phi-assets.s3-website-us-east-1.amazonaws.com", policy="http-only")

    def config(*origins):
        return {
            "Origins": {"Quantity": len(origins), "Items": list(origins)},
            "DefaultCacheBehavior": {"ViewerProtocolPolicy": "https-only"},
        }

    oai = "cloudfront-origin-access-identity-enabled"
    assert judge_rule(oai, distribution(config(with_oai))).compliance.value == "COMPLIANT"
    result = judge_rule(oai, distribution(config(with_oai, oac)))
    assert result.compliance.value == "NON_COMPLIANT" and "origin access control" in result.annotation
    assert judge_rule(oai, distribution(config(custom))).compliance.value == "NOT_APPLICABLE"  # a website endpoint is a custom origin

    exists = "cloudfront-s3-origin-non-existent-bucket"
    there = distribution(config(S3_ORIGIN), {"S3OriginBuckets": {"phi-assets": True}})
    gone = distribution(config(S3_ORIGIN), {"S3OriginBuckets": {"phi-assets": False}})
    assert judge_rule(exists, there).compliance.value == "COMPLIANT"
    result = judge_rule(exists, gone)
    assert result.compliance.value == "NON_COMPLIANT" and "phi-assets" in result.annotation
    assert judge_rule(exists, distribution(config(custom), {"S3OriginBuckets": {}})).compliance.value == "NOT_APPLICABLE"
    refused = distribution(config(S3_ORIGIN), errors=denied_read("GetBucketLocation", "s3:GetBucketLocation"))
    result = judge_rule(exists, refused)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "s3:GetBucketLocation" in result.annotation


def test_cloudfront_edge_cases_on_constructed_items():
    def viewer(**certificate):
        return {"ViewerCertificate": certificate, "Origins": {"Quantity": 0}}

    weak = viewer(ACMCertificateArn=CERT, SSLSupportMethod="vip", MinimumProtocolVersion="TLSv1.1_2016")
    assert judge_rule("cloudfront-security-policy-check", distribution(weak)).compliance.value == "NON_COMPLIANT"
    assert judge_rule("cloudfront-sni-enabled", distribution(weak)).compliance.value == "NON_COMPLIANT"
    iam_cert = viewer(IAMCertificateId="ASCAEXAMPLE", SSLSupportMethod="sni-only", MinimumProtocolVersion="TLSv1.2_2018")
    assert judge_rule("cloudfront-custom-ssl-certificate", distribution(iam_cert)).compliance.value == "COMPLIANT"
    assert judge_rule("cloudfront-security-policy-check", distribution(iam_cert)).compliance.value == "COMPLIANT"
    # a match-viewer origin is unencrypted only for behaviours that let viewers use HTTP, through an origin group too
    matched = {
        "Origins": {"Quantity": 1, "Items": [origin("api", "api.example.org", policy="match-viewer")]},
        "OriginGroups": {"Quantity": 1, "Items": [{"Id": "grp", "Members": {"Quantity": 1, "Items": [{"OriginId": "api"}]}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "api", "ViewerProtocolPolicy": "https-only"},
        "CacheBehaviors": {
            "Quantity": 1,
            "Items": [{"PathPattern": "/static/*", "TargetOriginId": "grp", "ViewerProtocolPolicy": "allow-all"}],
        },
    }
    result = judge_rule("cloudfront-traffic-to-origin-encrypted", distribution(matched))
    assert result.compliance.value == "NON_COMPLIANT" and "api" in result.annotation
    result = judge_rule("cloudfront-viewer-policy-https", distribution(matched))
    assert result.compliance.value == "NON_COMPLIANT" and "/static/*" in result.annotation
    secure = {**matched, "CacheBehaviors": {"Quantity": 0}}
    assert judge_rule("cloudfront-traffic-to-origin-encrypted", distribution(secure)).compliance.value == "COMPLIANT"
    lonely = {"OriginGroups": {"Quantity": 1, "Items": [{"Id": "g", "Members": {"Quantity": 1, "Items": [{"OriginId": "a"}]}}]}}
    assert judge_rule("cloudfront-origin-failover-enabled", distribution(lonely)).compliance.value == "NON_COMPLIANT"
    s3_only = {"Origins": {"Quantity": 1, "Items": [S3_ORIGIN]}}
    assert judge_rule("cloudfront-no-deprecated-ssl-protocols", distribution(s3_only)).compliance.value == "NOT_APPLICABLE"
    assert judge_rule("cloudfront-traffic-to-origin-encrypted", distribution(s3_only)).compliance.value == "NOT_APPLICABLE"


@pytest.mark.parametrize(("rule_id", "_g", "_b"), CLOUDFRONT_VERDICTS)
def test_a_distribution_that_could_not_be_described_is_could_not_check(rule_id, _g, _b):
    summary_only = distribution(errors=denied_read("GetDistribution", "cloudfront:GetDistribution"))
    result = judge_rule(rule_id, summary_only)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "cloudfront:GetDistribution" in result.annotation


def test_wafv2_not_empty_from_the_emulator(estate):
    assert judge(estate, "wafv2-webacl-not-empty", stored(estate, V2_WEB_ACL, "acl-rules"))[0] == "COMPLIANT"
    assert judge(estate, "wafv2-webacl-not-empty", stored(estate, V2_WEB_ACL, "acl-empty"))[0] == "NON_COMPLIANT"
    assert judge(estate, "wafv2-rulegroup-not-empty", stored(estate, V2_RULE_GROUP, "group-rules"))[0] == "COMPLIANT"
    assert judge(estate, "wafv2-rulegroup-not-empty", stored(estate, V2_RULE_GROUP, "group-empty"))[0] == "NON_COMPLIANT"


def test_wafv2_not_empty_edge_cases():
    fms_only = built_item(V2_WEB_ACL, {"Id": "a", "Rules": [], "PreProcessFirewallManagerRuleGroups": [{"Name": "fms"}]})
    assert judge_rule("wafv2-webacl-not-empty", fms_only).compliance.value == "COMPLIANT"
    listed_only = built_item(V2_WEB_ACL, {"Id": "a", "Name": "a"}, errors=denied_read("GetWebACL", "wafv2:GetWebACL"))
    assert judge_rule("wafv2-webacl-not-empty", listed_only).compliance.value == "INSUFFICIENT_DATA"
    group = built_item(V2_RULE_GROUP, {"Id": "g", "Name": "g"}, errors=denied_read("GetRuleGroup", "wafv2:GetRuleGroup"))
    assert judge_rule("wafv2-rulegroup-not-empty", group).compliance.value == "INSUFFICIENT_DATA"


CLASSIC = [
    ("waf-global-webacl-not-empty", WEB_ACL, "Rules", "GetWebACL"),
    ("waf-global-rule-not-empty", RULE, "Predicates", "GetRule"),
    ("waf-regional-webacl-not-empty", REGIONAL_WEB_ACL, "Rules", "GetWebACL"),
    ("waf-regional-rule-not-empty", REGIONAL_RULE, "Predicates", "GetRule"),
]


@pytest.mark.parametrize(("rule_id", "resource_type", "member", "api"), CLASSIC)
def test_waf_classic_not_empty_on_constructed_items(rule_id, resource_type, member, api):
    """moto has no WAF Classic API."""
    entry = (
        {"Priority": 1, "RuleId": "r-1", "Type": "REGULAR"} if member == "Rules" else {"Negated": False, "Type": "IPMatch", "DataId": "ip"}
    )
    assert judge_rule(rule_id, built_item(resource_type, {member: [entry]})).compliance.value == "COMPLIANT"
    assert judge_rule(rule_id, built_item(resource_type, {member: []})).compliance.value == "NON_COMPLIANT"
    refused = built_item(resource_type, {"Name": "listed"}, errors=denied_read(api, f"waf:{api}"))
    assert judge_rule(rule_id, refused).compliance.value == "INSUFFICIENT_DATA"


@pytest.mark.parametrize(
    ("rule_id", "resource_type"),
    [("waf-global-rulegroup-not-empty", RULE_GROUP), ("waf-regional-rulegroup-not-empty", REGIONAL_RULE_GROUP)],
)
def test_waf_classic_rule_groups_on_constructed_items(rule_id, resource_type):
    rules = {"ActivatedRules": [{"Priority": 1, "RuleId": "r-1", "Action": {"Type": "BLOCK"}}]}
    assert judge_rule(rule_id, built_item(resource_type, {"RuleGroupId": "g"}, rules)).compliance.value == "COMPLIANT"
    assert judge_rule(rule_id, built_item(resource_type, {"RuleGroupId": "g"}, {"ActivatedRules": []})).compliance.value == "NON_COMPLIANT"
    refused = built_item(
        resource_type, {"RuleGroupId": "g"}, errors=denied_read("ListActivatedRulesInRuleGroup", "waf:ListActivatedRulesInRuleGroup")
    )
    assert judge_rule(rule_id, refused).compliance.value == "INSUFFICIENT_DATA"


def test_waf_classic_logging_on_constructed_items():
    rule_id = "waf-classic-logging-enabled"
    on = built_item(WEB_ACL, {"Rules": []}, {"LoggingConfiguration": {"ResourceArn": "x", "LogDestinationConfigs": [FIREHOSE]}})
    off = built_item(WEB_ACL, {"Rules": []}, {"LoggingConfiguration": None})
    assert judge_rule(rule_id, on).compliance.value == "COMPLIANT"
    assert judge_rule(rule_id, on, params={"KinesisFirehoseDeliveryStreamArns": f"arn:other, {FIREHOSE}"}).compliance.value == "COMPLIANT"
    assert judge_rule(rule_id, on, params={"KinesisFirehoseDeliveryStreamArns": "arn:other"}).compliance.value == "NON_COMPLIANT"
    assert judge_rule(rule_id, off).compliance.value == "NON_COMPLIANT"
    refused = built_item(WEB_ACL, {"Rules": []}, errors=denied_read("GetLoggingConfiguration", "waf:GetLoggingConfiguration"))
    assert judge_rule(rule_id, refused).compliance.value == "INSUFFICIENT_DATA"


def test_fms_rule_group_association_on_constructed_items():
    rule_id = "fms-webacl-rulegroup-association-check"
    acl = built_item(
        REGIONAL_WEB_ACL,
        {
            "Rules": [
                {"Priority": 1, "RuleId": "rg-1", "Type": "GROUP", "OverrideAction": {"Type": "NONE"}},
                {"Priority": 5, "RuleId": "r-9", "Type": "REGULAR", "Action": {"Type": "BLOCK"}},
                {"Priority": 7, "RuleId": "rg-2", "Type": "GROUP", "OverrideAction": {"Type": "COUNT"}},
            ]
        },
    )
    assert judge_rule(rule_id, acl, params={"ruleGroups": "rg-1:NONE, rg-2:COUNT"}).compliance.value == "COMPLIANT"
    assert judge_rule(rule_id, acl, params={"ruleGroups": "rg-1"}).compliance.value == "COMPLIANT"  # NONE by default
    swapped = judge_rule(rule_id, acl, params={"ruleGroups": "rg-2:COUNT,rg-1:NONE"})
    assert swapped.compliance.value == "NON_COMPLIANT" and "priorities" in swapped.annotation
    wrong = judge_rule(rule_id, acl, params={"ruleGroups": "rg-1:COUNT,rg-3:NONE"})
    assert (
        wrong.compliance.value == "NON_COMPLIANT"
        and "rg-3 is not associated" in wrong.annotation
        and "override action NONE" in wrong.annotation
    )
    with pytest.raises(ValueError, match="does not run without parameter ruleGroups"):  # required: a scan does not run it
        judge_rule(rule_id, acl, params={"ruleGroups": ""})


def test_shield_account_rules_from_the_emulator(estate):
    account = stored(estate, ACCOUNT_TYPE, ACCOUNT, region="global")
    assert judge(estate, "shield-advanced-enabled-autorenew", account)[0] == "COMPLIANT"
    # subscribed, and the SRT has no role (moto cannot associate one)
    assert judge(estate, "shield-drt-access", account)[0] == "NON_COMPLIANT"
    refused = built_item(
        ACCOUNT_TYPE,
        {"shieldSubscription": account.configuration["shieldSubscription"]},
        errors=denied_read("DescribeDRTAccess", "shield:DescribeDRTAccess"),
        resource_id=ACCOUNT,
        region="global",
    )
    verdict, annotation = judge(estate, "shield-drt-access", refused)
    assert verdict == "INSUFFICIENT_DATA" and "shield:DescribeDRTAccess" in annotation
    regional = stored(estate, ACCOUNT_TYPE, ACCOUNT, region=REGION)
    assert judge(estate, "shield-advanced-enabled-autorenew", regional) is None  # once per account, on the global item


def account(configuration, errors=None):
    return built_item(ACCOUNT_TYPE, configuration, errors=errors, resource_id=ACCOUNT, region="global")


def test_shield_account_rules_on_constructed_items():
    renew, drt = "shield-advanced-enabled-autorenew", "shield-drt-access"
    none = account({"shieldSubscription": None})
    assert judge_rule(renew, none).compliance.value == "NON_COMPLIANT"
    assert judge_rule(drt, none).compliance.value == "NOT_APPLICABLE"
    manual = account({"shieldSubscription": {"AutoRenew": "DISABLED"}, "shieldDrtAccess": {"RoleArn": None, "LogBucketList": []}})
    assert judge_rule(renew, manual).compliance.value == "NON_COMPLIANT"
    assert judge_rule(drt, manual).compliance.value == "NON_COMPLIANT"
    granted = account({"shieldSubscription": {"AutoRenew": "ENABLED"}, "shieldDrtAccess": {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/srt"}})
    assert judge_rule(drt, granted).compliance.value == "COMPLIANT"
    refused = account({}, denied_read("DescribeSubscription", "shield:DescribeSubscription"))
    assert judge_rule(renew, refused).compliance.value == "INSUFFICIENT_DATA"
    assert judge_rule(drt, refused).compliance.value == "INSUFFICIENT_DATA"
    assert judge_rule(renew, account({})) is None  # Shield not collected


def test_fms_shield_policy_from_the_emulator(estate):
    rule_id = "fms-shield-resource-policy-check"
    every_type = {"resourceTypes": ", ".join(sorted(SHIELDED_TYPES))}
    alb_acl = {**every_type, "webACLId": estate["ids"]["acl-rules"]}
    assert judge(estate, rule_id, stored(estate, LOAD_BALANCER_V2, "alb-shielded"), **alb_acl)[0] == "COMPLIANT"
    assert judge(estate, rule_id, stored(estate, LOAD_BALANCER_V2, "alb-bare"), **alb_acl)[0] == "NON_COMPLIANT"
    assert judge(estate, rule_id, stored(estate, EIP, "eip"), **alb_acl)[0] == "COMPLIANT"  # an EIP needs protection only
    # protected, and a WAFv2 web ACL is named by ARN, but not webACLId's
    verdict, annotation = judge(estate, rule_id, stored(estate, DISTRIBUTION, "cf-good"), **every_type, webACLId="other-acl")
    assert verdict == "NON_COMPLIANT" and "other-acl" in annotation
    assert judge(estate, rule_id, stored(estate, DISTRIBUTION, "cf-good"), **every_type, webACLId=V2_ACL_ARN)[0] == "COMPLIANT"
    assert judge(estate, rule_id, stored(estate, DISTRIBUTION, "cf-bad"), **every_type, webACLId=V2_ACL_ARN)[0] == "NON_COMPLIANT"
    only_albs = {"resourceTypes": "AWS::ElasticLoadBalancingV2::LoadBalancer", "webACLId": V2_ACL_ARN}
    assert judge(estate, rule_id, stored(estate, EIP, "eip"), **only_albs)[0] == "NOT_APPLICABLE"
    assert judge(estate, rule_id, stored(estate, PROTECTION, "cf-good"), **alb_acl) is None  # read, not judged


def test_fms_web_acl_policy_from_the_emulator(estate):
    rule_id = "fms-webacl-resource-policy-check"
    acl = estate["ids"]["acl-rules"]
    assert judge(estate, rule_id, stored(estate, LOAD_BALANCER_V2, "alb-shielded"), webACLId=acl)[0] == "COMPLIANT"
    assert judge(estate, rule_id, stored(estate, LOAD_BALANCER_V2, "alb-bare"), webACLId=acl)[0] == "NON_COMPLIANT"
    assert judge(estate, rule_id, stored(estate, DISTRIBUTION, "cf-good"), webACLId=V2_ACL_ARN)[0] == "COMPLIANT"
    with pytest.raises(ValueError, match="does not run without parameter webACLId"):  # required: a scan does not run it
        judge(estate, rule_id, stored(estate, LOAD_BALANCER_V2, "alb-bare"))


def test_fms_web_acl_policy_scope_and_classic_associations():
    rule_id = "fms-webacl-resource-policy-check"
    alb_arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/portal/50dc6c495c0c9188"
    alb = built_item(LOAD_BALANCER_V2, {"Type": "application"}, resource_id=alb_arn)
    alb.arn, alb.tags = alb_arn, {"Team": "portal"}
    classic = built_item(REGIONAL_WEB_ACL, {"Rules": []}, {"AssociatedResources": [alb_arn]}, resource_id="classic-acl")
    assert judge_rule(rule_id, alb, others=[classic], params={"webACLId": "classic-acl"}).compliance.value == "COMPLIANT"
    tags = '{"Team": ["portal", "billing"]}'
    assert (
        judge_rule(rule_id, alb, others=[classic], params={"webACLId": "classic-acl", "resourceTags": tags}).compliance.value == "COMPLIANT"
    )
    excluded = judge_rule(
        rule_id, alb, others=[classic], params={"webACLId": "classic-acl", "resourceTags": tags, "excludeResourceTags": True}
    )
    assert excluded.compliance.value == "NOT_APPLICABLE"
    other = judge_rule(rule_id, alb, others=[classic], params={"webACLId": "classic-acl", "resourceTags": '{"Team": ["claims"]}'})
    assert other.compliance.value == "NOT_APPLICABLE"
    unread = built_item(
        REGIONAL_WEB_ACL, {"Rules": []}, errors=denied_read("ListResourcesForWebACL", "waf-regional:ListResourcesForWebACL")
    )
    assert judge_rule(rule_id, alb, others=[unread], params={"webACLId": "classic-acl"}).compliance.value == "INSUFFICIENT_DATA"
    nlb = built_item(LOAD_BALANCER_V2, {"Type": "network"})
    assert judge_rule(rule_id, nlb, params={"webACLId": "classic-acl"}).compliance.value == "NOT_APPLICABLE"


def test_fms_shield_policy_when_protections_could_not_be_listed():
    eip = built_item(EIP, {"AllocationId": "eipalloc-1"}, resource_id="eipalloc-1")
    refused = account({}, denied_read("ListProtections", "shield:ListProtections"))
    params = {"webACLId": "acl-1", "resourceTypes": '["AWS::EC2::EIP"]'}
    result = judge_rule("fms-shield-resource-policy-check", eip, others=[refused], params=params)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "shield:ListProtections" in result.annotation
    assert judge_rule("fms-shield-resource-policy-check", eip, params=params) is None  # not collected
