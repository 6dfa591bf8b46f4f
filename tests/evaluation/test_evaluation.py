"""Evaluation engine: incremental evaluation, scopes, exceptions with expiry, findings lifecycle,
custom rules (Python and declarative), rule errors, output formats. Items are constructed and
written to the store directly, so these tests run on SQLite and PostgreSQL without AWS."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from phiwatch.errors import UsageError
from phiwatch.evaluation import Evaluator, current_evaluations, excepted_findings
from phiwatch.model import ConfigurationItem
from phiwatch.policy import Policy, RuleOverride, load_policy, parse_policy
from phiwatch.report.formats import scan_csv, scan_json, scan_ocsf
from phiwatch.rules import base as rules_base
from phiwatch.rules.active import resolve_rules
from phiwatch.scan import run_scan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ACCOUNT = "111122223333"
T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def bucket(
    name: str, *, logging: bool, tags: dict | None = None, encrypted: bool = False, capture: str = "2026-06-01T00:00:00Z"
) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId=name,
        resourceName=name,
        arn=f"arn:aws:s3:::{name}",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        tags=tags or {},
        supplementaryConfiguration={
            "BucketLoggingConfiguration": {"destinationBucketName": "logs", "logFilePrefix": ""} if logging else None,
            "ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
            if encrypted
            else None,
            "BucketPolicy": None,
        },
        configurationItemCaptureTime=capture,
    )


def write(store, *items):
    with store.writer(None) as w:
        for item in items:
            w.record(item)


def only(policy_text: str = "", rules: tuple[str, ...] = ("s3-bucket-logging-enabled",)) -> Policy:
    """A policy enabling just the given HIPAA rules (keeps verdict tables small)."""
    policy = parse_policy(policy_text or "{}")
    all_rules = resolve_rules(policy)
    for rule_id, r in all_rules.items():
        if r.pack == "hipaa" and rule_id not in rules and rule_id not in policy.rules:
            policy.rules[rule_id] = RuleOverride(enabled=False)
    return policy


def verdicts(store, policy):
    rules = resolve_rules(policy)
    return {(e["rule_id"], e["resource_id"]): e["compliance"] for e in current_evaluations(store, rules)}


def test_findings_open_then_resolve(store):
    write(store, bucket("bucket-logging-off", logging=False), bucket("bucket-logging-on", logging=True))
    policy = only()
    summary = Evaluator(store, policy).evaluate(now=T0)
    assert verdicts(store, policy) == {
        ("s3-bucket-logging-enabled", "bucket-logging-off"): "NON_COMPLIANT",
        ("s3-bucket-logging-enabled", "bucket-logging-on"): "COMPLIANT",
    }
    assert [e["event"] for e in summary.events] == ["opened"]
    # nothing changed: nothing re-evaluated, no new events
    again = Evaluator(store, policy).evaluate(now=T0 + dt.timedelta(minutes=5))
    assert again.items_evaluated == 0 and again.events == []
    # the bucket is fixed: only it is re-evaluated, and its finding resolves
    write(store, bucket("bucket-logging-off", logging=True, capture="2026-06-02T00:00:00Z"))
    fixed = Evaluator(store, policy).evaluate(now=T0 + dt.timedelta(days=1))
    assert fixed.items_evaluated == 1
    assert [e["event"] for e in fixed.events] == ["resolved"]


def test_parameter_change_reevaluates_everything(store):
    write(store, bucket("a", logging=True), bucket("b", logging=True))
    Evaluator(store, only()).evaluate(now=T0)
    changed = only("rules:\n  s3-bucket-logging-enabled:\n    parameters: {targetBucket: central-logs}\n")
    summary = Evaluator(store, changed).evaluate(now=T0)
    assert summary.items_evaluated == 2
    assert set(verdicts(store, changed).values()) == {"NON_COMPLIANT"}


def test_scope_by_tags(store):
    write(
        store,
        bucket("prod-bucket", logging=False, tags={"Environment": "PROD"}),
        bucket("dev-bucket", logging=False, tags={"Environment": "DEV"}),
    )
    policy = only("rules:\n  s3-bucket-logging-enabled:\n    scope: {tags: {Environment: PROD}}\n")
    Evaluator(store, policy).evaluate(now=T0)
    assert verdicts(store, policy) == {("s3-bucket-logging-enabled", "prod-bucket"): "NON_COMPLIANT"}


def test_scope_by_resource_ids_is_exact_or_glob(store):
    write(store, bucket("phi-records", logging=False), bucket("phi-records-archive", logging=False), bucket("other", logging=False))
    exact = only("rules:\n  s3-bucket-logging-enabled:\n    scope: {resource_ids: [phi-records]}\n")
    Evaluator(store, exact).evaluate(now=T0)
    assert set(k[1] for k in verdicts(store, exact)) == {"phi-records"}  # no substring match
    globbed = only("rules:\n  s3-bucket-logging-enabled:\n    scope: {resource_ids: ['phi-*']}\n")
    Evaluator(store, globbed).evaluate(now=T0)
    assert set(k[1] for k in verdicts(store, globbed)) == {"phi-records", "phi-records-archive"}


EXCEPTION_POLICY = """
exceptions:
  - rule: s3-bucket-logging-enabled
    resource: "public-site-*"
    justification: Static website, holds no PHI
    owner: security@example.org
    expires: 2026-06-30
