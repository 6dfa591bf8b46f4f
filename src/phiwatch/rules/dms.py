"""DMS rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.dms`: ``configuration`` is the DescribeReplicationInstances
element (from the listing that made the item).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.dms import REPLICATION_INSTANCE
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule


@rule(
    "dms-replication-not-public",
    reads={"configuration.ReplicationInstanceIdentifier": "DescribeReplicationInstances"},
    aws_identifier="DMS_REPLICATION_NOT_PUBLIC",
    service="AWS DMS",
    resource_types=(REPLICATION_INSTANCE,),
    trigger="periodic",
    severity="critical",
    compliant_when="The DMS replication instance has PubliclyAccessible = false.",
)
def dms_replication_not_public(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """NON_COMPLIANT only when PubliclyAccessible is true, as AWS's page says. AWS always reports the
    key; moto leaves it out when the create call did not set it: such an instance is judged (absent is
    not true, so COMPLIANT) rather than skipped."""
    if get(item, "configuration.PubliclyAccessible") is True:
        return non_compliant("replication instance is publicly accessible")
    return compliant("replication instance is not publicly accessible")
