"""OpenSearch's hook (both types): the item layout is in :mod:`phiwatch.resources.opensearch`.

Needed because neither type fits the generic collector, even with its batch ``describe``:

* the resourceId is the described ``DomainId`` (``<account>/<name>``), not the listed name that
  DescribeDomains / DescribeElasticsearchDomains take (five per call); a spec's id is the one it
  lists and describes by;
* a targeted run (``watch``) may name a domain by that DomainId, its name or its ARN (each
  matched by the name at its end);
* a described domain without ``DomainName`` is an error of the describe call that leaves the type
  incomplete (a batch ``describe`` would read it as gone);
* domains being deleted (``Deleted: true`` in the describe answer, not in the listing: ``keep``
  cannot see it) are skipped;
* ListTags is called once per domain and its answer (or error) is copied onto both of the
  domain's items (AWS::OpenSearch::Domain and AWS::Elasticsearch::Domain).
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.opensearch import ELASTICSEARCH_DOMAIN, OPENSEARCH_DOMAIN, domain_relationships

BATCH = 5  # DescribeDomains / DescribeElasticsearchDomains take at most five names


@register
class OpenSearchCollector(Collector):
    name = "opensearch"
    resource_types = (OPENSEARCH_DOMAIN, ELASTICSEARCH_DOMAIN)
    targetable = frozenset(resource_types)

    # (service, describe API, resource type); both services list domains with ListDomainNames
    _APIS = (
        ("opensearch", "DescribeDomains", OPENSEARCH_DOMAIN),
        ("es", "DescribeElasticsearchDomains", ELASTICSEARCH_DOMAIN),
    )

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        by_arn: dict[str, list[ConfigurationItem]] = {}
        complete: list[str] = []
        for service, describe_api, resource_type in self._APIS:
            if not ctx.wants(resource_type):
                continue
            items, whole = self._domains(ctx, service, describe_api, resource_type)
            for item in items:
                by_arn.setdefault(item.arn or item.resourceId, []).append(item)
            if whole:
                complete.append(resource_type)
        for items in ctx.map(lambda group: self._tag(ctx, group), list(by_arn.values())):
            yield from items
        ctx.mark_complete(*complete)

    def _domains(self, ctx: CollectContext, service: str, describe_api: str, resource_type: str) -> tuple[list[ConfigurationItem], bool]:
        """Items of one API's domains, and whether every listed domain was described."""
        try:
            names = [
                d["DomainName"]
                for d in ctx.paginate(service, "ListDomainNames", "DomainNames", resource_type=resource_type, id_key="DomainName")
            ]
        except ListFailed:
            return [], False
        wanted = ctx.targets(resource_type)
        if wanted is not None:  # targeted: a name, a DomainId (<account>/<name>) or an ARN (...:domain/<name>)
            names = [n for n in names if n in {i.rsplit("/", 1)[-1] for i in wanted}]
        batches = [names[i : i + BATCH] for i in range(0, len(names), BATCH)]
        items: list[ConfigurationItem] = []
        whole = True
        for response in ctx.map(lambda batch: ctx.call(service, describe_api, resource_type=resource_type, DomainNames=batch), batches):
            if response is FAILED:
                whole = False
                continue
            for status in ctx.identified(
                service, describe_api, response.get("DomainStatusList"), "DomainName", resource_type=resource_type
            ):
                if status.get("Deleted"):
                    continue
                items.append(
                    ctx.item(
                        resource_type,
                        status.get("DomainId") or f"{ctx.account_id}/{status['DomainName']}",
                        resourceName=status.get("DomainName"),
                        arn=status.get("ARN"),
                        configuration=status,
                        relationships=domain_relationships(status),
                    )
                )
        return items, whole

    def _tag(self, ctx: CollectContext, group: list[ConfigurationItem]) -> list[ConfigurationItem]:
        """ListTags once for a domain; the answer (or the error) goes on each of its items."""
        first = group[0]
        response = ctx.call("opensearch", "ListTags", item=first, ARN=first.arn) if first.arn else FAILED
        tags = {} if response is FAILED else tags_from_list(response.get("TagList"))
        errors = [e for e in first.collectionErrors if e.get("api") == "ListTags"]
        for item in group:
            item.tags = dict(tags)
            if item is not first:
                item.collectionErrors.extend({**e, "resource_type": item.resourceType, "resource_id": item.resourceId} for e in errors)
            item.refresh_state_id()
        return group
