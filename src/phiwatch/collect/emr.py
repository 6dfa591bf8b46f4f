"""The EMR hook: each cluster is listed, described, tagged and redacted by its spec
(:mod:`phiwatch.resources.emr`, which describes the item layout); the hook adds the
``supplementaryConfiguration`` reads the generic collector cannot express:

* ``SecurityConfiguration`` is ``None`` only when DescribeCluster answered without one;
* ListInstances (paginated) asks for the master instance group or fleet, depending on the
  described ``InstanceCollectionType`` (a parameter whose name depends on the configuration);
* DescribeSecurityConfiguration is called once per name and copied onto every cluster using it
  (its error too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.emr import CLUSTER, SPEC


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
        items = [item for item in ctx.map(lambda c: self._cluster(ctx, run, c), clusters) if item is not None]
        self._security_configurations(ctx, items)
        for item in items:
            item.refresh_state_id()
            yield item
        ctx.mark_complete(CLUSTER)

    def _cluster(self, ctx: CollectContext, run: SpecRun, listed: dict[str, Any]) -> ConfigurationItem | None:
        item = run.item(listed)
        if item is None:
            return None
        described = not any(e.get("api") == "DescribeCluster" for e in item.collectionErrors)
        if described and not item.configuration.get("SecurityConfiguration"):
            item.supplementaryConfiguration["SecurityConfiguration"] = None
        if item.configuration.get("InstanceCollectionType") == "INSTANCE_FLEET":
            selector: dict[str, Any] = {"InstanceFleetType": "MASTER"}
        else:
            selector = {"InstanceGroupTypes": ["MASTER"]}
        try:
            item.supplementaryConfiguration["MasterInstances"] = list(
                ctx.paginate("emr", "ListInstances", "Instances", item=item, ClusterId=item.resourceId, **selector)
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
