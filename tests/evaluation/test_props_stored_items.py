"""Property tests: configuration items stored by an older phiwatch (keys missing, ``configuration``
null or a string, fields of another type) never crash reading, diffing, ``history``/``show`` or
evaluation, and never pass silently.

The corpus is real: the demo estate seeded in moto's server and collected once; each example
takes one collected item and turns it into an older shape. Properties:

* ``ConfigurationItem.from_dict`` reads it, and every rule of the catalogue for its type gives
  no verdict (does not apply), or a verdict; never an exception, never a "rule error";
* a rule that reads the item's ``configuration`` never says COMPLIANT when the stored
  configuration is absent, null, not an object or empty (what the rule reads is observed by
  handing it a configuration that records the keys asked for);
* the store reads the versions back; ``diff_items`` between any two shapes, ``phiwatch history``
  and ``phiwatch show`` work; a full evaluation of a store holding such items completes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from typer.testing import CliRunner

from phiwatch.collect.runner import collect
from phiwatch.evaluation import Evaluator
from phiwatch.model import Compliance, ConfigurationItem
from phiwatch.policy import parse_policy
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue
from phiwatch.store import Store
from phiwatch.store.diff import diff_items
from phiwatch.store.tables import resources, versions

OPTIONAL_KEYS = [
    "supplementaryConfiguration",
    "tags",
    "relationships",
    "collectionErrors",
    "configurationStateId",
    "configurationItemStatus",
    "resourceName",
    "arn",
    "configurationItemCaptureTime",
]
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False), text)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=6
)


@pytest.fixture(scope="module")
def corpus(emulator, tmp_path_factory) -> list[dict]:
    """Every item of the demo estate, collected once (AWS Config item dicts)."""
    from phiwatch.aws.session import AwsContext
    from phiwatch.demo.estate import seed_estate

    emulator.reset()
    seed_estate(emulator.session("us-east-1"), emulator.endpoint)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('props-stored') / 'corpus.db'}")
    collect(AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1"], session=emulator.session("us-east-1")), store)
    items = [i.to_dict() for i in store.current_items()]
    store.close()
    emulator.reset()
    assert len({i["resourceType"] for i in items}) >= 40
    CORPUS[:] = items
    return items


@pytest.fixture(scope="module")
def rules_by_type() -> dict[str, list[ActiveRule]]:
    out: dict[str, list[ActiveRule]] = {}
    for r in catalogue().values():
        if r.fn is None:
            continue
        for t in r.resource_types:
            out.setdefault(t, []).append(ActiveRule(r, r.defaults(), None))
    return out


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out.extend(_paths(v, prefix + (i,)))
    return out


def _parent(root: Any, path: tuple) -> Any:
    node = root
    for part in path[:-1]:
        node = node[part]
    return node


#: the collected items (set by the ``corpus`` fixture; a global so that examples do not print it)
CORPUS: list[dict] = []


@st.composite
def older_items(draw, deep: bool = True) -> dict:
    """A collected item in the shape an older version may have stored; ``deep``: fields inside its
    configuration and supplementary configuration dropped or of another type too."""
    item = json.loads(json.dumps(CORPUS[draw(st.integers(0, len(CORPUS) - 1))]))
    for key in draw(st.lists(st.sampled_from(OPTIONAL_KEYS), max_size=4, unique=True)):
        if draw(st.booleans()):
            item.pop(key, None)
        else:
            item[key] = draw(st.one_of(st.none(), json_values))
    shape = draw(st.sampled_from(["keep", "keep", "keep", "none", "string", "empty", "missing", "list"]))
    if shape == "none":
        item["configuration"] = None
    elif shape == "string":
        item["configuration"] = json.dumps(item.get("configuration"))  # an older version stored it as text
    elif shape == "empty":
        item["configuration"] = {}
    elif shape == "missing":
        item.pop("configuration", None)
    elif shape == "list":
        item["configuration"] = [item.get("configuration")]
    # fields inside the configuration and the supplementary configuration dropped or of another type
    for root in ("configuration", "supplementaryConfiguration") if deep else ():
        value = item.get(root)
        paths = _paths(value)
        if not paths:
            continue
        for path in draw(st.lists(st.sampled_from(paths), max_size=3, unique=True)):
            try:
                parent = _parent(value, path)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier change removed or replaced its parent
            if isinstance(parent, list):
                if not isinstance(path[-1], int) or path[-1] >= len(parent):
                    continue
            elif not isinstance(parent, dict) or path[-1] not in parent:
                continue
            if draw(st.booleans()) and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(json_values)
    return item


def configuration_is_missing(stored: dict) -> bool:
    """No configuration to read: absent, null, empty, or of another type (text that is a JSON object is read)."""
    value = stored.get("configuration")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return True
    return not isinstance(value, dict) or not value


class Recording(dict):
    """An empty configuration that records whether a rule asked it for anything."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = False

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

    def __iter__(self):
        self._ask()
        return iter(())

    def keys(self):
        self._ask()
        return super().keys()

    def items(self):
        self._ask()
        return super().items()

    def values(self):
        self._ask()
        return super().values()

    def __len__(self) -> int:
        self._ask()
        return 0

    def __bool__(self) -> bool:
        self._ask()
        return False


