"""Property tests: broken custom rules (declarative YAML or Python) never crash phiwatch.

At load time a broken rule file is one UsageError (exit 2) naming the file and, where there is
one, the line and field. At evaluation time a custom rule that raises or returns garbage gives
INSUFFICIENT_DATA for that rule only: every other rule and item keeps its verdict.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from phiwatch.errors import UsageError
from phiwatch.evaluation import Evaluator, current_evaluations
from phiwatch.model import ConfigurationItem
from phiwatch.policy import RuleOverride
from phiwatch.rules import base as rules_base
from phiwatch.rules.active import resolve_rules
from phiwatch.rules.declarative import load_declarative_rules
from phiwatch.rules.registry import catalogue, known_resource_types

ACCOUNT = "111122223333"
T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
BUILTIN_IDS = sorted(catalogue())
TYPES = sorted(known_resource_types())


@contextmanager
def fresh_dir() -> Iterator[Path]:
    """A new directory per example (custom modules are cached by path), and no custom rule left behind."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            yield Path(tmp)
        finally:
            for rule_id in [r for r, e in rules_base.FUNCTIONS.items() if e.fn.__module__.startswith("phiwatch_custom_rules")]:
                del rules_base.FUNCTIONS[rule_id]
            for name in [m for m in sys.modules if m.startswith("phiwatch_custom_rules")]:
                del sys.modules[name]


def load(policy_dir: Path, entry: str) -> dict[str, Any] | UsageError:
    (policy_dir / "policy.yaml").write_text(yaml.safe_dump({"custom_rules": [entry]}))
    from phiwatch.policy import load_policy

    try:
        return resolve_rules(load_policy(policy_dir / "policy.yaml"))
    except UsageError as exc:
        assert "Traceback" not in str(exc)
        return exc


def assert_names(exc: UsageError, file: Path, line: int | None = None, field: str | None = None) -> None:
    text = str(exc)
    assert str(file) in text, text
    m = re.search(re.escape(str(file)) + r":(\d+|\?): ", text)
    assert m is not None, f"no {file}:line in {text!r}"
    if line is not None:
        assert m.group(1) == str(line) or f"{file}:{line}: " in text, f"line {line} not in {text!r}"
    if field is not None:
        assert f": {field}:" in text or f": {field}." in text, f"field {field} not in {text!r}"


# ----------------------------------------------------------------------------- declarative rules

GOOD_RULE = {
    "id": "phi-owner-tag",
    "description": "PHI buckets name an owner",
    "resource_types": ["AWS::S3::Bucket"],
    "when": {"tags": {"PHI": "Yes"}},
    "condition": "tags.Owner != null",
    "severity": "low",
    "hipaa_sections": ["164.308(a)(2)"],
    "compliant": "has an owner",
    "non_compliant": "no owner",
    "parameters": {"ownerTag": {"type": "str", "default": "Owner"}},
    "reads": {},
}
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=10).filter(lambda s: s.strip("-"))
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(words, st.integers(), max_size=2),
)
JMES_BITS = list("ab.[]{}()|&!=<>`'\"@*?:,-0123456789 ") + ["length(", "tags", "==", "!=", "&&", "||", "[?", "`0`", "foo("]
jmes_text = st.lists(st.sampled_from(JMES_BITS), min_size=0, max_size=25).map("".join)

# field -> values that must be refused (any of them)
BAD_FIELDS: dict[str, st.SearchStrategy] = {
    "id": st.one_of(junk.filter(lambda v: not isinstance(v, str)), st.sampled_from(["", "Upper", "-lead", "sp ace", "x_y"])),
    "resource_types": st.one_of(
        st.just([]),
        st.just("AWS::S3::Bucket"),
        junk.filter(lambda v: not isinstance(v, list) or v),
        st.lists(st.sampled_from(["AWS::S3::Buckets", "AWS::Nope::Thing", "S3::Bucket", "aws::s3::bucket"]), min_size=1, max_size=2),
    ),
    "condition": junk.filter(lambda v: not isinstance(v, str)),
    "severity": st.one_of(junk, st.sampled_from(["HIGH", "severe", "", "info"])),
    "when": st.one_of(junk.filter(lambda v: not isinstance(v, dict) or v), st.just({"tag": {"a": "b"}}), st.just({"tags": {"a": 1}})),
    "reads": st.one_of(st.just(["x"]), st.just({"a": 1}), st.just("x")),
    "hipaa_sections": st.one_of(st.just("164.312"), st.just([1]), st.just({"a": "b"})),
    "parameters": st.one_of(
        st.just({"p": 5}),
        st.just({"p": {"type": "banana"}}),
        st.just({"p": {"type": "int", "default": "abc"}}),
        st.just({"p": ["int"]}),
        st.just(["p"]),
        st.just("p"),
    ),
    "compliant": st.one_of(st.just(5), st.just(["a"]), st.just({"a": 1})),
}


