"""Build the rule catalogue: registered rules (function and metadata) mapped by the pack files.

Built-in rule modules are every module of this package except the machinery; each
registers its functions, with each rule's own metadata, with :func:`phiwatch.rules.base.rule`
(process checks, which have no function, with :func:`phiwatch.rules.base.process_check`).
A pack file (``packs/<pack>.yaml``) is a framework mapping only: which rules the pack holds and,
for each, its HIPAA sections and where that mapping comes from. Custom rules come from
Python files or directories given by the policy, from the ``phiwatch.rules`` entry-point
group, and from declarative YAML rule files (see :mod:`phiwatch.rules.declarative`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml

from phiwatch.errors import UsageError
from phiwatch.plugins import import_package, package_modules
from phiwatch.resources import resource_types
from phiwatch.rules.base import FUNCTIONS, PROCESS_CHECKS, Rule, checked, params_from_meta

PACK_DIR = Path(__file__).with_name("packs")
_MACHINERY = {"base", "registry", "declarative", "active"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


SEVERITIES = ("low", "medium", "high", "critical")


def builtin_modules() -> list[str]:
    return package_modules("phiwatch.rules", skip=_MACHINERY)


def import_builtin_rules() -> None:
    """Register the built-in rule functions (before any custom rule, so a clash names the custom file)."""
    import_package("phiwatch.rules", skip=_MACHINERY)


@lru_cache(maxsize=1)
def known_resource_types() -> frozenset[str]:
    """Resource types phiwatch collects or its rules name: what a custom rule may be about."""
    import_builtin_rules()
    types = set(resource_types())
    types.update(t for entry in FUNCTIONS.values() if _builtin(entry.fn) for t in entry.meta.get("resource_types") or ())
    types.update(t for meta in PROCESS_CHECKS.values() for t in meta.get("resource_types") or ())
    return frozenset(types)


def resource_type_problem(value: object) -> str | None:
    """Why ``value`` is not a usable resource_types list (None when it is)."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        return f"resource_types must be a non-empty list of resource types, got {value!r}"
    known = known_resource_types()
    for t in value:
        if not isinstance(t, str) or t not in known:
            close = sorted(k for k in known if isinstance(t, str) and t.lower().split("::")[-1] in k.lower())[:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else " (see `phiwatch rules list` for the types phiwatch collects)"
            return f"phiwatch collects no resource type {t!r}{hint}"
    return None


def _where(fn: object) -> str:
    """file:line of a rule function (its decorator), for messages."""
    code = getattr(fn, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code is not None else getattr(fn, "__module__", "?")


def _import_failure(file: Path, exc: BaseException) -> str:
    """``file:line: what`` for an exception raised while importing a custom rule file."""
    line = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    else:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if Path(frame.filename).resolve() == file.resolve():
                line = frame.lineno
                break
    return f"{file}:{line or '?'}: custom rules: {file.name} failed to import: {type(exc).__name__}: {exc}"


#: packs in the order a rule listed by several takes its HIPAA sections and home pack from; others after, by name
PACK_ORDER = ("hipaa", "hipaa-extras", "aws-managed")


def load_pack_files() -> dict[str, list[dict[str, Any]]]:
    """Every pack file's entries by pack name, in :data:`PACK_ORDER`."""
    packs: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(PACK_DIR.glob("*.yaml")):
        data = yaml.load(path.read_text(), Loader=_LOADER)  # libyaml when present: the packs are large
        packs[data["pack"]] = data["rules"]
    rank = {name: n for n, name in enumerate(PACK_ORDER)}
    return dict(sorted(packs.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def _builtin_rule(pack: str, entry: dict[str, Any], meta: dict[str, Any], fn: Any = None, reads: dict[str, str] | None = None) -> Rule:
    """A built-in rule: its own metadata (from ``@rule``/``process_check``) with the pack's mapping."""
    meta = dict(meta)
    meta["rationale"] = meta.get("rationale") or meta.get("compliant_when", "")
    return Rule(
        id=entry["id"],
        resource_types=tuple(meta.pop("resource_types", ())),
        fn=fn,
        reads=dict(reads or {}),
        pack=pack,
        parameters=params_from_meta(meta.pop("parameters", None)),
        hipaa_sections=tuple(entry.get("hipaa_sections") or ()),
        sections_source=entry.get("sections_source", ""),
        **meta,
    )


def load_python_rules(path: Path) -> None:
    """Import a custom rule file, or every ``*.py`` of a directory, so its @rule functions register."""
    if not path.exists():
        raise UsageError(f"custom rules: {path} does not exist")
    files = sorted(path.glob("*.py")) if path.is_dir() else [path]
    if not path.is_dir() and path.suffix != ".py":
        raise UsageError(f"custom rules: {path} is neither a Python file (.py), a directory nor a YAML rule file (.yaml)")
    import_builtin_rules()
    for file in files:
        name = f"phiwatch_custom_rules.{file.stem}_{abs(hash(str(file.resolve()))) % 10**8}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise UsageError(f"custom rules: cannot import {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken user file is bad input
            _forget(name)
            raise UsageError(_import_failure(file, exc)) from None
        try:  # check its rules now, so a broken file leaves nothing registered behind
            pack_ids = _pack_rule_ids()
            for rule_id, entry in list(FUNCTIONS.items()):
                if entry.fn.__module__ == name and rule_id not in pack_ids:
                    _custom_rule(rule_id, entry)
        except UsageError:
            _forget(name)
            raise


def _forget(module_name: str) -> None:
    """Unregister a custom module and the rules it registered."""
    sys.modules.pop(module_name, None)
    for rule_id in [r for r, entry in FUNCTIONS.items() if entry.fn.__module__ == module_name]:
        del FUNCTIONS[rule_id]


@lru_cache(maxsize=1)
def _pack_rule_ids() -> frozenset[str]:
    return frozenset(entry["id"] for entries in load_pack_files().values() for entry in entries)


def load_entry_point_rules() -> None:
    for ep in entry_points(group="phiwatch.rules"):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"custom rules: entry point {ep.name} ({ep.value}) failed to load: {exc}") from exc


def catalogue(extra_rules: list[Rule] | None = None) -> dict[str, Rule]:
    """Every known rule by id: pack entries joined with functions, then custom rules."""
    import_builtin_rules()
    load_entry_point_rules()
    rules: dict[str, Rule] = {}
    for pack, entries in load_pack_files().items():
        for entry in entries:
            rule_id = entry["id"]
            known = rules.get(rule_id)
            if known is not None:  # listed by an earlier pack too: one rule, several packs
                known.packs += (pack,)
                if not known.hipaa_sections and entry.get("hipaa_sections"):
                    known.hipaa_sections = tuple(entry["hipaa_sections"])
                    known.sections_source = entry.get("sections_source", "")
                continue
            fn = FUNCTIONS.get(rule_id)
            if fn is not None:
                rules[rule_id] = _builtin_rule(pack, entry, fn.meta, fn.fn if _builtin(fn.fn) else checked(rule_id, fn.fn), fn.reads)
            elif rule_id in PROCESS_CHECKS:
                rules[rule_id] = _builtin_rule(pack, entry, PROCESS_CHECKS[rule_id])
            else:
                raise LookupError(f"pack {pack} maps rule '{rule_id}', which no rule module defines")
    for rule_id, fn in FUNCTIONS.items():
        if rule_id in rules:
            continue
        if _builtin(fn.fn):  # a built-in rule no pack lists: it runs when a policy enables it
            rules[rule_id] = _builtin_rule("", {"id": rule_id}, fn.meta, fn.fn, fn.reads)
            continue
        rules[rule_id] = _custom_rule(rule_id, fn)
    for r in extra_rules or []:
        if r.id in rules:
            other = rules[r.id]
            first = other.origin or (f"the {other.pack} pack" if other.pack != "custom" else _where(other.fn))
            raise UsageError(f"{r.origin or r.id}: rule id '{r.id}' is already defined by {first}")
        rules[r.id] = r
    return rules


def _builtin(fn: object) -> bool:
    return str(getattr(fn, "__module__", "")).startswith("phiwatch.rules.")


def _custom_rule(rule_id: str, entry: Any) -> Rule:
    """A rule registered by @rule(...) with its metadata in the decorator; UsageError naming its file:line."""
    where = _where(entry.fn)
    meta = dict(entry.meta)

    def fail(message: str) -> UsageError:
        return UsageError(f"{where}: custom rule '{rule_id}': {message}")

    if "resource_types" not in meta:
        raise fail("needs resource_types in its @rule(...)")
    problem = resource_type_problem(meta["resource_types"])
    if problem:
        raise fail(problem)
    if meta.get("severity", "medium") not in SEVERITIES:
        raise fail(f"severity must be one of {', '.join(SEVERITIES)}, got {meta['severity']!r}")
    sections = meta.get("hipaa_sections", ())
    if isinstance(sections, str) or not isinstance(sections, (list, tuple)) or not all(isinstance(x, str) for x in sections):
        raise fail(f"hipaa_sections must be a list of section names, got {sections!r}")
    for key in ("pack", "trigger", "sections_source", "rationale", "compliant_when", "service"):
        if key in meta and not isinstance(meta[key], str):
            raise fail(f"{key} must be text, got {meta[key]!r}")
    try:
        parameters = params_from_meta(meta.pop("parameters", None))
    except (ValueError, TypeError, AttributeError) as exc:
        raise fail(f"parameters: {exc}") from None
    return Rule(
        id=rule_id,
        resource_types=tuple(meta.pop("resource_types")),
        fn=checked(rule_id, entry.fn) if not _builtin(entry.fn) else entry.fn,
        reads=entry.reads,
        pack=meta.pop("pack", "custom"),
        parameters=parameters,
        hipaa_sections=tuple(meta.pop("hipaa_sections", ())),
        origin=where,
        **meta,
    )
