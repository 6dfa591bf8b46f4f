"""Amazon CloudFront: distributions (AWS::CloudFront::Distribution), a global service.

Collected once per account (collector ``cloudfront``), items in region ``global`` as AWS Config
records them:

* resourceId and resourceName the distribution ``Id``, arn its ``ARN``.
* ``configuration``: GetDistribution's ``Distribution`` (``Id``, ``ARN``, ``Status``,
  ``DomainName``, ``DistributionConfig`` with ``Origins``, ``OriginGroups``,
  ``DefaultCacheBehavior``, ``CacheBehaviors``, ``ViewerCertificate``, ``Logging``,
  ``DefaultRootObject``, ``WebACLId``, ...) without the metered ``InProgressInvalidationBatches``.
  Origins' custom header values (often a shared secret the origin checks) are not recorded: each
  header keeps its name only.
* ``supplementaryConfiguration.S3OriginBuckets``: ``{bucket name: exists}`` for the bucket of
  every origin with an ``S3OriginConfig`` (GetBucketLocation: ``NoSuchBucket`` means it does not
  exist; an answer, or a refusal, means someone owns it). Absent when a read failed (the failed
  call is in ``collectionErrors``).
* ``tags``: ListTagsForResource.

The listing (ListDistributions, paged by ``Marker``; its result is nested in ``DistributionList``)
and the bucket reads are the hook's (:mod:`phiwatch.collect.cloudfront`); the spec reads the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from phiwatch.resources.spec import Call, FromItem, P, R, ResourceSpec, Service, on

DISTRIBUTION = "AWS::CloudFront::Distribution"

#: ``bucket.s3.amazonaws.com``, ``bucket.s3.us-west-2.amazonaws.com``, ``bucket.s3-us-west-2.amazonaws.com``
S3_ORIGIN_DOMAIN = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")


def s3_origin_bucket(domain: Any) -> str | None:
    """The bucket of an S3 REST origin's domain name (None when it is not one)."""
    match = S3_ORIGIN_DOMAIN.match(domain) if isinstance(domain, str) else None
    return match.group("bucket") if match else None


def _target(identifier: str, env: Mapping[str, str]) -> dict[str, str]:
    return {"Id": identifier.rsplit("/", 1)[-1]}


def _shape(configuration: dict[str, Any]) -> dict[str, Any]:
    """Origins' custom headers keep their names, never their values."""
    config = configuration.get("DistributionConfig")
    origins = (config or {}).get("Origins") if isinstance(config, dict) else None
    for origin in (origins or {}).get("Items") or [] if isinstance(origins, dict) else []:
        headers = origin.get("CustomHeaders") if isinstance(origin, dict) else None
        if isinstance(headers, dict) and isinstance(headers.get("Items"), list):
            headers["Items"] = [{"HeaderName": h.get("HeaderName")} for h in headers["Items"] if isinstance(h, dict)]
    return configuration


_ARN_ID = r"^arn:[^:]+:cloudfront::[^:]*:distribution/(.+)$"

SERVICE = Service(
    "cloudfront",
    scope="global",
    global_items=True,
    cost=2,
    resources=(
        ResourceSpec(
            DISTRIBUTION,
            client="cloudfront",
            id="Id",
            arn="ARN",
            describe=Call("GetDistribution", "cloudfront:GetDistribution", {"Id": "Id"}, result="Distribution"),
            gone=("NoSuchDistribution",),
            target=_target,
            tags=Call("ListTagsForResource", "cloudfront:ListTagsForResource", {"Resource": FromItem("arn")}, result="Tags.Items"),
            drop=("InProgressInvalidationBatches",),
            shape=_shape,
            events=(
                on(
                    "cloudfront.amazonaws.com",
                    "CreateDistribution CreateDistributionWithTags UpdateDistribution DeleteDistribution",
                    P("requestParameters.id"),
                    P("responseElements.distribution.id"),
                ),
                on("cloudfront.amazonaws.com", "TagResource UntagResource", R("requestParameters.resource", _ARN_ID)),
            ),
        ),
    ),
    iam=(
        "cloudfront:ListDistributions",
        "s3:GetBucketLocation",
    ),
)
