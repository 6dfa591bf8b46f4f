"""Elastic Load Balancing: ALB/NLB/GWLB (collector ``elbv2``) and Classic Load Balancers (``elb``).

``AWS::ElasticLoadBalancingV2::LoadBalancer`` (collector ``elbv2``):

* resourceId and arn ``LoadBalancerArn`` (AWS Config's id), resourceName ``LoadBalancerName``.
* ``configuration``: DescribeLoadBalancers' element (``Type`` application|network|gateway,
  ``Scheme``, ``VpcId``, ``AvailabilityZones``, ``SecurityGroups``, ...).
* ``supplementaryConfiguration.Attributes``: DescribeLoadBalancerAttributes as a dict
  ``{key: value}`` with string values as AWS returns them, e.g. ``"access_logs.s3.enabled":
  "false"``, ``"deletion_protection.enabled"``, ``"routing.http.drop_invalid_header_fields.enabled"``,
  ``"waf.fail_open.enabled"``. AWS always returns ``access_logs.s3.enabled``; moto omits it until
  it is set, so treat a missing key as ``"false"``.
* ``supplementaryConfiguration.Listeners``: DescribeListeners' elements (``Protocol``, ``Port``,
  ``SslPolicy``, ``Certificates`` (the default certificate), ``DefaultActions`` with
  ``Type`` forward|redirect|fixed-response|... and ``RedirectConfig`` for redirects).
* ``tags``: DescribeTags, batched 20 ARNs per call.
* relationships: VPC, subnets, security groups.

``AWS::ElasticLoadBalancing::LoadBalancer`` (collector ``elb``, Classic Load Balancers):

* resourceId and resourceName ``LoadBalancerName`` (AWS Config's id), arn
  ``arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/<name>``.
* ``configuration``: DescribeLoadBalancers' element (``ListenerDescriptions`` with each
  listener's ``Protocol``, ``SSLCertificateId`` and ``PolicyNames``, ``Policies``, ``Scheme``, ...).
* ``supplementaryConfiguration.LoadBalancerAttributes``: DescribeLoadBalancerAttributes'
  ``{"AccessLog": {"Enabled", "S3BucketName", ...}, "CrossZoneLoadBalancing": {"Enabled"},
  "ConnectionDraining", "ConnectionSettings", ...}``.
* ``supplementaryConfiguration.PolicyDescriptions``: DescribeLoadBalancerPolicies' list (an SSL
  negotiation policy's ``PolicyAttributeDescriptions`` hold ``Reference-Security-Policy``).
* ``tags``: DescribeTags, batched 20 names per call.

A supplementary key that is absent means its call failed (see ``collectionErrors``). A failed
tag batch records the error on every item of the batch. No account-level keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.elb import LOAD_BALANCER
from phiwatch.resources.elbv2 import LOAD_BALANCER_V2

TAG_BATCH = 20  # DescribeTags accepts at most 20 ARNs / names per call


def _batched_tags(
    ctx: CollectContext,
    service: str,
    items: list[ConfigurationItem],
    param: str,
    ident: Callable[[ConfigurationItem], str],
    key: str,
) -> None:
    """Set ``tags`` on ``items`` with one DescribeTags call per 20 resources."""
    for start in range(0, len(items), TAG_BATCH):
        batch = items[start : start + TAG_BATCH]
        params: dict[str, Any] = {param: [ident(i) for i in batch]}
        response = ctx.call(service, "DescribeTags", item=batch[0], **params)
        if response is FAILED:
            error = batch[0].collectionErrors[-1]
            for other in batch[1:]:
                other.collectionErrors.append({**error, "resource_id": other.resourceId})
            continue
        by_id = {d.get(key): tags_from_list(d.get("Tags")) for d in response.get("TagDescriptions") or []}
        for item in batch:
            item.tags = by_id.get(ident(item), {})


@register
class Elbv2Collector(Collector):
    name = "elbv2"
    resource_types = (LOAD_BALANCER_V2,)
    targetable = frozenset({LOAD_BALANCER_V2})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(LOAD_BALANCER_V2):  # a targeted run for other services' resources
            return
        try:
            elements = list(
                ctx.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers", resource_type=LOAD_BALANCER_V2, id_key="LoadBalancerArn")
            )
        except ListFailed:
            return
        elements = [e for e in elements if ctx.selected(LOAD_BALANCER_V2, e.get("LoadBalancerArn"), e.get("LoadBalancerName"))]
        items = [self._item(ctx, e) for e in elements]
        _batched_tags(ctx, "elbv2", items, "ResourceArns", lambda i: i.resourceId, "ResourceArn")
        yield from ctx.map(lambda i: self._details(ctx, i), items)
        ctx.mark_complete(LOAD_BALANCER_V2)

    def _item(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        arn = element["LoadBalancerArn"]
        relationships: list[dict[str, Any]] = []
        if element.get("VpcId"):
            relationships.append({"resourceType": "AWS::EC2::VPC", "resourceId": element["VpcId"], "name": "Is contained in Vpc"})
        for zone in element.get("AvailabilityZones") or []:
            if zone.get("SubnetId"):
                relationships.append({"resourceType": "AWS::EC2::Subnet", "resourceId": zone["SubnetId"], "name": "Is attached to Subnet"})
        for sg in element.get("SecurityGroups") or []:
            relationships.append({"resourceType": "AWS::EC2::SecurityGroup", "resourceId": sg, "name": "Is associated with SecurityGroup"})
        return ctx.item(
            LOAD_BALANCER_V2,
            arn,
            resourceName=element.get("LoadBalancerName"),
            arn=arn,
            configuration=element,
            relationships=relationships,
        )

    def _details(self, ctx: CollectContext, item: ConfigurationItem) -> ConfigurationItem:
        arn = item.resourceId
        attributes = ctx.call("elbv2", "DescribeLoadBalancerAttributes", item=item, LoadBalancerArn=arn)
        if attributes is not FAILED:
            item.supplementaryConfiguration["Attributes"] = {
                a["Key"]: a.get("Value") for a in attributes.get("Attributes") or [] if "Key" in a
            }
        try:
            item.supplementaryConfiguration["Listeners"] = list(
                ctx.paginate("elbv2", "DescribeListeners", "Listeners", item=item, LoadBalancerArn=arn)
            )
        except ListFailed:
            pass
        item.refresh_state_id()
        return item


@register
class ClassicElbCollector(Collector):
    name = "elb"
    resource_types = (LOAD_BALANCER,)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            elements = list(
                ctx.paginate(
                    "elb", "DescribeLoadBalancers", "LoadBalancerDescriptions", resource_type=LOAD_BALANCER, id_key="LoadBalancerName"
                )
            )
        except ListFailed:
            return
        items = [
            ctx.item(
                LOAD_BALANCER,
                e["LoadBalancerName"],
                resourceName=e["LoadBalancerName"],
                arn=ctx.arn("elasticloadbalancing", f"loadbalancer/{e['LoadBalancerName']}"),
                configuration=e,
            )
            for e in elements
        ]
        _batched_tags(ctx, "elb", items, "LoadBalancerNames", lambda i: i.resourceId, "LoadBalancerName")
        yield from ctx.map(lambda i: self._details(ctx, i), items)
        ctx.mark_complete(LOAD_BALANCER)

    def _details(self, ctx: CollectContext, item: ConfigurationItem) -> ConfigurationItem:
        name = item.resourceId
        attributes = ctx.call("elb", "DescribeLoadBalancerAttributes", item=item, LoadBalancerName=name)
        if attributes is not FAILED:
            item.supplementaryConfiguration["LoadBalancerAttributes"] = attributes.get("LoadBalancerAttributes")
        policies = ctx.call("elb", "DescribeLoadBalancerPolicies", item=item, LoadBalancerName=name)
        if policies is not FAILED:
            item.supplementaryConfiguration["PolicyDescriptions"] = policies.get("PolicyDescriptions") or []
        item.refresh_state_id()
        return item
