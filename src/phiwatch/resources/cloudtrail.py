"""CloudTrail: trails (AWS::CloudTrail::Trail) and a per-region trail summary on the account item.

Item layout (boto3 response shapes):

* ``resourceId``/``resourceName``: the trail name; ``arn``: ``TrailARN``. One item per trail
  *created* in this region by this account (``HomeRegion`` == region); a multi-region trail
  is therefore one item, in its home region.
* ``configuration``: the DescribeTrails element as returned: ``Name``, ``TrailARN``, ``HomeRegion``,
  ``S3BucketName``, ``S3KeyPrefix``, ``IsMultiRegionTrail``, ``IncludeGlobalServiceEvents``,
  ``LogFileValidationEnabled``, ``IsOrganizationTrail``, ``HasCustomEventSelectors``,
  ``HasInsightSelectors``, and only when set: ``KmsKeyId`` (no key = SSE-S3, not KMS),
  ``CloudWatchLogsLogGroupArn``, ``CloudWatchLogsRoleArn``, ``SnsTopicARN``. AWS omits the
  optional keys that are not set, so an absent ``KmsKeyId`` / ``CloudWatchLogsLogGroupArn`` in
  ``configuration`` means "not configured" (DescribeTrails either succeeds for all or no item exists).
* ``supplementaryConfiguration``:

  - ``TrailStatus``: the stable part of GetTrailStatus: ``IsLogging`` and, when AWS returns them,
    ``StartLoggingTime``, ``StopLoggingTime``, ``TimeLoggingStarted``, ``TimeLoggingStopped``,
    ``LatestDeliveryError``, ``LatestDigestDeliveryError``, ``LatestNotificationError``,
    ``LatestCloudWatchLogsDeliveryError``. The ever-moving ``Latest*Time`` / ``*Attempt*`` fields
    are dropped so that an unchanged trail keeps one version in the history.
  - ``EventSelectors``: ``{"EventSelectors": [...], "AdvancedEventSelectors": [...]}`` (both lists,
    ``[]`` when AWS returns none).

* ``tags``: ListTags for the trail ARN.
* ``relationships``: the S3 bucket, the CloudWatch Logs log group and the KMS key (when given as
  a key ARN) the trail uses.

Account item (``AWS::::Account`` in this region): ``configuration.cloudTrailTrails`` lists every
trail *visible* in the region, shadow trails of other regions' multi-region trails and
organization trails included, for the account-level ``cloudtrail-enabled`` and
``multi-region-cloudtrail-enabled`` rules::

    [{"name", "arn", "homeRegion", "isMultiRegionTrail", "isOrganizationTrail", "isLogging",
      "s3BucketName", "snsTopicArn", "cloudWatchLogsLogGroupArn"}]

(the last three from ``S3BucketName``, ``SnsTopicARN`` and ``CloudWatchLogsLogGroupArn``, ``None``
when the trail does not set them: the rules' parameters compare against them, and a shadow trail of
another account has no item of its own.)
``[]`` means no trail at all in the region; the key is absent when DescribeTrails failed. Within
an element, ``isLogging`` is absent when GetTrailStatus failed for that trail (error on the
account item for a shadow trail, on the trail's own item for a trail homed here). Event selectors of a shadow trail are on the trail's item in its home region.

A key absent from ``supplementaryConfiguration`` means the call failed (see ``collectionErrors``).

The trail spec has no listing: the hook (``collect/cloudtrail.py``) lists the trails once, shadow
trails included, and builds the items of the trails homed here from the spec.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

TRAIL = "AWS::CloudTrail::Trail"

STATUS_KEYS = (
    "IsLogging",
    "StartLoggingTime",
    "StopLoggingTime",
    "TimeLoggingStarted",
    "TimeLoggingStopped",
    "LatestDeliveryError",
    "LatestDigestDeliveryError",
    "LatestNotificationError",
    "LatestCloudWatchLogsDeliveryError",
)


def stable_status(response: dict[str, Any]) -> dict[str, Any]:
    """GetTrailStatus without the moving delivery timestamps; empty strings (moto) dropped."""
    return {k: response[k] for k in STATUS_KEYS if k in response and response[k] not in ("", None)}


def _selectors(response: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventSelectors": response.get("EventSelectors") or [],
        "AdvancedEventSelectors": response.get("AdvancedEventSelectors") or [],
    }


def _tags(response: dict[str, Any]) -> list[Any]:
    """ListTags' tag lists of every entry (one: the trail's), as one ``[{Key, Value}]`` list."""
    return [tag for entry in response.get("ResourceTagList") or [] for tag in entry.get("TagsList") or []]


def relationships(trail: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if trail.get("S3BucketName"):
        out.append(
            {"resourceType": "AWS::S3::Bucket", "resourceId": trail["S3BucketName"], "relationshipName": "Is associated with Bucket"}
        )
    group_arn = trail.get("CloudWatchLogsLogGroupArn")
    if group_arn and ":log-group:" in group_arn:
        name = group_arn.split(":log-group:", 1)[1].removesuffix(":*")
        out.append({"resourceType": "AWS::Logs::LogGroup", "resourceId": name, "relationshipName": "Is associated with LogGroup"})
    out.extend(kms_key_relationship(trail.get("KmsKeyId")))
    return out


#: the trail as its calls name it: its ARN (its name when DescribeTrails left the ARN out)
_TRAIL = "TrailARN || Name"

SERVICE = Service(
    "cloudtrail",
    cost=2,
    resources=(
        ResourceSpec(
            TRAIL,
            client="cloudtrail",
            id="Name",
            name="Name",
            arn=("TrailARN", "arn:{partition}:cloudtrail:{region}:{account}:trail/{id}"),
            details={
                "TrailStatus": Call("GetTrailStatus", "cloudtrail:GetTrailStatus", {"Name": _TRAIL}, parse=stable_status),
                "EventSelectors": Call("GetEventSelectors", "cloudtrail:GetEventSelectors", {"TrailName": _TRAIL}, parse=_selectors),
            },
            tags=Call(
                "ListTags",
                "cloudtrail:ListTags",
                {"ResourceIdList": lambda trail: [trail.get("TrailARN") or trail.get("Name")]},
                parse=_tags,
            ),
            relationships=relationships,
            events=(
                on(
                    "cloudtrail.amazonaws.com",
                    ("CreateTrail DeleteTrail UpdateTrail StartLogging StopLogging PutEventSelectors PutInsightSelectors"),
                    P("requestParameters.name"),
                    P("responseElements.trailARN"),
                ),
                on("cloudtrail.amazonaws.com", "AddTags RemoveTags", P("requestParameters.resourceId")),
            ),
        ),
    ),
    account_events=(
        on(
            "cloudtrail.amazonaws.com",
            ("CreateTrail DeleteTrail UpdateTrail StartLogging StopLogging PutEventSelectors PutInsightSelectors"),
        ),
    ),
    iam=(
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",  # shadow trails' status, for the account item
    ),
)