def reads_configuration(a: ActiveRule, item: ConfigurationItem, ctx: RuleContext) -> bool:
    probe = Recording()
    try:
        a.rule.fn(dataclasses.replace(item, configuration=probe), a.params, ctx)  # type: ignore[misc]
    except Exception:  # noqa: BLE001 - only what it asked matters here
        pass
    return probe.asked


def check_evaluation(stored: dict, rules_by_type: dict[str, list[ActiveRule]], rule_errors: bool = False) -> None:
    """``rule_errors``: a rule may fail on a field of the wrong type (the engine reports it INSUFFICIENT_DATA
    with the reason "rule error"); otherwise that is a failure too."""
    item = ConfigurationItem.from_dict(stored)
    assert isinstance(item.configuration, dict) and isinstance(item.supplementaryConfiguration, dict)
    assert isinstance(item.tags, dict) and isinstance(item.relationships, list) and isinstance(item.collectionErrors, list)
    ctx = RuleContext(now=NOW)
    missing = configuration_is_missing(stored)
    for a in rules_by_type.get(item.resourceType, []):
        result = run_rule(a, item, ctx)
        if result is None:
            continue
        assert isinstance(result.compliance, Compliance)
        assert rule_errors or not result.annotation.startswith("rule error"), (a.rule.id, result.annotation)
        if result.compliance in (Compliance.INSUFFICIENT_DATA, Compliance.NON_COMPLIANT):
            assert result.annotation, a.rule.id
        if missing and result.compliance == Compliance.COMPLIANT:
            assert not reads_configuration(a, item, ctx), (a.rule.id, "COMPLIANT on an item without configuration")


def test_corpus_covers_the_rules(corpus, rules_by_type):
    """Most rules of the HIPAA packs have a collected item to start from (the mutations start from
    something real). The demo estate is built for them: the aws-managed pack's other services
    (CloudFront, WAF, EKS, ...) have no demo resources yet and are tested on their own estates."""
    types = {i["resourceType"] for i in corpus}
    covered = {a.rule.id for t in types for a in rules_by_type.get(t, [])}
    every = {a.rule.id for rs in rules_by_type.values() for a in rs if {"hipaa", "hipaa-extras"} & set(a.rule.packs)}
    assert len(covered & every) >= 0.8 * len(every)


def test_collected_items_evaluate_without_rule_errors(corpus, rules_by_type):
    for stored in corpus:
        check_evaluation(stored, rules_by_type)


def test_older_items_evaluate_to_a_verdict_never_a_crash(corpus, rules_by_type):
    @settings(max_examples=150)
    @given(older_items(deep=False))
    def run(stored):
        check_evaluation(stored, rules_by_type)

    run()


def test_items_with_fields_of_another_type_never_crash_the_evaluation(corpus, rules_by_type):
    @settings(max_examples=150)
    @given(older_items())
    def run(stored):
        check_evaluation(stored, rules_by_type, rule_errors=True)

    run()


def test_older_items_diff_against_any_other_shape(corpus):
    @given(older_items(), older_items())
    def run(old, new):
        for a, b in ((old, new), (new, old), (None, new)):
            for change in diff_items(a, b):
                text_ = change.describe()
                assert isinstance(text_, str)
                json.dumps(change.to_dict(), default=str)

    run()


def _store_older(store: Store, stored: list[dict]) -> list[int]:
    """Record each item (v1 as collected), then overwrite the stored JSON with the older shape."""
    pks = []
    with store.writer(None) as w:
        for i, raw in enumerate(stored):
            w.record(
                ConfigurationItem(
                    resourceType=raw["resourceType"], resourceId=f"older-{i}", awsRegion=raw["awsRegion"], accountId=raw["accountId"]
                )
            )
    with store.engine.begin() as conn:
        for i, raw in enumerate(stored):
            pk = conn.execute(resources.select().where(resources.c.resource_id == f"older-{i}")).first().id
            conn.execute(update(versions).where(versions.c.resource_pk == pk).values(item={**raw, "resourceId": f"older-{i}"}))
            pks.append(pk)
    return pks


