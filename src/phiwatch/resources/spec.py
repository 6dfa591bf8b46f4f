"""What phiwatch knows about an AWS resource type, written as data.

A :class:`ResourceSpec` names one AWS Config type and everything the rest of phiwatch derives
from it: the collector (``service``) that records it, the IAM actions collecting it takes, and
the CloudTrail write calls that change it (:class:`Event`, for ``phiwatch watch``). A
:class:`Service` gathers the specs one collector records, the account-level settings it owns
(keys of the ``AWS::::Account`` item) and the IAM actions of its calls.

Everything here is pure data: no AWS calls, no store. The event index, the scanner's IAM
policy and the collector of a type are functions of these objects (``phiwatch.resources``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# -- where an identifier is in a CloudTrail record ---------------------------------------------

#: longest identifier read from an event (an ARN is at most 2048 characters)
MAX_IDENTIFIER = 2048


def _walk(node: Any, parts: Sequence[str]) -> list[Any]:
    """Values at ``parts`` below ``node``; ``name[]`` (or any list met) fans out over elements."""
    if not parts:
        if isinstance(node, list):
            out: list[Any] = []
            for element in node:
                out.extend(_walk(element, ()))
            return out
        return [node]
    if isinstance(node, list):
        out = []
        for element in node:
            out.extend(_walk(element, parts))
        return out
    if not isinstance(node, dict):
        return []
    head = parts[0]
    fan = head.endswith("[]")
    key = head[:-2] if fan else head
    if key not in node:
        return []
    return _walk(node[key], parts[1:])


def _scalars(values: Iterable[Any]) -> list[str]:
    """The values that can be identifiers: non-empty strings or numbers, no longer than an ARN, without
    NUL characters (no AWS identifier has them, and PostgreSQL cannot compare with them)."""
    out = []
    for value in values:
        if isinstance(value, dict) and "content" in value:  # EC2's {"tag": 1, "content": "vpc-..."}
            value = value["content"]
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            text = str(value).strip()
            if text and len(text) <= MAX_IDENTIFIER and "\x00" not in text:
                out.append(text)
    return out


def lookup(record: dict[str, Any], path: str) -> list[str]:
    """The scalar values at a dotted ``path`` of a CloudTrail record."""
    return _scalars(_walk(record, path.split(".")))


@dataclass(frozen=True)
class P:
    """A path in the CloudTrail record (``requestParameters.groupId``, ``a.items[].b``)."""

    path: str

    def extract(self, record: dict[str, Any], env: dict[str, str]) -> list[str]:
        return lookup(record, self.path)


@dataclass(frozen=True)
class T:
    """A template: ``{region}``, ``{account}``, ``{partition}`` or ``{<path>}`` (first value)."""

    template: str

    def extract(self, record: dict[str, Any], env: dict[str, str]) -> list[str]:
        missing = False

        def sub(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            if name in env:
                return env[name]
            values = lookup(record, name)
            if not values:
                missing = True
                return ""
            return values[0]

        text = re.sub(r"\{([^{}]+)\}", sub, self.template)
        return [] if missing else [text]


@dataclass(frozen=True)
class R:
    """The values at ``path`` rewritten by ``pattern`` (``re.sub`` with ``repl``), kept only if it matched."""

    path: str
    pattern: str
    repl: str = r"\1"

    def extract(self, record: dict[str, Any], env: dict[str, str]) -> list[str]:
        rx = re.compile(self.pattern)
        return [rx.sub(self.repl, v) for v in lookup(record, self.path) if rx.search(v)]


Extractor = P | T | R


@dataclass(frozen=True)
class Event:
    """CloudTrail write calls (``names`` of eventSource ``source``) that change the resources of a spec.

    * ``ids``: where the changed resource's identifier is in the record; whatever is found is
      matched against the stored ARN, resource id or name. An event whose identifiers cannot be
      read still re-collects the type in its region.
    * ``optional``: use this reading only when one of its ids was found. It tells apart calls that
      share a name (Classic and v2 load balancers both call ``CreateLoadBalancer``): when no
      optional reading of a call found an id, all are used.
    * ``when``: only records whose paths have one of the given values.
    * ``region``: ``global`` for account-global settings; None: the event's ``awsRegion``.
    """

    source: str
    names: tuple[str, ...]
    ids: tuple[Extractor, ...] = ()
    optional: bool = False
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    region: str | None = None

    def applies(self, record: dict[str, Any]) -> bool:
        return all(set(lookup(record, path)) & set(values) for path, values in self.when)


def on(
    source: str,
    names: str,
    *ids: Extractor,
    optional: bool = False,
    when: dict[str, tuple[str, ...]] | None = None,
    region: str | None = None,
) -> Event:
    """An :class:`Event` from a space-separated list of event names (``on("s3.amazonaws.com", "PutBucketAcl DeleteBucket", P(...))``)."""
    return Event(source, tuple(names.split()), tuple(ids), optional, tuple((when or {}).items()), region)


# -- resource types and services --------------------------------------------------------------

Scope = Literal["regional", "global"]

#: a parameter value: a JMESPath on the element (text), a function of the element, :class:`FromItem`, or any other literal
Param = Any


@dataclass(frozen=True)
class FromItem:
    """A parameter read from the item being built, not the listed element: a JMESPath on
    ``{"arn", "resourceId", "resourceName", "configuration"}`` (``FromItem("arn")`` is the ARN the
    spec's ``arn`` gives, its template included; ``FromItem("configuration.X")`` reads what
    ``describe`` returned)."""

    path: str


@dataclass(frozen=True)
class Call:
    """One AWS operation, as data.

    * ``op``: the operation (``DescribeFileSystems``); ``client``: its boto3 client when it is not
      the spec's (``application-autoscaling`` for a DynamoDB table's scaling).
    * ``iam``: the IAM action it needs, written out.
    * ``params``: parameter -> a JMESPath on the listed element (literal text is a JMESPath raw
      string: ``"'ACTIVE'"``), a function of the element, :class:`FromItem`, or any non-text literal.
    * ``result``: a JMESPath into the response (None: the whole response).
    * ``absent``: error codes meaning "no such configuration", a real answer stored as ``default``
      (``PolicyNotFound``); any other error is recorded on the item ("could not check") and keeps
      the value unset, never the default.
    * ``parse``: a function of the selected result (a policy document's JSON text -> an object).
    * ``pages``: a paginated detail call: ``result`` is a list on each page, joined over every page.
    * ``batch``, ``batch_param``, ``match`` (``describe`` only): describe up to ``batch`` resources per
      call, their ids in the list parameter ``batch_param``; ``result`` is the list of descriptions,
      each matched back to its resource by the JMESPath ``match``. A failed batch, or a description
      without its ``match`` key, records none of those resources and leaves the type incomplete
      (nothing is recorded deleted); a resource the answer leaves out is gone.
    """

    op: str
    iam: str
    params: Mapping[str, Param] = field(default_factory=dict)
    result: str | None = None
    absent: tuple[str, ...] = ()
    default: Any = None
    client: str | None = None
    parse: Callable[[Any], Any] | None = None
    pages: bool = False
    batch: int = 0
    batch_param: str | None = None
    match: str | None = None


@dataclass(frozen=True)
class ResourceSpec:
    """One AWS Config resource type as phiwatch records it.

    Collected by the generic collector (``collect/generic.py``) when ``listing`` is set; by its
    service's hook (``collect/<service>.py``) otherwise.

    * ``client``: the boto3 client (``efs``).
    * ``listing``: the listing; its ``result`` is the key of one page's elements (``FileSystems``),
      paginated when boto3 can. Elements are objects or, for listings of names, text (``id`` "@").
    * ``id``, ``name``, ``arn``: JMESPaths (or functions) on the element (then on ``configuration``); ``arn`` may
      instead be a template with ``{partition}``, ``{region}``, ``{account}`` and ``{id}``; a tuple
      is tried in order (``("StreamARN", "arn:...:stream/{id}")``).
    * ``describe``: a call per element whose ``result`` becomes ``configuration`` (otherwise the
      element is). When it fails the item keeps the element (or ``{id_key: id}``) and the error.
    * ``gone``: error codes of ``describe`` that prove the resource no longer exists (it is then
      not recorded, and a targeted run records it deleted). No other error means deleted.
    * ``target``: targeted re-collection (``watch``) without a listing: the element of one
      identifier (id, name or ARN) given the context's ``{partition, region, account}``; None
      lists and keeps the wanted ones.
    * ``details``: ``supplementaryConfiguration`` key -> call.
    * ``tags``: a call, or a JMESPath on ``configuration`` read before ``drop`` (so the tags' own
      member may be dropped); a list of ``{Key, Value}`` (``tag_keys`` names other members) or a map.
    * ``drop``: configuration keys not recorded (metered values that change without a change).
    * ``relationships``: a function of ``configuration`` -> AWS Config style relationships.
    * ``keep``: a function of a listed element: False leaves it out (a resource being deleted, a
      shadow copy homed elsewhere); left-out elements are not resources of this listing.
    * ``unnest``: a JMESPath on each listed element giving the resources in it (EC2's
      ``Reservations[].Instances[]``: ``listing.result`` "Reservations", ``unnest`` "Instances").
    * ``target_listing``: targeted re-collection through the listing itself: the listing's extra
      parameters for the wanted identifiers (EC2's ``Filters``); the ``gone`` codes of the listing
      then mean none of them exists.
    * ``merge``: ``describe``'s result is merged into the listed element instead of replacing it.
    * ``shape``: a function of ``configuration`` (after ``describe`` and ``drop``) -> the recorded
      configuration (a value replaced by whether it is present, never stored).
    """

    #: the AWS Config type (``AWS::EFS::FileSystem``)
    type: str
    #: the CloudTrail write calls that change resources of this type
    events: tuple[Event, ...] = ()
    client: str | None = None
    listing: Call | None = None
    id: str | Callable[[Any], Any] = "@"
    name: str | Callable[[Any], Any] | None = None
    arn: str | tuple[str, ...] | None = None
    describe: Call | None = None
    id_key: str | None = None
    gone: tuple[str, ...] = ()
    target: Callable[[str, Mapping[str, str]], Any] | None = None
    details: Mapping[str, Call] = field(default_factory=dict)
    tags: Call | str | None = None
    tag_keys: tuple[str, str] = ("Key", "Value")
    drop: tuple[str, ...] = ()
    relationships: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    keep: Callable[[Any], bool] | None = None
    unnest: str | None = None
    target_listing: Callable[[frozenset[str], Mapping[str, str]], dict[str, Any]] | None = None
    merge: bool = False
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def calls(self) -> tuple[Call, ...]:
        found = [self.listing, self.describe, *self.details.values(), self.tags if isinstance(self.tags, Call) else None]
        return tuple(c for c in found if c is not None)

    def iam_actions(self) -> set[str]:
        return {call.iam for call in self.calls}


@dataclass(frozen=True)
class Service:
    """What one collector records: its resource types, the account settings it owns, its calls.

    * ``name``: the collector's name (``phiwatch collect --service NAME``).
    * ``scope``: ``global`` when it is collected once per account (IAM, S3), in region ``global``
      for its items when ``global_items`` (IAM, as AWS Config records it).
    * ``account_events``: write calls that change the account-level settings it owns.
    * ``iam``: the IAM actions its hook (``collect/<service>.py``) calls, written out (never
      derived from an operation name: ``s3:ListBuckets`` is really ``s3:ListAllMyBuckets``); the
      specs' calls declare their own. The scanner's policy is the union over every service.
    * ``cost``: about how many requests one region's collection takes, relative to a service
      with one listing and no detail calls (1). A collection starts its costliest tasks first, so
      the long ones (S3's dozen reads per bucket) do not begin when the short ones are done.
    """

    name: str
    resources: tuple[ResourceSpec, ...] = ()
    scope: Scope = "regional"
    global_items: bool = False
    account_events: tuple[Event, ...] = ()
    iam: tuple[str, ...] = ()
    cost: int = 1

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(spec.type for spec in self.resources)

    @property
    def declarative(self) -> bool:
        """Collected by the generic collector alone: every type has a listing and no hook is needed."""
        return bool(self.resources) and all(spec.listing is not None for spec in self.resources) and not self.account_events

    def iam_actions(self) -> set[str]:
        """What collecting this service takes: its specs' calls and its hook's declared actions."""
        return set(self.iam).union(*(spec.iam_actions() for spec in self.resources))


def json_document(text: Any) -> Any:
    """A policy document from its JSON text (None when empty; ``{"policyText": text}`` when not JSON)."""
    if not text:
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return {"policyText": text}


def relation(resource_type: str, resource_id: Any, name: str) -> list[dict[str, Any]]:
    """One relationship in AWS Config's shape, as a list (empty when the id is missing)."""
    return [{"resourceType": resource_type, "resourceId": resource_id, "relationshipName": name}] if resource_id else []


def name_tag(tags: str = "Tags") -> str:
    """A JMESPath to the ``Name`` tag of a ``[{Key, Value}]`` list."""
    return f"({tags}[?Key=='Name'].Value | [0])"
