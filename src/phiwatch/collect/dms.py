"""DMS: replication instances (AWS::DMS::ReplicationInstance), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``ReplicationInstanceIdentifier``; ``arn``: the
  ``ReplicationInstanceArn``.
* ``configuration``: DescribeReplicationInstances' element in boto3 shape; keys rules read:
  ``PubliclyAccessible`` (bool), ``ReplicationInstancePublicIpAddresses``, ``KmsKeyId``,
  ``MultiAZ``, ``AutoMinorVersionUpgrade``, ``ReplicationSubnetGroup``.
* ``tags``: ListTagsForResource (``{}`` and an error on the item when it failed).
* ``relationships``: the KMS key when ``KmsKeyId`` is a key ARN or KeyId.

No account-level keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.dms import REPLICATION_INSTANCE
from phiwatch.resources.kms import kms_key_relationship


@register
class DmsCollector(Collector):
    name = "dms"
    resource_types = (REPLICATION_INSTANCE,)
    targetable = frozenset({REPLICATION_INSTANCE})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        wanted = ctx.targets(REPLICATION_INSTANCE)
        # the describe calls' parameters: one unfiltered call, or one filtered call per kind of identifier
        requests: list[dict[str, Any]] = [{}]
        if wanted is not None:  # targeted: filter by identifier and by ARN (DMS answers ResourceNotFoundFault when none match)
            arns = sorted(i for i in wanted if i.startswith("arn:"))
            names = sorted(i for i in wanted if not i.startswith("arn:"))
            requests = [
                {"Filters": [{"Name": name, "Values": values}]}
                for name, values in (("replication-instance-id", names), ("replication-instance-arn", arns))
                if values
            ]
        try:
            instances = list(
                {
                    i["ReplicationInstanceIdentifier"]: i
                    for params in requests
                    for i in ctx.paginate(
                        "dms",
                        "DescribeReplicationInstances",
                        "ReplicationInstances",
                        resource_type=REPLICATION_INSTANCE,
                        id_key="ReplicationInstanceIdentifier",
                        not_found=("ResourceNotFoundFault",) if params else (),
                        **params,
                    )
                }.values()
            )
        except ListFailed:
            return
        yield from ctx.map(lambda i: self._instance(ctx, i), instances)
        ctx.mark_complete(REPLICATION_INSTANCE)

    def _instance(self, ctx: CollectContext, instance: dict[str, Any]) -> ConfigurationItem:
        rid = instance["ReplicationInstanceIdentifier"]
        arn = instance.get("ReplicationInstanceArn") or ctx.arn("dms", f"rep:{rid}")
        item = ctx.item(
            REPLICATION_INSTANCE,
            rid,
            resourceName=rid,
            arn=arn,
            configuration=instance,
            relationships=kms_key_relationship(instance.get("KmsKeyId")),
        )
        tags = ctx.call("dms", "ListTagsForResource", item=item, ResourceArn=arn)
        if tags is not FAILED:
            item.tags = tags_from_list(tags.get("TagList"))
        item.refresh_state_id()
        return item
