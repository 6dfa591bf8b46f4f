"""AWS Shield Advanced: protections (AWS::Shield::Protection, AWS::ShieldRegional::Protection) and
the account's subscription and SRT access (AWS::::Account). A global service: its API answers
for the whole account.

* ``AWS::Shield::Protection``: protections of global resources (CloudFront distributions, Route 53
  hosted zones, Global Accelerator), in region ``global``; ``AWS::ShieldRegional::Protection``:
  protections of regional resources (load balancers, Elastic IPs), in the region of the protected
  resource (only the run's regions are recorded). resourceId ``Id``, resourceName ``Name``, arn
  ``ProtectionArn``; ``configuration`` = ListProtections' element (``ResourceArn``: the protected
  resource, ``HealthCheckIds``, ``ApplicationLayerAutomaticResponseConfiguration``); ``tags``:
  ListTagsForResource.
* Account item (region ``global``): ``configuration.shieldSubscription`` = DescribeSubscription's
  ``Subscription`` (``AutoRenew``: ENABLED|DISABLED, ``EndTime``, ...), ``None`` when the account
  has no Shield Advanced subscription; ``configuration.shieldDrtAccess`` = DescribeDRTAccess's
  answer (``RoleArn``, ``LogBucketList``), read only when subscribed;
  ``configuration.shieldProtectedResources``: the ARNs of every protected resource (all regions),
  from ListProtections. A key is absent when its call
  failed (the failed call is in the account item's ``collectionErrors``).

The listing and the account part are the hook's (:mod:`phiwatch.collect.shield`): one listing
gives both protection types.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, FromItem, P, R, ResourceSpec, Service, on

PROTECTION = "AWS::Shield::Protection"
REGIONAL_PROTECTION = "AWS::ShieldRegional::Protection"
SOURCE = "shield.amazonaws.com"


def _spec(resource_type: str) -> ResourceSpec:
    return ResourceSpec(
        resource_type,
        client="shield",
        id="Id",
        name="Name",
        arn="ProtectionArn",
        tags=Call("ListTagsForResource", "shield:ListTagsForResource", {"ResourceARN": FromItem("arn")}, result="Tags"),
        events=(
            on(SOURCE, "CreateProtection DeleteProtection", P("requestParameters.protectionId"), P("responseElements.protectionId")),
            on(SOURCE, "TagResource UntagResource", R("requestParameters.resourceARN", r"^arn:[^:]+:shield::[^:]*:protection/(.+)$")),
        ),
    )


SERVICE = Service(
    "shield",
    scope="global",
    global_items=True,
    resources=(_spec(PROTECTION), _spec(REGIONAL_PROTECTION)),
    account_events=(
        on(SOURCE, "CreateSubscription UpdateSubscription DeleteSubscription AssociateDRTRole DisassociateDRTRole", region="global"),
    ),
    iam=(
        "shield:DescribeDRTAccess",
        "shield:DescribeSubscription",
        "shield:ListProtections",
    ),
)
