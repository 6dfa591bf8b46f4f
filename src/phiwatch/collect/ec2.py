"""EC2 and EBS (volumes, snapshots, instances, security groups, Elastic IPs, EBS account
defaults): the hook collecting them; the item layout is in :mod:`phiwatch.resources.ec2`.

Why a hook and not the specs' generic collector (each needs a feature the generic one lacks):

* the account part: GetEbsEncryptionByDefault, then GetEbsDefaultKmsKeyId only when it is on;
* every type moves the element's ``Tags`` list to the item's tags and leaves it out of
  ``configuration``: the generic collector reads ``tags`` from the configuration after ``drop``,
  so ``drop=("Tags",)`` would lose them (tags would have to be read from the listed element);
* a targeted run lists only the wanted resources with ``Filters`` (``volume-id``/``tag:Name``,
  ``group-id``/``group-name``, ...) instead of listing all and keeping the wanted ones (a
  filtered listing, not ``target``, which builds elements without any call);
* instances are nested in DescribeInstances' ``Reservations[].Instances[]`` (a listing result
  below the page key), terminated ones are skipped (a skip predicate), and ``PublicIpAddress``
  and ``IamInstanceProfile`` default to ``None`` (configuration defaults);
* a snapshot whose DescribeSnapshotAttribute answers ``InvalidSnapshot.NotFound`` is gone (``gone``
  codes on a detail call, not only on ``describe``);
* an Elastic IP is identified by ``AllocationId`` or else ``PublicIp``, and one with neither is
  skipped silently rather than recorded as an error that keeps the type incomplete.

:func:`relation` and :func:`split_tags` are shared with :mod:`phiwatch.collect.vpc`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.parsers import ResponseParserError

from phiwatch.aws.session import iam_action_for
from phiwatch.collect.base import (
    FAILED,
    CollectContext,
    Collector,
    ListFailed,
    register,
    tags_from_list,
)
from phiwatch.model import ACCOUNT_TYPE, CollectionError, ConfigurationItem
from phiwatch.resources.ec2 import EIP, INSTANCE, SECURITY_GROUP, SNAPSHOT, VOLUME


def relation(resource_type: str, resource_id: str | None, name: str) -> dict[str, Any] | None:
    """One relationship in AWS Config's shape (None when the id is missing)."""
    if not resource_id:
        return None
    return {"resourceType": resource_type, "resourceId": resource_id, "relationshipName": name}


