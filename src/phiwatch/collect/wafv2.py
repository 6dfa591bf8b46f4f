"""AWS WAF (v2) hook: web ACLs (items described in :mod:`phiwatch.resources.wafv2`) and the
account part mapping load balancers to their web ACL.

Each web ACL is read by its spec (``SpecRun.item``: logging configuration, tags, ``LockToken``
dropped). The hook is needed for what the spec cannot say:

* the listing: ListWebACLs once per scope (REGIONAL everywhere, CLOUDFRONT in us-east-1 only),
  paged by ``NextMarker`` (boto3 has no paginator for it), the scope added to ``configuration``;
* ``AssociatedResources``, read for REGIONAL web ACLs only;
* the account item's ``wafv2LoadBalancerWebAcls``, built from every web ACL's associations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.wafv2 import RULE_GROUP, SERVICE, WEB_ACL

ALB_TYPE = "APPLICATION_LOAD_BALANCER"
CLOUDFRONT_REGION = "us-east-1"
SPEC, RULE_GROUP_SPEC = SERVICE.resources


def list_scope(
    ctx: CollectContext, scope: str, op: str = "ListWebACLs", key: str = "WebACLs", resource_type: str = WEB_ACL
) -> list[dict[str, Any]]:
    """Every web ACL (or rule group: ``ListRuleGroups``, ``RuleGroups``) of ``scope``, paged by
    NextMarker; ListFailed on error."""
    found: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Scope": scope, "Limit": 100}
        if marker:
            kwargs["NextMarker"] = marker
        page = ctx.call("wafv2", op, resource_type=resource_type, **kwargs)
        if page is FAILED:
            raise ListFailed(f"wafv2:{op}")
        found.extend(ctx.identified("wafv2", op, page.get(key), ("Id", "ARN"), resource_type=resource_type))
        marker = page.get("NextMarker")
        if not marker or not page.get(key):
            return found


def list_web_acls(ctx: CollectContext, scope: str) -> list[dict[str, Any]]:
    """Every web ACL of ``scope`` (ListWebACLs pages by NextMarker); ListFailed on error."""
    return list_scope(ctx, scope)


@register
class Wafv2Collector(Collector):
    name = "wafv2"
    resource_types = (WEB_ACL, RULE_GROUP)
    targetable = frozenset({WEB_ACL, RULE_GROUP})  # the account part maps every web ACL's load balancers: not collected alone

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        scopes = ["REGIONAL"] + (["CLOUDFRONT"] if ctx.region == CLOUDFRONT_REGION else [])
        if ctx.wants(RULE_GROUP):
            yield from self._rule_groups(ctx, scopes)
        if not ctx.wants(WEB_ACL):  # a targeted run for other resources
            return
        run = SpecRun(ctx, SPEC, "wafv2")
        account = ctx.account_item()
        elements: list[dict[str, Any]] = []
        complete = True
        for scope in scopes:
            try:
                elements.extend({**e, "Scope": scope} for e in list_web_acls(ctx, scope))
            except ListFailed:
                complete = False
                account.collectionErrors.append(ctx.errors[-1].to_dict())
        elements = [e for e in elements if ctx.selected(WEB_ACL, *run.identifiers(e))]
        items = [i for i in ctx.map(lambda e: self._item(ctx, run, e), elements) if i is not None]
        yield from items
        if ctx.only is not None:  # targeted: just the wanted web ACLs, no account summary
            if complete:
                ctx.mark_complete(WEB_ACL)
            return
        if complete:
            ctx.mark_complete(WEB_ACL)
            associations: dict[str, dict[str, Any]] | None = {}
            for item in items:
                if item.configuration.get("Scope") != "REGIONAL":
                    continue
                arns = item.supplementaryConfiguration.get("AssociatedResources", FAILED)
                if arns is FAILED:
                    associations = None
                    account.collectionErrors.extend(e for e in item.collectionErrors if e.get("api") == "ListResourcesForWebACL")
                    continue
                if associations is not None:
                    ref = {"Id": item.resourceId, "Name": item.resourceName, "ARN": item.arn}
                    for arn in arns:
                        associations[arn] = ref
            if associations is not None:
                account.configuration["wafv2LoadBalancerWebAcls"] = associations
        yield account

    def _rule_groups(self, ctx: CollectContext, scopes: list[str]) -> Iterator[ConfigurationItem]:
        run = SpecRun(ctx, RULE_GROUP_SPEC, "wafv2")
        elements: list[dict[str, Any]] = []
        complete = True
        for scope in scopes:
            try:
                elements.extend({**e, "Scope": scope} for e in list_scope(ctx, scope, "ListRuleGroups", "RuleGroups", RULE_GROUP))
            except ListFailed:
                complete = False
        elements = [e for e in elements if ctx.selected(RULE_GROUP, *run.identifiers(e))]
        for item in ctx.map(run.item, elements):
            if item is not None:
                yield item
        if complete:
            ctx.mark_complete(RULE_GROUP)

    def _item(self, ctx: CollectContext, run: SpecRun, element: dict[str, Any]) -> ConfigurationItem | None:
        item = run.item(element)
        if item is not None and element["Scope"] == "REGIONAL":
            resources = ctx.call("wafv2", "ListResourcesForWebACL", item=item, WebACLArn=element["ARN"], ResourceType=ALB_TYPE)
            if resources is not FAILED:
                item.supplementaryConfiguration["AssociatedResources"] = sorted(resources.get("ResourceArns") or [])
            item.refresh_state_id()
        return item
