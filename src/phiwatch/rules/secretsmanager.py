"""Secrets Manager rules: the HIPAA pack's and other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.secretsmanager` (ListSecrets metadata only): ``RotationEnabled``
is always present; **no ``KmsKeyId`` means the AWS managed key aws/secretsmanager**. The rotation
interval is read from ``RotationRules``: a ``rate(...)`` or ``cron(...)`` ``ScheduleExpression``
(the longest gap between two runs of the schedule), else ``AutomaticallyAfterDays``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.secretsmanager import SECRET
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, not_applicable, rule
from phiwatch.rules.kms import key_matches, resolve_key

AWS_MANAGED_ALIAS = "alias/aws/secretsmanager"

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$", re.I)
_CRON = re.compile(r"^cron\((.*)\)$", re.I)
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


# -- schedule expressions -------------------------------------------------------------------------


def _values(field: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int]:
    """Values of a plain cron field (``*``, ``?``, lists, ranges, steps, names); ValueError otherwise."""

    def number(text: str) -> int:
        text = text.strip().upper()
        value = (names or {}).get(text)
        return value if value is not None else int(text)

    if field in ("*", "?"):
        return set(range(lo, hi + 1))
    out: set[int] = set()
    for part in field.split(","):
        step = 1
        stepped = "/" in part
        if stepped:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            first, last = lo, hi
        elif "-" in part:
            first, last = (number(p) for p in part.split("-", 1))
        else:
            first = number(part)
            last = hi if stepped else first
        if step < 1 or not lo <= first <= hi or not lo <= last <= hi:
            raise ValueError(field)
        out.update(range(first, last + 1, step))
    return out


def _aws_weekday(day: dt.date) -> int:
    return (day.weekday() + 1) % 7 + 1  # 1 = Sunday ... 7 = Saturday


def _dom_matcher(field: str) -> Callable[[dt.date], bool]:
    if field.upper() == "L":
        return lambda d: d.day == calendar.monthrange(d.year, d.month)[1]
    values = _values(field, 1, 31)
    return lambda d: d.day in values


def _dow_matcher(field: str) -> Callable[[dt.date], bool]:
    upper = field.upper()
    if "#" in upper:
        weekday_text, nth_text = upper.split("#", 1)
        weekday, nth = _values(weekday_text, 1, 7, _DAYS).pop(), int(nth_text)
        return lambda d: _aws_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth
    if upper.endswith("L") and upper != "L":
        weekday = _values(upper[:-1], 1, 7, _DAYS).pop()
        return lambda d: _aws_weekday(d) == weekday and d.day + 7 > calendar.monthrange(d.year, d.month)[1]
    values = _values(field, 1, 7, _DAYS)
    return lambda d: _aws_weekday(d) in values


def _cron_interval_hours(expression: str, start: dt.date) -> float | None:
    """Longest gap in hours between two runs of an AWS cron expression over four years, or None."""
    match = _CRON.match(expression.strip())
    if not match:
        return None
    fields = match.group(1).split()
    if len(fields) != 6:
        return None
    minutes, hours, dom, month, dow, year = fields
    try:
        _values(minutes, 0, 59)
        hour_values = sorted(_values(hours, 0, 23))
        months = _values(month, 1, 12, _MONTHS)
        years = _values(year, 1970, 2199)
        day_of_month = _dom_matcher(dom) if dom != "?" else None
        day_of_week = _dow_matcher(dow) if dow != "?" else None
    except (ValueError, KeyError, IndexError):
        return None  # W, LW and other forms: not estimated
    runs: list[dt.datetime] = []
    for offset in range(4 * 366 + 1):
        day = start + dt.timedelta(days=offset)
        if day.month not in months or day.year not in years:
            continue
        if day_of_month is not None and not day_of_month(day):
            continue
        if day_of_week is not None and not day_of_week(day):
            continue
        runs.extend(dt.datetime(day.year, day.month, day.day, h) for h in hour_values)
    if len(runs) < 2:
        return None
    return max((b - a).total_seconds() for a, b in zip(runs, runs[1:])) / 3600


def rotation_interval_hours(rules: dict[str, Any], today: dt.date) -> float | None:
    """Hours between rotations from a secret's RotationRules, or None when it cannot be told."""
    expression = (rules.get("ScheduleExpression") or "").strip()
    if expression:
        rate = _RATE.match(expression)
        if rate:
            return int(rate.group(1)) * (24 if rate.group(2).lower().startswith("day") else 1)
        hours = _cron_interval_hours(expression, today)
        if hours is not None:
            return hours
    days = rules.get("AutomaticallyAfterDays")
    return float(days) * 24 if isinstance(days, (int, float)) and days > 0 else None


