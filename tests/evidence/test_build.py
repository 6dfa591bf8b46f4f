"""The HIPAA report built from a history over simulated days (tests/store/test_timeline.py's):
statuses per specification, the trend, time to remediate, exceptions, attestations, filters
and masking. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from history_days import DAY, EXCEPTION, T0, bucket, day, history, only
from phiwatch.evidence import model as m
from phiwatch.evidence.attest import record_attestation
from phiwatch.evidence.build import ReportRequest, build_report
from phiwatch.evidence.redact import REDACTED, redact_item
from phiwatch.evidence.signing import LocalSigner
from phiwatch.model import clock
from phiwatch.store.tables import attestations

LOGGING_SPEC = "164.312(b)"


def specs(report: m.Report) -> dict[str, m.Specification]:
    return {s.citation: s for p in report.parts for st in p.standards for s in st.specifications}


def test_statuses_trend_and_time_to_remediate(store):
    history(store)
    report = build_report(store, only(EXCEPTION), ReportRequest(start=T0 - DAY, end=T0 + 10 * DAY))
    s = report.summary
    # bucket-a opened day 0, fixed day 2 (48 h); bucket-c opened day 8, deleted day 9 (24 h); bucket-b excepted
    assert (s.opened_in_period, s.fixed_in_period, s.mean_time_to_remediate_hours) == (3, 2, 36.0)
    assert [(d.day, d.failing, d.opened, d.fixed) for d in s.trend][:4] == [
        ((T0 - DAY).date(), 0, 0, 0),
        (T0.date(), 1, 1, 0),
        ((T0 + DAY).date(), 1, 0, 0),
        ((T0 + 2 * DAY).date(), 0, 0, 1),
    ]
    assert len(s.trend) == 12
    assert (s.failing, s.excepted, s.resources) == (0, 1, 2)
    audit = specs(report)[LOGGING_SPEC]
    assert audit.status == m.EXCEPTED
    (rule,) = [r for r in audit.rules if r.rule_id == "s3-bucket-logging-enabled"]
    assert (rule.compliant, rule.non_compliant, rule.excepted) == (1, 0, 1)
    (exc,) = audit.exceptions
    assert (exc.resource.resource_id, exc.owner, exc.expires) == ("bucket-b", "security@example.org", dt.date(2026, 12, 31))
    # every part is there; nothing AWS cannot prove is silently dropped
    assert [p.citation for p in report.parts] == ["164.308", "164.310", "164.312", "164.314", "164.316"]
    assert specs(report)["164.308(a)(1)(ii)(A)"].status == m.ATTESTATION_NEEDED
    assert specs(report)["164.310(a)(2)(ii)"].status == m.COVERED_BY_AWS


def test_point_in_time_shows_what_failed_then(store):
    history(store)
    report = build_report(store, only(EXCEPTION), ReportRequest(end=T0 + DAY))
    audit = specs(report)[LOGGING_SPEC]
    assert audit.status == m.FAILING
    assert [(f.resource.resource_id, f.opened_at) for f in audit.failing] == [("bucket-a", T0)]
    assert report.summary.trend == () and report.summary.mean_time_to_remediate_hours is None
    assert report.summary.top_risks[0].rule_id == "s3-bucket-logging-enabled"
    assert report.summary.posture == m.FAILING
    # before anything was recorded: no evaluations, and the report says why
    empty = build_report(store, only(EXCEPTION), ReportRequest(end=T0 - DAY))
    assert empty.summary.resources == 0 and any("history begins" in n for n in empty.notes)


def test_section_and_scope_filters(store):
    history(store)
    when = T0 + 8 * DAY + dt.timedelta(hours=1)
    one = build_report(store, only(EXCEPTION), ReportRequest(end=when, section="164.312(b)"))
    assert [s.citation for s in specs(one).values()] == ["164.312(b)"]
    part = build_report(store, only(EXCEPTION), ReportRequest(end=when, section="164.310"))
    assert {p.citation for p in part.parts} == {"164.310"} and len(specs(part)) == 10
    eu = build_report(store, only(EXCEPTION), ReportRequest(end=when, regions=("eu-west-1",)))
    assert [f.resource.resource_id for f in specs(eu)[LOGGING_SPEC].failing] == ["bucket-c"]
    assert eu.scope.regions == ("eu-west-1",)


def test_attestations_stand_expire_and_break_when_edited(store, tmp_path):
    history(store)
    signer = LocalSigner.load_or_create(tmp_path)
    with clock(lambda: T0 + DAY):
        record_attestation(
            store,
            signer,
            section="164.308(a)(1)",
            by="Dana Reyes",
            statement="Risk analysis and management done.",
            expires=dt.date(2026, 6, 5),
        )
    # an attestation of a standard speaks for its specifications
    during = specs(build_report(store, only(), ReportRequest(end=T0 + 2 * DAY)))
    assert during["164.308(a)(1)(ii)(A)"].status == m.ATTESTED
    assert during["164.308(a)(1)(ii)(B)"].attestations[0].by == "Dana Reyes"
    before = specs(build_report(store, only(), ReportRequest(end=T0 + dt.timedelta(hours=1))))
    assert before["164.308(a)(1)(ii)(A)"].status == m.ATTESTATION_NEEDED
    expired = specs(build_report(store, only(), ReportRequest(end=T0 + 5 * DAY)))
    assert expired["164.308(a)(1)(ii)(A)"].status == m.ATTESTATION_NEEDED
    with store.engine.begin() as conn:
        conn.execute(attestations.update().values(attested_by="Somebody Else"))
    edited = specs(build_report(store, only(), ReportRequest(end=T0 + 2 * DAY)))["164.308(a)(1)(ii)(A)"]
    assert edited.status == m.ATTESTATION_NEEDED and edited.attestations[0].signature_valid is False


def test_failing_resources_are_masked(store):
    day(store, T0, bucket("claims-123-45-6789", logging=False))
    report = build_report(store, only(), ReportRequest(end=T0 + DAY))
    (failing,) = specs(report)[LOGGING_SPEC].failing
    assert failing.resource.resource_id == "claims-[masked]"
    assert "123-45-6789" not in repr(report)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"tags": {"PatientName": "Jane", "Name": "web-1", "team": "ssn 123-45-6789"}},
            {"tags": {"PatientName": REDACTED, "Name": "web-1", "team": "ssn [masked]"}},
        ),
        (
            {"configuration": {"environment": {"variables": {"A": "x"}}, "userData": "#!/bin/sh", "engine": "postgres"}},
            {"configuration": {"environment": {"variables": {"A": REDACTED}}, "userData": REDACTED, "engine": "postgres"}},
        ),
        (
            {"configuration": {"containerDefinitions": [{"environment": [{"name": "DB", "value": "pw"}], "image": "app:1"}]}},
            {"configuration": {"containerDefinitions": [{"environment": [{"name": "DB", "value": REDACTED}], "image": "app:1"}]}},
        ),
        (
            {"configuration": {"TagSet": [{"Key": "dob", "Value": "1970-01-01"}, {"Key": "env", "Value": "prod"}]}},
            {"configuration": {"TagSet": [{"Key": "dob", "Value": REDACTED}, {"Key": "env", "Value": "prod"}]}},
        ),
        (
            {"configuration": {"MasterUserPassword": "pw", "Enabled": True}},
            {"configuration": {"MasterUserPassword": REDACTED, "Enabled": True}},
        ),
    ],
)
def test_redaction_of_configuration_items(item, expected):
    assert redact_item(item) == expected


def test_long_lists_are_capped_and_counted(store, monkeypatch):
    monkeypatch.setattr(m, "LISTED", 1)
    day(store, T0, bucket("bucket-old", logging=False))
    day(store, T0 + DAY, bucket("bucket-new", logging=False))
    audit = specs(build_report(store, only(), ReportRequest(end=T0 + 2 * DAY)))[LOGGING_SPEC]
    assert [f.resource.resource_id for f in audit.failing] == ["bucket-old"]  # the oldest of equal severity first
    assert audit.more_failing == 1


def test_the_packs_policy_keeps_routing_and_redacts_where_alerts_go(tmp_path):
    from phiwatch.evidence.assemble import _policy
    from phiwatch.policy import load_policy

    path = tmp_path / "policy.yaml"
    path.write_text(
        "notifications:\n"
        "  - name: team\n    channel: webhook\n    target: https://hooks.example.org/T0/secret-path\n"
        "    when: {severity: [high]}\n    secret_env: HOOK_TOKEN\n"
    )
    shown = _policy(load_policy(path), path)
    (route,) = shown["policy"]["notifications"]
    assert route["target"] == REDACTED and route["secret_env"] == REDACTED
    assert (route["name"], route["channel"], route["when"]["severity"]) == ("team", "webhook", ["high"])
    assert "secret-path" not in repr(shown)
    import hashlib

    assert shown["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_mean_time_to_remediate_reads_naturally():
    from phiwatch.evidence.render import mttr_text

    assert [mttr_text(h) for h in (0.005, 0.5, 3.25, 72)] == ["under a minute", "30 minutes", "3.2 hours", "3.0 days (72 hours)"]


def test_a_revoked_attestation_stands_until_its_revocation(store, tmp_path):
    from phiwatch.errors import UsageError
    from phiwatch.store.attestations import revoke_attestation

    history(store)
    with clock(lambda: T0 + DAY):
        made = record_attestation(store, LocalSigner.load_or_create(tmp_path), section="164.308(a)(1)(ii)(A)", by="Dana", statement="Done.")
    assert revoke_attestation(store, made["id"][:6], T0 + 3 * DAY) == made["id"]
    with pytest.raises(UsageError, match="already revoked"):
        revoke_attestation(store, made["id"], T0 + 4 * DAY)
    with pytest.raises(UsageError, match="no attestation"):
        revoke_attestation(store, "ffffffff", T0 + 4 * DAY)
    spec = "164.308(a)(1)(ii)(A)"
    assert specs(build_report(store, only(), ReportRequest(end=T0 + 2 * DAY)))[spec].status == m.ATTESTED  # before: it stood
    assert specs(build_report(store, only(), ReportRequest(end=T0 + 3 * DAY)))[spec].status == m.ATTESTATION_NEEDED
