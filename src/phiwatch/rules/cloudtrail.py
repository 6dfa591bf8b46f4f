"""CloudTrail rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.cloudtrail`:

* trail items (``AWS::CloudTrail::Trail``, one per trail in its home region): ``configuration`` is
  the DescribeTrails element (absent optional keys = not configured), ``supplementaryConfiguration``
  holds ``TrailStatus`` and ``EventSelectors`` (absent = the call failed);
* the regional account item's ``configuration.cloudTrailTrails``: every trail visible in the region
  (shadow trails of multi-region and organization trails included), with ``isLogging`` (absent
  when GetTrailStatus failed) and the trail's S3 bucket, SNS topic and log group.

The account-level rules look at the trails visible in the item's region and read event selectors
from the trail items (``ctx.items``); a trail of another account (organization trail) has no item.
A trail whose state cannot be read makes the verdict INSUFFICIENT_DATA only when no other trail
settles it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.cloudtrail import TRAIL
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, rule

SUP = "supplementaryConfiguration."
TRAILS = "configuration.cloudTrailTrails"
BOTH = frozenset({"ReadOnly", "WriteOnly"})

_S3_ALL = re.compile(r"^arn:aws(-[a-z-]+)?:s3(:::)?$")
_S3_OBJECT = re.compile(r"^arn:aws(-[a-z-]+)?:s3:::(?P<bucket>[^/]+)(?P<rest>/.*)?$")


def _group_arn(value: str | None) -> str | None:
    return value.removesuffix(":*") if value else None


def _failure(items: list[ConfigurationItem | None], api: str) -> str:
    for it in items:
        for err in it.collectionErrors if it is not None else []:
            if err.get("api") == api:
                return f"{api} failed ({err.get('error')}; needs {err.get('iam_action')})"
    return f"{api} result not available"


def _trail_item(ctx: RuleContext, arn: str | None) -> ConfigurationItem | None:
    if not arn:
        return None
    for trail in ctx.items(TRAIL):
        if trail.arn == arn or get(trail, "configuration.TrailARN") == arn:
            return trail
    return None


@dataclass
class _Tally:
    """Per-trail outcomes of an account-level rule: one good trail settles it."""

    good: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def result(self, none_reason: str, good_text: str) -> Result:
        if self.good:
            return compliant(f"{good_text}: {', '.join(self.good[:3])}")
        if self.unknown:
            return insufficient("could not check: " + "; ".join(dict.fromkeys(self.unknown)))
        return non_compliant(none_reason + (f" ({'; '.join(self.bad[:3])})" if self.bad else ""))


def _logging(trail: dict[str, Any], account: ConfigurationItem, ctx: RuleContext, tally: _Tally) -> bool:
    """True when the trail logs; records why not (or why unknown) on the tally otherwise."""
    name = trail.get("name")
    if "isLogging" not in trail:
        tally.unknown.append(f"trail {name}: " + _failure([account, _trail_item(ctx, trail.get("arn"))], "GetTrailStatus"))
        return False
    if not trail["isLogging"]:
        tally.bad.append(f"trail {name} is not logging")
        return False
    return True


def _destination_mismatch(trail: dict[str, Any], params: dict) -> str | None:
    bucket, topic, group = params.get("s3BucketName"), params.get("snsTopicArn"), params.get("cloudWatchLogsLogGroupArn")
    if bucket and trail.get("s3BucketName") != bucket:
        return f"trail {trail.get('name')} delivers to bucket {trail.get('s3BucketName')}, not {bucket}"
    if topic and trail.get("snsTopicArn") != topic:
        return f"trail {trail.get('name')} does not notify snsTopicArn"
    if group and _group_arn(trail.get("cloudWatchLogsLogGroupArn")) != _group_arn(group):
        return f"trail {trail.get('name')} does not send to cloudWatchLogsLogGroupArn"
    return None


# -- event selectors ------------------------------------------------------------------------------


def _fields(selector: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f.get("Field"): f for f in selector.get("FieldSelectors") or [] if f.get("Field")}


def management_events(selectors: dict[str, Any]) -> tuple[set[str], list[str]]:
    """(read/write types of management events logged, excluded event sources) of a trail's selectors.

    A trail without any selector logs all management events (CloudTrail's default).
    """
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    if not basic and not advanced:
        return set(BOTH), []
    covered: set[str] = set()
    excluded: list[str] = []
    for sel in basic:
        if not sel.get("IncludeManagementEvents", True):
            continue
        rw = sel.get("ReadWriteType") or "All"
        covered |= set(BOTH) if rw == "All" else {rw}
        excluded.extend(sel.get("ExcludeManagementEventSources") or [])
    for sel in advanced:
        fields = _fields(sel)
        if "Management" not in ((fields.get("eventCategory") or {}).get("Equals") or []):
            continue
        read_only = [str(v).lower() for v in (fields.get("readOnly") or {}).get("Equals") or []]
        covered |= {"ReadOnly"} if read_only == ["true"] else {"WriteOnly"} if read_only == ["false"] else set(BOTH)
        excluded.extend((fields.get("eventSource") or {}).get("NotEquals") or [])
    return covered, sorted(set(excluded))


def _whole_bucket(value: str, bucket: str | None) -> bool:
    """Whether a data resource ARN value covers every object of ``bucket`` (None: of every bucket)."""
    if _S3_ALL.match(value):
        return True
    match = _S3_OBJECT.match(value)
    return bool(bucket and match and match.group("bucket") == bucket and match.group("rest") in (None, "/"))


def _advanced_covers(sel: dict[str, Any], bucket: str | None) -> bool:
    fields = _fields(sel)
    if "Data" not in ((fields.get("eventCategory") or {}).get("Equals") or []):
        return False
    if "AWS::S3::Object" not in ((fields.get("resources.type") or {}).get("Equals") or []):
        return False
    if set(fields) - {"eventCategory", "resources.type", "resources.ARN", "readOnly"}:
        return False  # filtered by event name, source, ...: part of the data events only
    arn = fields.get("resources.ARN")
    if not arn:
        return True
    if arn.get("Equals") or arn.get("EndsWith") or arn.get("NotEndsWith"):
        return False  # single objects or suffixes: part of the bucket only
    starts = arn.get("StartsWith") or []
    negatives = (arn.get("NotStartsWith") or []) + (arn.get("NotEquals") or [])
    if bucket is None:
        return not negatives and any(_S3_ALL.match(v) for v in starts)
    prefix = f"arn:aws:s3:::{bucket}/"
    if any(n.startswith(prefix) or prefix.startswith(n) for n in negatives):
        return False
    return not starts or any(prefix.startswith(v) or _S3_ALL.match(v) for v in starts)


def s3_data_events_cover(selectors: dict[str, Any], bucket: str | None) -> bool:
    """Whether the selectors log S3 data events for all objects of ``bucket`` (None: of every bucket)."""
    for sel in selectors.get("EventSelectors") or []:
        for resource in sel.get("DataResources") or []:
            if resource.get("Type") == "AWS::S3::Object" and any(_whole_bucket(v, bucket) for v in resource.get("Values") or []):
                return True
    return any(_advanced_covers(sel, bucket) for sel in selectors.get("AdvancedEventSelectors") or [])


def _selectors(trail: dict[str, Any], ctx: RuleContext) -> tuple[dict[str, Any] | None, str | None]:
    """(event selectors, why they are unavailable) of a trail in the summary."""
    item = _trail_item(ctx, trail.get("arn"))
    if item is None:
        return None, f"trail {trail.get('name')}: event selectors not in the inventory (trail of another account or region not collected)"
    selectors = get(item, SUP + "EventSelectors")
    if selectors is None:
        return None, f"trail {trail.get('name')}: " + _failure([item], "GetEventSelectors")
    return selectors, None


# -- account-level rules ----------------------------------------------------------------------------


@rule(
    "cloudtrail-enabled",
    reads={TRAILS: "DescribeTrails"},
    aws_identifier="CLOUD_TRAIL_ENABLED",
    service="AWS CloudTrail",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="high",
    compliant_when="At least one CloudTrail trail is enabled (logging) in the account.",
    parameters={"s3BucketName": ("str", None), "snsTopicArn": ("str", None), "cloudWatchLogsLogGroupArn": ("str", None)},
    aws_runbook="AWS-EnableCloudTrail",
)
def cloudtrail_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    trails = get(item, TRAILS) or []
    if not trails:
        return non_compliant("no CloudTrail trail in this region")
    tally = _Tally()
    for trail in trails:
        if not _logging(trail, item, ctx, tally):
            continue
        mismatch = _destination_mismatch(trail, params)
        if mismatch:
            tally.bad.append(mismatch)
        else:
            tally.good.append(trail.get("name"))
    return tally.result(
        "no logging trail matches the rule's parameters"
        if any(params.get(k) for k in ("s3BucketName", "snsTopicArn", "cloudWatchLogsLogGroupArn"))
        else "no CloudTrail trail is logging in this region",
        "CloudTrail trail logging",
    )


@rule(
    "multi-region-cloudtrail-enabled",
    reads={TRAILS: "DescribeTrails"},
    aws_identifier="MULTI_REGION_CLOUD_TRAIL_ENABLED",
    service="AWS CloudTrail",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="high",
    compliant_when="At least one multi-Region CloudTrail trail exists that logs management events without excluded sources (and matches any provided parameters).",
    parameters={
        "s3BucketName": ("str", None),
        "snsTopicArn": ("str", None),
        "cloudWatchLogsLogGroupArn": ("str", None),
        "includeManagementEvents": ("bool", None),
        "readWriteType": ("str", None),
    },
    remediation="phiwatch-EnableCloudTrailMultiRegion",
    aws_runbook="AWSConfigRemediation-CreateCloudTrailMultiRegionTrail",
)
def multi_region_cloudtrail_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    trails = [t for t in get(item, TRAILS) or [] if t.get("isMultiRegionTrail")]
    if not trails:
        return non_compliant("no multi-region CloudTrail trail")
    wants_management = params.get("includeManagementEvents") is not False
    rw_wanted = (params.get("readWriteType") or "").strip()
    # AWS's valid values are ReadOnly, WriteOnly and ALL; read them without regard to case
    rw_needed = {"ALL": set(BOTH), "READONLY": {"ReadOnly"}, "WRITEONLY": {"WriteOnly"}}.get(rw_wanted.upper(), set())
    if rw_wanted and not rw_needed:
        return insufficient(f"could not check: parameter readWriteType is {rw_wanted!r}, not ReadOnly, WriteOnly or ALL")
    tally = _Tally()
    caveat = ""
    for trail in trails:
        name = trail.get("name")
        if not _logging(trail, item, ctx, tally):
            continue
        mismatch = _destination_mismatch(trail, params)
        if mismatch:
            tally.bad.append(mismatch)
            continue
        selectors, why = _selectors(trail, ctx)
        if selectors is None:
            if trail.get("isOrganizationTrail") and not (params.get("includeManagementEvents") is not None or rw_needed):
                # another account's organization trail: its selectors are not readable here
                tally.good.append(name)
                caveat = caveat or f" (event selectors of organization trail {name} not checked)"
            else:
                tally.unknown.append(why or f"trail {name}: event selectors unavailable")
            continue
        covered, excluded = management_events(selectors)
        if excluded:
            tally.bad.append(f"trail {name} excludes management events from {', '.join(excluded)}")
        elif wants_management and not covered:
            tally.bad.append(f"trail {name} does not log management events")
        elif rw_needed and not rw_needed <= covered:
            tally.bad.append(f"trail {name} logs {'/'.join(sorted(covered)) or 'no'} management events, not {rw_wanted}")
        else:
            tally.good.append(name)
    result = tally.result("no multi-region trail is logging as required", "multi-region trail logging")
    if caveat and result.annotation.startswith("multi-region trail logging"):
        result.annotation += caveat
    return result


@rule(
    "cloudtrail-s3-dataevents-enabled",
    reads={TRAILS: "DescribeTrails"},
    aws_identifier="CLOUDTRAIL_S3_DATAEVENTS_ENABLED",
    service="AWS CloudTrail",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="medium",
    compliant_when="At least one CloudTrail trail logs S3 data events for all S3 buckets (or for S3BucketNames if set).",
    parameters={"S3BucketNames": ("str", None)},
)
def cloudtrail_s3_dataevents_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    trails = get(item, TRAILS) or []
    if not trails:
        return non_compliant("no CloudTrail trail in this region")
    buckets = csv_list(params.get("S3BucketNames"))
    tally = _Tally()
    covered: set[str] = set()
    for trail in trails:
        name = trail.get("name")
        if not _logging(trail, item, ctx, tally):
            continue
        selectors, why = _selectors(trail, ctx)
        if selectors is None:
            tally.unknown.append(why or f"trail {name}: event selectors unavailable")
            continue
        if not buckets:
            if s3_data_events_cover(selectors, None):
                tally.good.append(name)
            else:
                tally.bad.append(f"trail {name} does not log S3 data events for all buckets")
            continue
        covered |= {b for b in buckets if s3_data_events_cover(selectors, b)}
    if buckets:
        missing = [b for b in buckets if b not in covered]
        if not missing:
            return compliant(f"S3 data events are logged for {', '.join(buckets[:5])}")
        if tally.unknown:
            return insufficient("could not check: " + "; ".join(dict.fromkeys(tally.unknown)))
        return non_compliant(f"no logging trail records S3 data events for {', '.join(missing[:5])}")
    return tally.result("no logging trail records S3 data events for all buckets", "S3 data events logged by")


# -- trail rules ------------------------------------------------------------------------------------


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


@rule(
    "cloud-trail-cloud-watch-logs-enabled",
    aws_identifier="CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED",
    service="AWS CloudTrail",
    resource_types=(TRAIL,),
    trigger="periodic",
    severity="medium",
    compliant_when="The CloudTrail trail has CloudWatchLogsLogGroupArn set (sends events to CloudWatch Logs).",
    parameters={"expectedDeliveryWindowAge": ("int", None)},
    aws_runbook="AWS-EnableCloudTrailCloudWatchLogs",
)
def cloud_trail_cloud_watch_logs_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    group = get(item, "configuration.CloudWatchLogsLogGroupArn")
    if not group:
        return non_compliant("trail does not send events to CloudWatch Logs")
    window = params.get("expectedDeliveryWindowAge")
    if not window:
        return compliant("trail sends events to CloudWatch Logs")
    status = get(item, SUP + "TrailStatus")
    if status is None:
        return insufficient("could not check: " + _failure([item], "GetTrailStatus"))
    if status.get("LatestCloudWatchLogsDeliveryError"):
        return non_compliant("the latest delivery to CloudWatch Logs failed")
    latest = _as_datetime(status.get("LatestCloudWatchLogsDeliveryTime"))
    if latest is None:
        return compliant("trail sends events to CloudWatch Logs (delivery age not checked: the inventory does not keep delivery times)")
    age_hours = (ctx.now - latest).total_seconds() / 3600
    if age_hours > window:
        return non_compliant(f"latest delivery to CloudWatch Logs was {age_hours:.0f} hours ago (more than {window})")
    return compliant(f"trail delivered to CloudWatch Logs within {window} hours")


@rule(
    "cloud-trail-encryption-enabled",
    aws_identifier="CLOUD_TRAIL_ENCRYPTION_ENABLED",
    service="AWS CloudTrail",
    resource_types=(TRAIL,),
    trigger="periodic",
    severity="high",
    compliant_when="The CloudTrail trail has a KmsKeyId set (SSE-KMS encryption of log files).",
    aws_runbook="AWSConfigRemediation-EnableCloudTrailEncryptionWithKMS",
)
def cloud_trail_encryption_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, "configuration.KmsKeyId"):
        return compliant("log files are encrypted with SSE-KMS")
    return non_compliant("log files are not encrypted with a KMS key (SSE-S3 only)")


@rule(
    "cloud-trail-log-file-validation-enabled",
    aws_identifier="CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
    service="AWS CloudTrail",
    resource_types=(TRAIL,),
    trigger="periodic",
    severity="medium",
    compliant_when="Log file validation (signed digest files) is enabled on the CloudTrail trail.",
    remediation="phiwatch-EnableCloudTrailLogFileValidation",
    aws_runbook="AWSConfigRemediation-EnableCloudTrailLogFileValidation",
)
def cloud_trail_log_file_validation_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, "configuration.LogFileValidationEnabled"):
        return compliant("log file validation is enabled")
    return non_compliant("log file validation is disabled")


@rule(
    "cloudtrail-security-trail-enabled",
    reads={TRAILS: "DescribeTrails"},
    aws_identifier="CLOUDTRAIL_SECURITY_TRAIL_ENABLED",
    service="AWS CloudTrail",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="high",
    compliant_when=(
        "At least one trail is multi-Region, records global service events, has log file validation, is encrypted with "
        "a KMS key, and records read and write management events without excluding any event source."
    ),
)
def cloudtrail_security_trail_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's criteria exactly: whether the trail is logging is not one of them. A trail's settings and event
    selectors are read from its item in its home region; a trail without an item there (another account's
    organization trail, or a home region not collected) is 'could not check' unless another trail settles it."""
    trails = [t for t in get(item, TRAILS) or [] if t.get("isMultiRegionTrail")]
    if not trails:
        return non_compliant("no multi-region CloudTrail trail")
    tally = _Tally()
    for trail in trails:
        name = trail.get("name")
        trail_item = _trail_item(ctx, trail.get("arn"))
        if trail_item is None:
            tally.unknown.append(f"trail {name}: settings not in the inventory (trail of another account or region not collected)")
            continue
        conf = trail_item.configuration
        missing = [
            what
            for what, ok in (
                ("global service events", conf.get("IncludeGlobalServiceEvents")),
                ("log file validation", conf.get("LogFileValidationEnabled")),
                ("KMS encryption", conf.get("KmsKeyId")),
            )
            if not ok
        ]
        if missing:
            tally.bad.append(f"trail {name} lacks {', '.join(missing)}")
            continue
        selectors, why = _selectors(trail, ctx)
        if selectors is None:
            tally.unknown.append(why or f"trail {name}: event selectors unavailable")
            continue
        covered, excluded = management_events(selectors)
        if excluded:
            tally.bad.append(f"trail {name} excludes management events from {', '.join(excluded)}")
        elif covered != BOTH:
            tally.bad.append(f"trail {name} logs {'/'.join(sorted(covered)) or 'no'} management events, not read and write")
        else:
            tally.good.append(name)
    return tally.result("no trail follows the security best practices", "security trail")