@st.composite
def broken_rule_files(draw) -> tuple[dict[str, Any], list[str]]:
    """A rule file with one good rule and one rule with some fields wrong, dropped or unknown; the dotted
    fields (rules.1.X) that must be named."""
    rule = dict(GOOD_RULE, id="second-rule")
    wrong: list[str] = []
    for name in draw(st.lists(st.sampled_from(sorted(BAD_FIELDS)), min_size=1, max_size=3, unique=True)):
        rule[name] = draw(BAD_FIELDS[name])
        wrong.append(name)
    if draw(st.booleans()):
        dropped = draw(st.sampled_from(["id", "resource_types", "condition"]))
        rule.pop(dropped)
        wrong = [w for w in wrong if w != dropped] + [dropped]
    if draw(st.booleans()):
        rule[draw(words.filter(lambda w: w not in GOOD_RULE))] = draw(junk)
    return {"rules": [dict(GOOD_RULE), rule]}, wrong


@given(broken_rule_files())
def test_a_broken_declarative_rule_names_the_file_line_and_field(case):
    doc, wrong = case
    with fresh_dir() as tmp:
        (tmp / "rules.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        result = load(tmp, "rules.yaml")
        assert isinstance(result, UsageError), f"{wrong} accepted: {doc['rules'][1]}"
        for field in wrong:
            assert_names(result, tmp / "rules.yaml", field=f"rules.1.{field}")


@given(jmes_text)
def test_a_bad_condition_is_named_or_the_rule_loads(condition):
    with fresh_dir() as tmp:
        doc = {"rules": [dict(GOOD_RULE, condition=condition)]}
        (tmp / "rules.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        try:
            rules = load_declarative_rules(tmp / "rules.yaml")
        except UsageError as exc:
            assert_names(exc, tmp / "rules.yaml", field="rules.0.condition")
        else:
            assert [r.id for r in rules] == ["phi-owner-tag"]
            assert rules[0].resource_types == ("AWS::S3::Bucket",)


@given(
    st.lists(
        st.sampled_from(list("rules:- id[]{}\n  ,'\"!&*#") + ["condition", "resource_types", "AWS::S3::Bucket", "!!int "]), max_size=60
    ).map("".join)
)
def test_any_rule_file_text_loads_or_is_a_clear_error(text):
    with fresh_dir() as tmp:
        (tmp / "rules.yaml").write_text(text)
        try:
            load_declarative_rules(tmp / "rules.yaml")
        except UsageError as exc:
            assert_names(exc, tmp / "rules.yaml")


@given(st.sampled_from(BUILTIN_IDS + ["phi-owner-tag"]))
def test_a_declarative_rule_id_clashing_with_another_rule_is_refused(rule_id):
    with fresh_dir() as tmp:
        (tmp / "a.yaml").write_text(yaml.safe_dump({"rules": [dict(GOOD_RULE, id=rule_id)]}))
        (tmp / "b.yaml").write_text(yaml.safe_dump({"rules": [dict(GOOD_RULE)]}))
        (tmp / "policy.yaml").write_text(yaml.safe_dump({"custom_rules": ["a.yaml", "b.yaml"]}))
        from phiwatch.policy import load_policy

        with pytest.raises(UsageError) as info:
            resolve_rules(load_policy(tmp / "policy.yaml"))
        assert f"'{rule_id}' is already defined" in str(info.value)
        assert re.search(r"\.yaml:\d+: ", str(info.value)), str(info.value)


# --------------------------------------------------------------------------------- Python rules

GOOD_PY = """from phiwatch.rules.base import compliant, non_compliant, rule


@rule("{rid}", resource_types=["AWS::S3::Bucket"], severity="low", hipaa_sections=["164.312(b)"])
def {fname}(item, params, ctx):
    return compliant("ok") if item.tags.get("PHI") == "Yes" else non_compliant("not PHI")
"""


def _py_case(kind: str, draw: Any) -> tuple[str, int | None]:
    """Source of a broken custom rule module and the line the error must name (None: any)."""
    header = "from phiwatch.rules.base import compliant, rule\n\n"  # lines 1-2
    body = 'def fn(item, params, ctx):\n    return compliant("x")\n'
    if kind == "syntax":
        good = GOOD_PY.format(rid="py-good", fname="good").splitlines()
        at = draw(st.integers(0, len(good)))
        garbage = draw(st.sampled_from(["def (:", "return return", "x = = 1", "@rule(", "  indented = 1", "if True", "class :"]))
        return "\n".join([*good[:at], garbage, *good[at:]]) + "\n", None
    if kind == "raises":
        exc = draw(
            st.sampled_from(
                ["ValueError('bad')", "KeyError('k')", "ImportError('no')", "SystemExit(3)", "RuntimeError()", "ZeroDivisionError"]
            )
        )
        lines = GOOD_PY.format(rid="py-raises", fname="raises").splitlines()
        at = draw(st.integers(1, len(lines)))
        return "\n".join([*lines[:at], f"raise {exc}", *lines[at:]]) + "\n", at + 1
    decorators = {
        "bare": "@rule",
        "no-id": "@rule()",
        "id-not-text": "@rule(123, resource_types=['AWS::S3::Bucket'])",
        "no-resource-types": "@rule('py-no-types')",
        "types-a-string": "@rule('py-str-types', resource_types='AWS::S3::Bucket')",
        "unknown-type": "@rule('py-bad-type', resource_types=['AWS::S3::Buckett'])",
        "builtin-id": f"@rule('{draw(st.sampled_from(BUILTIN_IDS))}', resource_types=['AWS::S3::Bucket'])",
        "unknown-argument": "@rule('py-typo', resource_types=['AWS::S3::Bucket'], severty='high')",
        "bad-severity": "@rule('py-sev', resource_types=['AWS::S3::Bucket'], severity='urgent')",
        "bad-parameters": "@rule('py-params', resource_types=['AWS::S3::Bucket'], parameters={'p': 5})",
        "bad-param-type": "@rule('py-ptype', resource_types=['AWS::S3::Bucket'], parameters={'p': ('list', [])})",
        "sections-a-string": "@rule('py-sections', resource_types=['AWS::S3::Bucket'], hipaa_sections='164.312')",
        "reads-not-a-dict": "@rule('py-reads', reads=['x'], resource_types=['AWS::S3::Bucket'])",
    }
    return header + decorators[kind] + "\n" + body, 3


PY_KINDS = [
    "syntax",
    "raises",
    "bare",
    "no-id",
    "id-not-text",
    "no-resource-types",
    "types-a-string",
    "unknown-type",
    "builtin-id",
    "unknown-argument",
    "bad-severity",
    "bad-parameters",
    "bad-param-type",
    "sections-a-string",
    "reads-not-a-dict",
]


@given(st.sampled_from(PY_KINDS), st.booleans(), st.data())
def test_a_broken_python_rule_module_names_the_file_and_line(kind, in_a_directory, data):
    source, line = _py_case(kind, data.draw)
    with fresh_dir() as tmp:
        folder = tmp / "rules" if in_a_directory else tmp
        folder.mkdir(exist_ok=True)
        (folder / "a_good.py").write_text(GOOD_PY.format(rid="py-good-neighbour", fname="neighbour"))
        (folder / "broken.py").write_text(source)
        result = load(tmp, "rules" if in_a_directory else "broken.py")
        assert isinstance(result, UsageError), f"{kind} accepted:\n{source}"
        assert_names(result, folder / "broken.py", line=line)
        # nothing of the broken file stays registered
        assert not any(e.fn.__module__.startswith("phiwatch_custom_rules.broken") for e in rules_base.FUNCTIONS.values())
    # built-in rules are untouched
    assert sorted(catalogue()) == BUILTIN_IDS


def test_regression_custom_function_named_like_a_builtin_does_not_replace_it():
    # the clash check compared only __qualname__: a custom function with the built-in's name and id
    # silently replaced the built-in rule's evaluation
    builtin = rules_base.FUNCTIONS["s3-bucket-logging-enabled"].fn
    with fresh_dir() as tmp:
        (tmp / "clash.py").write_text(GOOD_PY.format(rid="s3-bucket-logging-enabled", fname=builtin.__name__))
        result = load(tmp, "clash.py")
        assert isinstance(result, UsageError)
        assert_names(result, tmp / "clash.py", line=4)
    assert rules_base.FUNCTIONS["s3-bucket-logging-enabled"].fn is builtin


@pytest.mark.parametrize(
    "kind", ["bare", "types-a-string", "unknown-type", "unknown-argument", "bad-severity", "bad-parameters", "sections-a-string"]
)
def test_regression_decorator_misuse_is_a_load_error(kind):
    # bare @rule registered nothing (silently); resource_types="AWS::S3::Bucket" became a tuple of
    # characters; an unknown type or severity was kept; an unknown keyword or a bad parameter spec
    # raised TypeError / ValueError from catalogue() (a traceback)
    with fresh_dir() as tmp:
        source, line = _py_case(kind, lambda s: None)
        (tmp / "broken.py").write_text(source)
        result = load(tmp, "broken.py")
        assert isinstance(result, UsageError), kind
        assert_names(result, tmp / "broken.py", line=line)


def test_regression_failed_import_leaves_no_rule_registered():
    # rules registered before the import failed stayed in the registry (and in later scans)
    with fresh_dir() as tmp:
        (tmp / "half.py").write_text(GOOD_PY.format(rid="py-half", fname="half") + "raise ValueError('late')\n")
        result = load(tmp, "half.py")
        assert isinstance(result, UsageError)
        assert_names(result, tmp / "half.py", line=7)
        assert "py-half" not in rules_base.FUNCTIONS


def test_regression_declarative_rule_cannot_replace_a_builtin_rule():
    # a declarative rule with a built-in id silently replaced the built-in rule in the catalogue
    with fresh_dir() as tmp:
        (tmp / "r.yaml").write_text(yaml.safe_dump({"rules": [dict(GOOD_RULE, id="s3-bucket-logging-enabled")]}, sort_keys=False))
        result = load(tmp, "r.yaml")
        assert isinstance(result, UsageError)
        assert_names(result, tmp / "r.yaml", line=2)


@pytest.mark.parametrize(
    "bad, field",
    [
        # params_from_meta raised ValueError (a traceback) for a parameter given as a bare value
        ({"parameters": {"p": 5}}, "rules.0.parameters"),
        # an unknown resource type was accepted: the rule never evaluated anything
        ({"resource_types": ["AWS::S3::Buckets"]}, "rules.0.resource_types"),
        # a malformed date in the rule file raised ValueError from PyYAML
        ({"description": "__DATE__"}, None),
    ],
)
def test_regression_declarative_rule_mistakes(bad, field):
    with fresh_dir() as tmp:
        text = yaml.safe_dump({"rules": [dict(GOOD_RULE, **bad)]}).replace("__DATE__", "2026-02-31")
        (tmp / "r.yaml").write_text(text)
        with pytest.raises(UsageError) as info:
            load_declarative_rules(tmp / "r.yaml")
        assert_names(info.value, tmp / "r.yaml", field=field)


def test_regression_duplicate_ids_in_one_rule_file():
    # the second rule with the same id silently replaced the first
    with fresh_dir() as tmp:
        (tmp / "r.yaml").write_text(yaml.safe_dump({"rules": [dict(GOOD_RULE), dict(GOOD_RULE)]}, sort_keys=False))
        with pytest.raises(UsageError) as info:
            load_declarative_rules(tmp / "r.yaml")
        assert_names(info.value, tmp / "r.yaml", field="rules.1.id")


# --------------------------------------------------------------------------- evaluation failures

BAD_BODIES = {
    "raises": "raise {exc}",
    "exits": "import sys; sys.exit(1)",
    "returns-garbage": "return {garbage}",
    "bad-compliance": "from phiwatch.rules.base import Result; return Result({garbage}, 'x')",
    "bad-annotation": "from phiwatch.rules.base import Result; from phiwatch.model import Compliance; return Result(Compliance.COMPLIANT, {garbage})",
    "sometimes": "if item.resourceId.endswith('1'): raise {exc}\n    return compliant('fine')",
}
EXCEPTIONS = ["ValueError('v')", "KeyError('k')", "TypeError('t')", "ZeroDivisionError()", "RecursionError()", "AttributeError('a')"]
GARBAGE = ["1", "'COMPLIANT!'", "{'compliance': 'COMPLIANT'}", "[compliant('x')]", "True", "object()", "None if False else 0"]


def bucket(name: str, phi: bool, logging: bool) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId=name,
        resourceName=name,
        arn=f"arn:aws:s3:::{name}",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        tags={"PHI": "Yes"} if phi else {},
        supplementaryConfiguration={
            "BucketLoggingConfiguration": {"destinationBucketName": "logs"} if logging else None,
            "ServerSideEncryptionConfiguration": None,
            "BucketPolicy": None,
        },
        configurationItemCaptureTime="2026-06-01T00:00:00Z",
    )


@settings(max_examples=25)
@given(
    st.sampled_from(sorted(BAD_BODIES)),
    st.sampled_from(EXCEPTIONS),
    st.sampled_from(GARBAGE),
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=4),
    st.booleans(),
)
def test_a_failing_rule_gives_insufficient_data_for_that_rule_only(kind, exc, garbage, buckets, declarative_too):
    from phiwatch.store import Store

    body = BAD_BODIES[kind].format(exc=exc, garbage=garbage)
    with fresh_dir() as tmp:
        (tmp / "bad.py").write_text(
            "from phiwatch.rules.base import compliant, rule\n\n\n"
            "@rule('py-bad', resource_types=['AWS::S3::Bucket'])\n"
            f"def bad(item, params, ctx):\n    {body}\n"
        )
        (tmp / "good.py").write_text(GOOD_PY.format(rid="py-good", fname="good"))
        custom = ["bad.py", "good.py"]
        if declarative_too:
            (tmp / "r.yaml").write_text(yaml.safe_dump({"rules": [dict(GOOD_RULE, when={"tags": {}}, condition="length(tags.PHI) > `0`")]}))
            custom.append("r.yaml")  # raises a JMESPath type error on buckets without the tag
        (tmp / "policy.yaml").write_text(yaml.safe_dump({"custom_rules": custom}))
        from phiwatch.policy import load_policy

        policy = load_policy(tmp / "policy.yaml")
        rules = resolve_rules(policy)
        for rule_id, r in rules.items():  # the built-in logging rule, and the custom rules
            if r.pack != "custom" and rule_id != "s3-bucket-logging-enabled":
                policy.rules[rule_id] = RuleOverride(enabled=False)
        store = Store(f"sqlite:///{tmp / 'x.db'}")
        try:
            items = [bucket(f"bucket-{i}", phi, logging) for i, (phi, logging) in enumerate(buckets)]
            with store.writer(None) as w:
                for item in items:
                    w.record(item)
            Evaluator(store, policy, rules).evaluate(now=T0)
            got = {(e["rule_id"], e["resource_id"]): e["compliance"] for e in current_evaluations(store, rules)}
        finally:
            store.close()
    for item, (phi, logging) in zip(items, buckets):
        name = item.resourceId
        assert got[("s3-bucket-logging-enabled", name)] == ("COMPLIANT" if logging else "NON_COMPLIANT")
        assert got[("py-good", name)] == ("COMPLIANT" if phi else "NON_COMPLIANT")
        fails = kind != "sometimes" or name.endswith("1")
        assert got[("py-bad", name)] == ("INSUFFICIENT_DATA" if fails else "COMPLIANT"), (kind, body, got)
        if declarative_too:
            assert got[("phi-owner-tag", name)] == ("COMPLIANT" if phi else "INSUFFICIENT_DATA")


# ---------------------------------------------------------------------------------- command line


@settings(max_examples=10)
@given(broken_rule_files())
def test_cli_reports_a_broken_rule_file_with_exit_2(monkeypatch, capsys, case):
    from phiwatch import cli

    doc, wrong = case
    with fresh_dir() as tmp:
        (tmp / "rules.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        (tmp / "policy.yaml").write_text("custom_rules: [rules.yaml]\n")
        monkeypatch.setattr(sys, "argv", ["phiwatch", "rules", "list", "--policy", str(tmp / "policy.yaml")])
        with pytest.raises(SystemExit) as info:
            cli.main()
        err = capsys.readouterr().err
        assert info.value.code == 2, err
        assert "Traceback" not in err and err.startswith("error: ")
        assert re.search(re.escape(str(tmp / "rules.yaml")) + r":\d+: rules\.1\.", err), err
