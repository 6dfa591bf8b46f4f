"""EC2 and EBS (volumes, snapshots, instances, security groups, Elastic IPs, launch templates, EBS
account defaults): the hook collecting them; the item layout and the specs are in
:mod:`phiwatch.resources.ec2`.

Every type is its spec's (:class:`~phiwatch.collect.generic.SpecRun`); what the hook still does
by hand, because the generic collector cannot:

* the account part: GetEbsEncryptionByDefault, then GetEbsDefaultKmsKeyId only when it is on;
* a snapshot's ``CreateVolumePermissions`` (DescribeSnapshotAttribute) answering
  ``InvalidSnapshot.NotFound`` means the snapshot is gone (not recorded): ``gone`` codes on a
  detail call, not only on ``describe``;
* region-wide joins: the instances' AMI tags (one DescribeImages) and EBS-optimization support
  of their types (one DescribeInstanceTypes), each filtered on the values the instances use, and
  the security groups' network interfaces (one DescribeNetworkInterfaces); a failed join leaves
  the key unset on every item it would fill, with the error on each;
* a targeted run whose wanted identifiers need several filtered listings (ids and names: EC2
  ANDs different filters; more than 200 values for one filter) runs the spec's listing once
  per ``Filters`` of :meth:`~phiwatch.resources.ec2.Filtered.listings`, and none when nothing
  wanted can be filtered on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.ec2 import FILTER_VALUES, INSTANCE, LAUNCH_TEMPLATE, PAGE, SECURITY_GROUP, SERVICE, SNAPSHOT, VOLUME, Filtered
from phiwatch.resources.spec import ResourceSpec

_GONE = object()


def _listing_with(filters: list[dict[str, Any]]) -> Callable[[frozenset[str], Mapping[str, str]], dict[str, Any]]:
    """A ``target_listing`` giving these ``Filters`` whatever is wanted."""

    def target_listing(wanted: frozenset[str], env: Mapping[str, str]) -> dict[str, Any]:
        return {"Filters": filters}

    return target_listing


def elements(ctx: CollectContext, spec: ResourceSpec) -> list[Any] | None:
    """The spec's elements to collect (None when a listing failed); in a targeted run, one filtered
    listing per ``Filters`` the wanted identifiers need."""
    wanted = ctx.targets(spec.type)
    if wanted is None or not isinstance(spec.target_listing, Filtered):
        return SpecRun(ctx, spec, "ec2").elements()
    found: list[Any] = []
    for filters in spec.target_listing.listings(wanted):
        one = dataclasses.replace(spec, target_listing=_listing_with(filters))
        listed = SpecRun(ctx, one, "ec2").elements()
        if listed is None:
            return None
        found.extend(listed)
    return found


@register
class Ec2Collector(Collector):
    name = "ec2"
    resource_types = SERVICE.types
    targetable = frozenset({ACCOUNT_TYPE, VOLUME, SNAPSHOT, INSTANCE, SECURITY_GROUP, LAUNCH_TEMPLATE})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(ACCOUNT_TYPE):
            yield self._account(ctx)
        for spec in SERVICE.resources:
            if ctx.wants(spec.type):
                yield from self._resources(ctx, spec)

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
        key = ctx.call("ec2", "GetEbsDefaultKmsKeyId", item=account)  # an unreadable answer is a failed call too
        if key is not FAILED:
            account.configuration["ebsDefaultKmsKeyId"] = key.get("KmsKeyId")
        return account

    # -- the specs' types ------------------------------------------------------------------
    def _resources(self, ctx: CollectContext, spec: ResourceSpec) -> Iterator[ConfigurationItem]:
        listed = elements(ctx, spec)
        if listed is None:
            return
        run = SpecRun(ctx, spec, "ec2")
        make = (lambda e: self._snapshot(ctx, run, e)) if spec.type == SNAPSHOT else run.item
        made = (item for item in ctx.map(make, listed) if item is not None)
        join = _JOINS.get(spec.type)
        if join is None:
            yield from made
        else:
            items = list(made)
            join(ctx, items)
            for item in items:
                item.refresh_state_id()
                yield item
        ctx.mark_complete(spec.type)

    def _snapshot(self, ctx: CollectContext, run: SpecRun, snapshot: dict[str, Any]) -> ConfigurationItem | None:
        item = run.item(snapshot)
        if item is None:
            return None
        response = ctx.call(
            "ec2",
            "DescribeSnapshotAttribute",
            item=item,
            not_found=("InvalidSnapshot.NotFound",),
            absent=_GONE,
            SnapshotId=item.resourceId,
            Attribute="createVolumePermission",
        )
        if response is _GONE:
            return None  # deleted between listing and reading: not in this run's inventory
        if response is not FAILED:
            item.supplementaryConfiguration["CreateVolumePermissions"] = response.get("CreateVolumePermissions") or []
        item.refresh_state_id()
        return item


# -- region-wide joins -------------------------------------------------------------------------
def _listed(
    ctx: CollectContext, api: str, result_key: str, resource_type: str, filter_name: str | None, values: list[str], **params: Any
) -> list[dict[str, Any]] | None:
    """Every element of a region-wide listing (``filter_name`` on ``values``, FILTER_VALUES a call;
    no filter when ``filter_name`` is None); None when a call failed (recorded on the context)."""
    chunks = [values[i : i + FILTER_VALUES] for i in range(0, len(values), FILTER_VALUES)] if filter_name else [values]
    found: list[dict[str, Any]] = []
    try:
        for chunk in chunks:
            filters: dict[str, Any] = {"Filters": [{"Name": filter_name, "Values": chunk}]} if filter_name else {}
            found.extend(
                e for e in ctx.paginate("ec2", api, result_key, resource_type=resource_type, **filters, **params) if isinstance(e, dict)
            )
    except ListFailed:
        return None
    return found


def _fill(
    ctx: CollectContext,
    items: list[ConfigurationItem],
    key: str,
    found: list[dict[str, Any]] | None,
    errors_before: int,
    value: Callable[[ConfigurationItem], Any],
) -> None:
    """``supplementaryConfiguration[key] = value(item)`` on each item, or the failed call's error on each."""
    if found is None:
        error = ctx.errors[errors_before].to_dict() if len(ctx.errors) > errors_before else None
        for item in items:
            if error:
                item.collectionErrors.append(dict(error, resource_type=item.resourceType, resource_id=item.resourceId))
        return
    for item in items:
        item.supplementaryConfiguration[key] = value(item)


