"""Demo platform services: ACM, Redshift, OpenSearch, API Gateway and GuardDuty, done right and wrong.

Names say the verdict: an imported certificate for ``portal-cert-valid.example.org`` (a year
left) and one for ``portal-cert-expiring.example.org`` (five days left); Redshift clusters
``redshift-phi-encrypted`` (encrypted, private, audit logging on) and
``redshift-phi-public-unencrypted`` (public, unencrypted, no automated snapshots, no version
upgrades); OpenSearch domains ``search-phi-encrypted`` (encryption at rest and in transit,
HTTPS only, in the default VPC, audit logs to CloudWatch Logs) and ``search-phi-unencrypted``
(none of it); a REST API ``claims-api`` with stage ``prod-logging-on`` (execution logging,
WAF web ACL) and stage ``dev-logging-off``; a GuardDuty detector in this
region only. Security Hub stays off. The OpenSearch domain uses the region's default VPC;
nothing else depends on other seeds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from phiwatch.aws.session import make_client

OWNER = "InstanceOwnerEmail"


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def self_signed(common_name: str, days: int) -> tuple[bytes, bytes]:
    """A self-signed EC P-256 certificate valid for ``days`` more days: (certificate PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    def client(service: str) -> Any:
        return make_client(session, service, endpoint, region)

    account = client("sts").get_caller_identity()["Account"]
    created: dict[str, Any] = {}

    # ACM: imported certificates are never renewed by ACM.
    acm = client("acm")
    certificates = []
    for name, days, tags in (
        ("portal-cert-valid.example.org", 365, {"Environment": "PROD", "PHI": "No", OWNER: "portal-team@example.org"}),
        ("portal-cert-expiring.example.org", 5, {"Environment": "PROD", "PHI": "No", OWNER: "portal-team@example.org"}),
    ):
        cert_pem, key_pem = self_signed(name, days)
        arn = acm.import_certificate(Certificate=cert_pem, PrivateKey=key_pem, Tags=_tag_list({"Name": name, **tags}))["CertificateArn"]
        certificates.append(arn)
    created["certificates"] = certificates

    # Redshift
    redshift = client("redshift")
    common = dict(NodeType="ra3.xlplus", MasterUsername="phiadmin", MasterUserPassword="DemoOnly-Passw0rd")
    redshift.create_cluster(
        ClusterIdentifier="redshift-phi-encrypted",
        Encrypted=True,
        PubliclyAccessible=False,
        AutomatedSnapshotRetentionPeriod=7,
        AllowVersionUpgrade=True,
        Tags=_tag_list({"PHI": "Yes", "Environment": "PROD", OWNER: "analytics-team@example.org"}),
        **common,
    )
    redshift.enable_logging(
        ClusterIdentifier="redshift-phi-encrypted",
        LogDestinationType="cloudwatch",
        LogExports=["connectionlog", "userlog", "useractivitylog"],
    )
    redshift.create_cluster(
        ClusterIdentifier="redshift-phi-public-unencrypted",
        Encrypted=False,
        PubliclyAccessible=True,
        AllowVersionUpgrade=False,
        Tags=_tag_list({"PHI": "Yes", "Environment": "DEV", OWNER: "analytics-team@example.org"}),
        **common,
    )
    # create_cluster takes 0 as "default" on the emulator: switch automated snapshots off explicitly
    redshift.modify_cluster(ClusterIdentifier="redshift-phi-public-unencrypted", AutomatedSnapshotRetentionPeriod=0)
    created["redshift_clusters"] = ["redshift-phi-encrypted", "redshift-phi-public-unencrypted"]

    # OpenSearch: the compliant domain sits in the default VPC.
    ec2 = client("ec2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    vpc_options = {"SubnetIds": [subnets[0]["SubnetId"]], "SecurityGroupIds": [groups[0]["GroupId"]]} if subnets and groups else {}
    opensearch = client("opensearch")
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/opensearch/search-phi-encrypted"
    opensearch.create_domain(
        DomainName="search-phi-encrypted",
        EngineVersion="OpenSearch_2.11",
        EncryptionAtRestOptions={"Enabled": True},
        NodeToNodeEncryptionOptions={"Enabled": True},
        DomainEndpointOptions={"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
        **({"VPCOptions": vpc_options} if vpc_options else {}),
        LogPublishingOptions={
            "AUDIT_LOGS": {"CloudWatchLogsLogGroupArn": log_group, "Enabled": True},
            "ES_APPLICATION_LOGS": {"CloudWatchLogsLogGroupArn": log_group, "Enabled": True},
        },
        TagList=_tag_list({"PHI": "Yes", "Environment": "PROD", OWNER: "search-team@example.org"}),
    )
    opensearch.create_domain(
        DomainName="search-phi-unencrypted",
        EngineVersion="OpenSearch_2.11",
        TagList=_tag_list({"PHI": "Yes", "Environment": "DEV", OWNER: "search-team@example.org"}),
    )
    created["opensearch_domains"] = ["search-phi-encrypted", "search-phi-unencrypted"]

    # API Gateway: one REST API, a production stage done right and a dev stage without logging.
    apigw = client("apigateway")
    api = apigw.create_rest_api(name="claims-api", tags={"PHI": "Yes", OWNER: "claims-team@example.org"})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = apigw.create_deployment(restApiId=api)["id"]
    for stage, env in (("prod-logging-on", "PROD"), ("dev-logging-off", "DEV")):
        apigw.create_stage(
            restApiId=api,
            stageName=stage,
            deploymentId=deployment,
            tags={"PHI": "Yes", "Environment": env, OWNER: "claims-team@example.org"},
        )
    # (the emulator has no client certificates: api-gw-ssl-enabled shows both stages without one)
    apigw.update_stage(
        restApiId=api,
        stageName="prod-logging-on",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
        ],
    )
    wafv2 = client("wafv2")
    acl = wafv2.create_web_acl(
        Name="claims-api-acl",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "claims-api-acl"},
    )["Summary"]["ARN"]
    wafv2.associate_web_acl(WebACLArn=acl, ResourceArn=f"arn:aws:apigateway:{region}::/restapis/{api}/stages/prod-logging-on")
    created["api_stages"] = [f"{api}/prod-logging-on", f"{api}/dev-logging-off"]

    # GuardDuty in this region only (other regions scanned show it off).
    detector = client("guardduty").create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES")["DetectorId"]
    created["guardduty_detector"] = detector
    return created
