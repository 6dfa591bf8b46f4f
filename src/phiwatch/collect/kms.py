"""KMS keys (AWS::KMS::Key): the hook collecting them; the item layout is in :mod:`phiwatch.resources.kms`.

Why a hook and not the spec's generic collector (each needs a feature the generic one lacks):

* one ListAliases per region whose answer is joined onto every key: a targeted run selects keys
  by alias, ``supplementaryConfiguration.Aliases`` and ``resourceName`` (first alias) come from it,
  and its failure is copied onto each key item;
* AWS managed keys are dropped, by a reserved ``alias/aws/...`` alias (before DescribeKey) or by
  DescribeKey's ``KeyManager``: a skip predicate on the element and on the configuration;
* GetKeyRotationStatus is only called for keys that can rotate (:func:`rotation_supported` of
  the configuration; ``None`` otherwise), and its ``KeyId`` is removed from the answer;
* when DescribeKey fails the configuration is ``{"KeyId", "Arn"}`` (ListKeys' ``KeyArn``
  renamed), not the listed element;
* ListResourceTags is paginated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.kms import KEY


def rotation_supported(metadata: dict[str, Any]) -> bool:
    """True for keys AWS can rotate automatically: symmetric encryption keys with AWS_KMS material.

    SYMMETRIC_DEFAULT keys can only be ENCRYPT_DECRYPT, so a missing KeyUsage (moto omits it when
    the key was created without one) counts as ENCRYPT_DECRYPT.
    """
    spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec")
    return (
        spec == "SYMMETRIC_DEFAULT"
        and metadata.get("KeyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
        and metadata.get("Origin", "AWS_KMS") == "AWS_KMS"
        and not metadata.get("CustomKeyStoreId")
    )


_NOT_APPLICABLE = object()


@register
class KmsCollector(Collector):
    name = "kms"
    resource_types = (KEY,)
    targetable = frozenset({KEY})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            keys = list(ctx.paginate("kms", "ListKeys", "Keys", resource_type=KEY, id_key="KeyId"))
        except ListFailed:
            return
        aliases = self._aliases(ctx)
        keys = [k for k in keys if ctx.selected(KEY, k["KeyId"], k.get("KeyArn"), *((aliases or {}).get(k["KeyId"], [])))]
        for item in ctx.map(lambda k: self._key(ctx, k, aliases), keys):
            if item is not None:
                yield item
        ctx.mark_complete(KEY)

    def _aliases(self, ctx: CollectContext) -> dict[str, list[str]] | None:
        """KeyId -> alias names, or None when ListAliases failed (recorded on each key item)."""
        try:
            listed = list(ctx.paginate("kms", "ListAliases", "Aliases", resource_type=KEY))
        except ListFailed:
            return None
        out: dict[str, list[str]] = {}
        for alias in listed:
            if alias.get("TargetKeyId") and alias.get("AliasName"):
                out.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
        return {k: sorted(v) for k, v in out.items()}

    def _key(self, ctx: CollectContext, key: dict[str, Any], aliases: dict[str, list[str]] | None) -> ConfigurationItem | None:
        key_id = key["KeyId"]
        if aliases is not None and any(a.startswith("alias/aws/") for a in aliases.get(key_id, [])):
            # alias/aws/* is reserved for AWS managed keys (moto's default keys say CUSTOMER)
            return None
        arn = key.get("KeyArn") or ctx.arn("kms", f"key/{key_id}")
        item = ctx.item(KEY, key_id, arn=arn, resourceName=key_id, configuration={"KeyId": key_id, "Arn": arn})
        described = ctx.call("kms", "DescribeKey", item=item, KeyId=key_id)
        metadata: dict[str, Any] = {}
        if described is not FAILED:
            metadata = described.get("KeyMetadata") or {}
            if metadata.get("KeyManager") == "AWS":
                return None
            item.configuration = metadata
        if aliases is None:
            # ListAliases failed (recorded on the context): say so on the item, leave the key absent.
            item.collectionErrors.extend(e.to_dict() for e in ctx.errors if e.api == "ListAliases")
        else:
            names = aliases.get(key_id, [])
            item.supplementaryConfiguration["Aliases"] = names
            if names:
                item.resourceName = names[0]
        if metadata:
            if rotation_supported(metadata):
                status = ctx.call(
                    "kms",
                    "GetKeyRotationStatus",
                    item=item,
                    KeyId=key_id,
                    not_found=("UnsupportedOperationException", "KMSInvalidStateException"),
                    absent=_NOT_APPLICABLE,
                )
                if status is _NOT_APPLICABLE:
                    item.supplementaryConfiguration["KeyRotationStatus"] = None
                elif status is not FAILED:
                    status.pop("KeyId", None)
                    item.supplementaryConfiguration["KeyRotationStatus"] = status
            else:
                item.supplementaryConfiguration["KeyRotationStatus"] = None
        try:
            item.tags = tags_from_list(list(ctx.paginate("kms", "ListResourceTags", "Tags", item=item, KeyId=key_id)), "TagKey", "TagValue")
        except ListFailed:
            pass
        item.refresh_state_id()
        return item
