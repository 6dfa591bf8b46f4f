"""Re-collection of the resources a remediation pass acts on (before acting when their evaluation
is not fresh, after acting to verify), and the collectors that produce an item.

A remediation batch needs many items at once: each service and Region collected once per batch
(global services once, with the items' Regions), collectors asked for just these resources where
they can target them (``collect(only=...)``), an account item's collectors chosen by the keys its
rule reads, and each item's new version back.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

from phiwatch.collect import runner
from phiwatch.collect.base import REGISTRY
from phiwatch.collect.registry import load_collectors
from phiwatch.collect.runner import SOURCES
from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, ConfigurationItem
from phiwatch.remediate.modes import region_of
from phiwatch.store.db import Store
from phiwatch.store.remediations import current_item

log = logging.getLogger(__name__)


def services_for(item: ConfigurationItem, rule: Any = None) -> list[str]:
    """The collectors that produce ``item`` (for an account item: those owning the keys the rule reads)."""
    load_collectors()
    if item.resourceType == ACCOUNT_TYPE:
        sources: dict[str, str] = item.supplementaryConfiguration.get(SOURCES, {}) or {}
        keys = [path.split(".")[1] for path in (getattr(rule, "reads", None) or {}) if path.startswith("configuration.")]
        owners = {sources[k] for k in keys if k in sources}
        return sorted(owners or set(sources.values()))
    return runner.services_for_types([item.resourceType])


def recollect(
    aws: Any, store: Store, wanted: Iterable[tuple[ConfigurationItem, list[str]]], changed_by: str | None = None
) -> dict[tuple, ConfigurationItem | None]:
    """Collect again what produces the given items; returns each item's new version (None: deleted).

    Runs the item's collector(s) for its region (global services once), asking only for these
    resources where the collector can target them (``collect(only=...)``); the others collect
    their whole service, like ``phiwatch collect --service S --region R`` would.
    """
    regional: dict[str, set[str]] = {}
    global_services: set[str] = set()
    global_regions: set[str] = set()
    # just these resources, per run: collectors that can target ask AWS for them alone
    only: dict[str, dict[str, set[str]]] = {}
    keys = []
    for item, services in wanted:
        keys.append(item.key)
        for name in services:
            cls = REGISTRY.get(name)
            if cls is None:
                continue
            if cls.global_service:
                global_services.add(name)
                if item.awsRegion not in (GLOBAL_REGION, "", None):
                    global_regions.add(item.awsRegion)
                run = GLOBAL_REGION
            else:
                run = region_of(item, aws.default_region)
                regional.setdefault(run, set()).add(name)
            only.setdefault(run, {}).setdefault(item.resourceType, set()).add(item.resourceId)
    runs: list[tuple[str, list[str], list[str]]] = [(r, [r], sorted(s)) for r, s in sorted(regional.items())]
    if global_services:
        runs.append((GLOBAL_REGION, sorted(global_regions) or [aws.default_region], sorted(global_services)))
    for run, regions, services in runs:
        clone = copy.copy(aws)
        clone.regions = regions
        result = runner.collect(clone, store, services=services, changed_by=changed_by, only=only.get(run))
        for err in result.errors:
            log.info("re-collection error: %s", err.to_dict())
    return {key: current_item(store, key) for key in keys}