def _instance_images_and_types(ctx: CollectContext, items: list[ConfigurationItem]) -> None:
    """``ImageTags`` and ``EbsOptimizedSupport`` of each instance: one DescribeImages and one
    DescribeInstanceTypes for all of them, filtered on the AMIs and types they use."""
    if not items:
        return
    images = sorted({i.configuration["ImageId"] for i in items if isinstance(i.configuration.get("ImageId"), str)})
    before = len(ctx.errors)
    found = (
        _listed(ctx, "DescribeImages", "Images", INSTANCE, "image-id", images, IncludeDeprecated=True, IncludeDisabled=True)
        if images
        else []
    )
    tags = {image.get("ImageId"): tags_from_list(image.get("Tags")) for image in found or []}
    _fill(ctx, items, "ImageTags", found, before, lambda item: tags.get(item.configuration.get("ImageId")))

    types = sorted({i.configuration["InstanceType"] for i in items if isinstance(i.configuration.get("InstanceType"), str)})
    before = len(ctx.errors)
    found = _listed(ctx, "DescribeInstanceTypes", "InstanceTypes", INSTANCE, "instance-type", types) if types else []
    support = {t.get("InstanceType"): (t.get("EbsInfo") or {}).get("EbsOptimizedSupport") for t in found or []}
    _fill(ctx, items, "EbsOptimizedSupport", found, before, lambda item: support.get(item.configuration.get("InstanceType")))


def _group_interfaces(ctx: CollectContext, items: list[ConfigurationItem]) -> None:
    """``NetworkInterfaceIds`` of each security group: one DescribeNetworkInterfaces listing (filtered on
    the groups' ids in a targeted run)."""
    if not items:
        return
    groups = sorted(item.resourceId for item in items)
    before = len(ctx.errors)
    targeted = ctx.targets(SECURITY_GROUP) is not None
    found = _listed(
        ctx,
        "DescribeNetworkInterfaces",
        "NetworkInterfaces",
        SECURITY_GROUP,
        "group-id" if targeted else None,
        groups,
        IncludeManagedResources=True,
        MaxResults=PAGE,
    )
    by_group: dict[str, set[str]] = {}
    for interface in found or []:
        for group in interface.get("Groups") or []:
            if isinstance(group, dict) and isinstance(interface.get("NetworkInterfaceId"), str):
                by_group.setdefault(group.get("GroupId") or "", set()).add(interface["NetworkInterfaceId"])
    _fill(ctx, items, "NetworkInterfaceIds", found, before, lambda item: sorted(by_group.get(item.resourceId, ())))


_JOINS: dict[str, Callable[[CollectContext, list[ConfigurationItem]], None]] = {
    INSTANCE: _instance_images_and_types,
    SECURITY_GROUP: _group_interfaces,
}
