"""Shared collection machinery: calls with error capture, pagination, and the collector registry.

A collector is a class registered with :func:`register`. It yields
:class:`~phiwatch.model.ConfigurationItem` objects for one (account, region) and never judges
them. Every AWS call goes through :class:`CollectContext`, which

* paginates with botocore's paginators,
* records a denied or failed call as a :class:`~phiwatch.model.CollectionError` naming the
  API and the IAM action it needs (on the item, so rules can say INSUFFICIENT_DATA),
* treats the error codes a call documents for "not configured" (for example
  ``NoSuchBucketPolicy``) as an absent value, never as a failure,
* tells the engine which resource types were listed completely, so resources missing from
  a complete listing (and only those) are recorded as deleted.

Account-wide settings (password policy, EBS encryption by default, account public access
block, ...) go on one ``AWS::::Account`` item per account and region (``global`` for
account-global settings). Each collector yields a *partial* account item from
:meth:`CollectContext.account_item` holding only its own configuration keys; the runner
merges the parts, keeping keys of services not collected in this run from the stored item.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from phiwatch.aws.limits import TaskStats, propagating
from phiwatch.aws.session import AwsContext, iam_action_for
from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, CollectionError, ConfigurationItem, to_jsonable
from phiwatch.plugins import register_unique
from phiwatch.resources import declared_action


class _Failed:
    """Sentinel returned by :meth:`CollectContext.call` when the call failed."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "FAILED"


FAILED: Any = _Failed()


class ListFailed(Exception):
    """A list call failed: the resource type was not listed completely."""


class MalformedResponse(ResponseParserError):
    """A response that does not have its operation's output shape (a member of another kind): recorded
    like an unreadable response ("InvalidResponse"), never read."""


_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "float": (int, float),
    "double": (int, float),
}


def malformed(shape: Any, value: Any, path: str = "", depth: int = 0) -> str | None:
    """Where ``value`` departs from botocore ``shape`` (a path and what is wrong), or None when it conforms.

    Lenient where AWS is: null and absent members (even "required" ones, which services and emulators
    omit) and unknown members are fine; a member of another kind (a list where an object is expected,
    text where a number is) is not."""
    if shape is None or value is None or depth > 40:
        return None
    kind = shape.type_name
    where = path or "response"
    if kind == "structure":
        if not isinstance(value, dict):
            return f"{where}: {type(value).__name__}, not an object"
        for name, member in shape.members.items():
            if name in value:
                found = malformed(member, value[name], f"{path}.{name}".lstrip("."), depth + 1)
                if found:
                    return found
        return None
    if kind == "list":
        if not isinstance(value, list):
            return f"{where}: {type(value).__name__}, not a list"
        for i, element in enumerate(value):
            found = malformed(shape.member, element, f"{path}[{i}]", depth + 1)
            if found:
                return found
        return None
    if kind == "map":
        if not isinstance(value, dict):
            return f"{where}: {type(value).__name__}, not a map"
        for key, element in value.items():
            found = malformed(shape.value, element, f"{path}.{key}", depth + 1)
            if found:
                return found
        return None
    expected = _SCALARS.get(kind)
    if kind == "string" and isinstance(value, dict) and "Document" in path.rsplit(".", 1)[-1]:
        return None  # a policy document botocore decoded (IAM)
    if expected is not None and (not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool))):
        return f"{where}: {type(value).__name__}, not {kind}"
    return None


def without_nulls(shape: Any, value: Any, path: str = "", depth: int = 0) -> str | None:
    """Drop, in place, every null member of every object in ``value`` (of botocore ``shape``): AWS sends
    ``null`` for members it has no value for, which collectors read like absent ones (``.get(k, default)``).

    A null element of a list, or a null value of a map of objects or lists, is not dropped (that would
    silently lose a resource or a setting): it is returned as a problem, an error of the call."""
    if shape is None or depth > 40:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name in [n for n, v in value.items() if v is None]:
            del value[name]
        for name, member in shape.members.items():
            if name in value:
                found = without_nulls(member, value[name], f"{path}.{name}".lstrip("."), depth + 1)
                if found:
                    return found
    elif kind == "list" and isinstance(value, list):
        for i, element in enumerate(value):
            if element is None:
                return f"{path or 'response'}[{i}]: null"
            found = without_nulls(shape.member, element, f"{path}[{i}]", depth + 1)
            if found:
                return found
    elif kind == "map" and isinstance(value, dict):
        for key, element in value.items():
            if element is None and shape.value.type_name in ("structure", "list", "map"):
                return f"{path}.{key}: null"
            found = without_nulls(shape.value, element, f"{path}.{key}", depth + 1)
            if found:
                return found
    return None


