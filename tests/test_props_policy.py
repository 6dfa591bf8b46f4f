"""Property tests: a bad policy file never crashes phiwatch and never passes silently.

Whatever the text, ``parse_policy`` (then ``validate_against_rules``) either returns a Policy
holding exactly what was written, or raises UsageError whose every problem names the file, a
line and the field path. Through the command line the same policy exits 2 with that message on
stderr and no traceback.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from phiwatch.errors import UsageError
from phiwatch.model import EVENTS
from phiwatch.policy import SEVERITIES, Policy, parse_policy, validate_against_rules
from phiwatch.rules.registry import catalogue, load_pack_files

SOURCE = "bad-policy.yaml"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policy.yaml"
PROBLEM = re.compile(r"^(?P<source>.+?):(?P<line>\d+): (?P<rest>.+)$")

RULES = catalogue()
KNOWN_PACKS = set(load_pack_files()) | {"custom"}
PARAM_RULES = sorted(r for r, rule in RULES.items() if rule.parameters)

# ------------------------------------------------------------------------------------- helpers


def problems(exc: UsageError) -> list[str]:
    """The problem lines of an error: one per mistake, each ``source:line: field: reason``."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("invalid policy"):
        lines = lines[1:]
    assert lines, text
    return lines


def assert_names_file_line_field(exc: UsageError, source: str = SOURCE, field: str | None = None, line: int | None = None) -> None:
    """Every problem names the file and a line; some problem names ``field`` (at ``line``)."""
    assert "Traceback" not in str(exc)
    found = []
    for problem in problems(exc):
        m = PROBLEM.match(problem)
        assert m is not None, f"no file:line in {problem!r}"
        assert m["source"] == source, problem
        assert int(m["line"]) >= 1
        found.append((int(m["line"]), m["rest"]))
    if field is not None:
        hits = [(ln, rest) for ln, rest in found if rest.startswith(field + ":") or rest.startswith(field + ".")]
        assert hits, f"field {field} not named in {str(exc)!r}"
        if isinstance(line, tuple):  # the field's lines, from its key to the end of its value
            assert any(line[0] <= ln <= line[1] for ln, _ in hits), f"lines {line} of {field} not in {str(exc)!r}"
        elif line is not None:
            assert line in [ln for ln, _ in hits], f"line {line} of {field} not in {str(exc)!r}"


def parse_or_error(text: str) -> Policy | UsageError:
    """The property all policy input must satisfy: a Policy, or a UsageError naming file and line."""
    try:
        policy = parse_policy(text, SOURCE)
    except UsageError as exc:
        assert_names_file_line_field(exc)
        return exc
    assert isinstance(policy, Policy)
    try:
        validate_against_rules(policy, RULES, KNOWN_PACKS)
    except UsageError as exc:
        assert_names_file_line_field(exc)
        return exc
    return policy


def key_line(text: str, path: tuple[Any, ...]) -> int:
    """The line (1-based) of the deepest key or item of ``path``, read independently of phiwatch."""
    node = yaml.compose(text)
    line = 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def key_span(text: str | yaml.Node, path: tuple[Any, ...]) -> tuple[int, int]:
    """The lines from the key of ``path`` to the end of its value (``text`` may be already composed)."""
    node = yaml.compose(text) if isinstance(text, str) else text
    first = 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node, first = next((v, k.start_mark.line + 1) for k, v in node.value if k.value == str(part))
        else:
            node = node.value[part]
            first = node.start_mark.line + 1
    end = node.end_mark
    last = end.line if end.column == 0 and end.line + 1 > first else end.line + 1
    return first, max(first, last)


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**6)


def _is_rule_parameter(path: tuple[Any, ...]) -> bool:
    """Whether ``path`` is ``rules.ID.parameters.NAME`` of a known rule and parameter (checked and converted to its type)."""
    return len(path) == 4 and path[0] == "rules" and path[2] == "parameters" and path[1] in RULES and path[3] in RULES[path[1]].parameters


