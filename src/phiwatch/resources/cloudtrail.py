"""CloudTrail: trails (AWS::CloudTrail::Trail) and a per-region trail summary on the account item."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

TRAIL = "AWS::CloudTrail::Trail"

SERVICE = Service(
    "cloudtrail",
    resources=(
        ResourceSpec(
            TRAIL,
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
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:ListTags",
    ),
)
