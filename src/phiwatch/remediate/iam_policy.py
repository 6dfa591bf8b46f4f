"""Least-privilege IAM policies: what a runbook needs, and what collection (the scanner) needs.

* :func:`runbook_policy` lists the actions of a runbook's API calls (``Document.iam_actions()``).
* :func:`scanner_policy` is the read-only policy for ``phiwatch collect``/``scan``. Its action
  list, :data:`SCANNER_ACTIONS`, is the union of what each service declares it calls (the
  ``iam`` tuple of its ``phiwatch/resources/<service>.py``), so the command works offline.
  :func:`record_actions` (a botocore ``before-call`` hook that maps every (service, operation)
  a collection sends to its IAM action with :func:`~phiwatch.aws.session.iam_action_for`)
  checks the declarations: ``tests/remediate/test_iam_policy.py`` collects the demo estate on moto's
  server and fails when a collector calls an action its service does not declare.

List what a collection of the demo estate calls, per service, after changing a collector::

    .venv/bin/python -m phiwatch.demo.scanner_actions
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from phiwatch.aws.session import iam_action_for
from phiwatch.resources import scanner_actions

#: Every IAM action a full collection calls (sorted): the union of the ``iam`` tuples of ``phiwatch/resources/<service>.py``.
SCANNER_ACTIONS: tuple[str, ...] = scanner_actions()

POLICY_VERSION = "2012-10-17"


def policy_document(actions: list[str] | tuple[str, ...], sid: str) -> dict[str, Any]:
    """One Allow statement per IAM service prefix, actions sorted (readable, stable diffs)."""
    by_prefix: dict[str, list[str]] = {}
    for action in sorted(set(actions)):
        by_prefix.setdefault(action.split(":", 1)[0], []).append(action)
    statements = [
        {"Sid": f"{sid}{_sid_part(prefix)}", "Effect": "Allow", "Action": acts, "Resource": "*"}
        for prefix, acts in sorted(by_prefix.items())
    ]
    return {"Version": POLICY_VERSION, "Statement": statements}


def _sid_part(prefix: str) -> str:
    return "".join(p.capitalize() for p in prefix.replace("-", " ").split())


def runbook_policy(doc: Any) -> dict[str, Any]:
    """The policy a runbook's steps need (``Document.iam_actions()``), for its automation role."""
    sid = "".join(ch for ch in doc.id.title() if ch.isalnum())[:60] or "Runbook"
    return policy_document(list(doc.iam_actions()), sid)


def scanner_policy() -> dict[str, Any]:
    """The read-only policy collection needs (every collector, every region).

    One statement with every action, sorted: a statement per service would cost ~60 characters
    each. When it is longer than one managed policy may be (6,144 characters),
    :func:`scanner_policies` splits it into several that together grant the same actions.
    """
    actions = sorted(set(SCANNER_ACTIONS))
    statement = {"Sid": "PhiwatchReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


#: characters (whitespace excluded) IAM allows in one customer managed policy
MANAGED_POLICY_LIMIT = 6144


def scanner_policies(limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """:func:`scanner_policy` split into as few managed policies as hold it (each at most ``limit``
    characters), by whole services in name order; together they grant exactly its actions."""
    parts: list[list[str]] = [[]]
    by_prefix: dict[str, list[str]] = {}
    for action in sorted(set(SCANNER_ACTIONS)):
        by_prefix.setdefault(action.split(":", 1)[0], []).append(action)
    for actions in by_prefix.values():
        for chunk in [actions] if policy_size(_part(actions, 1)) <= limit else [[a] for a in actions]:
            if parts[-1] and policy_size(_part(parts[-1] + chunk, len(parts))) > limit:
                parts.append([])
            parts[-1].extend(chunk)
    return [_part(actions, n) for n, actions in enumerate(parts, start=1)]


def _part(actions: list[str], n: int) -> dict[str, Any]:
    statement = {"Sid": f"PhiwatchReadOnly{n}", "Effect": "Allow", "Action": sorted(actions), "Resource": "*"}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def policy_size(policy: dict[str, Any]) -> int:
    """Characters IAM counts against its limits (whitespace excluded): 6,144 for a managed policy."""
    return len(json.dumps(policy, separators=(",", ":")))


# -- derivation ------------------------------------------------------------------------------


class ActionRecorder:
    """A botocore ``before-call`` handler that records the IAM action of every operation called."""

    def __init__(self) -> None:
        self.calls: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __call__(self, model: Any = None, **_: Any) -> None:
        if model is None:
            return
        with self._lock:
            self.calls.add((model.service_model.service_name, model.name))

    @property
    def actions(self) -> list[str]:
        return sorted({iam_action_for(service, api) for service, api in self.calls})


@contextmanager
def record_actions(aws: Any) -> Iterator[ActionRecorder]:
    """Record every operation ``aws``'s clients send while the block runs.

    Registered on the boto3 session, so it must be entered before ``aws`` creates its
    clients (botocore copies the session's handlers into each new client).
    """
    recorder = ActionRecorder()
    aws.session.events.register("before-call", recorder, unique_id="phiwatch-action-recorder")
    try:
        yield recorder
    finally:
        aws.session.events.unregister("before-call", unique_id="phiwatch-action-recorder")
