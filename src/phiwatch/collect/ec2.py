"""EC2 and EBS (volumes, snapshots, instances, security groups, Elastic IPs, EBS account
defaults): the hook collecting them; the item layout and the specs are in :mod:`phiwatch.resources.ec2`.

Every type is its spec's (:class:`~phiwatch.collect.generic.SpecRun`); what the hook still does
by hand, because the generic collector cannot:

* the account part: GetEbsEncryptionByDefault, then GetEbsDefaultKmsKeyId only when it is on;
* a snapshot's ``CreateVolumePermissions`` (DescribeSnapshotAttribute) answering
  ``InvalidSnapshot.NotFound`` means the snapshot is gone (not recorded): ``gone`` codes on a
  detail call, not only on ``describe``;
* a targeted run whose wanted identifiers need several filtered listings (ids and names: EC2
  ANDs different filters; more than 200 values for one filter) runs the spec's listing once
  per ``Filters`` of :meth:`~phiwatch.resources.ec2.Filtered.listings`, and none when nothing
  wanted can be filtered on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.ec2 import INSTANCE, SECURITY_GROUP, SERVICE, SNAPSHOT, VOLUME, Filtered
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
    targetable = frozenset({ACCOUNT_TYPE, VOLUME, SNAPSHOT, INSTANCE, SECURITY_GROUP})

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
        for item in ctx.map(make, listed):
            if item is not None:
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