def same(given: Any, parsed: Any, path: tuple[Any, ...] = ()) -> None:
    """``parsed`` (a model dump) holds exactly what was ``given`` (the YAML data)."""
    if isinstance(given, dict):
        assert isinstance(parsed, dict), (path, given, parsed)
        for key, value in given.items():
            if _is_rule_parameter((*path, key)) and isinstance(value, str) and not value.strip():
                assert key not in parsed, (path, key)  # an empty parameter is not given: the default applies
                continue
            assert key in parsed, (path, key)
            same(value, parsed[key], (*path, key))
    elif _is_rule_parameter(path):
        expected = RULES[path[1]].parameters[path[3]].coerce(given)
        assert type(parsed) is type(expected) and parsed == expected, (path, given, parsed)
    elif isinstance(given, list):
        assert isinstance(parsed, list) and len(given) == len(parsed), (path, given, parsed)
        for i, (g, p) in enumerate(zip(given, parsed)):
            same(g, p, (*path, i))
    elif path and path[-1] == "mode" and given is False:
        assert parsed == "off", (path, parsed)  # YAML 1.1 reads a bare `off` as false
    elif path and path[-1] == "expires":
        expected = dt.date.fromisoformat(given.strip()) if isinstance(given, str) else given
        if isinstance(expected, dt.datetime):
            expected = expected.date()
        assert parsed == expected, (path, given, parsed)
    else:
        assert type(parsed) is type(given) and parsed == given, (path, given, parsed)


# ------------------------------------------------------------------------------------ strategies

SAFE_TEXT = st.characters(exclude_categories=("Cs",))
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(lambda s: s.strip("-"))
huge_text = st.builds(lambda t, n: t * n, st.text(SAFE_TEXT, min_size=1, max_size=8), st.integers(500, 2000))  # cheap to draw
any_text = st.one_of(st.text(SAFE_TEXT, max_size=40), huge_text, words)
non_blank = any_text.filter(lambda s: s.strip())
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), any_text, st.dates())
json_like = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(words, inner, max_size=4)), max_leaves=12
)
not_a_str = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.dates(),
    st.lists(words, max_size=2),
    st.dictionaries(words, words, max_size=2),
)
not_a_list = st.one_of(st.booleans(), st.integers(), any_text, st.dictionaries(words, words, min_size=1, max_size=2))
not_a_dict = st.one_of(st.booleans(), st.integers(), any_text, st.lists(words, min_size=1, max_size=2))
not_a_bool = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    any_text,
    st.lists(st.booleans(), max_size=2),
    st.sampled_from(["yes", "no", "true", "false", "on", "off", "1", "0"]),
)
not_an_int = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    any_text,
    st.lists(st.integers(), max_size=2),
    st.sampled_from(["20", "1e3", "0x10", " 7 "]),
)
bad_dates = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.dates(), max_size=2),
    st.sampled_from(["2027-13-45", "30/06/2027", "tomorrow", "2027-06", "", "1728000000", "2027-6-30x"]),
)


def base_policy() -> dict[str, Any]:
    """A valid policy using every section, for one field to be replaced at a time."""
    return {
        "packs": ["hipaa", "hipaa-extras"],
        "rules": {
            "restricted-common-ports": {
                "enabled": True,
                "parameters": {"blockedPort1": 22},
                "scope": {
                    "tags": {"Environment": "PROD"},
                    "resource_ids": ["sg-1"],
                    "accounts": ["123456789012"],
                    "regions": ["us-east-1"],
                },
            },
        },
        "exceptions": [
            {
                "rule": "s3-bucket-logging-enabled",
                "resource": "public-*",
                "justification": "no PHI",
                "owner": "sec@example.org",
                "expires": dt.date(2027, 6, 30),
            }
        ],
        "notifications": [
            {
                "name": "siem",
                "channel": "webhook",
                "target": "https://siem.example.org/hook",
                "digest": False,
                "reminder_hours": 24,
                "when": {
                    "severity": ["high"],
                    "rules": [],
                    "hipaa_sections": ["164.312(b)"],
                    "tags": {"PHI": "Yes"},
                    "accounts": ["123456789012"],
                    "events": ["opened"],
                },
            },
            {
                "name": "mail",
                "channel": "email",
                "smtp": {"host": "smtp.example.org", "port": 587, "starttls": True, "ssl": False, "from_address": "a@b.c"},
            },
        ],
        "remediation": {
            "mode": "dry-run",
            "max_per_run": 20,
            "max_per_hour": 50,
            "rules": {"s3-bucket-versioning-enabled": {"mode": "manual"}},
        },
        "custom_rules": [],
    }


