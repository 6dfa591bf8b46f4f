"""OpenSearch Service rules (the HIPAA pack's and other AWS Config managed rules, AWS's semantics):
``opensearch-*`` on AWS::OpenSearch::Domain and the legacy ``elasticsearch-*`` on
AWS::Elasticsearch::Domain.

Items are described in :mod:`phiwatch.resources.opensearch`: ``configuration`` is the DomainStatus
element (``VPCOptions`` and ``LogPublishingOptions`` are absent when not configured). An item
exists only when its describe call succeeded, so ``DomainName`` is always there.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.opensearch import ELASTICSEARCH_DOMAIN, OPENSEARCH_DOMAIN
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, rule

CONF = "configuration."
OS_READS = {CONF + "DomainName": "DescribeDomains"}
ES_READS = {CONF + "DomainName": "DescribeElasticsearchDomains"}

# logTypes parameter values (AWS documents 'search', 'index', 'error') -> LogPublishingOptions keys
LOG_TYPES = {
    "search": "SEARCH_SLOW_LOGS",
    "index": "INDEX_SLOW_LOGS",
    "error": "ES_APPLICATION_LOGS",
    "application": "ES_APPLICATION_LOGS",
    "audit": "AUDIT_LOGS",
}


def _encrypted_at_rest(item: ConfigurationItem) -> Result:
    options = get(item, CONF + "EncryptionAtRestOptions") or {}
    if options.get("Enabled"):
        return compliant("encryption at rest is enabled")
    return non_compliant("encryption at rest is not enabled")


def _node_to_node(item: ConfigurationItem) -> Result:
    options = get(item, CONF + "NodeToNodeEncryptionOptions") or {}
    if options.get("Enabled"):
        return compliant("node-to-node encryption is enabled")
    return non_compliant("node-to-node encryption is not enabled")


def _in_vpc(item: ConfigurationItem) -> Result:
    vpc = get(item, CONF + "VPCOptions") or {}
    endpoints = get(item, CONF + "Endpoints") or {}
    if vpc.get("VPCId") or vpc.get("SubnetIds") or "vpc" in endpoints:
        where = f" ({vpc['VPCId']})" if vpc.get("VPCId") else ""
        return compliant(f"domain endpoint is in a VPC{where}")
    return non_compliant("domain has a public endpoint (no VPC options)")


def _logs_to_cloudwatch(item: ConfigurationItem, params: dict) -> Result:
    options = get(item, CONF + "LogPublishingOptions") or {}
    enabled = sorted(k for k, v in options.items() if (v or {}).get("Enabled") and (v or {}).get("CloudWatchLogsLogGroupArn"))
    wanted = csv_list(params.get("logTypes"))
    if wanted:
        keys = [LOG_TYPES.get(t.lower(), t.upper()) for t in wanted]
        missing = [k for k in keys if k not in enabled]
        if missing:
            return non_compliant(f"logs not sent to CloudWatch Logs: {', '.join(missing)}")
        return compliant(f"sends {', '.join(keys)} to CloudWatch Logs")
    if not enabled:
        return non_compliant("no logs are sent to CloudWatch Logs")
    return compliant(f"sends {', '.join(enabled)} to CloudWatch Logs")


@rule(
    "opensearch-encrypted-at-rest",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_ENCRYPTED_AT_REST",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="high",
    compliant_when="Encryption at rest (EncryptionAtRestOptions) is enabled on the OpenSearch Service domain.",
)
def opensearch_encrypted_at_rest(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _encrypted_at_rest(item)


@rule(
    "opensearch-node-to-node-encryption-check",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_NODE_TO_NODE_ENCRYPTION_CHECK",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="high",
    compliant_when="Node-to-node encryption is enabled on the OpenSearch Service domain.",
)
def opensearch_node_to_node_encryption_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _node_to_node(item)


@rule(
    "opensearch-in-vpc-only",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_IN_VPC_ONLY",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="high",
    compliant_when="The OpenSearch Service domain endpoint is in a VPC (not public).",
)
def opensearch_in_vpc_only(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _in_vpc(item)


@rule(
    "opensearch-logs-to-cloudwatch",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_LOGS_TO_CLOUDWATCH",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="medium",
    compliant_when="The OpenSearch Service domain sends logs to CloudWatch Logs (logTypes if set).",
    parameters={"logTypes": ("str", None)},
)
def opensearch_logs_to_cloudwatch(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _logs_to_cloudwatch(item, params)


@rule(
    "opensearch-https-required",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_HTTPS_REQUIRED",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="high",
    compliant_when="The OpenSearch domain has EnforceHTTPS = true (and TLSSecurityPolicy in tlsPolicies if that parameter is set).",
    parameters={"tlsPolicies": ("str", None)},
    aws_runbook="AWSConfigRemediation-EnforceHTTPSOnOpenSearchDomain",
)
def opensearch_https_required(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    options = get(item, CONF + "DomainEndpointOptions") or {}
    if not options.get("EnforceHTTPS"):
        return non_compliant("HTTPS is not enforced (EnforceHTTPS is off)")
    policy = options.get("TLSSecurityPolicy")
    allowed = csv_list(params.get("tlsPolicies"))
    if allowed and policy not in allowed:
        return non_compliant(f"TLS security policy {policy or 'not set'} is not one of tlsPolicies")
    return compliant(f"HTTPS is enforced (TLS policy {policy or 'default'})")


@rule(
    "elasticsearch-encrypted-at-rest",
    reads=ES_READS,
    aws_identifier="ELASTICSEARCH_ENCRYPTED_AT_REST",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(ELASTICSEARCH_DOMAIN,),
    trigger="periodic",
    severity="high",
    compliant_when="Encryption at rest (EncryptionAtRestOptions) is enabled on the Elasticsearch/OpenSearch domain.",
)
def elasticsearch_encrypted_at_rest(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _encrypted_at_rest(item)


@rule(
    "elasticsearch-node-to-node-encryption-check",
    reads=ES_READS,
    aws_identifier="ELASTICSEARCH_NODE_TO_NODE_ENCRYPTION_CHECK",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(ELASTICSEARCH_DOMAIN,),
    trigger="change",
    severity="high",
    compliant_when="Node-to-node encryption is enabled on the Elasticsearch domain.",
)
def elasticsearch_node_to_node_encryption_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _node_to_node(item)


@rule(
    "elasticsearch-in-vpc-only",
    reads=ES_READS,
    aws_identifier="ELASTICSEARCH_IN_VPC_ONLY",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(ELASTICSEARCH_DOMAIN,),
    trigger="periodic",
    severity="high",
    compliant_when="The Elasticsearch/OpenSearch domain endpoint is in a VPC (not public).",
)
def elasticsearch_in_vpc_only(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _in_vpc(item)


@rule(
    "elasticsearch-logs-to-cloudwatch",
    reads=ES_READS,
    aws_identifier="ELASTICSEARCH_LOGS_TO_CLOUDWATCH",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(ELASTICSEARCH_DOMAIN,),
    trigger="change",
    severity="medium",
    compliant_when="The Elasticsearch domain is configured to send logs to CloudWatch Logs.",
    parameters={"logTypes": ("str", None)},
)
def elasticsearch_logs_to_cloudwatch(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _logs_to_cloudwatch(item, params)


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------


def _log_group(arn: object) -> str:
    """A log group ARN without the ``:*`` some tools append."""
    text = str(arn or "")
    return text[:-2] if text.endswith(":*") else text


@rule(
    "opensearch-access-control-enabled",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_ACCESS_CONTROL_ENABLED",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="high",
    compliant_when="Fine-grained access control (AdvancedSecurityOptions) is enabled on the OpenSearch Service domain.",
)
def opensearch_access_control_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if (get(item, CONF + "AdvancedSecurityOptions") or {}).get("Enabled") is True:
        return compliant("fine-grained access control is enabled")
    return non_compliant("fine-grained access control is not enabled")


@rule(
    "opensearch-audit-logging-enabled",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_AUDIT_LOGGING_ENABLED",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="medium",
    compliant_when="The OpenSearch Service domain publishes audit logs (to one of cloudWatchLogsLogGroupArnList when set).",
    parameters={"cloudWatchLogsLogGroupArnList": ("str", None)},
)
def opensearch_audit_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Audit logs are LogPublishingOptions.AUDIT_LOGS with Enabled true. A log group ARN is compared with
    and without a trailing ``:*``."""
    audit = (get(item, CONF + "LogPublishingOptions") or {}).get("AUDIT_LOGS") or {}
    if audit.get("Enabled") is not True:
        return non_compliant("audit logs are not published")
    wanted = {_log_group(arn) for arn in csv_list(params.get("cloudWatchLogsLogGroupArnList"))}
    if wanted and _log_group(audit.get("CloudWatchLogsLogGroupArn")) not in wanted:
        return non_compliant("audit logs go to a log group that is not one of cloudWatchLogsLogGroupArnList")
    return compliant("audit logs are published to CloudWatch Logs")


@rule(
    "opensearch-data-node-fault-tolerance",
    reads=OS_READS,
    aws_identifier="OPENSEARCH_DATA_NODE_FAULT_TOLERANCE",
    service="Amazon OpenSearch Service (incl. legacy Elasticsearch)",
    resource_types=(OPENSEARCH_DOMAIN,),
    trigger="change",
    severity="medium",
    compliant_when="The OpenSearch Service domain has at least three data nodes and zone awareness enabled.",
)
def opensearch_data_node_fault_tolerance(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    cluster = get(item, CONF + "ClusterConfig") or {}
    count = int(cluster.get("InstanceCount") or 0)
    problems = []
    if count < 3:
        problems.append(f"{count} data node(s), fewer than 3")
    if cluster.get("ZoneAwarenessEnabled") is not True:
        problems.append("zone awareness is off")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant(f"{count} data nodes with zone awareness")