def test_history_show_and_evaluation_of_a_store_with_older_items(corpus, tmp_path):
    from phiwatch.cli import app

    runner = CliRunner()
    counter = iter(range(10**6))

    @settings(max_examples=8)
    @given(st.lists(older_items(deep=False), min_size=1, max_size=6))
    def run(stored):
        url = f"sqlite:///{tmp_path / f'older-{next(counter)}.db'}"
        store = Store(url)
        try:
            pks = _store_older(store, stored)
            assert len(list(store.current_items())) == len(stored)
            for pk, raw in zip(pks, stored):
                history = store.history(pk)
                assert history and history[-1]["item"] == {**raw, "resourceId": history[-1]["item"]["resourceId"]}
                assert store.item_at(pk) is not None
            summary = Evaluator(store, parse_policy("")).evaluate(full=True, now=NOW)
            assert not summary.rule_errors, summary.rule_errors
            for i in range(len(stored)):
                out = runner.invoke(app, ["history", f"older-{i}", "--db", url, "--json"])
                assert out.exit_code == 0, out.output[-2000:]
                assert json.loads(out.output)["versions"]
                out = runner.invoke(app, ["show", f"older-{i}", "--db", url])
                assert out.exit_code == 0, out.output[-2000:]
        finally:
            store.close()

    run()


# -- regressions: inputs Hypothesis found ------------------------------------------------------------

LAUNCH_CONFIGURATION = {
    "resourceType": "AWS::AutoScaling::LaunchConfiguration",
    "resourceId": "portal-lc-private",
    "awsRegion": "us-east-1",
    "accountId": "123456789012",
    "configuration": {
        "LaunchConfigurationName": "portal-lc-private",
        "AssociatePublicIpAddress": False,
        "SecurityGroups": [],
        "BlockDeviceMappings": [],
        "UserDataPresent": False,
    },
}


def _verdicts(stored: dict) -> dict[str, Any]:
    item = ConfigurationItem.from_dict(stored)
    out = {}
    for r in catalogue().values():
        if r.fn is not None and item.resourceType in r.resource_types:
            out[r.id] = run_rule(ActiveRule(r, r.defaults(), None), item, RuleContext(now=NOW))
    return out


def test_null_parts_of_an_older_item_read_as_empty():
    # was: from_dict kept supplementaryConfiguration/tags/relationships/collectionErrors null as stored, so
    # every rule reading them raised AttributeError (and failed_apis() a TypeError out of the engine)
    stored = {**LAUNCH_CONFIGURATION, "supplementaryConfiguration": None, "tags": None, "relationships": None, "collectionErrors": None}
    verdicts = _verdicts(stored)
    assert verdicts and all(v is None or not v.annotation.startswith("rule error") for v in verdicts.values())
    item = ConfigurationItem.from_dict({**stored, "configuration": json.dumps(LAUNCH_CONFIGURATION["configuration"])})
    assert item.configuration == LAUNCH_CONFIGURATION["configuration"]  # stored as JSON text: decoded


@pytest.mark.parametrize("configuration", [None, "not json", {}, ["x"]])
def test_no_configuration_is_never_compliant(configuration):
    # was: a launch configuration stored with configuration null read no public IP setting and was COMPLIANT
    verdicts = _verdicts({**LAUNCH_CONFIGURATION, "configuration": configuration})
    assert verdicts["autoscaling-launch-config-public-ip-disabled"].compliance == Compliance.INSUFFICIENT_DATA
    assert "no configuration recorded" in verdicts["autoscaling-launch-config-public-ip-disabled"].annotation
    assert not [k for k, v in verdicts.items() if v is not None and v.compliance == Compliance.COMPLIANT]
    # with its configuration, the same item passes
    assert _verdicts(LAUNCH_CONFIGURATION)["autoscaling-launch-config-public-ip-disabled"].compliance == Compliance.COMPLIANT


def test_diff_of_security_group_shapes_an_older_version_stored():
    # was: _expand_ip_permissions took a configuration stored as text for an object ("IpPermissions" in the
    # text: dict(text) raised ValueError), and a permission with IpRanges null raised TypeError in diff and summarise
    new = {
        "resourceType": "AWS::EC2::SecurityGroup",
        "configuration": {"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
    }
    for old in (
        {"configuration": '{"IpPermissions": []}'},
        {"configuration": None},
        {"configuration": {"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": None}, 5]}},
    ):
        texts = [c.describe() for c in diff_items({**new, **old}, new)]
        assert texts and any("22" in t for t in texts)