SCOPE = ("rules", "restricted-common-ports", "scope")
WHEN = ("notifications", 0, "when")
# field path -> (values that must be accepted and kept as given, values that must be refused)
FIELDS: dict[tuple[Any, ...], tuple[st.SearchStrategy, st.SearchStrategy]] = {
    ("packs",): (st.just(["hipaa"]), st.one_of(not_a_list, st.lists(not_a_str, min_size=1, max_size=3))),
    ("rules", "restricted-common-ports", "enabled"): (st.booleans(), not_a_bool),
    ("rules", "restricted-common-ports", "parameters"): (st.just({}), not_a_dict),
    (*SCOPE, "tags"): (
        st.dictionaries(non_blank, non_blank, max_size=3),
        st.one_of(not_a_dict, st.dictionaries(words, not_a_str.filter(lambda v: v is not None), min_size=1, max_size=2)),
    ),
    (*SCOPE, "resource_ids"): (st.lists(any_text, max_size=3), st.one_of(not_a_list, st.lists(not_a_str, min_size=1, max_size=2))),
    (*SCOPE, "accounts"): (st.lists(any_text, max_size=3), st.one_of(not_a_list, st.lists(not_a_str, min_size=1, max_size=2))),
    (*SCOPE, "regions"): (st.lists(any_text, max_size=3), st.one_of(not_a_list, st.lists(not_a_str, min_size=1, max_size=2))),
    ("exceptions", 0, "expires"): (st.dates(), bad_dates),
    ("exceptions", 0, "justification"): (non_blank, st.one_of(not_a_str, st.sampled_from(["", " ", "\t", "\n"]))),
    ("exceptions", 0, "owner"): (non_blank, st.one_of(not_a_str, st.sampled_from(["", "  "]))),
    ("exceptions", 0, "rule"): (st.just("s3-bucket-logging-enabled"), not_a_str),
    ("exceptions", 0, "resource"): (any_text, not_a_str),
    ("notifications", 0, "name"): (non_blank, st.one_of(not_a_str, st.sampled_from(["", " "]))),
    ("notifications", 0, "channel"): (
        st.just("webhook"),
        st.one_of(not_a_str, words.filter(lambda w: w not in ("sns", "email", "slack", "webhook", "apprise"))),
    ),
    ("notifications", 0, "digest"): (st.booleans(), not_a_bool),
    ("notifications", 0, "reminder_hours"): (
        st.one_of(st.none(), st.integers(1, 10**6)),
        st.one_of(not_an_int.filter(lambda v: v is not None), st.integers(max_value=0)),
    ),
    (*WHEN, "severity"): (
        st.lists(st.sampled_from(SEVERITIES), max_size=4),
        st.one_of(not_a_list, st.lists(words.filter(lambda w: w not in SEVERITIES), min_size=1, max_size=2)),
    ),
    (*WHEN, "events"): (
        st.lists(st.sampled_from(EVENTS), max_size=4),
        st.one_of(not_a_list, st.lists(words.filter(lambda w: w not in EVENTS), min_size=1, max_size=2)),
    ),
    (*WHEN, "tags"): (st.dictionaries(non_blank, non_blank, max_size=3), not_a_dict),
    (*WHEN, "accounts"): (st.lists(any_text, max_size=3), not_a_list),
    (*WHEN, "hipaa_sections"): (st.lists(any_text, max_size=3), not_a_list),
    ("notifications", 1, "smtp", "port"): (
        st.integers(1, 65535),
        st.one_of(not_an_int, st.integers(max_value=0), st.integers(min_value=65536)),
    ),
    ("notifications", 1, "smtp", "host"): (non_blank, st.one_of(not_a_str, st.just(""))),
    ("notifications", 1, "smtp", "starttls"): (st.booleans(), not_a_bool),
    ("notifications", 1, "smtp", "from_address"): (non_blank, st.one_of(not_a_str, st.just(" "))),
    ("notifications", 1, "smtp"): (st.just({"host": "h", "from_address": "a@b"}), not_a_dict),
    ("remediation", "mode"): (
        st.sampled_from(["off", "dry-run", "manual", "auto"]),
        st.one_of(st.integers(), st.none(), words.filter(lambda w: w not in ("off", "dry-run", "manual", "auto"))),
    ),
    ("remediation", "max_per_run"): (st.integers(0, 10**9), st.one_of(not_an_int, st.integers(max_value=-1))),
    ("remediation", "max_per_hour"): (
        st.integers(0, 10**9),
        st.one_of(not_an_int.filter(lambda v: v is not None), st.integers(max_value=-1)),
    ),
    ("remediation", "rules", "s3-bucket-versioning-enabled", "mode"): (
        st.sampled_from(["off", "dry-run", "manual", "auto"]),
        st.one_of(st.integers(), words.filter(lambda w: w not in ("off", "dry-run", "manual", "auto"))),
    ),
    ("remediation", "rules"): (st.just({}), not_a_dict),
    ("custom_rules",): (st.lists(words, max_size=2), st.one_of(not_a_list, st.lists(not_a_str, min_size=1, max_size=2))),
}
MAPPINGS = [
    (),
    ("rules", "restricted-common-ports"),
    SCOPE,
    ("exceptions", 0),
    ("notifications", 0),
    WHEN,
    ("notifications", 1, "smtp"),
    ("remediation",),
    ("remediation", "rules", "s3-bucket-versioning-enabled"),
]


