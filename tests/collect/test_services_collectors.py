"""ACM, OpenSearch/Elasticsearch, Redshift, API Gateway, GuardDuty and Security Hub collectors
against moto's server."""

from __future__ import annotations

import json

from denied import Denied
from phiwatch.collect.runner import collect
from phiwatch.demo.seed_services import self_signed
from phiwatch.model import ACCOUNT_TYPE
from stored import stored_item

ACCOUNT = "123456789012"


def _account(store, region):
    rows = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == region]
    assert len(rows) == 1
    return store.item_at(rows[0]["id"])["item"]


def _all_stored_json(store) -> str:
    out = []
    for row in store.inventory(include_deleted=True):
        out.extend(json.dumps(v["item"]) for v in store.history(row["id"]))
    return "\n".join(out)


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# -- ACM ----------------------------------------------------------------------------------------


def test_acm_certificates_expiry_fields_tags_and_deletion(aws_env, store):
    acm = aws_env.client("acm")
    soon_pem, soon_key = self_signed("cert-expiring.example.org", 5)
    later_pem, later_key = self_signed("cert-valid.example.org", 365)
    soon = acm.import_certificate(Certificate=soon_pem, PrivateKey=soon_key, Tags=_tags({"PHI": "No"}))["CertificateArn"]
    later = acm.import_certificate(Certificate=later_pem, PrivateKey=later_key)["CertificateArn"]

    ctx = aws_env.context()
    result = collect(ctx, store, services=["acm"])
    assert result.errors == []
    assert result.types_seen["AWS::ACM::Certificate"] == 2  # EC keys listed too (Includes keyTypes)

    item = stored_item(store, soon, "AWS::ACM::Certificate")
    assert item["resourceId"] == soon and item["arn"] == soon
    assert item["resourceName"] == "cert-expiring.example.org"
    config = item["configuration"]
    assert config["Type"] == "IMPORTED" and config["Status"] == "ISSUED"
    assert config["NotAfter"] < stored_item(store, later, "AWS::ACM::Certificate")["configuration"]["NotAfter"]
    assert config["InUseBy"] == [] and config["KeyAlgorithm"] == "EC_prime256v1"
    assert item["tags"] == {"PHI": "No"}
    assert stored_item(store, later, "AWS::ACM::Certificate")["tags"] == {}
    # no private key or certificate body is ever stored
    stored = _all_stored_json(store)
    assert "PRIVATE KEY" not in stored and "BEGIN CERTIFICATE" not in stored

    acm.delete_certificate(CertificateArn=soon)
    assert collect(ctx, store, services=["acm"]).deleted == 1
    assert store.resolve(soon, "AWS::ACM::Certificate")["status"] == "ResourceDeleted"


def test_acm_describe_denied_keeps_summary_and_records_error(aws_env, store):
    pem, key = self_signed("cert-describe-denied.example.org", 30)
    arn = aws_env.client("acm").import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    ctx = aws_env.context()
    ctx.client("acm", "us-east-1").meta.events.register("before-call.acm.DescribeCertificate", Denied())
    result = collect(ctx, store, services=["acm"])
    assert [(e.api, e.iam_action) for e in result.errors] == [("DescribeCertificate", "acm:DescribeCertificate")]
    item = stored_item(store, arn, "AWS::ACM::Certificate")
    assert item["configuration"]["NotAfter"]  # from the ListCertificates summary
    assert item["collectionErrors"][0]["api"] == "DescribeCertificate"


# -- OpenSearch / Elasticsearch -----------------------------------------------------------------


