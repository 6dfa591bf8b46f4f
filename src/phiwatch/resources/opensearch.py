"""OpenSearch Service domains, recorded as AWS::OpenSearch::Domain and as the legacy
AWS::Elasticsearch::Domain (regional).

Both APIs list *every* domain of the region, whatever its engine (OpenSearch or
Elasticsearch), as AWS does: the ``opensearch`` API (ListDomainNames + DescribeDomains, five
names per call) fills the AWS::OpenSearch::Domain items and the legacy ``es`` API
(ListDomainNames + DescribeElasticsearchDomains, five names per call) the
AWS::Elasticsearch::Domain items, so the pack's ``opensearch-*`` and ``elasticsearch-*``
rules each see every domain, like AWS Config's.

Item layout (both types):

* resourceId: ``DomainId`` (``<account>/<domain name>``); resourceName: ``DomainName``;
  arn: ``ARN`` (``arn:aws:es:<region>:<account>:domain/<name>`` for both).
* ``configuration``: the DomainStatus element in boto3 shape. Keys rules read:
  ``EncryptionAtRestOptions`` (``{"Enabled": bool, "KmsKeyId"}``),
  ``NodeToNodeEncryptionOptions`` (``{"Enabled": bool}``),
  ``DomainEndpointOptions`` (``{"EnforceHTTPS": bool, "TLSSecurityPolicy": str, ...}``),
  ``VPCOptions`` (``{"VPCId", "SubnetIds", "SecurityGroupIds", ...}``; absent for a public
  domain), ``Endpoint`` (public domains) / ``Endpoints`` (``{"vpc": ...}`` for VPC domains),
  ``LogPublishingOptions`` (``{"AUDIT_LOGS" | "ES_APPLICATION_LOGS" | "SEARCH_SLOW_LOGS" |
  "INDEX_SLOW_LOGS": {"CloudWatchLogsLogGroupArn", "Enabled"}}``; absent when no log is
  published), ``EngineVersion`` (OpenSearch API) / ``ElasticsearchVersion`` (es API),
  ``AccessPolicies`` (policy JSON text).
* ``tags``: ListTags, called once per domain and shared by its two items.
* relationships: the domain's VPC, subnets and security groups.

Domains being deleted (``Deleted: true``) are skipped. When a describe batch fails, its
domains are not recorded and the type is not marked complete for this run (nothing is
recorded as deleted). A failed ListTags leaves ``tags`` empty with the error on the items.
No account-level keys.

Both types are collected by the hook :mod:`phiwatch.collect.opensearch` (its docstring says why).
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

OPENSEARCH_DOMAIN = "AWS::OpenSearch::Domain"
ELASTICSEARCH_DOMAIN = "AWS::Elasticsearch::Domain"


def domain_relationships(status: dict[str, Any]) -> list[dict[str, Any]]:
    """A domain's VPC, subnets and security groups (from its ``VPCOptions``)."""
    vpc = status.get("VPCOptions") or {}
    out: list[dict[str, Any]] = []
    if vpc.get("VPCId"):
        out.append({"resourceType": "AWS::EC2::VPC", "resourceId": vpc["VPCId"], "name": "Is contained in Vpc"})
    out.extend({"resourceType": "AWS::EC2::Subnet", "resourceId": s, "name": "Is contained in Subnet"} for s in vpc.get("SubnetIds") or [])
    out.extend(
        {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": g, "name": "Is associated with SecurityGroup"}
        for g in vpc.get("SecurityGroupIds") or []
    )
    return out


SERVICE = Service(
    "opensearch",
    cost=2,
    resources=(
        ResourceSpec(
            OPENSEARCH_DOMAIN,
            client="opensearch",
            relationships=domain_relationships,
            events=(
                on(
                    "es.amazonaws.com",
                    (
                        "CreateDomain DeleteDomain UpdateDomainConfig CreateElasticsearchDomain "
                        "DeleteElasticsearchDomain UpdateElasticsearchDomainConfig AddTags RemoveTags"
                    ),
                    P("requestParameters.domainName"),
                    R("requestParameters.aRN", "^arn:.*:domain/(.+)$"),
                ),
            ),
        ),
        ResourceSpec(
            ELASTICSEARCH_DOMAIN,
            client="es",
            relationships=domain_relationships,
            events=(
                on(
                    "es.amazonaws.com",
                    (
                        "CreateDomain DeleteDomain UpdateDomainConfig CreateElasticsearchDomain "
                        "DeleteElasticsearchDomain UpdateElasticsearchDomainConfig AddTags RemoveTags"
                    ),
                    P("requestParameters.domainName"),
                    R("requestParameters.aRN", "^arn:.*:domain/(.+)$"),
                ),
            ),
        ),
    ),
    iam=(
        "es:DescribeDomains",
        "es:DescribeElasticsearchDomains",
        "es:ListDomainNames",
        "es:ListTags",
    ),
)