def set_at(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def get_at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


# ------------------------------------------------------------------------------------- properties


def test_base_policy_is_valid():
    policy = parse_or_error(dump(base_policy()))
    assert isinstance(policy, Policy), policy
    same(base_policy(), policy.model_dump())


YAML_BITS = list("ab1:-[]{},#&*!|>'\"%@`? \n\t\x00\x85é") + [
    "packs",
    "rules",
    "!!int ",
    "!!timestamp ",
    "<<",
    "2027-13-40",
    "exceptions:\n  - ",
    "&a ",
    "*a",
    "  ",
    "remediation:\n  mode: ",
]


@given(st.lists(st.sampled_from(YAML_BITS), max_size=60).map("".join))
def test_any_text_is_a_policy_or_a_clear_error(text):
    parse_or_error(text)


@given(json_like)
def test_any_yaml_document_is_a_policy_or_a_clear_error(data):
    text = dump(data)
    result = parse_or_error(text)
    if not isinstance(data, dict) and data is not None:
        assert isinstance(result, UsageError)
        assert_names_file_line_field(result, field="(top level)", line=1)
    if isinstance(data, dict) and data and not set(data) <= set(Policy.model_fields) - {"source", "base_dir"}:
        assert isinstance(result, UsageError)  # an unknown top-level key is never ignored


@given(st.data())
def test_a_field_of_the_right_type_round_trips_a_wrong_one_is_named(data):
    path = data.draw(st.sampled_from(sorted(FIELDS, key=str)))
    good, bad = FIELDS[path]
    valid = data.draw(st.booleans())
    value = data.draw(good if valid else bad)
    doc = base_policy()
    set_at(doc, path, value)
    text = dump(doc)
    result = parse_or_error(text)
    if valid:
        assert isinstance(result, Policy), f"{path}={value!r} refused: {result}"
        same(value, get_at(result.model_dump(), path), path)
    else:
        assert isinstance(result, UsageError), f"{path}={value!r} accepted"
        field = ".".join(str(p) for p in path)
        assert_names_file_line_field(result, field=field, line=key_span(text, path))


@given(st.data())
def test_every_wrong_field_is_named_and_nothing_else(data):
    """Every field at once, each right or wrong: the error names exactly the wrong ones, each at its line."""
    doc = base_policy()
    wrong: list[tuple[Any, ...]] = []
    for path in sorted(FIELDS, key=lambda p: (len(p), str(p))):  # parents before their children
        if any(path[: len(w)] == w for w in wrong):
            continue  # its parent was replaced by a wrong value
        try:
            get_at(doc, path[:-1])
        except (KeyError, IndexError):
            continue  # its parent was replaced by a right value without it
        good, bad = FIELDS[path]
        is_wrong = data.draw(st.booleans(), label=str(path))
        set_at(doc, path, data.draw(bad if is_wrong else good))
        if is_wrong:
            wrong.append(path)
    text = dump(doc)
    result = parse_or_error(text)
    if not wrong:
        assert isinstance(result, Policy), result
        same(doc, result.model_dump())
        return
    assert isinstance(result, UsageError), f"wrong {wrong} accepted"
    dotted = [".".join(str(p) for p in path) for path in wrong]
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for path, field in zip(wrong, dotted):
        assert_names_file_line_field(result, field=field, line=key_span(root, path))
    for problem in problems(result):
        rest = PROBLEM.match(problem)["rest"]
        assert any(rest.startswith(f + ":") or rest.startswith(f + ".") for f in dotted), f"{problem!r} is about none of {dotted}"


@given(st.sampled_from(MAPPINGS), words, json_like)
def test_an_unknown_key_at_any_level_is_named(where, key, value):
    doc = base_policy()
    mapping = get_at(doc, where)
    assume(key not in mapping)
    from phiwatch import policy as policy_module

    owners = {
        (): policy_module.Policy,
        ("rules", "restricted-common-ports"): policy_module.RuleOverride,
        SCOPE: policy_module.Scope,
        ("exceptions", 0): policy_module.ExceptionEntry,
        ("notifications", 0): policy_module.NotificationRoute,
        WHEN: policy_module.RouteFilter,
        ("notifications", 1, "smtp"): policy_module.SmtpSettings,
        ("remediation",): policy_module.Remediation,
        ("remediation", "rules", "s3-bucket-versioning-enabled"): policy_module.RuleRemediation,
    }
    assume(key not in owners[where].model_fields or (where == () and key in ("source", "base_dir")))
    mapping[key] = value
    text = dump(doc)
    result = parse_or_error(text)
    assert isinstance(result, UsageError), f"unknown key {'.'.join(map(str, (*where, key)))} accepted"
    assert_names_file_line_field(result, field=".".join(str(p) for p in (*where, key)), line=key_line(text, (*where, key)))
    assert "unknown key" in str(result)


@given(st.data())
def test_a_duplicate_key_is_an_error_at_its_line(data):
    text = yaml.safe_dump(base_policy(), sort_keys=False, default_flow_style=None, width=10**6)
    lines = text.splitlines()
    # lines "KEY: VALUE" whose value is on the same line (a scalar or a flow collection)
    candidates = [i for i, line in enumerate(lines) if re.match(r"^\s*(- )?[\w-]+: \S", line)]
    i = data.draw(st.sampled_from(candidates))
    line = lines[i]
    indent = len(line) - len(line.lstrip(" -"))
    duplicate = " " * indent + line.lstrip(" -")
    new_value = data.draw(st.sampled_from(["x", "1", "[]", "{}", "null", line.split(": ", 1)[1]]))
    duplicate = duplicate.split(": ", 1)[0] + ": " + new_value
    text = "\n".join([*lines[: i + 1], duplicate, *lines[i + 1 :]]) + "\n"
    result = parse_or_error(text)
    assert isinstance(result, UsageError), f"duplicate of line {i + 1} accepted:\n{text}"
    assert "duplicate key" in str(result)
    assert f"{SOURCE}:{i + 2}:" in str(result)


@given(st.sampled_from(PARAM_RULES), st.data())
def test_rule_parameters_are_checked_against_the_rule(rule_id, data):
    rule = RULES[rule_id]
    name = data.draw(st.one_of(st.sampled_from(sorted(rule.parameters)), words))
    value = data.draw(scalars)
    text = dump({"packs": ["hipaa", "hipaa-extras"], "rules": {rule_id: {"parameters": {name: value}}}})
    result = parse_or_error(text)
    path = ("rules", rule_id, "parameters", name)
    if name not in rule.parameters:
        assert isinstance(result, UsageError)
        assert_names_file_line_field(result, field=".".join(path), line=key_line(text, path))
        return
    param = rule.parameters[name]
    if isinstance(result, Policy) and isinstance(value, str) and not value.strip():
        assert name not in result.rules[rule_id].parameters  # an empty parameter is not given: the default applies
        return
    if isinstance(result, Policy):
        kept = result.rules[rule_id].parameters[name]
        expected = {"int": int, "float": float, "bool": bool, "str": str}[param.type]
        assert kept is None and param.default is None or type(kept) is expected, (param, value, kept)
    else:
        assert_names_file_line_field(result, field=".".join(path), line=key_line(text, path))
        # a value of the parameter's own type is never refused
        assert type(value) is not {"int": int, "float": float, "bool": bool, "str": str}[param.type], (param, value, str(result))


EXAMPLE_DATA = yaml.safe_load(EXAMPLE.read_text())


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_paths(v, (*path, i)))
    return out