"""


def test_exception_is_reported_separately_and_expires(store):
    write(store, bucket("public-site-assets", logging=False), bucket("public-sites-not-matching-glob", logging=False))
    policy = only(EXCEPTION_POLICY)
    summary = Evaluator(store, policy).evaluate(now=T0)
    events = {e["event"] for e in summary.events}
    assert events == {"excepted", "opened"}
    excepted = excepted_findings(store)
    assert [(x["resource_id"], x["owner"], x["expires"]) for x in excepted] == [
        ("public-site-assets", "security@example.org", "2026-06-30")
    ]
    # an excepted finding is still NON_COMPLIANT, never compliant
    assert verdicts(store, policy)[("s3-bucket-logging-enabled", "public-site-assets")] == "NON_COMPLIANT"
    # after expiry the finding reopens, even though the bucket did not change
    later = Evaluator(store, policy).evaluate(now=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    assert [e["event"] for e in later.events] == ["exception_expired"]
    assert excepted_findings(store) == []


def test_exception_added_later_applies_without_change(store):
    write(store, bucket("public-site-assets", logging=False))
    Evaluator(store, only()).evaluate(now=T0)
    summary = Evaluator(store, only(EXCEPTION_POLICY)).evaluate(now=T0)
    assert [e["event"] for e in summary.events] == ["excepted"]


def test_rule_that_raises_gives_insufficient_data_only_for_itself(store):
    @rules_base.rule("test-raising-rule", resource_types=["AWS::S3::Bucket"], severity="low")
    def raising(item, params, ctx):
        raise RuntimeError("boom")

    try:
        write(store, bucket("bucket-logging-off", logging=False))
        policy = only()
        summary = Evaluator(store, policy).evaluate(now=T0)
        v = verdicts(store, policy)
        assert v[("test-raising-rule", "bucket-logging-off")] == "INSUFFICIENT_DATA"
        assert v[("s3-bucket-logging-enabled", "bucket-logging-off")] == "NON_COMPLIANT"
        assert summary.rule_errors and summary.rule_errors[0]["rule_id"] == "test-raising-rule"
    finally:
        rules_base.FUNCTIONS.pop("test-raising-rule", None)


def test_custom_rules_python_and_yaml(store):
    write(
        store,
        bucket("phi-bucket-encrypted", logging=True, encrypted=True, tags={"PHI": "Yes", "InstanceOwnerEmail": "a@example.org"}),
        bucket("phi-bucket-plain", logging=True, tags={"PHI": "Yes"}),
        bucket("non-phi-bucket", logging=True),
    )
    policy = load_policy(EXAMPLES / "policy.yaml")
    Evaluator(store, policy).evaluate(now=T0)
    v = verdicts(store, policy)
    assert v[("phi-bucket-objects-encrypted", "phi-bucket-encrypted")] == "COMPLIANT"
    assert v[("phi-bucket-objects-encrypted", "phi-bucket-plain")] == "NON_COMPLIANT"
    assert ("phi-bucket-objects-encrypted", "non-phi-bucket") not in v
    assert v[("phi-bucket-has-owner", "phi-bucket-encrypted")] == "COMPLIANT"
    assert v[("phi-bucket-has-owner", "phi-bucket-plain")] == "NON_COMPLIANT"
    # SSE-S3 is not SSE-KMS
    assert v[("phi-bucket-default-encryption-kms", "phi-bucket-encrypted")] == "NON_COMPLIANT"
    # a disabled rule is not run
    assert not any(k[0] == "s3-bucket-replication-enabled" for k in v)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("packs: [hipaa\n", "malformed YAML"),
        ("packs: [hipaa]\nrulez: {}\n", "policy.yaml:2: rulez: unknown key"),
        ("rules:\n  no-such-rule: {}\n", "policy.yaml:2: rules.no-such-rule: unknown rule id"),
        (
            "rules:\n  restricted-common-ports:\n    parameters: {blockedPort1: ssh}\n",
            "policy.yaml:3: rules.restricted-common-ports.parameters.blockedPort1: expected an integer",
        ),
        ("rules:\n  restricted-common-ports:\n    parameters: {blockedPort9: 22}\n", "unknown parameter"),
        (
            "exceptions:\n  - rule: s3-bucket-logging-enabled\n    resource: x\n    justification: j\n    owner: o\n    expires: someday\n",
            "policy.yaml:6: exceptions.0.expires",
        ),
        ("packs: [hipaa, nist]\n", "policy.yaml:1: packs.1: unknown pack 'nist'"),
        ("remediation: {mode: sometimes}\n", "remediation.mode"),
    ],
)
def test_bad_policy_names_file_line_field(text, expected):
    with pytest.raises(UsageError) as err:
        resolve_rules(parse_policy(text, "policy.yaml"))
    assert expected in str(err.value)
    assert err.value.exit_code == 2


def test_bad_custom_rules(tmp_path):
    (tmp_path / "bad.yaml").write_text("rules:\n  - id: bad-jmespath\n    resource_types: [AWS::S3::Bucket]\n    condition: 'tags.[['\n")
    (tmp_path / "p.yaml").write_text("custom_rules: [bad.yaml]\n")
    with pytest.raises(UsageError, match=r"bad.yaml:4: rules.0.condition: bad JMESPath"):
        resolve_rules(load_policy(tmp_path / "p.yaml"))
    (tmp_path / "broken.py").write_text("import nonexistent_module_xyz\n")
    (tmp_path / "q.yaml").write_text("custom_rules: [broken.py]\n")
    with pytest.raises(UsageError, match="broken.py failed to import"):
        resolve_rules(load_policy(tmp_path / "q.yaml"))


def test_periodic_rules_run_when_due(store):
    account = ConfigurationItem(
        resourceType="AWS::::Account",
        resourceId=ACCOUNT,
        awsRegion="global",
        accountId=ACCOUNT,
        configuration={"s3AccountPublicAccessBlock": None},
    )
    write(store, account)
    policy = only(rules=("s3-account-level-public-access-blocks-periodic",))
    ev = Evaluator(store, policy, periodic_hours=24)
    assert ev.evaluate(now=T0).items_evaluated == 1
    assert ev.evaluate(now=T0 + dt.timedelta(hours=1)).items_evaluated == 0
    assert ev.evaluate(now=T0 + dt.timedelta(hours=25)).items_evaluated == 1


def test_deleted_resource_resolves_its_findings(store):
    write(store, bucket("bucket-soon-gone", logging=False))
    Evaluator(store, only()).evaluate(now=T0)
    gone = bucket("bucket-soon-gone", logging=False, capture="2026-06-02T00:00:00Z")
    gone.configurationItemStatus = "ResourceDeleted"
    write(store, gone)
    summary = Evaluator(store, only()).evaluate(now=T0 + dt.timedelta(days=1))
    assert [e["event"] for e in summary.events] == ["resolved"]
    assert verdicts(store, only()) == {}


def test_output_formats(store):
    write(store, bucket("bucket-logging-off", logging=False))
    policy = only()
    outcome = run_scan(None, store, policy, collect_first=False, now=T0)
    data = json.loads(scan_json(outcome.scan))
    assert set(data) >= {"scan_id", "started_at", "finished_at", "evaluations", "errors"}
    e = data["evaluations"][0]
    assert set(e) == {
        "rule_id",
        "resource_type",
        "resource_id",
        "resource_name",
        "arn",
        "account_id",
        "region",
        "compliance",
        "annotation",
        "hipaa_sections",
        "severity",
    }
    rows = list(csv.DictReader(io.StringIO(scan_csv(outcome.scan))))
    assert rows[0]["rule_id"] == "s3-bucket-logging-enabled" and rows[0]["hipaa_sections"] == "164.308(a)(3)(ii)(A);164.312(b)"
    ocsf = [json.loads(line) for line in scan_ocsf(outcome.scan).splitlines()]
    assert ocsf[0]["class_uid"] == 2003 and ocsf[0]["compliance"]["status"] == "Fail"
    assert ocsf[0]["compliance"]["requirements"] == ["164.308(a)(3)(ii)(A)", "164.312(b)"]
    assert ocsf[0]["resources"][0]["uid"] == "arn:aws:s3:::bucket-logging-off"