def split_tags(element: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The element without its ``Tags`` list, and the tags as a dict."""
    configuration = {k: v for k, v in element.items() if k != "Tags"}
    return configuration, tags_from_list(element.get("Tags"))


def guarded_call(ctx: CollectContext, service: str, api: str, item: ConfigurationItem, **kwargs: Any) -> Any:
    """:meth:`CollectContext.call`, also recording an unparseable answer as a failed call.

    botocore raises ``ResponseParserError`` (not a ``BotoCoreError``) when an endpoint answers
    with something that is not the API's format, e.g. an emulator's HTML 500 page for an API
    it does not implement.
    """
    try:
        return ctx.call(service, api, item=item, **kwargs)
    except ResponseParserError as exc:
        err = CollectionError(
            service=service,
            api=api,
            region=ctx.region,
            error="InvalidResponse",
            iam_action=iam_action_for(service, api),
            resource_type=item.resourceType,
            resource_id=item.resourceId,
            message=(str(exc).splitlines() or [""])[0][:300],
        )
        ctx.errors.append(err)
        item.collectionErrors.append(err.to_dict())
        return FAILED


def listing(
    ctx: CollectContext,
    api: str,
    result_key: str,
    resource_type: str,
    id_filter: str,
    prefix: str,
    name_filter: str,
    id_key: str | None = None,
    **kwargs: Any,
) -> Iterator[dict[str, Any]]:
    """``ctx.paginate`` of a describe call; in a targeted run only the wanted resources, found by
    id (an ARN counts by its id) with ``id_filter`` and by name with ``name_filter``."""
    wanted = ctx.targets(resource_type)
    if wanted is None:
        yield from ctx.paginate("ec2", api, result_key, resource_type=resource_type, id_key=id_key, **kwargs)
        return
    ids = sorted({w.rsplit("/", 1)[-1] for w in wanted if w.rsplit("/", 1)[-1].startswith(prefix)})
    names = sorted(w for w in wanted if not w.startswith(prefix) and not w.startswith("arn:"))
    for name, values in ((id_filter, ids), (name_filter, names)):
        for start in range(0, len(values), 200):
            filters = [{"Name": name, "Values": values[start : start + 200]}]
            yield from ctx.paginate("ec2", api, result_key, resource_type=resource_type, id_key=id_key, Filters=filters, **kwargs)


@register
class Ec2Collector(Collector):
    name = "ec2"
    resource_types = (VOLUME, SNAPSHOT, INSTANCE, SECURITY_GROUP, EIP)
    targetable = frozenset({ACCOUNT_TYPE, VOLUME, SNAPSHOT, INSTANCE, SECURITY_GROUP})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(ACCOUNT_TYPE):
            yield self._account(ctx)
        if ctx.wants(VOLUME):
            yield from self._volumes(ctx)
        if ctx.wants(SNAPSHOT):
            yield from self._snapshots(ctx)
        if ctx.wants(INSTANCE):
            yield from self._instances(ctx)
        if ctx.wants(SECURITY_GROUP):
            yield from self._security_groups(ctx)
        if ctx.wants(EIP):
            yield from self._addresses(ctx)

    # -- account ---------------------------------------------------------------------------
    def _account(self, ctx: CollectContext) -> ConfigurationItem:
        account = ctx.account_item()
        response = ctx.call("ec2", "GetEbsEncryptionByDefault", item=account)
        if response is FAILED:
            return account
        enabled = bool(response.get("EbsEncryptionByDefault"))
        account.configuration["ebsEncryptionByDefault"] = enabled
        if not enabled:
            account.configuration["ebsDefaultKmsKeyId"] = None
            return account
        key = guarded_call(ctx, "ec2", "GetEbsDefaultKmsKeyId", account)
        if key is not FAILED:
            account.configuration["ebsDefaultKmsKeyId"] = key.get("KmsKeyId")
        return account

    # -- volumes ---------------------------------------------------------------------------
    def _volumes(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            for volume in listing(ctx, "DescribeVolumes", "Volumes", VOLUME, "volume-id", "vol-", "tag:Name", id_key="VolumeId"):
                configuration, tags = split_tags(volume)
                volume_id = volume["VolumeId"]
                item = ctx.item(
                    VOLUME,
                    volume_id,
                    resourceName=tags.get("Name") or volume_id,
                    arn=ctx.arn("ec2", f"volume/{volume_id}"),
                    configuration=configuration,
                    tags=tags,
                    relationships=[
                        r
                        for a in volume.get("Attachments") or []
                        if (r := relation(INSTANCE, a.get("InstanceId"), "Is attached to Instance"))
                    ],
                )
                item.refresh_state_id()
                yield item
        except ListFailed:
            return
        ctx.mark_complete(VOLUME)

    # -- snapshots -------------------------------------------------------------------------
    def _snapshots(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        snapshots = listing(
            ctx, "DescribeSnapshots", "Snapshots", SNAPSHOT, "snapshot-id", "snap-", "tag:Name", id_key="SnapshotId", OwnerIds=["self"]
        )
        try:
            for item in ctx.map(lambda s: self._snapshot(ctx, s), snapshots):
                if item is not None:
                    yield item
        except ListFailed:
            return
        ctx.mark_complete(SNAPSHOT)

    def _snapshot(self, ctx: CollectContext, snapshot: dict[str, Any]) -> ConfigurationItem | None:
        configuration, tags = split_tags(snapshot)
        snapshot_id = snapshot["SnapshotId"]
        item = ctx.item(
            SNAPSHOT,
            snapshot_id,
            resourceName=tags.get("Name") or snapshot_id,
            arn=ctx.arn("ec2", f"snapshot/{snapshot_id}", account=False),
            configuration=configuration,
            tags=tags,
        )
        gone = object()
        response = guarded_call(
            ctx,
            "ec2",
            "DescribeSnapshotAttribute",
            item,
            not_found=("InvalidSnapshot.NotFound",),
            absent=gone,
            SnapshotId=snapshot_id,
            Attribute="createVolumePermission",
        )
        if response is gone:
            return None  # deleted between listing and reading: not in this run's inventory
        if response is not FAILED:
            item.supplementaryConfiguration["CreateVolumePermissions"] = response.get("CreateVolumePermissions") or []
        item.refresh_state_id()
        return item

    # -- instances -------------------------------------------------------------------------
    def _instances(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            for reservation in listing(ctx, "DescribeInstances", "Reservations", INSTANCE, "instance-id", "i-", "tag:Name"):
                for instance in ctx.identified(
                    "ec2", "DescribeInstances", reservation.get("Instances"), "InstanceId", resource_type=INSTANCE
                ):
                    if (instance.get("State") or {}).get("Name") == "terminated":
                        continue
                    yield self._instance(ctx, instance)
        except ListFailed:
            return
        ctx.mark_complete(INSTANCE)

    def _instance(self, ctx: CollectContext, instance: dict[str, Any]) -> ConfigurationItem:
        configuration, tags = split_tags(instance)
        configuration.setdefault("PublicIpAddress", None)
        configuration.setdefault("IamInstanceProfile", None)
        instance_id = instance["InstanceId"]
        related = [
            relation("AWS::EC2::VPC", instance.get("VpcId"), "Is contained in Vpc"),
            relation("AWS::EC2::Subnet", instance.get("SubnetId"), "Is contained in Subnet"),
        ]
        groups = list(instance.get("SecurityGroups") or [])
        groups += [g for eni in instance.get("NetworkInterfaces") or [] for g in eni.get("Groups") or []]
        group_ids = dict.fromkeys(g.get("GroupId") for g in groups)
        related += [relation(SECURITY_GROUP, g, "Is associated with SecurityGroup") for g in group_ids]
        related += [
            relation(VOLUME, (m.get("Ebs") or {}).get("VolumeId"), "Is attached to Volume")
            for m in instance.get("BlockDeviceMappings") or []
        ]
        item = ctx.item(
            INSTANCE,
            instance_id,
            resourceName=tags.get("Name") or instance_id,
            arn=ctx.arn("ec2", f"instance/{instance_id}"),
            configuration=configuration,
            tags=tags,
            relationships=[r for r in related if r],
        )
        item.refresh_state_id()
        return item

    # -- security groups -------------------------------------------------------------------
    def _security_groups(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            for group in listing(
                ctx, "DescribeSecurityGroups", "SecurityGroups", SECURITY_GROUP, "group-id", "sg-", "group-name", id_key="GroupId"
            ):
                configuration, tags = split_tags(group)
                group_id = group["GroupId"]
                vpc = relation("AWS::EC2::VPC", group.get("VpcId"), "Is contained in Vpc")
                item = ctx.item(
                    SECURITY_GROUP,
                    group_id,
                    resourceName=group.get("GroupName") or group_id,
                    arn=ctx.arn("ec2", f"security-group/{group_id}"),
                    configuration=configuration,
                    tags=tags,
                    relationships=[vpc] if vpc else [],
                )
                item.refresh_state_id()
                yield item
        except ListFailed:
            return
        ctx.mark_complete(SECURITY_GROUP)

    # -- Elastic IPs -----------------------------------------------------------------------
    def _addresses(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            addresses = list(ctx.paginate("ec2", "DescribeAddresses", "Addresses", resource_type=EIP))
        except ListFailed:
            return
        for address in addresses:
            configuration, tags = split_tags(address)
            address_id = address.get("AllocationId") or address.get("PublicIp")
            if not address_id:
                continue
            related = [
                relation(INSTANCE, address.get("InstanceId"), "Is attached to Instance"),
                relation("AWS::EC2::NetworkInterface", address.get("NetworkInterfaceId"), "Is attached to NetworkInterface"),
            ]
            item = ctx.item(
                EIP,
                address_id,
                resourceName=tags.get("Name") or address.get("PublicIp") or address_id,
                arn=ctx.arn("ec2", f"elastic-ip/{address_id}"),
                configuration=configuration,
                tags=tags,
                relationships=[r for r in related if r],
            )
            item.refresh_state_id()
            yield item
        ctx.mark_complete(EIP)