def _retype(value: Any) -> list[Any]:
    return [[value], {"value": value}, str(value), 0, True, None, 3.5, ""]


@given(st.data())
def test_mutations_of_the_example_policy(data):
    doc = copy.deepcopy(EXAMPLE_DATA)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = get_at(doc, path[:-1])
        op = data.draw(st.sampled_from(["drop", "replace", "retype"]))
        if op == "drop":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = data.draw(json_like)
        else:
            parent[path[-1]] = data.draw(st.sampled_from(_retype(parent[path[-1]])))
    text = dump(doc)
    result = parse_or_error(text)
    if isinstance(result, Policy):
        same(doc or {}, result.model_dump())


# ------------------------------------------------------------------------------------ regressions


@pytest.mark.parametrize(
    "text, field, line",
    [
        # a date YAML cannot build (month 13) raised ValueError from PyYAML, not a YAML error: traceback
        (
            "exceptions:\n  - rule: a\n    resource: b\n    justification: c\n    owner: d\n    expires: 2027-13-45\n",
            "exceptions.0.expires",
            6,
        ),
        # explicit tags that do not fit their value raised ValueError / KeyError / AttributeError
        ("packs: !!int abc\n", "packs", 1),
        ("packs: !!bool maybe\n", "packs", 1),
        ("packs: [hipaa]\nremediation:\n  max_per_run: !!int\n", "remediation.max_per_run", 3),  # IndexError on ''
        ("custom_rules: [!!float ]\n", "custom_rules.0", 1),
        ("remediation:\n  max_per_run: !!timestamp nope\n", "remediation.max_per_run", 2),
        # a duplicate key silently kept the last value
        ("packs: [hipaa]\nrules: {}\npacks: [hipaa-extras]\n", "packs", 3),
        ("remediation:\n  mode: auto\n  mode: dry-run\n", "remediation.mode", 3),
        # `source` and `base_dir` are model fields (where the file came from), so the file could set them
        ("packs: [hipaa]\nsource: elsewhere.yaml\n", "source", 2),
        ("base_dir: /etc\n", "base_dir", 1),
        # a number as expiry date was read as seconds since 1970 (1728000000 -> 2024-10-04)
        ("exceptions:\n  - {rule: a, resource: b, justification: c, owner: d, expires: 1728000000}\n", "exceptions.0.expires", 2),
        # pydantic's lax mode read `true` as the number 1 and 1 / "on" as true
        ("remediation:\n  max_per_run: true\n", "remediation.max_per_run", 2),
        ("rules:\n  restricted-common-ports: {enabled: 'on'}\n", "rules.restricted-common-ports.enabled", 2),
        (
            "notifications:\n  - name: m\n    channel: email\n    smtp: {host: h, from_address: a, port: true}\n",
            "notifications.0.smtp.port",
            4,
        ),
        # an SMTP port out of range, blank names, hosts and justifications were accepted
        (
            "notifications:\n  - name: m\n    channel: email\n    smtp: {host: h, from_address: a, port: -5}\n",
            "notifications.0.smtp.port",
            4,
        ),
        ("notifications:\n  - {name: '', channel: webhook, target: 'https://x'}\n", "notifications.0.name", 2),
        ("exceptions:\n  - {rule: a, resource: b, justification: ' ', owner: d, expires: 2027-01-01}\n", "exceptions.0.justification", 2),
    ],
)
def test_regression_bad_input_is_a_clear_error(text, field, line):
    with pytest.raises(UsageError) as info:
        parse_policy(text, SOURCE)
    assert_names_file_line_field(info.value, field=field, line=line)


