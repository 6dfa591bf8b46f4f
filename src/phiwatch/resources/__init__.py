"""Resource types as data: one module per collector (``resources/<service>.py``), each with its ``SERVICE``.

Everything phiwatch knows about an AWS service's resource types lives in its module: the AWS
Config type names (each defined once, as a constant imported everywhere else), the CloudTrail
write calls that change them, and the IAM actions collecting them takes. These functions derive
what other layers need from all of them:

* :func:`service_for_type`: which collector records a type;
* :func:`scanner_actions`: the scanner's read-only IAM policy (their union), and
  :func:`declared_action`: the action a collection error names;
* :func:`event_index`: CloudTrail (eventSource, eventName) -> what it changes (``phiwatch watch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from phiwatch.model import ACCOUNT_TYPE
from phiwatch.plugins import import_package
from phiwatch.resources.spec import Event, ResourceSpec, Service

_MACHINERY = {"spec"}


@cache
def services() -> dict[str, Service]:
    """Every service, by collector name (sorted)."""
    found: dict[str, Service] = {}
    for module in import_package(__name__, skip=_MACHINERY):
        service = getattr(module, "SERVICE", None)
        if not isinstance(service, Service):
            raise TypeError(f"{module.__name__} has no SERVICE")
        if service.name in found:
            raise ValueError(f"service {service.name!r} is described twice")
        found[service.name] = service
    return dict(sorted(found.items()))


@cache
def _by_type() -> dict[str, tuple[Service, ResourceSpec]]:
    out: dict[str, tuple[Service, ResourceSpec]] = {}
    for service in services().values():
        for spec in service.resources:
            if spec.type in out:
                raise ValueError(f"{spec.type} is recorded by both {out[spec.type][0].name} and {service.name}")
            out[spec.type] = (service, spec)
    return out


def spec_for(resource_type: str) -> ResourceSpec | None:
    found = _by_type().get(resource_type)
    return found[1] if found else None


def service_for_type(resource_type: str) -> str | None:
    """The collector that records ``resource_type`` (None for the account item and types phiwatch does not record)."""
    found = _by_type().get(resource_type)
    return found[0].name if found else None


def resource_types() -> list[str]:
    """Every resource type phiwatch records (sorted; the account item excluded)."""
    return sorted(_by_type())


@cache
def scanner_actions() -> tuple[str, ...]:
    """Every IAM action a full collection calls (sorted, once each), plus STS's caller identity."""
    actions = {"sts:GetCallerIdentity"}
    for service in services().values():
        actions.update(service.iam_actions())
    return tuple(sorted(actions))


@cache
def _declared_actions() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for service in services().values():
        for spec in service.resources:
            for call in spec.calls:
                out[(call.client or spec.client or service.name, call.op)] = call.iam
    return out


def declared_action(client: str, op: str) -> str | None:
    """The IAM action a spec declares for boto3 client ``client``'s operation ``op`` (None if no spec calls it)."""
    return _declared_actions().get((client, op))


@dataclass(frozen=True)
class Reading:
    """One way to read a CloudTrail call: the event entry, the type it changes and its collector."""

    event: Event
    resource_type: str  # ``AWS::::Account`` for account-level settings
    service: str


@cache
def event_index() -> dict[tuple[str, str], tuple[Reading, ...]]:
    """(eventSource, eventName) -> every reading of that call, in the order the modules declare them."""
    index: dict[tuple[str, str], list[Reading]] = {}
    for service in services().values():
        entries = [(event, spec.type) for spec in service.resources for event in spec.events]
        entries += [(event, ACCOUNT_TYPE) for event in service.account_events]
        for event, resource_type in entries:
            for name in event.names:
                index.setdefault((event.source, name), []).append(Reading(event, resource_type, service.name))
    return {key: tuple(readings) for key, readings in index.items()}
