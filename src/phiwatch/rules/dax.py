"""DynamoDB Accelerator (DAX) rules (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.dax`: ``configuration`` is the DescribeClusters
element, so an item exists only when its listing succeeded.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.dax import CLUSTER
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule

CONF = "configuration."


@rule(
    "dax-encryption-enabled",
    reads={CONF + "ClusterName": "DescribeClusters"},
    aws_identifier="DAX_ENCRYPTION_ENABLED",
    service="Amazon DynamoDB Accelerator (DAX)",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="high",
    compliant_when="The DAX cluster is encrypted at rest (SSEDescription status ENABLED).",
)
def dax_encryption_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's 2023 page listed no resource type (an account-level periodic rule); its current page judges
    each AWS::DAX::Cluster, and so does phiwatch. Encryption at rest is SSEDescription.Status ENABLED;
    ENABLING (a cluster being created) is not yet, and a cluster without SSEDescription is not encrypted."""
    status = str((get(item, CONF + "SSEDescription") or {}).get("Status") or "DISABLED")
    if status == "ENABLED":
        return compliant("encryption at rest is enabled")
    return non_compliant(f"encryption at rest is {status.lower()}")
