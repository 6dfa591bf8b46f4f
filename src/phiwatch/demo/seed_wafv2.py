"""Demo AWS WAF web ACLs for the patient portal: one logging to Kinesis Data Firehose, one not logging."""

from __future__ import annotations

from typing import Any

import boto3

from phiwatch.aws.session import make_client


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    waf = make_client(session, "wafv2", endpoint, region)
    account = make_client(session, "sts", endpoint, region).get_caller_identity()["Account"]
    tags = [
        {"Key": "Environment", "Value": "PROD"},
        {"Key": "PHI", "Value": "Yes"},
        {"Key": "InstanceOwnerEmail", "Value": "portal-team@example.org"},
    ]
    created = {}
    for name in ("portal-waf-logging-on", "portal-waf-logging-off"):
        created[name] = waf.create_web_acl(
            Name=name,
            Scope="REGIONAL",
            DefaultAction={"Allow": {}},
            Tags=tags,
            VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name},
        )["Summary"]["ARN"]
    stream = f"arn:aws:firehose:{region}:{account}:deliverystream/aws-waf-logs-portal"
    waf.put_logging_configuration(LoggingConfiguration={"ResourceArn": created["portal-waf-logging-on"], "LogDestinationConfigs": [stream]})
    return {"web_acls": sorted(created)}
