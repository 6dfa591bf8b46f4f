"""SES receipt rules, collected by a hook: the item layout is in :mod:`phiwatch.resources.ses`.

Why a hook: receipt rules are listed per rule set (ListReceiptRuleSets, then
DescribeReceiptRuleSet of each), and a rule's item carries its rule set's name. A spec's listing is
one operation over one page key, so the type is not expressible as a
:class:`~phiwatch.resources.spec.ResourceSpec` yet; ``SERVICE.iam`` of :mod:`phiwatch.resources.ses`
lists the calls made here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.model import ConfigurationItem
from phiwatch.resources.ses import RECEIPT_RULE


@register
class SesCollector(Collector):
    name = "ses"
    resource_types = (RECEIPT_RULE,)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(RECEIPT_RULE):
            return
        try:
            sets = list(ctx.paginate("ses", "ListReceiptRuleSets", "RuleSets", resource_type=RECEIPT_RULE, id_key="Name"))
        except ListFailed:
            return
        wanted = ctx.targets(RECEIPT_RULE)
        if wanted is not None and all("/" in w for w in wanted):  # a targeted run reads only the rule sets it names
            names = {w.split("/", 1)[0] for w in wanted}
            sets = [s for s in sets if s["Name"] in names]
        complete = True
        described = ctx.map(
            lambda s: ctx.call("ses", "DescribeReceiptRuleSet", resource_type=RECEIPT_RULE, resource_id=s["Name"], RuleSetName=s["Name"]),
            sets,
        )
        for rule_set, response in zip(sets, described):
            if response is FAILED:
                complete = False
                continue
            for rule in ctx.identified("ses", "DescribeReceiptRuleSet", response.get("Rules"), "Name", resource_type=RECEIPT_RULE):
                rid = f"{rule_set['Name']}/{rule['Name']}"
                if ctx.selected(RECEIPT_RULE, rid, rule["Name"]):
                    yield self._rule(ctx, rule_set["Name"], rule)
        if complete:
            ctx.mark_complete(RECEIPT_RULE)

    def _rule(self, ctx: CollectContext, rule_set: str, rule: dict[str, Any]) -> ConfigurationItem:
        item = ctx.item(
            RECEIPT_RULE,
            f"{rule_set}/{rule['Name']}",
            resourceName=rule["Name"],
            configuration=dict(rule),
            supplementaryConfiguration={"RuleSet": {"Name": rule_set}},
        )
        item.refresh_state_id()
        return item
