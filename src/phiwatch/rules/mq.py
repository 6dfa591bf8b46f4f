"""Amazon MQ rules: AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.mq`: ``configuration`` is DescribeBroker's answer;
when DescribeBroker failed it is the ListBrokers summary, which has no ``PubliclyAccessible``, and
the rule reports "could not check".
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.mq import BROKER
from phiwatch.rules.base import Result, RuleContext, compliant, non_compliant, rule

CONF = "configuration."


@rule(
    "mq-no-public-access",
    reads={CONF + "PubliclyAccessible": "DescribeBroker"},
    aws_identifier="MQ_NO_PUBLIC_ACCESS",
    service="Amazon MQ",
    resource_types=(BROKER,),
    trigger="periodic",
    severity="high",
    compliant_when="The Amazon MQ broker is not publicly accessible.",
)
def mq_no_public_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if item.configuration.get("PubliclyAccessible") is True:
        return non_compliant("the broker is publicly accessible")
    return compliant("the broker is not publicly accessible")
