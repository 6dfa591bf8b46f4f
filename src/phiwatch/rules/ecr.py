"""ECR rules (AWS Config managed-rule semantics) on private repositories.

Items are described in :mod:`phiwatch.resources.ecr`: the lifecycle policy and the scanning the
registry's rules give the repository are in ``supplementaryConfiguration``, absent when their call
failed.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ecr import REPOSITORY
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule

SCANNING = "supplementaryConfiguration.ScanningConfiguration"
LIFECYCLE = "supplementaryConfiguration.LifecyclePolicy"


@rule(
    "ecr-private-image-scanning-enabled",
    reads={SCANNING: "BatchGetRepositoryScanningConfiguration"},
    aws_identifier="ECR_PRIVATE_IMAGE_SCANNING_ENABLED",
    service="Amazon ECR",
    resource_types=(REPOSITORY,),
    trigger="periodic",
    severity="medium",
    compliant_when="The private ECR repository's images are scanned on push or continuously.",
)
def ecr_private_image_scanning_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """The scan frequency is what BatchGetRepositoryScanningConfiguration says the registry's rules
    give the repository (``SCAN_ON_PUSH`` or ``CONTINUOUS_SCAN`` pass, ``MANUAL`` does not); the
    repository's own basic-scanning ``scanOnPush`` also passes (the emulator reports MANUAL for it)."""
    frequency = str((get(item, SCANNING) or {}).get("scanFrequency") or "MANUAL")
    if frequency in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
        return compliant(f"images are scanned ({frequency})")
    if get(item, "configuration.imageScanningConfiguration.scanOnPush") is True:
        return compliant("images are scanned on push (repository setting)")
    return non_compliant(f"images are not scanned automatically (scan frequency {frequency})")


@rule(
    "ecr-private-lifecycle-policy-configured",
    reads={LIFECYCLE: "GetLifecyclePolicy"},
    aws_identifier="ECR_PRIVATE_LIFECYCLE_POLICY_CONFIGURED",
    service="Amazon ECR",
    resource_types=(REPOSITORY,),
    trigger="change",
    severity="low",
    compliant_when="The private ECR repository has a lifecycle policy.",
)
def ecr_private_lifecycle_policy_configured(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if not get(item, LIFECYCLE):
        return non_compliant("repository has no lifecycle policy")
    return compliant("repository has a lifecycle policy")


@rule(
    "ecr-private-tag-immutability-enabled",
    reads={},
    aws_identifier="ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED",
    service="Amazon ECR",
    resource_types=(REPOSITORY,),
    trigger="change",
    severity="medium",
    compliant_when="The private ECR repository's image tags are immutable.",
)
def ecr_private_tag_immutability_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``IMMUTABLE`` passes; ``IMMUTABLE_WITH_EXCLUSION`` (some tags may move) and ``MUTABLE`` do not."""
    mutability = str(get(item, "configuration.imageTagMutability") or "MUTABLE")
    if mutability == "IMMUTABLE":
        return compliant("image tags are immutable")
    return non_compliant(f"image tags are {mutability.lower().replace('_', ' ')}")