def test_regression_control_character_names_its_line():
    # PyYAML's reader error has no mark: the message had no line number
    with pytest.raises(UsageError) as info:
        parse_policy("packs: [hipaa]\nrules:\n  a\x00b: {}\n", SOURCE)
    assert str(info.value).startswith(f"{SOURCE}:3: ")


def test_regression_deep_nesting_is_an_error_not_a_recursion_crash():
    # 5000 nested lists exhausted Python's stack (RecursionError) in PyYAML's composer
    with pytest.raises(UsageError) as info:
        parse_policy("packs: " + "[" * 5000 + "]" * 5000 + "\n", SOURCE)
    assert str(info.value).startswith(f"{SOURCE}:1: ")
    assert "nested" in str(info.value)


def test_regression_null_parameter_does_not_replace_the_default():
    # `blockedPort1: null` replaced the default 20 by None, and every evaluation of the rule failed
    policy = parse_policy("rules:\n  restricted-common-ports:\n    parameters: {blockedPort1: null}\n", SOURCE)
    with pytest.raises(UsageError) as info:
        validate_against_rules(policy, RULES, KNOWN_PACKS)
    assert_names_file_line_field(info.value, field="rules.restricted-common-ports.parameters.blockedPort1", line=3)


@pytest.mark.parametrize("value", ["--5", "²", "1_0"])
def test_regression_int_parameter_text_that_is_not_a_number(value):
    # "--5" and "²" passed str.isdigit() and reached int(): the reason was Python's, not phiwatch's
    policy = parse_policy(f"rules:\n  restricted-common-ports:\n    parameters: {{blockedPort1: '{value}'}}\n", SOURCE)
    with pytest.raises(UsageError) as info:
        validate_against_rules(policy, RULES, KNOWN_PACKS)
    assert "expected an integer" in str(info.value)
    assert_names_file_line_field(info.value, field="rules.restricted-common-ports.parameters.blockedPort1", line=3)


