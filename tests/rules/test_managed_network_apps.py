"""AWS Config managed rules for network and application services (API Gateway, AppSync, Amazon MQ,
Network Firewall, Secrets Manager, SES, SNS): one estate built in moto's server with boto3, one
collection, then each rule judged on the stored items; what moto cannot represent (AppSync's web
ACL, SNS delivery status roles, Network Firewall policies and rule groups, old secrets, reads that
failed) on constructed items."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import Compliance
from phiwatch.resources.apigateway import REST_API, REST_STAGE, V2_ROUTE, V2_STAGE
from phiwatch.resources.appsync import GRAPHQL_API
from phiwatch.resources.mq import BROKER
from phiwatch.resources.networkfirewall import FIREWALL, FIREWALL_POLICY, RULE_GROUP
from phiwatch.resources.secretsmanager import SECRET
from phiwatch.resources.ses import RECEIPT_RULE
from phiwatch.resources.sns import TOPIC
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule

REGION = "us-east-1"
ACCOUNT = "123456789012"
SERVICES = ["apigateway", "appsync", "mq", "networkfirewall", "vpc", "ses", "sns", "secretsmanager"]
# a tag value and a recipient address that must never reach an annotation
OWNER = "jane.doe@example.org"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/appsync-logs"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:api-access"
ACL = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/api/0f1e2d3c"
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def build(client) -> None:
    """One resource per verdict of each rule."""
    rest = client("apigateway")
    for name, kind in (("portal-private", "PRIVATE"), ("portal-edge", "EDGE")):
        api = rest.create_rest_api(name=name, endpointConfiguration={"types": [kind]}, tags={"Owner": OWNER})["id"]
        root = rest.get_resources(restApiId=api)["items"][0]["id"]
        rest.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        rest.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        deployment = rest.create_deployment(restApiId=api)["id"]
        if kind == "PRIVATE":
            rest.create_stage(
                restApiId=api,
                stageName="cached",
                deploymentId=deployment,
                cacheClusterEnabled=True,
                cacheClusterSize="0.5",
                tracingEnabled=True,
            )
            rest.update_stage(
                restApiId=api,
                stageName="cached",
                patchOperations=[
                    {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
                    {"op": "replace", "path": "/*/*/caching/dataEncrypted", "value": "true"},
                ],
            )
            rest.create_stage(restApiId=api, stageName="cache-not-encrypted", deploymentId=deployment, cacheClusterEnabled=True)
            rest.update_stage(
                restApiId=api,
                stageName="cache-not-encrypted",
                # moto's default for a new method setting is encrypted (AWS's is not): say it
                patchOperations=[
                    {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
                    {"op": "replace", "path": "/*/*/caching/dataEncrypted", "value": "false"},
                ],
            )
        else:
            rest.create_stage(restApiId=api, stageName="plain", deploymentId=deployment)

    v2 = client("apigatewayv2")
    api = v2.create_api(Name="claims-http", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=api, StageName="logged", AccessLogSettings={"DestinationArn": LOG_GROUP, "Format": "$context.requestId"})
    v2.create_stage(ApiId=api, StageName="unlogged")
    v2.create_route(ApiId=api, RouteKey="GET /claims", AuthorizationType="AWS_IAM")
    v2.create_route(ApiId=api, RouteKey="GET /health")

    appsync = client("appsync")
    logged = appsync.create_graphql_api(
        name="graph-logged",
        authenticationType="AWS_IAM",
        logConfig={"fieldLogLevel": "ERROR", "cloudWatchLogsRoleArn": ROLE},
        tags={"Owner": OWNER},
    )["graphqlApi"]["apiId"]
    appsync.create_api_cache(apiId=logged, ttl=300, apiCachingBehavior="FULL_REQUEST_CACHING", type="SMALL", atRestEncryptionEnabled=True)
    plain = appsync.create_graphql_api(name="graph-plain", authenticationType="API_KEY")["graphqlApi"]["apiId"]
    appsync.create_api_cache(apiId=plain, ttl=300, apiCachingBehavior="FULL_REQUEST_CACHING", type="SMALL")
    appsync.create_graphql_api(
        name="graph-no-cache", authenticationType="API_KEY", logConfig={"fieldLogLevel": "NONE", "cloudWatchLogsRoleArn": ROLE}
    )

    mq = client("mq")
    for name, public in (("broker-private", False), ("broker-public", True)):
        mq.create_broker(
            BrokerName=name,
            DeploymentMode="SINGLE_INSTANCE",
            EngineType="ACTIVEMQ",
            EngineVersion="5.17.6",
            HostInstanceType="mq.t3.micro",
            PubliclyAccessible=public,
            AutoMinorVersionUpgrade=True,
            Users=[{"Username": "app", "Password": "not-stored-123456"}],
            Tags={"Owner": OWNER},
        )

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.2.0/24", AvailabilityZone=f"{REGION}b")["Subnet"]["SubnetId"]
    a2 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.3.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    firewall = client("network-firewall")
    policy = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:firewall-policy/egress"
    firewall.create_firewall(
        FirewallName="fw-two-zones", FirewallPolicyArn=policy, VpcId=vpc, SubnetMappings=[{"SubnetId": a}, {"SubnetId": b}]
    )
    # two subnets, one zone
    firewall.create_firewall(
        FirewallName="fw-one-zone", FirewallPolicyArn=policy, VpcId=vpc, SubnetMappings=[{"SubnetId": a}, {"SubnetId": a2}]
    )

    ses = client("ses")
    ses.create_receipt_rule_set(RuleSetName="inbound")
    ses.create_receipt_rule(RuleSetName="inbound", Rule={"Name": "scanned", "Enabled": True, "ScanEnabled": True, "Recipients": [OWNER]})
    ses.create_receipt_rule(RuleSetName="inbound", Rule={"Name": "unscanned", "Enabled": True, "Recipients": [OWNER]})

    client("sns").create_topic(Name="alerts-no-delivery-logs")

    secrets = client("secretsmanager")
    secrets.create_secret(Name="db-rotated", SecretString="not-stored")
    secrets.rotate_secret(SecretId="db-rotated", RotationRules={"AutomaticallyAfterDays": 30})
    secrets.create_secret(Name="api-key-never-rotated", SecretString="not-stored")


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service):
        return make_client(emulator.session(REGION), service, emulator.endpoint, REGION)

    build(client)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('managed-network-apps') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session(REGION))
    result = collect(ctx, store, services=SERVICES)
    items = list(store.current_items())
    yield {"result": result, "items": items}
    store.close()


def stored(estate, resource_type, name):
    found = [i for i in estate["items"] if i.resourceType == resource_type and name in (i.resourceName, i.resourceId)]
    assert len(found) == 1, (resource_type, name, [i.resourceName for i in estate["items"] if i.resourceType == resource_type])
    return found[0]


def judged(estate, rule_id, resource_type, name, params=None, now=None):
    items = estate["items"]
    result = judge_rule(
        rule_id, stored(estate, resource_type, name), lookup=lambda t: [i for i in items if i.resourceType == t], params=params, now=now
    )
    assert result is not None, (rule_id, name)
    return result


def test_collection_errors_are_only_what_moto_does_not_implement(estate):
    # the emulator lists no firewall policies or rule groups (moto cannot create them): those two
    # types are tested on constructed items below
    assert {(e.service, e.api) for e in estate["result"].errors} <= {
        ("network-firewall", "ListFirewallPolicies"),
        ("network-firewall", "ListRuleGroups"),
    }
    types = estate["result"].types_seen
    for resource_type in (REST_API, REST_STAGE, V2_STAGE, V2_ROUTE, GRAPHQL_API, BROKER, FIREWALL, RECEIPT_RULE, TOPIC, SECRET):
        assert types.get(resource_type), resource_type


@pytest.mark.parametrize(
    ("rule_id", "resource_type", "good", "bad", "params"),
    [
        ("api-gw-cache-enabled-and-encrypted", REST_STAGE, "cached", "cache-not-encrypted", None),
        ("api-gw-cache-enabled-and-encrypted", REST_STAGE, "cached", "plain", None),
        ("api-gw-endpoint-type-check", REST_API, "portal-private", "portal-edge", {"endpointConfigurationTypes": "PRIVATE"}),
        ("api-gw-endpoint-type-check", REST_API, "portal-edge", "portal-private", {"endpointConfigurationTypes": " regional , edge "}),
        ("api-gw-xray-enabled", REST_STAGE, "cached", "plain", None),
        ("api-gwv2-access-logs-enabled", V2_STAGE, "logged", "unlogged", None),
        ("api-gwv2-authorization-type-configured", V2_ROUTE, "GET /claims", "GET /health", None),
        ("appsync-cache-encryption-at-rest", GRAPHQL_API, "graph-logged", "graph-plain", None),
        ("appsync-logging-enabled", GRAPHQL_API, "graph-logged", "graph-plain", None),
        ("appsync-logging-enabled", GRAPHQL_API, "graph-logged", "graph-no-cache", None),  # fieldLogLevel NONE
        ("appsync-logging-enabled", GRAPHQL_API, "graph-logged", "graph-plain", {"fieldLoggingLevel": "error,ALL"}),
        ("mq-no-public-access", BROKER, "broker-private", "broker-public", None),
        ("netfw-multi-az-enabled", FIREWALL, "fw-two-zones", "fw-one-zone", None),
        ("ses-malware-scanning-enabled", RECEIPT_RULE, "scanned", "unscanned", None),
    ],
)
def test_compliant_and_non_compliant(estate, rule_id, resource_type, good, bad, params):
    result = judged(estate, rule_id, resource_type, good, params)
    assert result.compliance is Compliance.COMPLIANT, result.annotation
    result = judged(estate, rule_id, resource_type, bad, params)
    assert result.compliance is Compliance.NON_COMPLIANT and result.annotation, result.annotation
    assert OWNER not in result.annotation


@pytest.mark.parametrize(
    ("rule_id", "resource_type", "name", "params", "verdict"),
    [
        ("api-gwv2-authorization-type-configured", V2_ROUTE, "GET /claims", {"authorizationType": "JWT"}, Compliance.NON_COMPLIANT),
        ("api-gwv2-authorization-type-configured", V2_ROUTE, "GET /claims", {"authorizationType": "aws_iam"}, Compliance.COMPLIANT),
        ("appsync-cache-encryption-at-rest", GRAPHQL_API, "graph-no-cache", None, Compliance.NOT_APPLICABLE),
        ("appsync-logging-enabled", GRAPHQL_API, "graph-logged", {"fieldLoggingLevel": "ALL"}, Compliance.NON_COMPLIANT),
        ("appsync-associated-with-waf", GRAPHQL_API, "graph-logged", None, Compliance.NON_COMPLIANT),
        ("netfw-multi-az-enabled", FIREWALL, "fw-two-zones", {"availabilityZones": 3}, Compliance.NON_COMPLIANT),
        ("netfw-multi-az-enabled", FIREWALL, "fw-two-zones", {"availabilityZones": 2}, Compliance.COMPLIANT),
        ("sns-topic-message-delivery-notification-enabled", TOPIC, "alerts-no-delivery-logs", None, Compliance.NON_COMPLIANT),
        # moto rotates at once without a function: rotated now, next rotation in 30 days
        ("secretsmanager-scheduled-rotation-success-check", SECRET, "db-rotated", None, Compliance.COMPLIANT),
        ("secretsmanager-scheduled-rotation-success-check", SECRET, "api-key-never-rotated", None, Compliance.NOT_APPLICABLE),
        ("secretsmanager-secret-periodic-rotation", SECRET, "db-rotated", None, Compliance.COMPLIANT),
        # never rotated: counted from its creation, a new secret is not due yet
        ("secretsmanager-secret-periodic-rotation", SECRET, "api-key-never-rotated", None, Compliance.COMPLIANT),
        ("secretsmanager-secret-unused", SECRET, "api-key-never-rotated", {"unusedForDays": 1}, Compliance.COMPLIANT),
    ],
)
def test_parameters_and_edge_cases_on_the_estate(estate, rule_id, resource_type, name, params, verdict):
    items = estate["items"]
    result = judge_rule(
        rule_id, stored(estate, resource_type, name), lookup=lambda t: [i for i in items if i.resourceType == t], params=params
    )
    if verdict is None:
        assert result is None
    else:
        assert result is not None and result.compliance is verdict, result


def test_secrets_dates_in_the_future_of_the_estate_are_judged_at_that_time(estate):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    assert (
        judged(estate, "secretsmanager-scheduled-rotation-success-check", SECRET, "db-rotated", now=later).compliance
        is Compliance.NON_COMPLIANT
    )
    result = judged(estate, "secretsmanager-secret-periodic-rotation", SECRET, "api-key-never-rotated", now=later)
    assert result.compliance is Compliance.NON_COMPLIANT and "never rotated" in result.annotation
    result = judged(estate, "secretsmanager-secret-unused", SECRET, "db-rotated", now=later)
    assert result.compliance is Compliance.NON_COMPLIANT and "never accessed" in result.annotation
    assert judged(
        estate, "secretsmanager-secret-periodic-rotation", SECRET, "db-rotated", {"maxDaysSinceRotation": 120}, now=later
    ).compliance is (Compliance.COMPLIANT)


# -- constructed items: what moto cannot represent ------------------------------------------------


def verdict(rule_id, item, params=None, others=(), now=NOW):
    result = judge_rule(rule_id, item, params=params, others=others, now=now)
    return None if result is None else result.compliance


def test_appsync_web_acl_on_constructed_items():
    # moto's ListGraphqlApis never gives wafWebAclArn
    api = built_item(GRAPHQL_API, {"apiId": "a1", "wafWebAclArn": ACL})
    assert verdict("appsync-associated-with-waf", api) is Compliance.COMPLIANT
    assert verdict("appsync-associated-with-waf", api, {"wafWebAclARNs": f"{ACL}, arn:aws:wafv2:::other"}) is Compliance.COMPLIANT
    assert verdict("appsync-associated-with-waf", api, {"wafWebAclARNs": "arn:aws:wafv2:::other"}) is Compliance.NON_COMPLIANT
    assert verdict("appsync-associated-with-waf", built_item(GRAPHQL_API, {"apiId": "a2"})) is Compliance.NON_COMPLIANT


def test_appsync_levels_and_a_failed_cache_read():
    debug = built_item(GRAPHQL_API, {"logConfig": {"fieldLogLevel": "DEBUG"}})
    assert verdict("appsync-logging-enabled", debug) is Compliance.COMPLIANT
    assert verdict("appsync-logging-enabled", debug, {"fieldLoggingLevel": "ERROR, ALL"}) is Compliance.NON_COMPLIANT
    assert verdict("appsync-logging-enabled", built_item(GRAPHQL_API, {})) is Compliance.NON_COMPLIANT
    failed = built_item(GRAPHQL_API, {"apiId": "a1"}, errors=denied_read("GetApiCache", "appsync:GetApiCache"))
    result = judge_rule("appsync-cache-encryption-at-rest", failed)
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "appsync:GetApiCache" in result.annotation


def test_api_gateway_per_method_overrides_and_empty_settings():
    every = {"cachingEnabled": True, "cacheDataEncrypted": True}
    stage = {
        "cacheClusterEnabled": True,
        "methodSettings": {"*/*": every, "claims/GET": {"cachingEnabled": False, "cacheDataEncrypted": True}},
    }
    result = judge_rule("api-gw-cache-enabled-and-encrypted", built_item(REST_STAGE, stage))
    assert result.compliance is Compliance.NON_COMPLIANT and "claims/GET" in result.annotation
    stage["methodSettings"]["claims/GET"] = {"cachingEnabled": True, "cacheDataEncrypted": False}
    assert verdict("api-gw-cache-enabled-and-encrypted", built_item(REST_STAGE, stage)) is Compliance.NON_COMPLIANT
    stage["cacheClusterEnabled"] = False  # method settings without the stage's cache cluster cache nothing
    stage["methodSettings"]["claims/GET"] = every
    assert verdict("api-gw-cache-enabled-and-encrypted", built_item(REST_STAGE, stage)) is Compliance.NON_COMPLIANT
    assert verdict("api-gwv2-access-logs-enabled", built_item(V2_STAGE, {"AccessLogSettings": {"Format": "x"}})) is Compliance.NON_COMPLIANT
    assert verdict("api-gwv2-authorization-type-configured", built_item(V2_ROUTE, {"RouteKey": "$default"})) is Compliance.NON_COMPLIANT
    assert (
        verdict("api-gw-endpoint-type-check", built_item(REST_API, {}), {"endpointConfigurationTypes": "REGIONAL"})
        is Compliance.NON_COMPLIANT
    )


def test_mq_broker_not_described_is_could_not_check():
    summary = built_item(BROKER, {"BrokerId": "b-1", "BrokerName": "queue"}, errors=denied_read("DescribeBroker", "mq:DescribeBroker"))
    result = judge_rule("mq-no-public-access", summary)
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "mq:DescribeBroker" in result.annotation


def _firewall(subnets, sync_states=None):
    status = {"Status": "READY", **({"SyncStates": sync_states} if sync_states is not None else {})}
    return built_item(FIREWALL, {"Firewall": {"SubnetMappings": [{"SubnetId": s} for s in subnets]}, "FirewallStatus": status})


def test_network_firewall_zones_from_sync_states_subnets_or_could_not_check():
    # AWS gives one sync state per zone: no subnet lookup needed
    synced = _firewall(["subnet-1", "subnet-2"], {"us-east-1a": {}, "us-east-1b": {}, "us-east-1c": {}})
    assert verdict("netfw-multi-az-enabled", synced, {"availabilityZones": 3}) is Compliance.COMPLIANT
    assert verdict("netfw-multi-az-enabled", _firewall(["subnet-1"], {"us-east-1a": {}})) is Compliance.NON_COMPLIANT
    unknown = judge_rule("netfw-multi-az-enabled", _firewall(["subnet-9"]))
    assert unknown.compliance is Compliance.INSUFFICIENT_DATA and "subnet-9" in unknown.annotation
    failed = built_item(FIREWALL, {"FirewallName": "fw"}, errors=denied_read("DescribeFirewall", "network-firewall:DescribeFirewall"))
    assert verdict("netfw-multi-az-enabled", failed) is Compliance.INSUFFICIENT_DATA


def _policy(**policy):
    return built_item(FIREWALL_POLICY, {"FirewallPolicyResponse": {"FirewallPolicyName": "p"}, "FirewallPolicy": policy})


@pytest.mark.parametrize(
    ("rule_id", "key", "param"),
    [
        ("netfw-policy-default-action-fragment-packets", "StatelessFragmentDefaultActions", "statelessFragmentDefaultActions"),
        ("netfw-policy-default-action-full-packets", "StatelessDefaultActions", "statelessDefaultActions"),
    ],
)
def test_network_firewall_policy_default_actions(rule_id, key, param):
    # moto implements no firewall policy API: constructed items
    forward = _policy(**{key: ["aws:forward_to_sfe", "my-metric-action"]})  # a custom action beside the standard one
    drop = _policy(**{key: ["aws:drop"]})
    assert verdict(rule_id, forward, {param: "aws:forward_to_sfe"}) is Compliance.COMPLIANT
    assert verdict(rule_id, forward, {param: " AWS:DROP , aws:forward_to_sfe "}) is Compliance.COMPLIANT
    result = judge_rule(rule_id, drop, params={param: "aws:forward_to_sfe,aws:pass"})
    assert result.compliance is Compliance.NON_COMPLIANT and "aws:drop" in result.annotation
    assert verdict(rule_id, _policy(), {param: "aws:drop"}) is Compliance.NON_COMPLIANT
    failed = built_item(
        FIREWALL_POLICY, {"Name": "p"}, errors=denied_read("DescribeFirewallPolicy", "network-firewall:DescribeFirewallPolicy")
    )
    assert verdict(rule_id, failed, {param: "aws:drop"}) is Compliance.INSUFFICIENT_DATA


def test_network_firewall_policy_rule_groups():
    reference = [{"ResourceArn": f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:stateful-rulegroup/domains"}]
    assert verdict("netfw-policy-rule-group-associated", _policy(StatefulRuleGroupReferences=reference)) is Compliance.COMPLIANT
    assert verdict("netfw-policy-rule-group-associated", _policy(StatelessRuleGroupReferences=reference)) is Compliance.COMPLIANT
    empty = _policy(StatelessRuleGroupReferences=[], StatefulRuleGroupReferences=[])
    assert verdict("netfw-policy-rule-group-associated", empty) is Compliance.NON_COMPLIANT
    failed = built_item(
        FIREWALL_POLICY, {"Name": "p"}, errors=denied_read("DescribeFirewallPolicy", "network-firewall:DescribeFirewallPolicy")
    )
    assert verdict("netfw-policy-rule-group-associated", failed) is Compliance.INSUFFICIENT_DATA


def _rule_group(kind, rules=None, count=None):
    response = {"RuleGroupName": "g", "Type": kind, **({"NumberOfRules": count} if count is not None else {})}
    body = {"RulesSource": {"StatelessRulesAndCustomActions": {"StatelessRules": rules}}} if rules is not None else {}
    return built_item(RULE_GROUP, {"RuleGroupResponse": response, **({"RuleGroup": body} if body else {})})


def test_network_firewall_stateless_rule_group_not_empty():
    one = [{"Priority": 1, "RuleDefinition": {"MatchAttributes": {}, "Actions": ["aws:drop"]}}]
    assert verdict("netfw-stateless-rule-group-not-empty", _rule_group("STATELESS", one)) is Compliance.COMPLIANT
    assert verdict("netfw-stateless-rule-group-not-empty", _rule_group("STATELESS", [])) is Compliance.NON_COMPLIANT
    assert verdict("netfw-stateless-rule-group-not-empty", _rule_group("STATELESS", count=0)) is Compliance.NON_COMPLIANT
    assert verdict("netfw-stateless-rule-group-not-empty", _rule_group("STATEFUL", count=0)) is Compliance.NOT_APPLICABLE
    failed = built_item(RULE_GROUP, {"Name": "g"}, errors=denied_read("DescribeRuleGroup", "network-firewall:DescribeRuleGroup"))
    assert verdict("netfw-stateless-rule-group-not-empty", failed) is Compliance.INSUFFICIENT_DATA


def test_sns_delivery_status_logging_on_constructed_items():
    # moto keeps SetTopicAttributes' feedback roles but GetTopicAttributes does not return them
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    logged = built_item(TOPIC, {"TopicArn": arn, "SQSFailureFeedbackRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sns-feedback"})
    result = judge_rule("sns-topic-message-delivery-notification-enabled", logged)
    assert result.compliance is Compliance.COMPLIANT and "SQS" in result.annotation
    failed = built_item(TOPIC, {"TopicArn": arn}, errors=denied_read("GetTopicAttributes", "sns:GetTopicAttributes"))
    result = judge_rule("sns-topic-message-delivery-notification-enabled", failed)
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "sns:GetTopicAttributes" in result.annotation


def _secret(**configuration):
    return built_item(SECRET, {"Name": "s", "RotationEnabled": False, "CreatedDate": "2025-01-01 00:00:00+00:00", **configuration})


def test_scheduled_rotation_success_on_constructed_items():
    rule_id = "secretsmanager-scheduled-rotation-success-check"
    missed = _secret(RotationEnabled=True, RotationRules={"AutomaticallyAfterDays": 30}, NextRotationDate="2026-05-20 00:00:00+00:00")
    result = judge_rule(rule_id, missed, now=NOW)
    assert result.compliance is Compliance.NON_COMPLIANT and "2026-05-20" in result.annotation
    on_time = _secret(RotationEnabled=True, NextRotationDate="2026-06-20 00:00:00+00:00")
    assert verdict(rule_id, on_time) is Compliance.COMPLIANT
    # no next rotation date: the last rotation plus the schedule's interval
    by_schedule = _secret(
        RotationEnabled=True, RotationRules={"ScheduleExpression": "rate(10 days)"}, LastRotatedDate="2026-05-01T00:00:00Z"
    )
    assert verdict(rule_id, by_schedule) is Compliance.NON_COMPLIANT
    assert verdict(rule_id, _secret(RotationEnabled=True, LastRotatedDate="2026-05-01T00:00:00Z")) is Compliance.INSUFFICIENT_DATA
    pending_deletion = _secret(RotationEnabled=True, NextRotationDate="2026-05-20 00:00:00+00:00", DeletedDate="2026-05-30 00:00:00+00:00")
    assert verdict(rule_id, pending_deletion) is Compliance.NOT_APPLICABLE


def test_periodic_rotation_and_unused_on_constructed_items():
    stale = _secret(LastRotatedDate="2026-01-01 00:00:00+00:00", LastAccessedDate="2026-01-01 00:00:00+00:00")
    fresh = _secret(LastRotatedDate="2026-05-01 00:00:00+00:00", LastAccessedDate="2026-05-31 00:00:00+00:00")
    for rule_id, param in (
        ("secretsmanager-secret-periodic-rotation", "maxDaysSinceRotation"),
        ("secretsmanager-secret-unused", "unusedForDays"),
    ):
        result = judge_rule(rule_id, stale, now=NOW)
        assert result.compliance is Compliance.NON_COMPLIANT and "151 days" in result.annotation and " 90" in result.annotation
        assert verdict(rule_id, stale, {param: 200}) is Compliance.COMPLIANT
        assert verdict(rule_id, stale, {param: "200"}) is Compliance.COMPLIANT  # an integer given as text
        assert verdict(rule_id, fresh) is Compliance.COMPLIANT
        assert verdict(rule_id, fresh, {param: 0}) is Compliance.COMPLIANT  # not a positive number of days: AWS's 90
        assert verdict(rule_id, _secret()) is Compliance.NON_COMPLIANT  # never rotated or used since 2025-01-01
        assert verdict(rule_id, _secret(DeletedDate="2026-05-30 00:00:00+00:00")) is Compliance.NOT_APPLICABLE
        assert verdict(rule_id, built_item(SECRET, {"Name": "s"})) is Compliance.INSUFFICIENT_DATA
