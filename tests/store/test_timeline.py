"""Compliance and findings as they were: a history built over simulated days with the store's
clock set (``phiwatch.model.clock``), then asked about points in time and periods. SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from history_days import DAY, T0, bucket, day, history, only
from phiwatch.store import timeline


def at(store, when: dt.datetime) -> dict[str, str]:
    return {e["resource_id"]: e["compliance"] for e in timeline.evaluations_at(store, when)}


def test_evaluations_at_each_point_in_time(store):
    history(store)
    assert at(store, T0 - DAY) == {}
    assert at(store, T0) == {"bucket-a": "NON_COMPLIANT", "bucket-b": "COMPLIANT"}
    assert at(store, T0 + DAY) == {"bucket-a": "NON_COMPLIANT", "bucket-b": "COMPLIANT"}
    assert at(store, T0 + 2 * DAY) == {"bucket-a": "COMPLIANT", "bucket-b": "COMPLIANT"}
    assert at(store, T0 + 5 * DAY) == {"bucket-a": "COMPLIANT", "bucket-b": "NON_COMPLIANT"}
    assert at(store, T0 + 8 * DAY + dt.timedelta(hours=1)) == {
        "bucket-a": "COMPLIANT",
        "bucket-b": "NON_COMPLIANT",
        "bucket-c": "NON_COMPLIANT",
    }
    # deleted on day 9: its evaluation's stretch closed then
    assert at(store, T0 + 10 * DAY) == {"bucket-a": "COMPLIANT", "bucket-b": "NON_COMPLIANT"}
    # the annotation is the one of the time, not today's
    then = {e["resource_id"]: e for e in timeline.evaluations_at(store, T0 + DAY)}
    assert then["bucket-a"]["valid_from"] == T0
    assert then["bucket-a"]["annotation"]
    assert timeline.history_starts(store) == T0


def test_scope_filters(store):
    history(store)
    t = T0 + 8 * DAY + dt.timedelta(hours=1)
    assert set(e["resource_id"] for e in timeline.evaluations_at(store, t, regions=["eu-west-1"])) == {"bucket-c"}
    assert list(timeline.evaluations_at(store, t, accounts=["999999999999"])) == []
    assert [r["resource_id"] for r in timeline.resources_at(store, t, regions=["eu-west-1"])] == ["bucket-c"]
    assert [r["resource_id"] for r in timeline.resources_at(store, T0 + 10 * DAY)] == ["bucket-a", "bucket-b"]


def test_findings_at_each_point_in_time(store):
    history(store)
    assert timeline.findings_at(store, T0 - DAY) == []
    (a,) = timeline.findings_at(store, T0 + DAY)
    assert (a.resource["resource_id"], a.status, a.opened_at, a.since, a.active) == ("bucket-a", "open", T0, T0, True)

    fixed = {f.resource["resource_id"]: f for f in timeline.findings_at(store, T0 + 3 * DAY)}
    assert (fixed["bucket-a"].status, fixed["bucket-a"].since, fixed["bucket-a"].opened_at) == ("resolved", T0 + 2 * DAY, T0)

    later = {f.resource["resource_id"]: f for f in timeline.findings_at(store, T0 + 6 * DAY)}
    assert later["bucket-b"].status == "excepted"
    assert later["bucket-b"].opened_at == T0 + 4 * DAY
    assert later["bucket-b"].exception == {
        "owner": "security@example.org",
        "justification": "Static website, holds no PHI",
        "expires": "2026-12-31",
    }
    only_open = timeline.findings_at(store, T0 + 5 * DAY, statuses=["open"])
    assert [f.resource["resource_id"] for f in only_open] == ["bucket-b"]
    assert timeline.findings_at(store, T0 + 5 * DAY, rule_id="no-such-rule") == []

    # deleted resources' findings are resolved at their deletion
    end = {f.resource["resource_id"]: f.status for f in timeline.findings_at(store, T0 + 10 * DAY)}
    assert end == {"bucket-a": "resolved", "bucket-b": "excepted", "bucket-c": "resolved"}


def test_transitions_and_remediations_in_a_period(store):
    history(store)
    moves = timeline.transitions(store, T0 + DAY, T0 + 9 * DAY)
    assert [(m.status, m.time) for m in moves] == [
        ("resolved", T0 + 2 * DAY),
        ("open", T0 + 4 * DAY),
        ("excepted", T0 + 6 * DAY),
        ("open", T0 + 8 * DAY),
        ("resolved", T0 + 9 * DAY),
    ]
    # the start is excluded, the end included
    assert [m.time for m in timeline.transitions(store, T0, T0 + 2 * DAY)] == [T0 + 2 * DAY]
    assert timeline.remediations_between(store, None, T0 + 10 * DAY) == []


def test_versions_between_keeps_the_state_before_the_period(store):
    history(store)
    pk = store.resolve("bucket-a")["id"]
    rows = timeline.versions_between(store, [pk], T0 + DAY, T0 + 3 * DAY)[pk]
    assert [r["capture_time"] for r in rows] == [T0, T0 + 2 * DAY]
    assert [r["version"] for r in rows] == [1, 2]
    assert timeline.versions_between(store, [pk], T0 + 3 * DAY, T0 + 4 * DAY)[pk][0]["version"] == 2


def test_unchanged_evaluations_add_no_history(store):
    day(store, T0, bucket("bucket-a", logging=False))
    day(store, T0 + DAY, bucket("bucket-a", logging=False))
    day(store, T0 + 2 * DAY, policy=only())
    with store.engine.connect() as conn:
        from sqlalchemy import func, select

        from phiwatch.store.tables import evaluation_history

        assert conn.execute(select(func.count()).select_from(evaluation_history)).scalar() == 1


def test_a_remediated_finding_is_remediated_from_then_on(store):
    from phiwatch.store.remediations import mark_remediated

    day(store, T0, bucket("bucket-a", logging=False))
    (open_then,) = timeline.findings_at(store, T0 + DAY)
    with store.engine.begin() as conn:
        assert mark_remediated(conn, open_then.finding_id, T0 + 2 * DAY, "now compliant") == 1
        assert mark_remediated(conn, open_then.finding_id, T0 + 3 * DAY, "again") == 0  # no longer open: nothing recorded
    assert timeline.findings_at(store, T0 + DAY)[0].status == "open"
    fixed = timeline.findings_at(store, T0 + 2 * DAY)[0]
    assert (fixed.status, fixed.since, fixed.opened_at) == ("remediated", T0 + 2 * DAY, T0)
    assert [t.status for t in timeline.transitions(store, T0, T0 + 4 * DAY)] == ["remediated"]


def test_points_in_time_given_by_users():
    from phiwatch.errors import UsageError
    from phiwatch.store.db import parse_point

    now = dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)
    assert parse_point("2026-09-30", now) == dt.datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)  # the day's end
    assert parse_point("2026-10-05", now) == now  # today: up to now
    assert parse_point("2026-09-30T10:00:00+02:00", now) == dt.datetime(2026, 9, 30, 8, 0, tzinfo=dt.UTC)
    for future in ("2026-10-06", "2026-10-05T12:00:01Z"):
        with pytest.raises(UsageError, match="in the future"):
            parse_point(future, now)
