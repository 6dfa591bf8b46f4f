"""The one collector of every declarative resource type (:class:`~phiwatch.resources.spec.ResourceSpec`).

For each spec of a service, in one (account, region):

1. list (paginated; an element without its id is an error and the type is then never complete),
   or, in a targeted run of a spec with ``target``, build the wanted elements without listing;
2. keep the elements a targeted run wants (by id, name or ARN);
3. per element, on ``detail_workers`` threads: ``describe`` into ``configuration`` (a ``gone``
   answer drops the resource), each detail into ``supplementaryConfiguration`` (an ``absent``
   answer stores the default; another error is recorded and leaves the key unset), tags;
4. mark the type complete, so resources missing from it are recorded deleted.

A service whose types are all declarative needs no module in ``collect/``: :func:`spec_collector`
makes its collector class. A hook (``collect/<service>.py``) can still run specs through
:func:`collect_spec` for its regular types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jmespath

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, tags_from_list
from phiwatch.model import ConfigurationItem, to_jsonable
from phiwatch.resources.spec import Call, FromItem, ResourceSpec, Service

_ABSENT = object()


def search(expression: Any, data: Any) -> Any:
    """``expression`` (a JMESPath, or a function) on ``data``; ``data`` itself for None or "@"."""
    if expression is None or expression == "@":
        return data
    if callable(expression):
        return expression(data)
    return jmespath.search(expression, data)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def call_params(call: Call, element: Any, item: ConfigurationItem | None = None) -> dict[str, Any]:
    """The call's arguments for one element: JMESPaths read from it, functions applied to it, :class:`FromItem`
    read from the item being built, literals as they are."""
    out = {}
    for name, source in call.params.items():
        if isinstance(source, FromItem):
            view = (
                {"arn": item.arn, "resourceId": item.resourceId, "resourceName": item.resourceName, "configuration": item.configuration}
                if item
                else {}
            )
            out[name] = search(source.path, view)
        elif isinstance(source, str):
            out[name] = search(source, element)
        else:
            out[name] = source(element) if callable(source) else source
    return out


class SpecRun:
    """One spec collected in one context."""

    def __init__(self, ctx: CollectContext, spec: ResourceSpec, client: str) -> None:
        self.ctx, self.spec, self.client = ctx, spec, client
        self.env = {"partition": ctx.partition, "region": ctx.region, "account": ctx.account_id}

    def identifiers(self, element: Any) -> tuple[str | None, str | None, str | None]:
        rid = _text(search(self.spec.id, element))
        name = _text(search(self.spec.name, element)) if self.spec.name else None
        return rid, name, self.arn(element, rid)

    def arn(self, data: Any, rid: str | None) -> str | None:
        candidates = (self.spec.arn,) if isinstance(self.spec.arn, str) else self.spec.arn or ()
        for candidate in candidates:
            found = (candidate.format(id=rid, **self.env) if rid else None) if "{" in candidate else _text(search(candidate, data))
            if found:
                return found
        return None

    def elements(self) -> list[Any] | None:
        """The elements to collect; None when the listing failed (the type is then not complete)."""
        ctx, spec = self.ctx, self.spec
        wanted = ctx.targets(spec.type)
        if wanted is not None and spec.target is not None:
            targets = [spec.target(identifier, self.env) for identifier in sorted(wanted)]
            # one resource named twice (by its name and by its ARN) is read once
            return list(dict.fromkeys(targets)) if all(isinstance(t, str) for t in targets) else targets
        assert spec.listing is not None
        listing = spec.listing
        params = call_params(listing, None)
        not_found: tuple[str, ...] = ()
        if wanted is not None and spec.target_listing is not None:
            params.update(spec.target_listing(wanted, self.env))
            not_found = spec.gone
        id_key = spec.id if isinstance(spec.id, str) and spec.id.isidentifier() and not spec.unnest else None
        client = listing.client or self.client
        try:
            found = list(
                ctx.paginate(
                    client, listing.op, listing.result or "", resource_type=spec.type, id_key=id_key, not_found=not_found, **params
                )
            )
        except ListFailed:
            return None
        if spec.unnest:
            inner = [x for e in found for x in (search(spec.unnest, e) or [])]
            key = spec.id if isinstance(spec.id, str) and spec.id.isidentifier() else None
            found = ctx.identified(client, listing.op, inner, key, resource_type=spec.type) if key else inner
        if spec.id == "@":  # a listing of names: keep text ones, once each
            found = list(dict.fromkeys(e for e in found if isinstance(e, str) and e))
        if spec.keep is not None:
            found = [e for e in found if spec.keep(e)]
        return [e for e in found if ctx.selected(spec.type, *self.identifiers(e))]

    def call(self, call: Call, item: ConfigurationItem, element: Any, not_found: tuple[str, ...] = ()) -> Any:
        """The call's selected result; :data:`_ABSENT` for one of ``not_found``; FAILED (recorded on the item)."""
        if call.pages:
            return self.paged(call, item, element)
        response = self.ctx.call(
            call.client or self.client,
            call.op,
            item=item,
            not_found=call.absent + not_found,
            absent=_ABSENT,
            **call_params(call, element, item),
        )
        if response is FAILED or response is _ABSENT:
            return response
        selected = to_jsonable(search(call.result, response))
        return call.parse(selected) if call.parse is not None else selected

    def paged(self, call: Call, item: ConfigurationItem, element: Any) -> Any:
        """A paginated detail call's ``result`` lists joined over every page (FAILED, recorded on the item, on an error)."""
        try:
            found = list(
                self.ctx.paginate(call.client or self.client, call.op, call.result or "", item=item, **call_params(call, element, item))
            )
        except ListFailed:
            return FAILED
        return call.parse(found) if call.parse is not None else found

    def described_in_batches(self, elements: list[Any]) -> dict[str, Any] | None:
        """id -> description of each element, ``batch`` ids per call; a failed batch's ids are left out and
        the type is marked incomplete. None when ``describe`` is not a batch call."""
        call = self.spec.describe
        if call is None or not call.batch or not call.batch_param:
            return None
        ids = [rid for rid in (self.identifiers(e)[0] for e in elements) if rid]
        out: dict[str, Any] = {}
        for start in range(0, len(ids), call.batch):
            chunk = ids[start : start + call.batch]
            response = self.ctx.call(
                call.client or self.client, call.op, resource_type=self.spec.type, **{**call_params(call, None), call.batch_param: chunk}
            )
            if response is FAILED:
                self.ctx.incomplete.add(self.spec.type)  # its resources could not be read: none is recorded deleted
                for rid in chunk:
                    out[rid] = FAILED
                continue
            found = search(call.result, response) or []
            if call.match and call.match.isidentifier():
                # a description without its id is an error of the call (the type stays incomplete), never "gone"
                found = self.ctx.identified(call.client or self.client, call.op, found, call.match, resource_type=self.spec.type)
            for description in found:
                key = _text(search(call.match, description)) if call.match else None
                if key in chunk:
                    out[key] = to_jsonable(call.parse(description) if call.parse is not None else description)
        return out

    def item(self, element: Any, described_batch: dict[str, Any] | None = None) -> ConfigurationItem | None:
        ctx, spec = self.ctx, self.spec
        rid, name, arn = self.identifiers(element)
        if rid is None:
            return None
        configuration = dict(element) if isinstance(element, dict) else {spec.id_key or "Name": element}
        item = ctx.item(spec.type, rid, resourceName=name or rid, arn=arn, configuration=configuration)
        if spec.describe is not None:
            if described_batch is not None:
                described = described_batch.get(rid, _ABSENT)  # not in the answer: gone since the listing
                if described is FAILED:
                    return None  # its batch failed: recorded once on the run, the type left incomplete
            else:
                described = self.call(spec.describe, item, element, not_found=spec.gone)
            if described is _ABSENT:
                if spec.describe.absent and not spec.gone:
                    described = spec.describe.default
                else:
                    return None  # deleted between the listing and now
            if described is not FAILED and isinstance(described, dict):
                item.configuration = {**item.configuration, **described} if spec.merge else dict(described)
                item.resourceName = _text(search(spec.name, described)) if spec.name else None
                item.resourceName = item.resourceName or name or rid
                item.arn = self.arn(described, rid) or arn
        if not isinstance(spec.tags, Call):  # read from the configuration, before its tags' member may be dropped
            item.tags = self.tags(item, element)
        for key in spec.drop:
            item.configuration.pop(key, None)
        if spec.shape is not None:
            item.configuration = spec.shape(item.configuration)
        for key, call in spec.details.items():
            value = self.call(call, item, element)
            if value is FAILED:
                continue
            item.supplementaryConfiguration[key] = call.default if value is _ABSENT else value
        if isinstance(spec.tags, Call):
            item.tags = self.tags(item, element)
        if spec.relationships is not None:
            item.relationships = spec.relationships(item.configuration)
        item.refresh_state_id()
        return item

    def tags(self, item: ConfigurationItem, element: Any) -> dict[str, str]:
        spec = self.spec
        if spec.tags is None:
            return {}
        if isinstance(spec.tags, Call):
            found = self.call(spec.tags, item, element)
            if found is FAILED or found is _ABSENT:
                return {}
        else:
            found = search(spec.tags, item.configuration)
        if isinstance(found, Mapping):
            return {str(k): str(v) for k, v in found.items() if isinstance(k, str)}
        return tags_from_list(found if isinstance(found, list) else None, *spec.tag_keys)

    def run(self) -> Iterator[ConfigurationItem]:
        if not self.ctx.wants(self.spec.type):  # a targeted run for other types
            return
        elements = self.elements()
        if elements is None:
            return
        batch = self.described_in_batches(elements)
        for item in self.ctx.map(lambda e: self.item(e, batch), elements):
            if item is not None:
                yield item
        self.ctx.mark_complete(self.spec.type)


def collect_spec(ctx: CollectContext, spec: ResourceSpec, client: str) -> Iterator[ConfigurationItem]:
    """Collect every resource of ``spec`` (or the targeted ones) in ``ctx``."""
    return SpecRun(ctx, spec, client).run()


def spec_collector(service: Service) -> type[Collector]:
    """The collector class of a declarative service."""

    def collect(self: Collector, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        for spec in service.resources:
            yield from collect_spec(ctx, spec, spec.client or service.name)

    return type(
        f"{service.name.title()}Collector",
        (Collector,),
        {
            "name": service.name,
            "resource_types": service.types,
            "global_service": service.scope == "global",
            "targetable": frozenset(service.types),
            "collect": collect,
            "__doc__": f"Collects {', '.join(service.types)} from their specs (phiwatch/resources/).",
        },
    )
