"""Remediation modes and statuses: what the policy asks for each rule, and the words a
remediation's record uses (see the package docstring, :mod:`phiwatch.remediate`)."""

from __future__ import annotations

from phiwatch.model import GLOBAL_REGION, ConfigurationItem
from phiwatch.policy import Policy
from phiwatch.store.remediations import APPLIED, FAILED, PLANNED, RUNNING, SKIPPED, SUPERSEDED

__all__ = [
    "ACCOUNT_WIDE_RUNBOOKS",
    "APPLIED",
    "COVERED_BY",
    "COVERED_BY_PLAN",
    "FAILED",
    "INTERRUPTED",
    "MODES",
    "PLANNED",
    "RUNNING",
    "SEVERITY_ORDER",
    "SKIPPED",
    "SUPERSEDED",
    "region_of",
    "remediation_enabled",
    "rule_mode",
]

MODES = ("off", "dry-run", "manual", "auto")
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}

# remediation statuses (planned, running, applied, failed, skipped, superseded) are the store's
# vocabulary for the remediations table: :mod:`phiwatch.store.remediations`

#: runbooks that change a setting of the whole account, not of one Region: one execution per
#: account and batch, however many Regions' ``AWS::::Account`` items have the finding (a regional
#: account setting such as EBS encryption by default is not listed: it runs per Region)
ACCOUNT_WIDE_RUNBOOKS = frozenset(
    {
        "phiwatch-EnableCloudTrailMultiRegion",
        "phiwatch-SetIamPasswordPolicy",
        "phiwatch-BlockS3AccountPublicAccess",
    }
)
#: how a remediation row that shares another finding's execution starts its reason
COVERED_BY = "covered by remediation "
#: how a plan row that shares another finding's plan (an account-wide runbook) starts its reason
COVERED_BY_PLAN = "covered by plan "
#: reason of a run whose process stopped before it finished (found and closed by the next run)
INTERRUPTED = "interrupted: "


def rule_mode(policy: Policy, rule_id: str) -> str:
    override = policy.remediation.rules.get(rule_id)
    return override.mode if override is not None else policy.remediation.mode


def remediation_enabled(policy: Policy) -> bool:
    """True when any rule may be remediated (planned or applied) under this policy."""
    return policy.remediation.mode != "off" or any(r.mode != "off" for r in policy.remediation.rules.values())


def region_of(item: ConfigurationItem, default: str) -> str:
    """The Region a runbook for ``item`` runs in: the item's, or ``default`` for account-global items."""
    return default if item.awsRegion in (GLOBAL_REGION, "", None) else item.awsRegion