def test_opensearch_domains_recorded_as_both_types(aws_env, store):
    os_client = aws_env.client("opensearch")
    log_group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/opensearch/search-encrypted"
    os_client.create_domain(
        DomainName="search-encrypted",
        EngineVersion="OpenSearch_2.11",
        EncryptionAtRestOptions={"Enabled": True},
        NodeToNodeEncryptionOptions={"Enabled": True},
        DomainEndpointOptions={"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
        VPCOptions={"SubnetIds": ["subnet-0123"], "SecurityGroupIds": ["sg-0123"]},
        LogPublishingOptions={"AUDIT_LOGS": {"CloudWatchLogsLogGroupArn": log_group, "Enabled": True}},
        TagList=_tags({"PHI": "Yes"}),
    )
    os_client.create_domain(DomainName="search-unencrypted")
    aws_env.client("es").create_elasticsearch_domain(DomainName="legacy-es", ElasticsearchVersion="7.10")
    for i in range(3):  # six domains: two DescribeDomains batches of at most five
        os_client.create_domain(DomainName=f"search-extra-{i}")

    ctx = aws_env.context()
    result = collect(ctx, store, services=["opensearch"])
    assert result.errors == []
    assert result.types_seen == {"AWS::OpenSearch::Domain": 6, "AWS::Elasticsearch::Domain": 6}

    for resource_type in ("AWS::OpenSearch::Domain", "AWS::Elasticsearch::Domain"):
        good = stored_item(store, f"{ACCOUNT}/search-encrypted", resource_type)
        assert good["resourceName"] == "search-encrypted"
        assert good["arn"] == f"arn:aws:es:us-east-1:{ACCOUNT}:domain/search-encrypted"
        config = good["configuration"]
        assert config["EncryptionAtRestOptions"]["Enabled"] is True
        assert config["NodeToNodeEncryptionOptions"]["Enabled"] is True
        assert config["DomainEndpointOptions"]["EnforceHTTPS"] is True
        assert config["VPCOptions"]["SubnetIds"] == ["subnet-0123"]
        assert config["LogPublishingOptions"]["AUDIT_LOGS"]["Enabled"] is True
        assert good["tags"] == {"PHI": "Yes"}
        assert {"resourceType": "AWS::EC2::Subnet", "resourceId": "subnet-0123", "name": "Is contained in Subnet"} in good["relationships"]

        bad = stored_item(store, f"{ACCOUNT}/search-unencrypted", resource_type)["configuration"]
        assert bad["EncryptionAtRestOptions"]["Enabled"] is False
        assert bad["DomainEndpointOptions"]["EnforceHTTPS"] is False
        assert "VPCOptions" not in bad and "LogPublishingOptions" not in bad
    assert stored_item(store, "legacy-es", "AWS::Elasticsearch::Domain")["configuration"]["ElasticsearchVersion"] == "7.10"

    os_client.delete_domain(DomainName="search-extra-0")
    assert collect(ctx, store, services=["opensearch"]).deleted == 2  # the domain's two items
    assert store.resolve(f"{ACCOUNT}/search-extra-0", "AWS::OpenSearch::Domain")["status"] == "ResourceDeleted"


def test_opensearch_list_tags_denied_marks_both_items(aws_env, store):
    aws_env.client("opensearch").create_domain(DomainName="search-tags-denied", TagList=_tags({"PHI": "Yes"}))
    ctx = aws_env.context()
    ctx.client("opensearch", "us-east-1").meta.events.register("before-call.opensearch.ListTags", Denied())
    result = collect(ctx, store, services=["opensearch"])
    assert [(e.api, e.iam_action) for e in result.errors] == [("ListTags", "es:ListTags")]
    for resource_type in ("AWS::OpenSearch::Domain", "AWS::Elasticsearch::Domain"):
        item = stored_item(store, f"{ACCOUNT}/search-tags-denied", resource_type)
        assert item["tags"] == {}
        assert [e["api"] for e in item["collectionErrors"]] == ["ListTags"]
        assert item["collectionErrors"][0]["resource_type"] == resource_type


# -- Redshift -------------------------------------------------------------------------------------

RS_COMMON = dict(NodeType="ra3.xlplus", MasterUsername="phiadmin", MasterUserPassword="DemoOnly-Passw0rd")


def test_redshift_clusters_logging_and_parameter_groups(aws_env, store):
    rs = aws_env.client("redshift")
    rs.create_cluster_parameter_group(ParameterGroupName="pg-custom", ParameterGroupFamily="redshift-1.0", Description="custom")
    rs.create_cluster(
        ClusterIdentifier="redshift-encrypted",
        Encrypted=True,
        PubliclyAccessible=False,
        ClusterParameterGroupName="pg-custom",
        AutomatedSnapshotRetentionPeriod=7,
        Tags=_tags({"PHI": "Yes"}),
        **RS_COMMON,
    )
    rs.enable_logging(ClusterIdentifier="redshift-encrypted", LogDestinationType="cloudwatch", LogExports=["userlog"])
    rs.create_cluster(ClusterIdentifier="redshift-public", PubliclyAccessible=True, AllowVersionUpgrade=False, **RS_COMMON)
    rs.modify_cluster(ClusterIdentifier="redshift-public", AutomatedSnapshotRetentionPeriod=0)

    ctx = aws_env.context()
    result = collect(ctx, store, services=["redshift"])
    assert result.errors == []
    assert result.types_seen == {"AWS::Redshift::Cluster": 2, "AWS::Redshift::ClusterParameterGroup": 2}

    good = stored_item(store, "redshift-encrypted", "AWS::Redshift::Cluster")
    assert good["arn"] == f"arn:aws:redshift:us-east-1:{ACCOUNT}:cluster:redshift-encrypted"
    assert good["configuration"]["Encrypted"] is True and good["configuration"]["PubliclyAccessible"] is False
    assert good["configuration"]["AutomatedSnapshotRetentionPeriod"] == 7
    assert good["configuration"]["ClusterParameterGroups"][0]["ParameterGroupName"] == "pg-custom"
    assert "Tags" not in good["configuration"] and good["tags"] == {"PHI": "Yes"}
    sup = good["supplementaryConfiguration"]
    assert sup["LoggingStatus"]["LoggingEnabled"] is True
    assert sup["ParameterGroupSettings"] == {
        "pg-custom": {"require_ssl": "false", "use_fips_ssl": "false", "enable_user_activity_logging": "false"}
    }
    assert {
        "resourceType": "AWS::Redshift::ClusterParameterGroup",
        "resourceId": "pg-custom",
        "name": "Is associated with ClusterParameterGroup",
    } in good["relationships"]

    bad = stored_item(store, "redshift-public", "AWS::Redshift::Cluster")
    assert bad["configuration"]["PubliclyAccessible"] is True and bad["configuration"]["Encrypted"] is False
    assert bad["configuration"]["AutomatedSnapshotRetentionPeriod"] == 0
    assert bad["configuration"]["AllowVersionUpgrade"] is False
    assert bad["supplementaryConfiguration"]["LoggingStatus"]["LoggingEnabled"] is False
    assert list(bad["supplementaryConfiguration"]["ParameterGroupSettings"]) == ["default.redshift-1.0"]

    group = stored_item(store, "pg-custom", "AWS::Redshift::ClusterParameterGroup")
    assert group["arn"] == f"arn:aws:redshift:us-east-1:{ACCOUNT}:parametergroup:pg-custom"
    assert group["configuration"]["ParameterGroupFamily"] == "redshift-1.0"
    params = {p["ParameterName"]: p["ParameterValue"] for p in group["supplementaryConfiguration"]["Parameters"]}
    assert params["require_ssl"] == "false"

    # history: making the public cluster private is a new version of it
    rs.modify_cluster(ClusterIdentifier="redshift-public", PubliclyAccessible=False)
    collect(ctx, store, services=["redshift"])
    versions = store.history(store.resolve("redshift-public", "AWS::Redshift::Cluster")["id"])
    assert [v["item"]["configuration"]["PubliclyAccessible"] for v in versions] == [True, False]

    rs.delete_cluster(ClusterIdentifier="redshift-public", SkipFinalClusterSnapshot=True)
    assert collect(ctx, store, services=["redshift"]).deleted == 1
    assert store.resolve("redshift-public", "AWS::Redshift::Cluster")["status"] == "ResourceDeleted"


def test_redshift_parameters_denied_leaves_settings_absent(aws_env, store):
    aws_env.client("redshift").create_cluster(ClusterIdentifier="redshift-params-denied", **RS_COMMON)
    ctx = aws_env.context()
    ctx.client("redshift", "us-east-1").meta.events.register("before-call.redshift.DescribeClusterParameters", Denied())
    result = collect(ctx, store, services=["redshift"])
    assert {(e.api, e.iam_action) for e in result.errors} == {("DescribeClusterParameters", "redshift:DescribeClusterParameters")}
    cluster = stored_item(store, "redshift-params-denied", "AWS::Redshift::Cluster")
    assert "ParameterGroupSettings" not in cluster["supplementaryConfiguration"]  # absent = could not read
    assert "LoggingStatus" in cluster["supplementaryConfiguration"]
    assert [e["api"] for e in cluster["collectionErrors"]] == ["DescribeClusterParameters"]
    group = stored_item(store, "default.redshift-1.0", "AWS::Redshift::ClusterParameterGroup")
    assert "Parameters" not in group["supplementaryConfiguration"]


# -- API Gateway ----------------------------------------------------------------------------------


def _rest_api(aws_env, name="claims-api"):
    apigw = aws_env.client("apigateway")
    api = apigw.create_rest_api(name=name)["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    return apigw, api, apigw.create_deployment(restApiId=api)["id"]


def test_apigateway_rest_and_v2_stages(aws_env, store):
    apigw, api, deployment = _rest_api(aws_env)
    apigw.create_stage(restApiId=api, stageName="stage-logging-on", deploymentId=deployment, tags={"PHI": "Yes"})
    apigw.update_stage(
        restApiId=api, stageName="stage-logging-on", patchOperations=[{"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"}]
    )
    apigw.create_stage(restApiId=api, stageName="stage-logging-off", deploymentId=deployment)
    wafv2 = aws_env.client("wafv2")
    acl = wafv2.create_web_acl(
        Name="stage-acl",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "stage-acl"},
    )["Summary"]["ARN"]
    on_arn = f"arn:aws:apigateway:us-east-1::/restapis/{api}/stages/stage-logging-on"
    wafv2.associate_web_acl(WebACLArn=acl, ResourceArn=on_arn)

    v2 = aws_env.client("apigatewayv2")
    ws = v2.create_api(Name="ws-api", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    v2.create_stage(ApiId=ws, StageName="ws-logging-error", DefaultRouteSettings={"LoggingLevel": "ERROR"}, Tags={"PHI": "No"})
    http = v2.create_api(Name="http-api", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=http, StageName="$default")

    ctx = aws_env.context()
    result = collect(ctx, store, services=["apigateway"])
    assert result.errors == []
    assert result.types_seen == {"AWS::ApiGateway::RestApi": 1, "AWS::ApiGateway::Stage": 2, "AWS::ApiGatewayV2::Stage": 2}

    on = stored_item(store, on_arn, "AWS::ApiGateway::Stage")
    assert on["resourceId"] == on_arn and on["arn"] == on_arn and on["resourceName"] == "stage-logging-on"
    assert on["configuration"]["methodSettings"]["*/*"]["loggingLevel"] == "INFO"
    assert on["configuration"]["webAclArn"] == acl
    assert "tags" not in on["configuration"] and on["tags"] == {"PHI": "Yes"}
    assert on["supplementaryConfiguration"]["RestApi"] == {"id": api, "name": "claims-api"}
    off = stored_item(store, f"arn:aws:apigateway:us-east-1::/restapis/{api}/stages/stage-logging-off", "AWS::ApiGateway::Stage")
    assert off["configuration"]["methodSettings"] == {}
    assert "webAclArn" not in off["configuration"] and "clientCertificateId" not in off["configuration"]

    ws_arn = f"arn:aws:apigateway:us-east-1::/apis/{ws}/stages/ws-logging-error"
    ws_stage = stored_item(store, ws_arn, "AWS::ApiGatewayV2::Stage")
    assert ws_stage["configuration"]["DefaultRouteSettings"]["LoggingLevel"] == "ERROR"
    assert ws_stage["supplementaryConfiguration"]["Api"]["ProtocolType"] == "WEBSOCKET"
    assert ws_stage["tags"] == {"PHI": "No"}
    http_stage = stored_item(store, f"arn:aws:apigateway:us-east-1::/apis/{http}/stages/$default", "AWS::ApiGatewayV2::Stage")
    assert "LoggingLevel" not in http_stage["configuration"]["DefaultRouteSettings"]
    assert http_stage["supplementaryConfiguration"]["Api"]["ProtocolType"] == "HTTP"

    apigw.delete_stage(restApiId=api, stageName="stage-logging-off")
    assert collect(ctx, store, services=["apigateway"]).deleted == 1


def test_apigateway_get_stages_denied_is_not_a_deletion(aws_env, store):
    apigw, api, deployment = _rest_api(aws_env, "stages-denied-api")
    apigw.create_stage(restApiId=api, stageName="stage-kept", deploymentId=deployment)
    ctx = aws_env.context()
    collect(ctx, store, services=["apigateway"])
    ctx.client("apigateway", "us-east-1").meta.events.register("before-call.apigateway.GetStages", Denied())
    result = collect(ctx, store, services=["apigateway"])
    assert [(e.api, e.iam_action) for e in result.errors] == [("GetStages", "apigateway:GET")]
    assert result.deleted == 0
    assert store.resolve(f"arn:aws:apigateway:us-east-1::/restapis/{api}/stages/stage-kept")["status"] != "ResourceDeleted"


# -- GuardDuty and Security Hub (account items) ---------------------------------------------------


def test_guardduty_and_securityhub_account_keys_per_region(aws_env, store):
    detector = aws_env.client("guardduty").create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES")["DetectorId"]
    aws_env.client("securityhub").enable_security_hub(EnableDefaultStandards=False)
    ctx = aws_env.context(["us-east-1", "us-west-2"])
    result = collect(ctx, store, services=["guardduty", "securityhub"])
    assert result.errors == []

    east = _account(store, "us-east-1")["configuration"]
    assert east["guardDutyDetectors"] == [
        {
            "DetectorId": detector,
            "Status": "ENABLED",
            "FindingPublishingFrequency": "FIFTEEN_MINUTES",
            "CreatedAt": east["guardDutyDetectors"][0]["CreatedAt"],
            "UpdatedAt": east["guardDutyDetectors"][0]["UpdatedAt"],
            "Administrator": None,
            "NonArchivedFindings": [],
        }
    ]
    assert east["securityHub"]["HubArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default"
    west = _account(store, "us-west-2")["configuration"]
    assert west["guardDutyDetectors"] == []  # explicit "no detector", not "could not read"
    assert west["securityHub"] is None  # InvalidAccessException: not enabled

    # history: suspending the detector is a change of the account item
    aws_env.client("guardduty").update_detector(DetectorId=detector, Enable=False)
    collect(ctx, store, services=["guardduty"])
    east_row = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == "us-east-1"][0]
    statuses = [v["item"]["configuration"]["guardDutyDetectors"][0]["Status"] for v in store.history(east_row["id"])]
    assert statuses == ["ENABLED", "DISABLED"]
    # keys of services not collected in this run are kept
    assert _account(store, "us-east-1")["configuration"]["securityHub"]["HubArn"]


class _Answered:
    """A botocore ``before-call`` answer of HTTP 200 (the request never reaches moto)."""

    status_code = 200
    headers: dict = {}


def test_guardduty_non_archived_findings_are_read_fifty_at_a_time(aws_env, store):
    detector = aws_env.client("guardduty").create_detector(Enable=True)["DetectorId"]
    ids = [f"finding-{i:03d}" for i in range(120)]
    criteria, asked = [], []

    def findings(model, params, **_):  # moto keeps no findings: answer both reads here
        body = json.loads(params["body"] or b"{}")
        if model.name == "ListFindings":
            criteria.append(body["findingCriteria"])
            return _Answered(), {"FindingIds": list(reversed(ids))}
        asked.append(body["findingIds"])
        details = {"Resource": {"InstanceDetails": {"InstanceId": "i-phi"}}, "Service": {"Archived": False}, "Title": "port probe"}
        return _Answered(), {
            "Findings": [
                {"Id": i, "Type": "Recon:EC2/PortProbeUnprotectedPort", "Severity": 5.0, "CreatedAt": "2026-01-02T03:04:05.000Z", **details}
                for i in body["findingIds"]
            ]
        }

    ctx = aws_env.context()
    events = ctx.client("guardduty", "us-east-1").meta.events
    events.register("before-call.guardduty.ListFindings", findings)
    events.register("before-call.guardduty.GetFindings", findings)
    result = collect(ctx, store, services=["guardduty"])
    assert result.errors == []
    assert criteria == [{"criterion": {"service.archived": {"eq": ["false"]}}}]
    assert [len(batch) for batch in asked] == [50, 50, 20] and sorted(i for batch in asked for i in batch) == ids
    (entry,) = _account(store, "us-east-1")["configuration"]["guardDutyDetectors"]
    assert entry["DetectorId"] == detector
    # only the id, type, severity and age: nothing of the resource or the service details
    assert entry["NonArchivedFindings"] == [
        {"Id": i, "Type": "Recon:EC2/PortProbeUnprotectedPort", "Severity": 5.0, "CreatedAt": "2026-01-02T03:04:05.000Z"} for i in ids
    ]


def test_guardduty_findings_unreadable_leave_the_detector_without_them(aws_env, store):
    aws_env.client("guardduty").create_detector(Enable=True)
    ctx = aws_env.context()
    ctx.client("guardduty", "us-east-1").meta.events.register("before-call.guardduty.ListFindings", Denied())
    result = collect(ctx, store, services=["guardduty"])
    assert [(e.api, e.iam_action) for e in result.errors] == [("ListFindings", "guardduty:ListFindings")]
    account = _account(store, "us-east-1")
    (entry,) = account["configuration"]["guardDutyDetectors"]
    assert entry["Status"] == "ENABLED" and "NonArchivedFindings" not in entry  # unknown, never "no finding"
    assert [e["api"] for e in account["collectionErrors"]] == ["ListFindings"]


def test_denied_detection_reads_leave_keys_absent(aws_env, store):
    aws_env.client("guardduty").create_detector(Enable=True)
    ctx = aws_env.context()
    ctx.client("guardduty", "us-east-1").meta.events.register("before-call.guardduty.GetDetector", Denied())
    ctx.client("securityhub", "us-east-1").meta.events.register("before-call.securityhub.DescribeHub", Denied(code="AccessDeniedException"))
    result = collect(ctx, store, services=["guardduty", "securityhub"])
    assert sorted((e.api, e.iam_action) for e in result.errors) == [
        ("DescribeHub", "securityhub:DescribeHub"),
        ("GetDetector", "guardduty:GetDetector"),
    ]
    account = _account(store, "us-east-1")
    assert "guardDutyDetectors" not in account["configuration"]  # absent = could not check
    assert "securityHub" not in account["configuration"]  # denied is never "not enabled"
    assert sorted(e["api"] for e in account["collectionErrors"]) == ["DescribeHub", "GetDetector"]