def _describe(hours: float) -> str:
    return f"{hours / 24:g} days" if hours >= 24 and hours % 24 == 0 else f"{hours:g} hours"


# -- rules ------------------------------------------------------------------------------------------


@rule(
    "secretsmanager-rotation-enabled-check",
    aws_identifier="SECRETSMANAGER_ROTATION_ENABLED_CHECK",
    service="AWS Secrets Manager",
    resource_types=(SECRET,),
    trigger="change",
    severity="low",
    compliant_when="The Secrets Manager secret has rotation scheduled (within the optional maximum frequency, not set by the pack).",
    parameters={"maximumAllowedRotationFrequency": ("int", None), "maximumAllowedRotationFrequencyInHours": ("int", None)},
    aws_runbook="AWSConfigRemediation-RotateSecret",
)
def secretsmanager_rotation_enabled_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if not get(item, "configuration.RotationEnabled"):
        return non_compliant("rotation is not enabled")
    limits = []
    if params.get("maximumAllowedRotationFrequency"):
        limits.append(params["maximumAllowedRotationFrequency"] * 24)
    if params.get("maximumAllowedRotationFrequencyInHours"):
        limits.append(params["maximumAllowedRotationFrequencyInHours"])
    rules = get(item, "configuration.RotationRules") or {}
    interval = rotation_interval_hours(rules, ctx.now.date())
    if not limits:
        return compliant("rotation is enabled" + (f" (every {_describe(interval)})" if interval else ""))
    if interval is None:
        return insufficient("could not check: the rotation schedule could not be converted to an interval")
    limit = min(limits)
    if interval > limit:
        return non_compliant(f"rotation every {_describe(interval)}, longer than the maximum of {_describe(limit)}")
    return compliant(f"rotation every {_describe(interval)} (maximum {_describe(limit)})")


