"""The rules a policy runs and how one rule judges one item (no store, no AWS).

:func:`resolve_rules` loads the catalogue with the policy's custom rules, :func:`active_rules`
applies the policy's packs and overrides, and :func:`run_rule` evaluates one active rule on one
item. The evaluator (:mod:`phiwatch.evaluation`) and remediation's re-checks
(:mod:`phiwatch.remediate.orchestrator`) both judge through :func:`run_rule`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phiwatch.model import Compliance, ConfigurationItem
from phiwatch.policy import Policy, validate_against_rules
from phiwatch.rules.base import Result, Rule, RuleContext, describe_failure, insufficient, missing_reads
from phiwatch.rules.declarative import load_declarative_rules
from phiwatch.rules.registry import catalogue, load_pack_files, load_python_rules

log = logging.getLogger(__name__)


@dataclass
class ActiveRule:
    rule: Rule
    params: dict[str, Any]
    scope: Any  # policy Scope or None


def resolve_rules(policy: Policy) -> dict[str, Rule]:
    """The rule catalogue with the policy's custom rules loaded; validates the policy against it."""
    extra: list[Rule] = []
    for entry in policy.custom_rules:
        path = Path(entry)
        if not path.is_absolute():
            path = Path(policy.base_dir) / path
        if path.suffix in (".yaml", ".yml"):
            extra.extend(load_declarative_rules(path))
        else:
            load_python_rules(path)
    rules = catalogue(extra)
    known_packs = set(load_pack_files()) | {"custom"}
    validate_against_rules(
        policy,
        rules,
        known_packs,
        running={rule.id for rule in rules.values() if runs(policy, rule)},
        waiting=waiting_for_parameters(policy, rules),
    )
    return rules


def selected(policy: Policy, rule: Rule) -> bool:
    """Whether ``policy`` selects ``rule``: ``rules: {ID: {enabled: true|false}}`` decides, whatever
    pack holds it; otherwise a custom rule is selected, and a built-in one when one of its packs is."""
    override = policy.override(rule.id)
    if override is not None and override.enabled is not None:
        return override.enabled
    return "custom" in rule.packs or bool(set(rule.packs) & set(policy.packs))


def unset_parameters(policy: Policy, rule: Rule) -> list[str]:
    """The required parameters of ``rule`` that neither the rule nor ``policy`` gives a value."""
    override = policy.override(rule.id)
    return rule.missing_parameters({**rule.defaults(), **(override.parameters if override else {})})


def runs(policy: Policy, rule: Rule) -> bool:
    """Whether ``policy`` runs ``rule``: it selects it and gives every parameter the rule requires.

    A rule whose pack is selected but that needs a parameter without a default (``approved-amis-by-id``
    needs ``amiIds``) does not run, as AWS Config does not deploy it; :func:`waiting_for_parameters`
    names those, and a policy that configures such a rule without the parameter is refused."""
    return selected(policy, rule) and not unset_parameters(policy, rule)


def waiting_for_parameters(policy: Policy, rules: dict[str, Rule]) -> dict[str, list[str]]:
    """The implemented rules ``policy`` selects that do not run for want of parameters: {id: [names]}."""
    out = {}
    for rule in rules.values():
        if rule.implemented and selected(policy, rule):
            unset = unset_parameters(policy, rule)
            if unset:
                out[rule.id] = unset
    return dict(sorted(out.items()))


def active_rules(policy: Policy, rules: dict[str, Rule], only: set[str] | None = None) -> list[ActiveRule]:
    out = []
    for rule in rules.values():
        if only is not None and rule.id not in only:
            continue
        if not runs(policy, rule):
            continue
        override = policy.override(rule.id)
        if not rule.implemented:
            continue
        params = rule.defaults()
        if override is not None:
            params.update(override.parameters)
        out.append(ActiveRule(rule, params, override.scope if override else None))
    return sorted(out, key=lambda a: a.rule.id)


#: the verdict of a rule that found the item's configuration empty where it looked for something
NO_CONFIGURATION = "no configuration recorded for this resource (an older store or a failed read): cannot tell it is compliant"


class _Asked(dict):
    """An empty configuration that records whether a rule looked anything up in it."""

    asked = False

    def _ask(self) -> None:
        self.asked = True

    def get(self, key: Any, default: Any = None) -> Any:
        self._ask()
        return default

    def __getitem__(self, key: Any) -> Any:
        self._ask()
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        self._ask()
        return False

    def __iter__(self) -> Iterator[Any]:
        self._ask()
        return iter(())

    def __len__(self) -> int:
        self._ask()
        return 0

    def keys(self) -> Any:
        self._ask()
        return super().keys()

    def items(self) -> Any:
        self._ask()
        return super().items()

    def values(self) -> Any:
        self._ask()
        return super().values()


def run_rule(active: ActiveRule, item: ConfigurationItem, ctx: RuleContext) -> Result | None:
    """Evaluate one rule on one item; None when the rule does not apply to it.

    An item without configuration (``{}``: stored so by an older version, or nothing could be read)
    never passes a rule that reads its configuration: that rule's COMPLIANT becomes INSUFFICIENT_DATA.
    """
    rule = active.rule
    try:
        denied, any_missing = missing_reads(rule, item)
        if denied:
            return insufficient(describe_failure(item, [api for _, api in denied]))
    except Exception as exc:  # noqa: BLE001 - an unreadable item is this item's problem, not the scan's
        log.error("rule %s: unreadable item %s %s: %s", rule.id, item.resourceType, item.resourceId, type(exc).__name__)
        return insufficient(f"unreadable item: {type(exc).__name__}")
    if any_missing:
        return None
    probe = _Asked() if not item.configuration else None
    try:
        seen = item if probe is None else dataclasses.replace(item, configuration=probe)
        if rule.fn is None:  # active_rules keeps implemented rules only; as calling None would
            raise TypeError(f"rule {rule.id} has no function")
        result = rule.fn(seen, active.params, ctx)
    except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the scan
        log.error("rule %s raised %s on %s %s: %s", rule.id, type(exc).__name__, item.resourceType, item.resourceId, exc)
        return insufficient(f"rule error: {type(exc).__name__} (see the log)")
    if result is None:
        return None
    if not isinstance(result, Result):
        log.error("rule %s returned %r instead of a Result", rule.id, type(result).__name__)
        return insufficient("rule error: returned no result")
    if probe is not None and probe.asked and result.compliance == Compliance.COMPLIANT:
        return insufficient(NO_CONFIGURATION)
    return result
