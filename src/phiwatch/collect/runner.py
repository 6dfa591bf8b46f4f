"""Run collectors for every (service, region) concurrently and stream items into the store.

Collector threads put items on a bounded queue; the calling thread is the only writer, so
memory grows with the queue and the largest page, not with the estate.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from phiwatch.aws.limits import task_scope
from phiwatch.aws.session import AwsContext
from phiwatch.collect.base import REGISTRY, CollectContext, Collector
from phiwatch.collect.registry import load_collectors
from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, CollectionError, ConfigurationItem, utcnow
from phiwatch.resources import services as resource_services
from phiwatch.store.db import CHANGED, NEW, Store

log = logging.getLogger(__name__)

# progress callback: (event, service, region, items_so_far) with event in start|item|done|failed
ProgressFn = Callable[[str, str, str, int], None]


@dataclass
class CollectResult:
    run_id: int
    account_id: str
    regions: list[str]
    seen: int = 0
    created: int = 0
    changed: int = 0
    deleted: int = 0
    requests: int = 0
    seconds: float = 0.0
    types_seen: dict[str, int] = field(default_factory=dict)
    errors: list[CollectionError] = field(default_factory=list)
    changed_keys: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: every task, slowest first
    tasks: list[TaskTiming] = field(default_factory=list)


@dataclass(frozen=True)
class CollectionTask:
    """One unit of collection: one service of one account in one region (``global`` for global services).

    Everything the task needs besides AWS credentials is here, so a task is a plain value a
    worker process can receive; :func:`run_task` runs it."""

    account_id: str
    service: str
    region: str
    #: every region of the run (global services such as S3 keep the buckets of these)
    regions: tuple[str, ...]
    #: targeted re-collection for this service (see :func:`targeting`); None: everything
    only: Mapping[str, frozenset[str]] | None = None

    @property
    def label(self) -> str:
        """How progress, timings and request counts name the task: ``service region``."""
        return f"{self.service} {self.region}"


@dataclass
class TaskTiming:
    """How one task of a collection went: for ``--verbose`` and the JSON outputs (slowest first)."""

    service: str
    region: str
    seconds: float
    requests: int
    items: int
    #: seconds its requests waited for a slot (:mod:`phiwatch.aws.limits`), all threads together
    waited: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "service": self.service,
            "region": self.region,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "items": self.items,
            "waited_seconds": round(self.waited, 3),
        }


def plan_tasks(
    services: Iterable[str] | None, regions: list[str], account_id: str = "", only: Mapping[str, Iterable[str]] | None = None
) -> list[CollectionTask]:
    """The tasks of one account's collection: each service in each region (global services once),
    costliest first (:attr:`Service.cost <phiwatch.resources.spec.Service.cost>`): S3's and IAM's
    long tasks start at once instead of when the short ones are done, so they do not set the wall time."""
    collectors = load_collectors()
    names = list(services) if services else sorted(collectors)
    declared = resource_services()
    tasks: list[CollectionTask] = []
    for name in names:
        cls = collectors[name]
        for region in [GLOBAL_REGION] if cls.global_service else regions:
            tasks.append(CollectionTask(account_id, name, region, tuple(regions), targeting(cls, only)))
    cost = {name: declared[name].cost if name in declared else 1 for name in names}
    return sorted(tasks, key=lambda task: -cost[task.service])  # stable: names and regions in order within a cost


def run_task(aws: AwsContext, task: CollectionTask, emit: Callable[[ConfigurationItem], bool]) -> CollectContext:
    """Run one task: each item it collects goes to ``emit`` (which returns False to stop the task);
    returns the task's context: its errors and the types it listed completely.

    A collector bug is an error of the task, never an exception: the other tasks go on. An item that
    cannot be stored is an error on that resource, and its type is then not complete."""
    cls = load_collectors()[task.service]
    only = {t: frozenset(ids) for t, ids in task.only.items()} if task.only is not None else None
    ctx = CollectContext(
        aws=aws,
        account_id=task.account_id,
        region=task.region,
        regions=task.regions,
        only=only,
        detail_workers=aws.limiter.limit(task.service),
    )
    dropped: set[str] = set()
    try:
        with task_scope(ctx.stats):
            for item in cls().collect(ctx):
                problem = _unstorable(item)
                if problem:
                    ctx.errors.append(
                        CollectionError(
                            service=task.service,
                            api="*",
                            region=task.region,
                            error="UnstorableItem",
                            iam_action="",
                            resource_type=item.resourceType,
                            resource_id=item.resourceId,
                            message=problem,
                        )
                    )
                    dropped.add(item.resourceType)
                    continue
                if not emit(item):
                    break
    except Exception as exc:  # noqa: BLE001 - a collector bug must not stop the others
        log.debug("collector %s in %s crashed:\n%s", task.service, task.region, traceback.format_exc())
        ctx.errors.append(
            CollectionError(
                service=task.service, api="*", region=task.region, error=type(exc).__name__, iam_action="", message=str(exc)[:300]
            )
        )
        ctx.complete.clear()
    # a dropped item's type was not recorded completely: never mark its resources deleted
    ctx.complete = {c for c in ctx.complete if c[0] not in dropped}
    return ctx


def collect(
    aws: AwsContext,
    store: Store,
    services: Iterable[str] | None = None,
    progress: ProgressFn | None = None,
    max_workers: int | None = None,
    changed_by: str | None = None,
    regions: list[str] | None = None,
    only: Mapping[str, Iterable[str]] | None = None,
) -> CollectResult:
    """Collect every enabled service in every region into ``store``.

    ``only`` (resource type -> identifiers: id, name or ARN; ``AWS::::Account`` -> anything for the
    account part) re-collects just those resources: a collector that can (:attr:`Collector.targetable`)
    asks only for them, and only those of them that are gone are recorded as deleted. A collector
    that cannot collects its whole service, as without ``only``.

    ``max_workers``: tasks run at once (default: the AWS context's request limit, ``--workers``);
    how many requests they have in flight is the context's :class:`~phiwatch.aws.limits.RequestLimiter`'s to say.
    """
    account_id = aws.account_id()
    regions = list(regions or aws.regions)
    tasks = plan_tasks(services, regions, account_id, only)
    service_names = sorted({task.service for task in tasks})
    run_id = store.start_run(account_id, regions, service_names, aws.endpoint_url)
    result = CollectResult(run_id=run_id, account_id=account_id, regions=list(regions))
    started = utcnow()
    t0 = time.monotonic()
    requests_before = aws.counter.total
    q: queue.Queue = queue.Queue(maxsize=500)
    # set when the writer gives up (store error, Ctrl-C): collector threads stop instead of
    # blocking forever on the full queue (which would hang the pool's shutdown)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def work(task: CollectionTask) -> None:
        if stop.is_set():
            return
        began = time.monotonic()
        ctx = run_task(aws, task, lambda item: put(("item", task.service, task.region, item)))
        put(("done", task.service, task.region, (ctx, time.monotonic() - began)))

    # targeted runs not asking for the account part never write it (a collector may yield it anyway)
    untargeted_account = {task.service for task in tasks if task.only is not None and ACCOUNT_TYPE not in task.only}
    status = "failed"
    counts: dict[tuple[str, str], int] = {}
    account_parts: dict[str, ConfigurationItem] = {}
    try:
        with (
            store.writer(run_id) as writer,
            _collector_pool(max(1, min(max_workers or aws.limiter.total, len(tasks))), stop) as pool,
        ):
            for task in tasks:
                counts[(task.service, task.region)] = 0
                if progress:
                    progress("start", task.service, task.region, 0)
                pool.submit(work, task)
            remaining = len(tasks)
            while remaining:
                try:
                    kind, name, region, payload = q.get(timeout=0.5)
                except queue.Empty:
                    writer.commit_if_due()  # what was collected is stored within seconds, even while waiting
                    continue
                if kind == "item":
                    item: ConfigurationItem = payload
                    if item.resourceType == ACCOUNT_TYPE:
                        if name not in untargeted_account:
                            _merge_account_part(account_parts, item, name)
                        continue
                    outcome = writer.record(item, changed_by=changed_by)
                    result.types_seen[item.resourceType] = result.types_seen.get(item.resourceType, 0) + 1
                    if outcome in (NEW, CHANGED):
                        result.changed_keys.append(item.key)
                    counts[(name, region)] += 1
                    if progress:
                        progress("item", name, region, counts[(name, region)])
                    continue
                remaining -= 1
                ctx: CollectContext = payload[0]
                result.tasks.append(TaskTiming(name, region, payload[1], ctx.stats.requests, counts[(name, region)], ctx.stats.waited))
                for resource_type, scope_region in sorted(ctx.complete):
                    if ctx.only is None:
                        writer.mark_missing_deleted(account_id, scope_region, resource_type, started)
                    elif ctx.only.get(resource_type):  # a targeted run: only its targets can be gone
                        writer.mark_missing_deleted(account_id, scope_region, resource_type, started, only=ctx.only[resource_type])
                writer.commit()
                result.errors.extend(ctx.errors)
                if progress:
                    progress("failed" if ctx.errors else "done", name, region, counts[(name, region)])
            for part in account_parts.values():
                item = _with_stored_account_keys(store, part, set(service_names))
                if writer.record(item, changed_by=changed_by) in (NEW, CHANGED):
                    result.changed_keys.append(item.key)
                result.types_seen[ACCOUNT_TYPE] = result.types_seen.get(ACCOUNT_TYPE, 0) + 1
            result.seen, result.created, result.changed, result.deleted = (
                writer.seen,
                writer.created,
                writer.changed,
                writer.deleted,
            )
        status = "complete"
    finally:
        result.tasks.sort(key=lambda timing: -timing.seconds)
        result.requests = aws.counter.total - requests_before
        result.seconds = time.monotonic() - t0
        store.record_errors(run_id, result.errors)
        store.finish_run(
            run_id,
            status=status,
            seen=result.seen,
            changed=result.changed + result.created,
            deleted=result.deleted,
            requests=result.requests,
            complete=status == "complete" and not result.errors,
        )
    return result


SOURCES = "accountKeySources"


def targeting(cls: type[Collector], only: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]] | None:
    """The part of ``only`` for collector ``cls``; None (its whole service) when it cannot target all of it."""
    if only is None:
        return None
    mine = {t: frozenset(ids) for t, ids in only.items() if t == ACCOUNT_TYPE or t in cls.resource_types}
    if not set(mine) <= cls.targetable:
        return None
    return mine


@contextmanager
def _collector_pool(workers: int, stop: threading.Event) -> Iterator[ThreadPoolExecutor]:
    """Threads for the collectors. On an error in the writer (or Ctrl-C) stop them, drop the
    tasks not started and do not wait for calls in flight, so the run is recorded at once."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _unstorable(item: ConfigurationItem) -> str | None:
    """Why ``item`` cannot be stored (a collector bug, or a response without the resource's id), or None."""
    for name in ("resourceType", "resourceId", "awsRegion", "accountId"):
        value = getattr(item, name)
        if not isinstance(value, str) or not value:
            return f"no {name}"
    for name in ("resourceName", "arn"):
        if getattr(item, name) is not None and not isinstance(getattr(item, name), str):
            return f"{name} is not text"
    try:
        json.dumps(item.to_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"not JSON: {exc}"[:300]
    return None


def _merge_account_part(parts: dict[str, ConfigurationItem], part: ConfigurationItem, service: str) -> None:
    """Merge a collector's partial account item; remember which service owns each key."""
    sources = {key: service for key in part.configuration}
    current = parts.get(part.awsRegion)
    if current is None:
        part.supplementaryConfiguration[SOURCES] = sources
        parts[part.awsRegion] = part
        return
    current.supplementaryConfiguration.setdefault(SOURCES, {}).update(sources)
    current.configuration.update(part.configuration)
    current.supplementaryConfiguration.update(part.supplementaryConfiguration)
    current.collectionErrors.extend(part.collectionErrors)


def _with_stored_account_keys(store: Store, part: ConfigurationItem, ran: set[str]) -> ConfigurationItem:
    """Keep the keys of services *not collected in this run* from the stored item.

    A key of a service that did run but is missing now (its read failed) is not carried over:
    a stale value must never stand in for "could not read".
    """
    found = [r for r in store.find(part.resourceId, ACCOUNT_TYPE) if r["region"] == part.awsRegion]
    if not found:
        return part
    stored = store.item_at(found[0]["id"])
    if not stored:
        return part
    previous = ConfigurationItem.from_dict(stored["item"])
    old_sources = previous.supplementaryConfiguration.get(SOURCES, {})
    sources = part.supplementaryConfiguration.setdefault(SOURCES, {})
    for key, value in previous.configuration.items():
        owner = old_sources.get(key)
        if key not in part.configuration and owner is not None and owner not in ran:
            part.configuration[key] = value
            sources[key] = owner
    return part


def services_for_types(resource_types: Iterable[str]) -> list[str]:
    """Collector names that produce these resource types (AWS::::Account: every collector with account keys)."""
    load_collectors()
    wanted = set(resource_types)
    return sorted(name for name, cls in REGISTRY.items() if wanted & set(cls.resource_types))