@rule(
    "secretsmanager-using-cmk",
    aws_identifier="SECRETSMANAGER_USING_CMK",
    service="AWS Secrets Manager",
    resource_types=(SECRET,),
    trigger="change",
    severity="low",
    compliant_when="The secret is encrypted with a customer managed KMS key (not aws/secretsmanager).",
    parameters={"kmsKeyArns": ("str", None)},
)
def secretsmanager_using_cmk(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    key = get(item, "configuration.KmsKeyId")
    if not key or key == AWS_MANAGED_ALIAS or key.endswith(":" + AWS_MANAGED_ALIAS):
        return non_compliant("secret is encrypted with the AWS managed key aws/secretsmanager")
    arn = key if key.startswith("arn:") else resolve_key(key, item, ctx)  # key or alias ARN: names its account
    owner = (arn.split(":")[4] or item.accountId) if arn and arn.count(":") >= 5 else item.accountId
    if owner != item.accountId:
        # AWS's managed rule cannot read keys of other accounts and reports them NON_COMPLIANT.
        return non_compliant(f"secret is encrypted with a KMS key of account {owner} (cross-account keys are not accepted)")
    allowed = csv_list(params.get("kmsKeyArns"))
    if allowed and not key_matches(key, allowed, item, ctx):
        return non_compliant("secret is encrypted with a customer managed key that is not one of kmsKeyArns")
    return compliant("secret is encrypted with a customer managed KMS key")


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------
#
# AWS's current pages give secretsmanager-secret-periodic-rotation and secretsmanager-secret-unused
# the resource type AWS::SecretsManager::Secret (the 2023 list named none): each secret is judged.
# A secret scheduled for deletion (DeletedDate) is NOT_APPLICABLE to the three rules below: it can
# be neither rotated nor used any more.

DEFAULT_DAYS = 90


def _time(value: Any) -> dt.datetime | None:
    """A date of ListSecrets (ISO text as stored, or epoch seconds) as an aware datetime; None when absent or unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _days(value: Any) -> int:
    """A days parameter (a number, or its text): its value when set and positive, else AWS's default of 90."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_DAYS


def _deleted(item: ConfigurationItem) -> Result | None:
    if get(item, "configuration.DeletedDate"):
        return not_applicable("the secret is scheduled for deletion")
    return None


def _since(item: ConfigurationItem, key: str, ctx: RuleContext) -> tuple[dt.datetime | None, str]:
    """(``key``'s date, or the creation date when ``key`` is absent; what the date is)."""
    when = _time(get(item, f"configuration.{key}"))
    if when is not None:
        return when, key
    return _time(get(item, "configuration.CreatedDate")), "CreatedDate"


@rule(
    "secretsmanager-scheduled-rotation-success-check",
    aws_identifier="SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK",
    service="AWS Secrets Manager",
    resource_types=(SECRET,),
    trigger="change",
    severity="medium",
    compliant_when="The secret with rotation enabled was rotated on schedule: its next rotation date has not passed.",
)
def secretsmanager_scheduled_rotation_success_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A secret without rotation is NOT_APPLICABLE. Secrets Manager moves ``NextRotationDate`` on after
    each successful rotation ("on or before this date"; "if rotation is unsuccessful, this date may
    be in the past"), so a date in the past means a rotation was missed. Without ``NextRotationDate``
    the due date is the last rotation (or the creation) plus the schedule's interval; when neither can
    be told: INSUFFICIENT_DATA."""
    gone = _deleted(item)
    if gone is not None:
        return gone
    if not get(item, "configuration.RotationEnabled"):
        return not_applicable("rotation is not enabled")
    due = _time(get(item, "configuration.NextRotationDate"))
    if due is None:
        since, _ = _since(item, "LastRotatedDate", ctx)
        hours = rotation_interval_hours(get(item, "configuration.RotationRules") or {}, ctx.now.date())
        if since is None or hours is None:
            return insufficient("could not check: neither the next rotation date nor the rotation schedule is known")
        due = since + dt.timedelta(hours=hours)
    if due < ctx.now:
        return non_compliant(f"the rotation due {due:%Y-%m-%d %H:%M} UTC did not happen")
    return compliant(f"next rotation due {due:%Y-%m-%d}")


@rule(
    "secretsmanager-secret-periodic-rotation",
    aws_identifier="SECRETSMANAGER_SECRET_PERIODIC_ROTATION",
    service="AWS Secrets Manager",
    resource_types=(SECRET,),
    trigger="periodic",
    severity="medium",
    compliant_when="The secret was rotated within the last maxDaysSinceRotation days (90 when not set).",
    parameters={"maxDaysSinceRotation": ("int", None)},
)
def secretsmanager_secret_periodic_rotation(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Counts from ``LastRotatedDate``; a secret never rotated counts from its creation (a new secret is
    not due before the period has passed). Unset or non-positive maxDaysSinceRotation: 90 (AWS's default)."""
    gone = _deleted(item)
    if gone is not None:
        return gone
    limit = _days(params.get("maxDaysSinceRotation"))
    since, what = _since(item, "LastRotatedDate", ctx)
    if since is None:
        return insufficient("could not check: the secret has neither a last rotation nor a creation date")
    age = (ctx.now - since).days
    never = " (never rotated: counted from its creation)" if what == "CreatedDate" else ""
    if age > limit:
        return non_compliant(f"not rotated for {age} days, more than maxDaysSinceRotation {limit}{never}")
    return compliant(f"rotated {age} day(s) ago{never}")


@rule(
    "secretsmanager-secret-unused",
    aws_identifier="SECRETSMANAGER_SECRET_UNUSED",
    service="AWS Secrets Manager",
    resource_types=(SECRET,),
    trigger="periodic",
    severity="low",
    compliant_when="The secret was accessed within the last unusedForDays days (90 when not set).",
    parameters={"unusedForDays": ("int", None)},
)
def secretsmanager_secret_unused(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Counts from ``LastAccessedDate`` (Secrets Manager keeps it to the day); a secret never accessed
    counts from its creation. Unset or non-positive unusedForDays: 90 (AWS's default)."""
    gone = _deleted(item)
    if gone is not None:
        return gone
    limit = _days(params.get("unusedForDays"))
    since, what = _since(item, "LastAccessedDate", ctx)
    if since is None:
        return insufficient("could not check: the secret has neither a last access nor a creation date")
    age = (ctx.now - since).days
    never = " (never accessed: counted from its creation)" if what == "CreatedDate" else ""
    if age > limit:
        return non_compliant(f"not accessed for {age} days, more than unusedForDays {limit}{never}")
    return compliant(f"accessed {age} day(s) ago{never}")
