"""Property tests: a malformed SSM Automation document never crashes ``load_document``.

Whatever the document (mutations of the built-in runbooks, random documents, random text), it
either loads as a Document or raises RunbookError naming the runbook and the step, parameter
or field at fault.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from phiwatch.runbooks.document import RUNBOOK_DIR, Document, RunbookError, builtin_ids, load_document

RUNBOOKS = {i: yaml.safe_load((RUNBOOK_DIR / f"{i}.yaml").read_text()) for i in builtin_ids()}
WHERE = re.compile(
    r"^runbook (?P<id>\S+): (document|field '[^']+'|step '.*' field '[^']+'|parameter '.*'( field '[^']+')?"
    r"|mainSteps\[\d+\]( field 'name')?|not valid YAML or JSON \(line \d+[^)]*\)): \S"
)


def check(document: Any, doc_id: str = "doc") -> Document | RunbookError:
    """The property: a Document, or a RunbookError naming the runbook and where in it."""
    try:
        doc = load_document(document, doc_id=doc_id)
    except RunbookError as exc:
        text = str(exc)
        assert WHERE.match(text), f"unclear error: {text!r}"
        assert WHERE.match(text)["id"] == doc_id
        return exc
    assert isinstance(doc, Document)
    if isinstance(document, dict):
        assert [s.name for s in doc.steps] == [s["name"] for s in document["mainSteps"]]
        assert set(doc.parameters) == set(document.get("parameters") or {})
    return doc


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC_", min_size=1, max_size=10)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "{{ ResourceId }}",
            "{{ Nope }}",
            "{{ Step.Out }}",
            "PT30S",
            "P1D",
            "step:Nope",
            "aws:executeAwsApi",
            "aws:runCommand",
            "s3",
            "nosuchservice",
            "GetBucketNope",
            "$.x[*]",
            "$..x",
        ]
    ),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.one_of(words, st.integers(0, 3)), inner, max_size=3)),
    max_leaves=10,
)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_paths(v, (*path, i)))
    return out


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated_runbooks(draw) -> tuple[str, dict[str, Any]]:
    doc_id = draw(st.sampled_from(sorted(RUNBOOKS)))
    doc = copy.deepcopy(RUNBOOKS[doc_id])
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "replace", "retype", "unknown-key", "step-field"]))
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _at(doc, path[:-1])
        if op == "drop":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(json_like)
        elif op == "retype":
            value = parent[path[-1]]
            parent[path[-1]] = draw(st.sampled_from([[value], {"v": value}, str(value), 0, -1, True, None, 2.5, math.nan, ""]))
        elif op == "unknown-key" and isinstance(parent, dict):
            parent[draw(st.one_of(words, st.integers()))] = draw(json_like)
        elif op == "step-field" and isinstance(doc.get("mainSteps"), list) and doc["mainSteps"]:
            step = draw(st.sampled_from(doc["mainSteps"]))
            if isinstance(step, dict):
                names = [s.get("name") for s in doc["mainSteps"] if isinstance(s, dict)]
                field, value = draw(
                    st.sampled_from(
                        [
                            ("action", "aws:runCommand"),
                            ("action", "aws:approve"),
                            ("nextStep", "Nowhere"),
                            ("nextStep", draw(st.sampled_from(names))),
                            ("onFailure", "step:Nowhere"),
                            ("onCancel", "step:Nowhere"),
                            ("onFailure", "Retry"),
                            ("maxAttempts", 0),
                            ("maxAttempts", 11),
                            ("timeoutSeconds", -1),
                            ("timeoutSeconds", math.inf),
                            ("isEnd", "yes"),
                            ("outputs", [{"Name": "X", "Selector": "x"}]),
                        ]
                    )
                )
                step[field] = value
                if isinstance(step.get("inputs"), dict):
                    key, val = draw(
                        st.sampled_from(
                            [
                                ("Service", "nosuchservice"),
                                ("Api", "NoSuchApi"),
                                ("Api", "{{ ResourceId }}"),
                                ("Duration", "PT"),
                                ("Duration", "30 seconds"),
                                ("Timestamp", "yesterday"),
                                ("Handler", ["x"]),
                                ("Choices", []),
                                ("Default", "Nowhere"),
                                ("NotAParameter", 1),
                                ("PropertySelector", "Status"),
                                ("DesiredValues", []),
                                ("Bucket", "{{ Undeclared }}"),
                            ]
                        )
                    )
                    step["inputs"][key] = val
    return doc_id, doc


@given(mutated_runbooks())
def test_mutated_builtin_runbooks_load_or_name_the_fault(case):
    doc_id, doc = case
    check(doc, doc_id)


@given(mutated_runbooks())
def test_mutated_runbooks_as_yaml_text(case):
    doc_id, doc = case
    try:
        text = yaml.safe_dump(doc, sort_keys=False)
    except yaml.YAMLError:
        return
    as_text = check(text, doc_id)
    as_dict = check(doc, doc_id)
    assert type(as_text) is type(as_dict), (as_text, as_dict)  # the same verdict either way


@given(json_like)
def test_random_documents_load_or_name_the_fault(data):
    check(data if isinstance(data, dict) else yaml.safe_dump(data), "random")


@given(
    st.lists(
        st.sampled_from(list("{}[]:,-\"' \n\t#&*!|>") + ["schemaVersion", "mainSteps", "0.3", "!!int ", "name", "action"]), max_size=60
    ).map("".join)
)
def test_random_text_loads_or_names_the_fault(text):
    check("\n" + text, "text")  # the newline: never read as a file name


@given(st.sampled_from(sorted(RUNBOOKS)), st.data())
def test_a_nextstep_chain_back_to_itself_is_refused(doc_id, data):
    doc = copy.deepcopy(RUNBOOKS[doc_id])
    steps = doc["mainSteps"]
    plain = [i for i, s in enumerate(steps) if s["action"] != "aws:branch"]
    start = data.draw(st.sampled_from(plain))
    # a chain of non-branch steps from `start`, the last pointing back to `start`
    chain = [start]
    while data.draw(st.booleans()) and len(chain) < len(plain):
        chain.append(data.draw(st.sampled_from([i for i in plain if i not in chain])))
    for a, b in zip(chain, chain[1:] + chain[:1]):
        steps[a]["nextStep"] = steps[b]["name"]
        steps[a].pop("isEnd", None)
    result = check(doc, doc_id)
    assert isinstance(result, RunbookError), f"loop {[steps[i]['name'] for i in chain]} accepted"
    assert "endless loop" in str(result)


# ------------------------------------------------------------------------------------ regressions


def _runbook(**step_changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(RUNBOOKS["phiwatch-EnableS3BucketVersioning"])
    doc["mainSteps"][0].update(step_changes)
    return doc


@pytest.mark.parametrize(
    "document, fragment",
    [
        # keys of mixed types (an int and a string) made sorted() raise TypeError
        ({**_runbook(), 1: "x", "zzz": 2}, "field '1'"),
        (
            {"schemaVersion": "0.3", "mainSteps": [{"name": "A", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}, 5: 1, "x": 2}]},
            "step 'A' field '5'",
        ),
        # an unhashable Handler raised TypeError from `handler not in SCRIPTS`
        (
            {
                "schemaVersion": "0.3",
                "mainSteps": [
                    {"name": "A", "action": "aws:executeScript", "inputs": {"Runtime": "python3.11", "Handler": ["h"], "Script": ""}}
                ],
            },
            "step 'A' field 'inputs.Handler'",
        ),
        # a NaN or infinite timeout passed the `timeout <= 0` check
        (_runbook(timeoutSeconds=math.nan), "field 'timeoutSeconds'"),
        (_runbook(timeoutSeconds=math.inf), "field 'timeoutSeconds'"),
        # onCancel's step target was never checked
        (_runbook(onCancel="step:Nowhere"), "field 'onCancel'"),
        # a description that is not text was turned into text silently
        (_runbook(description={"a": 1}), "field 'description'"),
        # two plain steps pointing at each other: the run repeated their API calls until the step limit
        (
            {
                "schemaVersion": "0.3",
                "mainSteps": [
                    {"name": "A", "action": "aws:sleep", "nextStep": "B", "inputs": {"Duration": "PT1S"}},
                    {"name": "B", "action": "aws:sleep", "nextStep": "A", "inputs": {"Duration": "PT1S"}},
                ],
            },
            "endless loop",
        ),
        # PyYAML raised ValueError / IndexError for tagged scalars it cannot build
        ("schemaVersion: '0.3'\nmainSteps:\n  - name: !!int x\n", "line 3"),
        ("schemaVersion: !!float\nmainSteps: []\n", "line 1"),
        ("description: 2026-02-30\nschemaVersion: '0.3'\n", "line 1"),
        # duplicate keys silently kept the last value
        ("schemaVersion: '0.3'\nschemaVersion: '0.3'\nmainSteps: []\n", "duplicate key"),
        # deeply nested JSON raised RecursionError
        ("{" + '"a":' * 0 + "[" * 100000 + "]" * 100000 + "}", "not valid YAML or JSON"),
    ],
)
def test_regression_malformed_runbooks(document, fragment):
    with pytest.raises(RunbookError) as info:
        load_document(document, doc_id="doc")
    assert fragment in str(info.value)
    assert WHERE.match(str(info.value)), str(info.value)


def test_every_builtin_runbook_still_loads():
    for doc_id, doc in RUNBOOKS.items():
        assert isinstance(check(copy.deepcopy(doc), doc_id), Document)


def test_runbook_file_errors_name_the_file(tmp_path: Path):
    path = tmp_path / "my-runbook.yaml"
    path.write_text(
        "schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:sleep\n    inputs: {Duration: PT1S}\n    nextStep: Nowhere\n"
    )
    with pytest.raises(RunbookError) as info:
        load_document(path)
    assert str(info.value).startswith("runbook my-runbook: step 'A' field 'nextStep'")
    assert json.dumps(str(info.value))  # one line of text