# ---------------------------------------------------------------------------------- command line


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    from phiwatch import cli

    monkeypatch.setattr(sys, "argv", ["phiwatch", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    return info.value.code, capsys.readouterr().err


def _assert_cli_error(code: int, err: str, path: Path) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("error: "), err
    assert re.search(re.escape(str(path)) + r":\d+: ", err), err


@settings(max_examples=15)
@given(st.sampled_from(sorted(FIELDS, key=str)), st.data())
def test_cli_reports_a_bad_policy_with_exit_2(tmp_path_factory, monkeypatch, capsys, path, data):
    doc = base_policy()
    set_at(doc, path, data.draw(FIELDS[path][1]))
    policy_file = tmp_path_factory.mktemp("cli") / "bad.yaml"
    policy_file.write_text(dump(doc))
    code, err = _cli(["rules", "list", "--policy", str(policy_file)], monkeypatch, capsys)
    _assert_cli_error(code, err, policy_file)
    assert ".".join(str(p) for p in path) in err


def test_cli_process_reports_bad_policies_with_exit_2(tmp_path):
    script = Path(sys.executable).with_name("phiwatch")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]
    cases = {
        "syntax.yaml": "packs: [hipaa\nrules: {}\n",
        "duplicate.yaml": "packs: [hipaa]\npacks: [hipaa]\n",
        "baddate.yaml": "exceptions:\n  - {rule: a, resource: b, justification: c, owner: d, expires: 2027-02-30}\n",
        "unknown.yaml": "remediation:\n  mode: auto\n  max_per_rum: 3\n",
    }
    procs = []
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        args = (
            ["rules", "list", "--policy", str(tmp_path / name)]
            if name != "unknown.yaml"
            else ["scan", "--no-collect", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--policy", str(tmp_path / name)]
        )
        procs.append((name, subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for name, proc in procs:
        _, err = proc.communicate(timeout=120)
        _assert_cli_error(proc.returncode, err, tmp_path / name)
