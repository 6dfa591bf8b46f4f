"""OpenSearch Service domains, recorded as AWS::OpenSearch::Domain and as the legacy"""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

OPENSEARCH_DOMAIN = "AWS::OpenSearch::Domain"
ELASTICSEARCH_DOMAIN = "AWS::Elasticsearch::Domain"

SERVICE = Service(
    "opensearch",
    resources=(
        ResourceSpec(
            OPENSEARCH_DOMAIN,
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
