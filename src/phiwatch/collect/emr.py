"""The EMR hook: clusters are listed and identified from their spec (:mod:`phiwatch.resources.emr`,
which describes the item layout); the per-cluster reads are irregular for the generic collector:

* DescribeCluster's ``Cluster`` is both the configuration (without ``Tags``, passwords removed,
  application properties redacted) and the source of the tags;
* ``SecurityConfiguration`` is ``None`` only when DescribeCluster answered without one;
* ListInstances (paginated) asks for the master instance group or fleet, depending on the
  described ``InstanceCollectionType``;
* DescribeSecurityConfiguration is called once per name and copied onto every cluster using it
  (its error too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.emr import CLUSTER, SPEC

REDACTED = "REDACTED"


def redact_configurations(configurations: Any) -> Any:
    """Application configurations with every property value replaced (classifications kept)."""
    if not isinstance(configurations, list):
        return configurations
    out = []
    for conf in configurations:
        conf = dict(conf)
        if isinstance(conf.get("Properties"), dict):
            conf["Properties"] = {k: REDACTED for k in conf["Properties"]}
        if "Configurations" in conf:
            conf["Configurations"] = redact_configurations(conf["Configurations"])
        out.append(conf)
    return out


def _clean_cluster(cluster: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in cluster.items() if k != "Tags"}
    if isinstance(clean.get("KerberosAttributes"), dict):
        clean["KerberosAttributes"] = {k: v for k, v in clean["KerberosAttributes"].items() if not k.endswith("Password")}
    if "Configurations" in clean:
        clean["Configurations"] = redact_configurations(clean["Configurations"])
    return clean


@register
class EmrCollector(Collector):
    name = "emr"
    resource_types = (CLUSTER,)
    targetable = frozenset({CLUSTER})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(CLUSTER):  # a targeted run for other services' resources
            return
        run = SpecRun(ctx, SPEC, "emr")
        clusters = run.elements()
        if clusters is None:
            return
        items = list(ctx.map(lambda c: self._cluster(ctx, run, c), clusters))
        self._security_configurations(ctx, items)
        for item in items:
            item.refresh_state_id()
            yield item
        ctx.mark_complete(CLUSTER)

    def _cluster(self, ctx: CollectContext, run: SpecRun, listed: dict[str, Any]) -> ConfigurationItem:
        cid, name, arn = run.identifiers(listed)
        assert cid is not None  # the listing keeps only elements with their Id
        item = ctx.item(CLUSTER, cid, resourceName=name or cid, arn=arn, configuration=dict(listed))
        described = ctx.call("emr", "DescribeCluster", item=item, ClusterId=cid)
        if described is not FAILED:
            cluster = described.get("Cluster") or {}
            item.configuration = _clean_cluster(cluster)
            item.tags = tags_from_list(cluster.get("Tags"))
            if not cluster.get("SecurityConfiguration"):
                item.supplementaryConfiguration["SecurityConfiguration"] = None
        if item.configuration.get("InstanceCollectionType") == "INSTANCE_FLEET":
            selector: dict[str, Any] = {"InstanceFleetType": "MASTER"}
        else:
            selector = {"InstanceGroupTypes": ["MASTER"]}
        try:
            item.supplementaryConfiguration["MasterInstances"] = list(
                ctx.paginate("emr", "ListInstances", "Instances", item=item, ClusterId=cid, **selector)
            )
        except ListFailed:
            pass
        return item

    def _security_configurations(self, ctx: CollectContext, items: list[ConfigurationItem]) -> None:
        """One DescribeSecurityConfiguration per name used, copied onto each cluster using it."""
        by_name: dict[str, list[ConfigurationItem]] = {}
        for item in items:
            name = item.configuration.get("SecurityConfiguration")
            if name:
                by_name.setdefault(name, []).append(item)

        def describe(name: str) -> None:
            users = by_name[name]
            response = ctx.call("emr", "DescribeSecurityConfiguration", item=users[0], Name=name)
            if response is FAILED:
                for other in users[1:]:
                    other.collectionErrors.extend(
                        {**e, "resource_id": other.resourceId}
                        for e in users[0].collectionErrors
                        if e.get("api") == "DescribeSecurityConfiguration"
                    )
                return
            try:
                parsed = json.loads(response.get("SecurityConfiguration") or "{}")
            except ValueError:
                parsed = {}
            for user in users:
                user.supplementaryConfiguration["SecurityConfiguration"] = parsed

        for _ in ctx.map(describe, list(by_name)):
            pass
