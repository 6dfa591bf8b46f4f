"""ACM, OpenSearch/Elasticsearch, Redshift, API Gateway, GuardDuty and Security Hub rules:
one estate in moto's server, one scan, a verdict per named resource; parameters, and what
moto cannot represent (client certificates, require_ssl, GuardDuty membership), on items."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.demo.seed_services import self_signed
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.policy import Policy
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule, verdict_and_annotation

ACCOUNT = "123456789012"
SERVICES = ["acm", "opensearch", "redshift", "apigateway", "guardduty", "securityhub"]
RS_COMMON = dict(NodeType="ra3.xlplus", MasterUsername="phiadmin", MasterUserPassword="DemoOnly-Passw0rd")


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session()

    def client(service, region="us-east-1"):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    names = {}
    acm = client("acm")
    for name, days in (("cert-valid.example.org", 365), ("cert-expiring.example.org", 5)):
        pem, key = self_signed(name, days)
        names[name] = acm.import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]

    rs = client("redshift")
    rs.create_cluster(
        ClusterIdentifier="redshift-all-good",
        Encrypted=True,
        PubliclyAccessible=False,
        AutomatedSnapshotRetentionPeriod=7,
        AllowVersionUpgrade=True,
        **RS_COMMON,
    )
    rs.enable_logging(ClusterIdentifier="redshift-all-good", LogDestinationType="cloudwatch", LogExports=["userlog"])
    rs.create_cluster(
        ClusterIdentifier="redshift-all-bad", Encrypted=False, PubliclyAccessible=True, AllowVersionUpgrade=False, **RS_COMMON
    )
    rs.modify_cluster(ClusterIdentifier="redshift-all-bad", AutomatedSnapshotRetentionPeriod=0)

    opensearch = client("opensearch")
    log_group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/opensearch/search-all-good"
    opensearch.create_domain(
        DomainName="search-all-good",
        EncryptionAtRestOptions={"Enabled": True},
        NodeToNodeEncryptionOptions={"Enabled": True},
        DomainEndpointOptions={"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
        VPCOptions={"SubnetIds": ["subnet-0123"], "SecurityGroupIds": ["sg-0123"]},
        LogPublishingOptions={
            "SEARCH_SLOW_LOGS": {"CloudWatchLogsLogGroupArn": log_group, "Enabled": True},
            "AUDIT_LOGS": {"CloudWatchLogsLogGroupArn": log_group, "Enabled": True},
        },
    )
    opensearch.create_domain(DomainName="search-all-bad")

    apigw = client("apigateway")
    api = apigw.create_rest_api(name="claims-api")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = apigw.create_deployment(restApiId=api)["id"]
    for stage in ("stage-all-good", "stage-all-bad", "stage-one-method-off"):
        apigw.create_stage(restApiId=api, stageName=stage, deploymentId=deployment)
    apigw.update_stage(
        restApiId=api, stageName="stage-all-good", patchOperations=[{"op": "replace", "path": "/*/*/logging/loglevel", "value": "ERROR"}]
    )
    apigw.update_stage(
        restApiId=api,
        stageName="stage-one-method-off",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
            {"op": "replace", "path": "/~1/GET/logging/loglevel", "value": "OFF"},
        ],
    )
    wafv2 = client("wafv2")
    acl = wafv2.create_web_acl(
        Name="claims-acl",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "claims-acl"},
    )["Summary"]["ARN"]
    stage_id = f"arn:aws:apigateway:us-east-1::/restapis/{api}/stages/"
    wafv2.associate_web_acl(WebACLArn=acl, ResourceArn=stage_id + "stage-all-good")
    names.update({s: stage_id + s for s in ("stage-all-good", "stage-all-bad", "stage-one-method-off")})
    v2 = client("apigatewayv2")
    ws = v2.create_api(Name="ws-api", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    v2.create_stage(ApiId=ws, StageName="ws-logging-error", DefaultRouteSettings={"LoggingLevel": "ERROR"})
    v2.create_stage(ApiId=ws, StageName="ws-logging-off", DefaultRouteSettings={"LoggingLevel": "OFF"})
    http = v2.create_api(Name="http-api", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=http, StageName="http-no-execution-logging")
    names["ws-logging-error"] = f"arn:aws:apigateway:us-east-1::/apis/{ws}/stages/ws-logging-error"
    names["ws-logging-off"] = f"arn:aws:apigateway:us-east-1::/apis/{ws}/stages/ws-logging-off"
    names["http-no-execution-logging"] = f"arn:aws:apigateway:us-east-1::/apis/{http}/stages/http-no-execution-logging"

    # GuardDuty and Security Hub in us-east-1 only; us-west-2 is scanned too
    client("guardduty").create_detector(Enable=True)
    client("securityhub").enable_security_hub(EnableDefaultStandards=False)

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('svcrules') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1", "us-west-2"], session=session)
    outcome = run_scan(ctx, store, Policy(), services=SERVICES)
    assert outcome.scan["errors"] == []
    verdicts = {(e["rule_id"], e["resource_id"], e["region"]): e for e in outcome.scan["evaluations"]}
    yield verdicts, names, store
    store.close()


def verdict(estate, rule_id, name, region="us-east-1"):
    verdicts, names, _ = estate
    resource_id = names.get(name) or (f"{ACCOUNT}/{name}" if name.startswith("search-") else name)
    return verdicts[(rule_id, resource_id, region)]


@pytest.mark.parametrize(
    "rule_id,compliant,non_compliant",
    [
        ("acm-certificate-expiration-check", "cert-valid.example.org", "cert-expiring.example.org"),
        ("redshift-backup-enabled", "redshift-all-good", "redshift-all-bad"),
        ("redshift-cluster-configuration-check", "redshift-all-good", "redshift-all-bad"),
        ("redshift-cluster-maintenancesettings-check", "redshift-all-good", "redshift-all-bad"),
        ("redshift-cluster-public-access-check", "redshift-all-good", "redshift-all-bad"),
        ("opensearch-encrypted-at-rest", "search-all-good", "search-all-bad"),
        ("opensearch-node-to-node-encryption-check", "search-all-good", "search-all-bad"),
        ("opensearch-in-vpc-only", "search-all-good", "search-all-bad"),
        ("opensearch-logs-to-cloudwatch", "search-all-good", "search-all-bad"),
        ("opensearch-https-required", "search-all-good", "search-all-bad"),
        ("elasticsearch-encrypted-at-rest", "search-all-good", "search-all-bad"),
        ("elasticsearch-node-to-node-encryption-check", "search-all-good", "search-all-bad"),
        ("elasticsearch-in-vpc-only", "search-all-good", "search-all-bad"),
        ("elasticsearch-logs-to-cloudwatch", "search-all-good", "search-all-bad"),
        ("api-gw-execution-logging-enabled", "stage-all-good", "stage-all-bad"),
        ("api-gw-execution-logging-enabled", "ws-logging-error", "ws-logging-off"),
        ("api-gw-associated-with-waf", "stage-all-good", "stage-all-bad"),
    ],
)
def test_resource_rules(estate, rule_id, compliant, non_compliant):
    good = verdict(estate, rule_id, compliant)
    assert good["compliance"] == "COMPLIANT", good["annotation"]
    bad = verdict(estate, rule_id, non_compliant)
    assert bad["compliance"] == "NON_COMPLIANT"
    assert bad["annotation"]


def test_annotations_name_the_failed_settings(estate):
    assert (
        verdict(estate, "redshift-cluster-configuration-check", "redshift-all-bad")["annotation"]
        == "database encryption is off; audit logging is off"
    )
    assert "AllowVersionUpgrade is false" in verdict(estate, "redshift-cluster-maintenancesettings-check", "redshift-all-bad")["annotation"]
    assert "within 14 day(s)" in verdict(estate, "acm-certificate-expiration-check", "cert-expiring.example.org")["annotation"]


def test_execution_logging_covers_every_method_and_http_apis(estate):
    off = verdict(estate, "api-gw-execution-logging-enabled", "stage-one-method-off")
    assert off["compliance"] == "NON_COMPLIANT" and "~1/GET" in off["annotation"]
    http = verdict(estate, "api-gw-execution-logging-enabled", "http-no-execution-logging")
    assert http["compliance"] == "NON_COMPLIANT" and "HTTP APIs" in http["annotation"]


def test_moto_stages_have_no_client_certificate(estate):
    # moto has no client certificates: the COMPLIANT case is tested on an item below
    assert verdict(estate, "api-gw-ssl-enabled", "stage-all-good")["compliance"] == "NON_COMPLIANT"


def test_require_tls_ssl_reports_on_clusters_only(estate):
    # moto cannot modify parameter groups: every group keeps require_ssl=false
    bad = verdict(estate, "redshift-require-tls-ssl", "redshift-all-good")
    assert bad["compliance"] == "NON_COMPLIANT" and "default.redshift-1.0" in bad["annotation"]
    verdicts, _, _ = estate
    assert not [k for k in verdicts if k[0] == "redshift-require-tls-ssl" and k[1] == "default.redshift-1.0"]


def test_account_rules_per_region(estate):
    assert verdict(estate, "guardduty-enabled-centralized", ACCOUNT)["compliance"] == "COMPLIANT"
    west = verdict(estate, "guardduty-enabled-centralized", ACCOUNT, "us-west-2")
    assert west["compliance"] == "NON_COMPLIANT" and west["annotation"] == "GuardDuty is not enabled in this region"
    assert verdict(estate, "securityhub-enabled", ACCOUNT)["compliance"] == "COMPLIANT"
    assert verdict(estate, "securityhub-enabled", ACCOUNT, "us-west-2")["compliance"] == "NON_COMPLIANT"
    verdicts, _, _ = estate
    assert not [k for k in verdicts if k[0] in ("guardduty-enabled-centralized", "securityhub-enabled") and k[2] == "global"]


def test_contract_fields(estate):
    e = verdict(estate, "redshift-cluster-public-access-check", "redshift-all-bad")
    assert e["arn"] == f"arn:aws:redshift:us-east-1:{ACCOUNT}:cluster:redshift-all-bad"
    assert e["severity"] == "critical" and e["account_id"] == ACCOUNT


# -- parameters and cases moto cannot represent: rules run on items ------------------------------

RULES = catalogue()
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def run(rule_id, item, **params):
    return verdict_and_annotation(judge_rule(rule_id, item, lookup=lambda t: [], now=NOW, params=params))


def _cert(**config):
    return built_item("AWS::ACM::Certificate", configuration={"Status": "ISSUED", "Type": "IMPORTED", **config})


def test_acm_parameter_expired_and_not_issued():
    in_ten_days = (NOW + dt.timedelta(days=10)).isoformat()
    assert run("acm-certificate-expiration-check", _cert(NotAfter=in_ten_days))[0] == "NON_COMPLIANT"
    assert run("acm-certificate-expiration-check", _cert(NotAfter=in_ten_days), daysToExpiration=7)[0] == "COMPLIANT"
    expired = run("acm-certificate-expiration-check", _cert(NotAfter="2025-05-01T00:00:00Z", Status="EXPIRED"))
    assert expired == ("NON_COMPLIANT", "certificate expired on 2025-05-01")
    pending = run("acm-certificate-expiration-check", _cert(Status="PENDING_VALIDATION", Type="AMAZON_ISSUED"))
    assert pending[0] == "NOT_APPLICABLE"


def test_acm_insufficient_data_when_describe_failed():
    item = built_item("AWS::ACM::Certificate", errors=denied_read("DescribeCertificate", "acm:DescribeCertificate"))
    result = run("acm-certificate-expiration-check", item)
    assert result[0] == "INSUFFICIENT_DATA" and "acm:DescribeCertificate" in result[1]


def test_api_gw_ssl_and_waf_parameters():
    stage = built_item(
        "AWS::ApiGateway::Stage",
        configuration={"stageName": "prod", "clientCertificateId": "cert1", "webAclArn": "arn:aws:wafv2:us-east-1:1:regional/webacl/a/1"},
    )
    assert run("api-gw-ssl-enabled", stage) == ("COMPLIANT", "stage uses client certificate cert1")
    assert run("api-gw-ssl-enabled", stage, CertificateIDs="cert1, cert2")[0] == "COMPLIANT"
    assert run("api-gw-ssl-enabled", stage, CertificateIDs="cert2")[0] == "NON_COMPLIANT"
    assert run("api-gw-associated-with-waf", stage, WebAclArns="arn:aws:wafv2:us-east-1:1:regional/webacl/a/1")[0] == "COMPLIANT"
    assert run("api-gw-associated-with-waf", stage, WebAclArns="arn:aws:wafv2:us-east-1:1:regional/webacl/b/2")[0] == "NON_COMPLIANT"


def test_api_gw_logging_level_parameter():
    stage = built_item("AWS::ApiGateway::Stage", configuration={"methodSettings": {"*/*": {"loggingLevel": "ERROR"}}})
    assert run("api-gw-execution-logging-enabled", stage)[0] == "COMPLIANT"
    assert run("api-gw-execution-logging-enabled", stage, loggingLevel="INFO")[0] == "NON_COMPLIANT"
    route_off = built_item(
        "AWS::ApiGatewayV2::Stage",
        configuration={"DefaultRouteSettings": {"LoggingLevel": "INFO"}, "RouteSettings": {"$connect": {"LoggingLevel": "OFF"}}},
    )
    assert run("api-gw-execution-logging-enabled", route_off)[0] == "NON_COMPLIANT"


def _domain(resource_type="AWS::OpenSearch::Domain", **config):
    return built_item(resource_type, configuration={"DomainName": "d", **config})


def test_opensearch_log_types_and_tls_policy_parameters():
    group = "arn:aws:logs:us-east-1:1:log-group:g"
    domain = _domain(
        LogPublishingOptions={
            "SEARCH_SLOW_LOGS": {"CloudWatchLogsLogGroupArn": group, "Enabled": True},
            "ES_APPLICATION_LOGS": {"CloudWatchLogsLogGroupArn": group, "Enabled": False},
        }
    )
    assert run("opensearch-logs-to-cloudwatch", domain, logTypes="search")[0] == "COMPLIANT"
    assert run("opensearch-logs-to-cloudwatch", domain, logTypes="search,error") == (
        "NON_COMPLIANT",
        "logs not sent to CloudWatch Logs: ES_APPLICATION_LOGS",
    )
    es = _domain("AWS::Elasticsearch::Domain", LogPublishingOptions=domain.configuration["LogPublishingOptions"])
    assert run("elasticsearch-logs-to-cloudwatch", es, logTypes="index")[0] == "NON_COMPLIANT"
    https = _domain(DomainEndpointOptions={"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-0-2019-07"})
    assert run("opensearch-https-required", https)[0] == "COMPLIANT"
    assert (
        run("opensearch-https-required", https, tlsPolicies="Policy-Min-TLS-1-2-2019-07,Policy-Min-TLS-1-2-PFS-2023-10")[0]
        == "NON_COMPLIANT"
    )
    # a VPC domain as AWS answers it: endpoints under "vpc", VPCOptions with the VPC id
    assert run("opensearch-in-vpc-only", _domain(VPCOptions={"VPCId": "vpc-1"}, Endpoints={"vpc": "x"}))[0] == "COMPLIANT"


def _cluster(supplementary=None, errors=None, **config):
    base = {
        "ClusterIdentifier": "c",
        "Encrypted": True,
        "PubliclyAccessible": False,
        "AutomatedSnapshotRetentionPeriod": 7,
        "AllowVersionUpgrade": True,
        "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
        "NodeType": "ra3.xlplus",
    }
    sup = {"LoggingStatus": {"LoggingEnabled": True}} if supplementary is None else supplementary
    return built_item("AWS::Redshift::Cluster", configuration={**base, **config}, supplementary=sup, errors=errors)


def test_redshift_parameters():
    assert run("redshift-backup-enabled", _cluster(), MinRetentionPeriod=7, MaxRetentionPeriod=35)[0] == "COMPLIANT"
    assert run("redshift-backup-enabled", _cluster(), MinRetentionPeriod=14)[0] == "NON_COMPLIANT"
    assert run("redshift-backup-enabled", _cluster(), MaxRetentionPeriod=5)[0] == "NON_COMPLIANT"
    # nodeTypes: the documented default is not enforced (AWS reports encryption and logging only)
    assert run("redshift-cluster-configuration-check", _cluster())[0] == "COMPLIANT"
    assert run("redshift-cluster-configuration-check", _cluster(), nodeTypes="dc2.large,ra3.4xlarge")[0] == "NON_COMPLIANT"
    assert run("redshift-cluster-configuration-check", _cluster(), nodeTypes="ra3.xlplus")[0] == "COMPLIANT"
    no_logging = _cluster(supplementary={"LoggingStatus": {"LoggingEnabled": False}})
    assert run("redshift-cluster-configuration-check", no_logging, loggingEnabled=False)[0] == "COMPLIANT"
    assert run("redshift-cluster-maintenancesettings-check", _cluster(), preferredMaintenanceWindow="Sun:05:00-Sun:05:30")[0] == "COMPLIANT"
    assert (
        run("redshift-cluster-maintenancesettings-check", _cluster(), preferredMaintenanceWindow="Mon:03:00-Mon:03:30")[0]
        == "NON_COMPLIANT"
    )
    assert run("redshift-cluster-maintenancesettings-check", _cluster(), automatedSnapshotRetentionPeriod=14)[0] == "NON_COMPLIANT"


def test_redshift_require_tls_ssl_on_items():
    on = _cluster(supplementary={"ParameterGroupSettings": {"pg-ssl": {"require_ssl": "true"}}})
    assert run("redshift-require-tls-ssl", on) == ("COMPLIANT", "parameter group pg-ssl sets require_ssl=true")
    off = _cluster(supplementary={"ParameterGroupSettings": {"pg-ssl": {"require_ssl": "TRUE"}, "pg-plain": {"require_ssl": "false"}}})
    assert run("redshift-require-tls-ssl", off) == ("NON_COMPLIANT", "parameter group pg-plain does not set require_ssl=true")
    denied = _cluster(supplementary={}, errors=denied_read("DescribeClusterParameters", "redshift:DescribeClusterParameters"))
    assert run("redshift-require-tls-ssl", denied)[0] == "INSUFFICIENT_DATA"
    group = built_item(
        "AWS::Redshift::ClusterParameterGroup", errors=denied_read("DescribeClusterParameters", "redshift:DescribeClusterParameters")
    )
    assert run("redshift-require-tls-ssl", group) is None  # reported on clusters only


def test_redshift_insufficient_data_when_logging_status_failed():
    item = _cluster(supplementary={}, errors=denied_read("DescribeLoggingStatus", "redshift:DescribeLoggingStatus"))
    result = run("redshift-cluster-configuration-check", item)
    assert result[0] == "INSUFFICIENT_DATA" and "redshift:DescribeLoggingStatus" in result[1]


def _account(region="us-east-1", errors=None, account_id=ACCOUNT, **config):
    return ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=account_id,
        awsRegion=region,
        accountId=account_id,
        configuration=config,
        collectionErrors=errors or [],
    )


def test_guardduty_centralized_parameter():
    central = "210987654321"
    member = [{"DetectorId": "d1", "Status": "ENABLED", "Administrator": {"AccountId": central, "RelationshipStatus": "Enabled"}}]
    assert run("guardduty-enabled-centralized", _account(guardDutyDetectors=member), CentralMonitoringAccount=central)[0] == "COMPLIANT"
    other = run("guardduty-enabled-centralized", _account(guardDutyDetectors=member), CentralMonitoringAccount="111111111111")
    assert other == ("NON_COMPLIANT", "GuardDuty findings are not centralized in 111111111111")
    lone = [{"DetectorId": "d1", "Status": "ENABLED", "Administrator": None}]
    assert run("guardduty-enabled-centralized", _account(guardDutyDetectors=lone), CentralMonitoringAccount=central)[0] == "NON_COMPLIANT"
    # the central account itself only needs GuardDuty on
    assert (
        run("guardduty-enabled-centralized", _account(account_id=central, guardDutyDetectors=lone), CentralMonitoringAccount=central)[0]
        == "COMPLIANT"
    )
    suspended = [{"DetectorId": "d1", "Status": "DISABLED", "Administrator": None}]
    assert run("guardduty-enabled-centralized", _account(guardDutyDetectors=suspended))[0] == "NON_COMPLIANT"


def test_detection_rules_insufficient_data_and_not_applicable():
    denied = _account(errors=denied_read("GetDetector", "guardduty:GetDetector"))
    result = run("guardduty-enabled-centralized", denied)
    assert result[0] == "INSUFFICIENT_DATA" and "guardduty:GetDetector" in result[1]
    hub = run("securityhub-enabled", _account(errors=denied_read("DescribeHub", "securityhub:DescribeHub")))
    assert hub[0] == "INSUFFICIENT_DATA" and "securityhub:DescribeHub" in hub[1]
    # the global account item carries neither key: the rules do not apply to it
    assert run("guardduty-enabled-centralized", _account(region="global")) is None
    assert run("securityhub-enabled", _account(region="global")) is None
    assert run("securityhub-enabled", _account(securityHub=None)) == ("NON_COMPLIANT", "Security Hub is not enabled in this region")
