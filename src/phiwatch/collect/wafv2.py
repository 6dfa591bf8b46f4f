"""AWS WAF (v2): web ACLs (AWS::WAFv2::WebACL) and which load balancers they protect (AWS::::Account).

``AWS::WAFv2::WebACL`` (collector ``wafv2``), REGIONAL web ACLs in every region and, in
us-east-1 only, CLOUDFRONT web ACLs (AWS Config records those in us-east-1):

* resourceId ``Id``, resourceName ``Name``, arn ``ARN``.
* ``configuration``: ListWebACLs' element without the volatile ``LockToken``
  (``Name``, ``Id``, ``ARN``, ``Description``) plus ``Scope`` (REGIONAL|CLOUDFRONT).
* ``supplementaryConfiguration.LoggingConfiguration``: GetLoggingConfiguration's
  ``LoggingConfiguration`` (``LogDestinationConfigs``, ``RedactedFields``, ...) or ``None`` when
  logging is off.
* ``supplementaryConfiguration.AssociatedResources`` (REGIONAL only): ListResourcesForWebACL's
  ``ResourceArns`` for ``APPLICATION_LOAD_BALANCER`` (one call per web ACL, not one per ALB).
* ``tags``: ListTagsForResource.

Account item (per region): ``configuration.wafv2LoadBalancerWebAcls`` =
``{load balancer ARN: {"Id", "Name", "ARN"} of its web ACL}`` for every ALB associated with a
REGIONAL web ACL. Present only when the listing and every association read succeeded; absent
(with the failed call in the account item's ``collectionErrors``) otherwise.

A supplementary key that is absent means its call failed (see ``collectionErrors``); ``None``
means "not configured". AWS WAF Classic (``waf-regional``) associations are not collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.wafv2 import WEB_ACL

ALB_TYPE = "APPLICATION_LOAD_BALANCER"
CLOUDFRONT_REGION = "us-east-1"
NOT_FOUND = ("WAFNonexistentItemException",)


def list_web_acls(ctx: CollectContext, scope: str) -> list[dict[str, Any]]:
    """Every web ACL of ``scope`` (ListWebACLs pages by NextMarker); ListFailed on error."""
    acls: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Scope": scope, "Limit": 100}
        if marker:
            kwargs["NextMarker"] = marker
        page = ctx.call("wafv2", "ListWebACLs", resource_type=WEB_ACL, **kwargs)
        if page is FAILED:
            raise ListFailed("wafv2:ListWebACLs")
        acls.extend(ctx.identified("wafv2", "ListWebACLs", page.get("WebACLs"), ("Id", "ARN"), resource_type=WEB_ACL))
        marker = page.get("NextMarker")
        if not marker or not page.get("WebACLs"):
            return acls


@register
class Wafv2Collector(Collector):
    name = "wafv2"
    resource_types = (WEB_ACL,)
    targetable = frozenset({WEB_ACL})  # the account part maps every web ACL's load balancers: not collected alone

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(WEB_ACL):  # a targeted run for other services' resources
            return
        account = ctx.account_item()
        scopes = ["REGIONAL"] + (["CLOUDFRONT"] if ctx.region == CLOUDFRONT_REGION else [])
        elements: list[tuple[str, dict[str, Any]]] = []
        complete = True
        for scope in scopes:
            try:
                elements.extend((scope, e) for e in list_web_acls(ctx, scope))
            except ListFailed:
                complete = False
                account.collectionErrors.append(ctx.errors[-1].to_dict())
        elements = [(s, e) for s, e in elements if ctx.selected(WEB_ACL, e.get("Id"), e.get("Name"), e.get("ARN"))]
        items = list(ctx.map(lambda e: self._item(ctx, *e), elements))
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

    def _item(self, ctx: CollectContext, scope: str, element: dict[str, Any]) -> ConfigurationItem:
        configuration = {k: v for k, v in element.items() if k != "LockToken"}
        configuration["Scope"] = scope
        arn = element["ARN"]
        item = ctx.item(WEB_ACL, element["Id"], resourceName=element.get("Name"), arn=arn, configuration=configuration)
        logging = ctx.call("wafv2", "GetLoggingConfiguration", item=item, not_found=NOT_FOUND, absent=None, ResourceArn=arn)
        if logging is not FAILED:
            item.supplementaryConfiguration["LoggingConfiguration"] = (logging or {}).get("LoggingConfiguration")
        if scope == "REGIONAL":
            resources = ctx.call("wafv2", "ListResourcesForWebACL", item=item, WebACLArn=arn, ResourceType=ALB_TYPE)
            if resources is not FAILED:
                item.supplementaryConfiguration["AssociatedResources"] = sorted(resources.get("ResourceArns") or [])
        tags = ctx.call("wafv2", "ListTagsForResource", item=item, ResourceARN=arn)
        if tags is not FAILED:
            item.tags = tags_from_list((tags.get("TagInfoForResource") or {}).get("TagList"))
        item.refresh_state_id()
        return item