def _check_response(client: Any, api: str, response: Any) -> None:
    """Drop null members of ``response`` (:func:`without_nulls`); raise :class:`MalformedResponse` when it
    does not have ``api``'s output shape."""
    try:
        shape = client.meta.service_model.operation_model(api).output_shape
    except Exception:  # noqa: BLE001 - no model to check against (a stubbed client): read it as it is
        return
    problem = without_nulls(shape, response) or malformed(shape, response)
    if problem:
        raise MalformedResponse(f"unexpected response: {problem}"[:300])


def snake(api: str) -> str:
    """boto3's method name of an operation (``ListWebACLs`` -> ``list_web_acls``)."""
    return xform_name(api)


def error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        if code:
            return code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return {403: "AccessDenied", 404: "NotFound"}.get(status, f"HTTP{status}" if status else "ClientError")
    if isinstance(exc, ResponseParserError):
        return "InvalidResponse"
    return type(exc).__name__


def error_message(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", ""))[:300]
    return str(exc)[:300]


def tags_from_list(tag_list: list[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    # a tag without a text key (a malformed response) is left out: keys must sort to hash the item
    return {t[key]: t.get(value, "") for t in (tag_list or []) if isinstance(t, dict) and isinstance(t.get(key), str)}


@dataclass
class CollectContext:
    """Everything one collector run needs: clients for one region, error capture, completeness."""

    aws: AwsContext
    account_id: str
    region: str
    errors: list[CollectionError] = field(default_factory=list)
    #: (resource_type, region) pairs listed completely in this run
    complete: set[tuple[str, str]] = field(default_factory=set)
    #: resource types whose listing had elements phiwatch could not identify: never marked complete
    incomplete: set[str] = field(default_factory=set)
    partition: str = "aws"
    #: regions the user asked for (global collectors such as S3 filter on it)
    regions: tuple[str, ...] = ()
    #: threads for per-resource detail calls within one collector (the run sets it to the
    #: service's request limit: :mod:`phiwatch.aws.limits` decides how many are in flight)
    detail_workers: int = 8
    #: targeted re-collection: resource type -> identifiers (id, name or ARN) to collect, other
    #: types not at all (``AWS::::Account``: the collector's account part). None: everything.
    only: dict[str, frozenset[str]] | None = None
    #: the requests this run sent and how long they waited for a slot (:mod:`phiwatch.aws.limits`)
    stats: TaskStats = field(default_factory=TaskStats)

    def wants(self, resource_type: str) -> bool:
        """Whether this run collects ``resource_type`` (or, for ``AWS::::Account``, the account part)."""
        return self.only is None or resource_type in self.only

    def targets(self, resource_type: str) -> frozenset[str] | None:
        """The identifiers wanted of ``resource_type``; None means every resource of the type."""
        return None if self.only is None else self.only.get(resource_type, frozenset())

    def widen_targets(self, resource_type: str, identifiers: Iterable[str]) -> None:
        """Add identifiers to a targeted run's targets of ``resource_type`` (other spellings of
        the wanted ones, or resources the change replaced): they are collected and, when gone,
        recorded as deleted. No effect on a full run."""
        if self.only is not None:
            self.only = {**self.only, resource_type: self.only.get(resource_type, frozenset()) | frozenset(identifiers)}

    def selected(self, resource_type: str, *identifiers: str | None) -> bool:
        """Whether a listed element known by these identifiers (id, name, ARN) is collected in this run."""
        wanted = self.targets(resource_type)
        return wanted is None or any(i in wanted for i in identifiers if i)

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)

    # -- calls -------------------------------------------------------------------------
    def call(
        self,
        service: str,
        api: str,
        *,
        item: ConfigurationItem | None = None,
        not_found: tuple[str, ...] = (),
        absent: Any = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call ``service.api(**kwargs)``.

        Returns the response (JSON-normalised), ``absent`` when AWS answers with one of the
        ``not_found`` codes, or :data:`FAILED` after recording the error on ``item`` (when
        given) and on the context.
        """
        try:
            client = self.client(service)
            response = getattr(client, snake(api))(**kwargs)
            _check_response(client, api, response)
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            code = error_code(exc)
            if code in not_found:
                return absent
            self._record(service, api, exc, item, resource_type, resource_id)
            return FAILED
        response.pop("ResponseMetadata", None)
        return to_jsonable(response)

    def paginate(
        self,
        service: str,
        api: str,
        result_key: str,
        *,
        resource_type: str | None = None,
        item: ConfigurationItem | None = None,
        not_found: tuple[str, ...] = (),
        id_key: str | tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Yield every element of ``result_key`` across pages; raise :class:`ListFailed` on error.

        Elements are what the listing holds: structures (dicts) for most APIs, names or ARNs (str)
        for listings such as ListTables or ListTaskDefinitions.

        ``id_key``: the member identifying a resource; an element without it is not yielded but recorded
        as an error, and ``resource_type`` is then never marked complete (nothing is recorded deleted)."""
        client = self.client(service)
        op = snake(api)
        try:
            if client.can_paginate(op):
                pages = client.get_paginator(op).paginate(**kwargs)
            else:
                pages = iter([getattr(client, op)(**kwargs)])
            for page in pages:
                _check_response(client, api, page)
                elements = page.get(result_key, []) or []
                if id_key is not None:
                    elements = self.identified(
                        service, api, elements, id_key, result_key=result_key, resource_type=resource_type, item=item
                    )
                for element in elements:
                    yield to_jsonable(element)
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            if error_code(exc) in not_found:
                return
            self._record(service, api, exc, item, resource_type, None)
            raise ListFailed(f"{service}:{api}") from exc
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # botocore's paginator reading a malformed page
            self._record(
                service, api, MalformedResponse(f"unexpected response: {type(exc).__name__}: {exc}"[:300]), item, resource_type, None
            )
            raise ListFailed(f"{service}:{api}") from exc

    def identified(
        self,
        service: str,
        api: str,
        elements: Iterable[Any] | None,
        id_key: str | tuple[str, ...],
        *,
        result_key: str | None = None,
        resource_type: str | None = None,
        item: ConfigurationItem | None = None,
    ) -> list[dict[str, Any]]:
        """The elements of ``api``'s listing that have their id ``id_key`` (non-empty text; a tuple: each of
        those members). Each one without
        is recorded as an error of that call, and ``resource_type`` is then never marked complete: a resource
        phiwatch could not identify is "could not check", never read as deleted."""
        keys = (id_key,) if isinstance(id_key, str) else id_key
        kept = []
        for element in elements or []:
            missing = [k for k in keys if not (isinstance(element, dict) and isinstance(element.get(k), str) and element[k])]
            if not missing:
                kept.append(element)
                continue
            self._record(
                service,
                api,
                MalformedResponse(f"unexpected response: a {result_key or api} element without {missing[0]}"),
                item,
                resource_type,
                None,
            )
            if resource_type:
                self.incomplete.add(resource_type)
        return kept

    def _record(
        self,
        service: str,
        api: str,
        exc: Exception,
        item: ConfigurationItem | None,
        resource_type: str | None,
        resource_id: str | None,
    ) -> None:
        err = CollectionError(
            service=service,
            api=api,
            region=self.region,
            error=error_code(exc),
            iam_action=declared_action(service, api) or iam_action_for(service, api),
            resource_type=resource_type or (item.resourceType if item else None),
            resource_id=resource_id or (item.resourceId if item else None),
            message=error_message(exc),
        )
        self.errors.append(err)
        if item is not None:
            item.collectionErrors.append(err.to_dict())

    # -- helpers -----------------------------------------------------------------------
    def mark_complete(self, *resource_types: str, region: str | None = None) -> None:
        """Say that every resource of these types in ``region`` (default: this one) was listed."""
        for resource_type in resource_types:
            if resource_type not in self.incomplete:
                self.complete.add((resource_type, region or self.region))

    def map(self, fn: Callable[[Any], Any], elements: Iterable[Any]) -> Iterator[Any]:
        """``fn`` over ``elements`` on ``detail_workers`` threads, results in order, a bounded window at a time."""
        window = self.detail_workers * 4
        in_scope = propagating(fn)  # the calls count towards this task, whichever thread makes them
        with ThreadPoolExecutor(max_workers=self.detail_workers) as pool:
            pending: deque = deque()
            for element in elements:
                pending.append(pool.submit(in_scope, element))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def account_item(self, region: str | None = None) -> ConfigurationItem:
        """A partial AWS::::Account item; the runner merges the parts of every collector."""
        region = region or self.region
        return ConfigurationItem(
            resourceType=ACCOUNT_TYPE,
            resourceId=self.account_id,
            resourceName=self.account_id,
            accountId=self.account_id,
            awsRegion=region,
            arn=f"arn:{self.partition}:::{self.account_id}",
        )

    def item(self, resource_type: str, resource_id: str, **fields: Any) -> ConfigurationItem:
        """A new item for this context's account and region."""
        fields.setdefault("awsRegion", self.region)
        return ConfigurationItem(resourceType=resource_type, resourceId=resource_id, accountId=self.account_id, **fields)

    def arn(self, service: str, resource: str, region: str | None = None, account: bool = True) -> str:
        region = self.region if region is None else region
        if region == GLOBAL_REGION:
            region = ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id if account else ''}:{resource}"


class Collector:
    """Base class of a service collector; subclasses set the class attributes and ``collect``."""

    #: short name used on the command line, in progress and in errors (e.g. "s3")
    name: ClassVar[str]
    #: AWS Config resource types this collector produces
    resource_types: ClassVar[tuple[str, ...]]
    #: True when the service is global (IAM): collected once per account, region "global"
    global_service: ClassVar[bool] = False
    #: types (``AWS::::Account`` for the account part) this collector can collect alone, honouring
    #: :attr:`CollectContext.only`; a targeted run asking for any other type collects the whole service
    targetable: ClassVar[frozenset[str]] = frozenset()

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:  # pragma: no cover
        raise NotImplementedError


REGISTRY: dict[str, type[Collector]] = {}


def register(cls: type[Collector]) -> type[Collector]:
    """Class decorator: add a collector to the registry under ``cls.name``."""
    return register_unique(REGISTRY, cls.name, cls, "collector")


@dataclass
class Detail:
    """One per-resource call whose answer goes into the item, described as data.

    ``params`` builds the call's arguments from the item; ``select`` picks the value out of
    the response (a key or a callable); ``target`` is ``configuration.X`` or
    ``supplementaryConfiguration.X``. Codes in ``not_found`` mean "not configured" and store
    ``absent``; any other error is recorded on the item and the target is left unset. When
    ``answered`` is true for the item (an earlier detail already tells), the call is not made and
    ``absent`` is stored, as when AWS answers with a code of ``not_found``.
    """

    service: str
    api: str
    params: Callable[[ConfigurationItem], dict[str, Any]]
    target: str
    select: str | Callable[[dict[str, Any]], Any] | None = None
    not_found: tuple[str, ...] = ()
    absent: Any = None
    answered: Callable[[ConfigurationItem], bool] | None = None

    def apply(self, ctx: CollectContext, item: ConfigurationItem) -> None:
        if self.answered is not None and self.answered(item):
            response: Any = _ABSENT
        else:
            response = ctx.call(self.service, self.api, item=item, not_found=self.not_found, absent=_ABSENT, **self.params(item))
        if response is FAILED:
            return
        if response is _ABSENT:
            value = self.absent
        elif self.select is None:
            value = response
        elif callable(self.select):
            value = self.select(response)
        else:
            value = response.get(self.select)
        section, _, key = self.target.partition(".")
        getattr(item, section)[key] = value


_ABSENT = object()
