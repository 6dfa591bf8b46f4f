"""Build the rule catalogue: pack files (metadata) joined with registered functions.

Built-in rule modules are every module of this package except the machinery; each
registers its functions with :func:`phiwatch.rules.base.rule`. Custom rules come from
Python files or directories given by the policy, from the ``phiwatch.rules`` entry-point
group, and from declarative YAML rule files (see :mod:`phiwatch.rules.declarative`).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml

import phiwatch.rules as package
from phiwatch.errors import UsageError
from phiwatch.rules.base import FUNCTIONS, Param, Rule, params_from_meta

PACK_DIR = Path(__file__).with_name("packs")
_MACHINERY = {"base", "registry", "declarative", "engine"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def builtin_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in _MACHINERY and not m.name.startswith("_"))


def load_pack_files() -> dict[str, list[dict[str, Any]]]:
    packs: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(PACK_DIR.glob("*.yaml")):
        data = yaml.load(path.read_text(), Loader=_LOADER)  # libyaml when present: the packs are large
        packs[data["pack"]] = data["rules"]
    return packs


def _rule_from_pack(pack: str, entry: dict[str, Any]) -> Rule:
    params = {
        name: Param(name, spec.get("type", "str"), spec.get("default"), spec.get("description", ""))
        for name, spec in (entry.get("parameters") or {}).items()
    }
    return Rule(
        id=entry["id"],
        resource_types=tuple(entry.get("resource_types") or ()),
        pack=pack,
        trigger=entry.get("trigger", "change"),
        severity=entry.get("severity", "medium"),
        hipaa_sections=tuple(entry.get("hipaa_sections") or ()),
        sections_source=entry.get("sections_source", ""),
        parameters=params,
        rationale=entry.get("rationale", "") or entry.get("compliant_when", ""),
        compliant_when=entry.get("compliant_when", ""),
        remediation=entry.get("remediation"),
        aws_runbook=entry.get("aws_runbook"),
        aws_identifier=entry.get("aws_identifier"),
        service=entry.get("service", ""),
    )


def load_python_rules(path: Path) -> None:
    """Import a custom rule file, or every ``*.py`` of a directory, so its @rule functions register."""
    files = sorted(path.glob("*.py")) if path.is_dir() else [path]
    if not path.exists():
        raise UsageError(f"custom rules: {path} does not exist")
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
        except Exception as exc:  # noqa: BLE001 - a broken user file is bad input
            del sys.modules[name]
            raise UsageError(f"custom rules: {file} failed to import: {type(exc).__name__}: {exc}") from exc


def load_entry_point_rules() -> None:
    for ep in entry_points(group="phiwatch.rules"):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"custom rules: entry point {ep.name} ({ep.value}) failed to load: {exc}") from exc


def catalogue(extra_rules: list[Rule] | None = None) -> dict[str, Rule]:
    """Every known rule by id: pack entries joined with functions, then custom rules."""
    for name in builtin_modules():
        importlib.import_module(f"phiwatch.rules.{name}")
    load_entry_point_rules()
    rules: dict[str, Rule] = {}
    for pack, entries in load_pack_files().items():
        for entry in entries:
            r = _rule_from_pack(pack, entry)
            fn = FUNCTIONS.get(r.id)
            if fn is not None:
                r.fn = fn.fn
                r.reads = fn.reads
            rules[r.id] = r
    for rule_id, fn in FUNCTIONS.items():
        if rule_id in rules:
            continue
        meta = dict(fn.meta)
        if "resource_types" not in meta:
            raise UsageError(f"custom rule '{rule_id}' needs resource_types in its @rule(...)")
        rules[rule_id] = Rule(
            id=rule_id,
            resource_types=tuple(meta.pop("resource_types")),
            fn=fn.fn,
            reads=fn.reads,
            pack=meta.pop("pack", "custom"),
            parameters=params_from_meta(meta.pop("parameters", None)),
            hipaa_sections=tuple(meta.pop("hipaa_sections", ())),
            **meta,
        )
    for r in extra_rules or []:
        rules[r.id] = r
    return rules
