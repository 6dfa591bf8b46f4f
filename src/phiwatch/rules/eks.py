"""EKS rules (AWS Config managed-rule semantics) on clusters.

Items are described in :mod:`phiwatch.resources.eks` (DescribeCluster's ``cluster``).
``eks-endpoint-no-public-access`` and ``eks-secrets-encrypted`` had no resource type in AWS's 2023
list; AWS's current pages give ``AWS::EKS::Cluster``, which they judge here.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.eks import CLUSTER
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, rule

#: the control plane log types EKS can send to CloudWatch Logs
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
DESCRIBED = {"configuration.version": "DescribeCluster"}


def _version(text: object) -> tuple[int, ...] | None:
    parts = str(text or "").strip().split(".")
    return tuple(int(p) for p in parts) if parts and all(p.isdigit() for p in parts) else None


@rule(
    "eks-cluster-logging-enabled",
    reads=DESCRIBED,
    aws_identifier="EKS_CLUSTER_LOGGING_ENABLED",
    service="Amazon EKS",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="medium",
    compliant_when="Every EKS control plane log type (api, audit, authenticator, controllerManager, scheduler) is enabled.",
)
def eks_cluster_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    enabled = {
        t
        for entry in get(item, "configuration.logging.clusterLogging") or []
        if isinstance(entry, dict) and entry.get("enabled") is True
        for t in entry.get("types") or []
    }
    missing = [t for t in LOG_TYPES if t not in enabled]
    if missing:
        return non_compliant(f"control plane logging is off for {', '.join(missing)}")
    return compliant("every control plane log type is enabled")


def _versions(item: ConfigurationItem, params: dict) -> tuple[tuple[int, ...], tuple[int, ...]] | Result:
    oldest = params.get("oldestVersionSupported")
    wanted = _version(oldest)
    if wanted is None:
        return insufficient(f"could not check: oldestVersionSupported {oldest!r} is not a version such as 1.29")
    running = _version(get(item, "configuration.version"))
    if running is None:
        return insufficient("could not check: the cluster reports no Kubernetes version")
    return running, wanted


def _text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


@rule(
    "eks-cluster-oldest-supported-version",
    reads=DESCRIBED,
    aws_identifier="EKS_CLUSTER_OLDEST_SUPPORTED_VERSION",
    service="Amazon EKS",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="low",
    compliant_when="The EKS cluster runs a Kubernetes version newer than oldestVersionSupported.",
    parameters={"oldestVersionSupported": ("str", REQUIRED)},
)
def eks_cluster_oldest_supported_version(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the cluster runs ``oldestVersionSupported`` itself. A cluster older
    still is NON_COMPLIANT here too (it is past the oldest supported version, not newer than it).
    Versions compare numerically (1.9 < 1.10). The parameter is required: the rule does not run
    without it; a value that is not a version is INSUFFICIENT_DATA."""
    versions = _versions(item, params)
    if isinstance(versions, Result):
        return versions
    running, oldest = versions
    if running == oldest:
        return non_compliant(f"cluster runs Kubernetes {_text(running)}, the oldest supported version")
    if running < oldest:
        return non_compliant(f"cluster runs Kubernetes {_text(running)}, older than the oldest supported version {_text(oldest)}")
    return compliant(f"cluster runs Kubernetes {_text(running)}")


@rule(
    "eks-cluster-supported-version",
    reads=DESCRIBED,
    aws_identifier="EKS_CLUSTER_SUPPORTED_VERSION",
    service="Amazon EKS",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="The EKS cluster runs a Kubernetes version no older than oldestVersionSupported.",
    parameters={"oldestVersionSupported": ("str", REQUIRED)},
)
def eks_cluster_supported_version(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """NON_COMPLIANT below ``oldestVersionSupported`` (numeric comparison). The parameter is
    required: the rule does not run without it; a value that is not a version is INSUFFICIENT_DATA."""
    versions = _versions(item, params)
    if isinstance(versions, Result):
        return versions
    running, oldest = versions
    if running < oldest:
        return non_compliant(f"cluster runs Kubernetes {_text(running)}, older than the oldest supported version {_text(oldest)}")
    return compliant(f"cluster runs supported Kubernetes {_text(running)}")


@rule(
    "eks-endpoint-no-public-access",
    reads=DESCRIBED,
    aws_identifier="EKS_ENDPOINT_NO_PUBLIC_ACCESS",
    service="Amazon EKS",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="high",
    compliant_when="The EKS cluster's API server endpoint is not publicly accessible.",
)
def eks_endpoint_no_public_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """An absent ``endpointPublicAccess`` is EKS's default, public (AWS always reports it; the
    emulator leaves it out unless set). Public access limited by ``publicAccessCidrs`` is still public."""
    public = get(item, "configuration.resourcesVpcConfig.endpointPublicAccess")
    if public is False:
        return compliant("API server endpoint is private only")
    return non_compliant("API server endpoint is publicly accessible")


@rule(
    "eks-secrets-encrypted",
    reads=DESCRIBED,
    aws_identifier="EKS_SECRETS_ENCRYPTED",
    service="Amazon EKS",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="high",
    compliant_when="The EKS cluster encrypts Kubernetes secrets with a KMS key (one of kmsKeyArns when given).",
    parameters={"kmsKeyArns": ("str", None)},
)
def eks_secrets_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``kmsKeyArns``: comma-separated key ARNs; the key of the ``secrets`` encryption config must be one of them."""
    keys = [
        str((entry.get("provider") or {}).get("keyArn") or "")
        for entry in get(item, "configuration.encryptionConfig") or []
        if isinstance(entry, dict) and "secrets" in (entry.get("resources") or [])
    ]
    if not keys:
        return non_compliant("Kubernetes secrets are not encrypted with a KMS key")
    allowed = csv_list(params.get("kmsKeyArns"))
    if allowed and not any(k in allowed for k in keys):
        return non_compliant("Kubernetes secrets are encrypted with a KMS key that is not one of kmsKeyArns")
    return compliant("Kubernetes secrets are encrypted with a KMS key")
