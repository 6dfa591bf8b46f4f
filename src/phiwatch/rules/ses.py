"""Amazon SES rules: AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.ses`: a receipt rule's ``configuration`` is the rule
as DescribeReceiptRuleSet lists it, where an absent ``ScanEnabled`` means scanning is off. A rule's
item exists only when its rule set was described, so there is no "could not check" case.
Every recorded receipt rule is judged, enabled or not and in the active rule set or not (AWS's
rule judges each ``AWS::SES::ReceiptRule``).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ses import RECEIPT_RULE
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule


@rule(
    "ses-malware-scanning-enabled",
    reads={},
    aws_identifier="SES_MALWARE_SCANNING_ENABLED",
    service="Amazon SES",
    resource_types=(RECEIPT_RULE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The SES receipt rule scans incoming messages for spam and viruses (ScanEnabled).",
)
def ses_malware_scanning_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, "configuration.ScanEnabled") is True:
        return compliant("the receipt rule scans messages for spam and viruses")
    return non_compliant("the receipt rule does not scan messages for spam and viruses")
