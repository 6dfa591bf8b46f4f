"""AWS Shield hook: protections of both types from one listing, and the account's Shield Advanced
subscription and SRT access (items described in :mod:`phiwatch.resources.shield`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.shield import PROTECTION, REGIONAL_PROTECTION, SERVICE

GLOBAL_SPEC, REGIONAL_SPEC = SERVICE.resources
_NONE = object()


def resource_region(arn: Any) -> str:
    """The region part of a protected resource's ARN ("" for a global resource)."""
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[3] if len(parts) > 3 else ""


@register
class ShieldCollector(Collector):
    name = "shield"
    resource_types = SERVICE.types
    global_service = True
    targetable = frozenset({PROTECTION, REGIONAL_PROTECTION, ACCOUNT_TYPE})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        account = ctx.account_item() if ctx.wants(ACCOUNT_TYPE) else None
        if account is not None or ctx.wants(PROTECTION) or ctx.wants(REGIONAL_PROTECTION):
            try:
                listed = list(
                    ctx.paginate("shield", "ListProtections", "Protections", resource_type=PROTECTION, id_key=("Id", "ProtectionArn"))
                )
            except ListFailed:
                listed = None
                if account is not None:
                    account.collectionErrors.append(ctx.errors[-1].to_dict())
            if listed is not None:
                if account is not None and PROTECTION not in ctx.incomplete:
                    account.configuration["shieldProtectedResources"] = sorted(
                        {str(e.get("ResourceArn")) for e in listed if e.get("ResourceArn")}
                    )
                if ctx.wants(PROTECTION) or ctx.wants(REGIONAL_PROTECTION):
                    yield from self._protections(ctx, listed)
        if account is not None:
            yield self._account(ctx, account)

    def _protections(self, ctx: CollectContext, listed: list[dict[str, Any]]) -> Iterator[ConfigurationItem]:
        runs = {PROTECTION: SpecRun(ctx, GLOBAL_SPEC, "shield"), REGIONAL_PROTECTION: SpecRun(ctx, REGIONAL_SPEC, "shield")}
        wanted: list[tuple[str, str, dict[str, Any]]] = []
        for element in listed:
            region = resource_region(element.get("ResourceArn"))
            kind = REGIONAL_PROTECTION if region else PROTECTION
            if region and ctx.regions and region not in ctx.regions:
                continue  # a protection of a region this run does not collect
            if ctx.selected(kind, *runs[kind].identifiers(element)):
                wanted.append((kind, region, element))

        def item(entry: tuple[str, str, dict[str, Any]]) -> ConfigurationItem | None:
            kind, region, element = entry
            built = runs[kind].item(element)
            if built is not None and region:
                built.awsRegion = region
                built.refresh_state_id()
            return built

        for built in ctx.map(item, wanted):
            if built is not None:
                yield built
        ctx.mark_complete(PROTECTION)
        for region in ctx.regions:
            ctx.mark_complete(REGIONAL_PROTECTION, region=region)

    def _account(self, ctx: CollectContext, account: ConfigurationItem) -> ConfigurationItem:
        found = ctx.call("shield", "DescribeSubscription", item=account, not_found=("ResourceNotFoundException",), absent=_NONE)
        if found is FAILED:
            return account
        subscription = None if found is _NONE else found.get("Subscription")
        account.configuration["shieldSubscription"] = subscription
        if subscription:
            access = ctx.call("shield", "DescribeDRTAccess", item=account)
            if access is not FAILED:
                account.configuration["shieldDrtAccess"] = {k: access.get(k) for k in ("RoleArn", "LogBucketList")}
        return account
