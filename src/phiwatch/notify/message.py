"""The alert message (contract): one JSON object per finding event, ids, rule and reason only."""

from __future__ import annotations

from typing import Any

from phiwatch.phi import mask_phi


def finding_message(event: str, finding: dict[str, Any], rule: Any, time: str) -> dict[str, Any]:
    """Build the message for one finding event.

    ``finding`` carries the finding id and the resource's ids (resource_type, resource_id, arn,
    account_id, region) and annotation; ``rule`` the rule's severity and sections. Nothing
    else: no tags, no configuration values (they may hold PHI). An id or ARN that embeds a
    PHI-looking identifier (a resource named after a patient) is sent masked.
    """
    return {
        "event": event,
        "finding_id": finding["finding_id"],
        "rule_id": finding["rule_id"],
        "resource_type": finding["resource_type"],
        "resource_id": mask_phi(finding["resource_id"]),
        "arn": mask_phi(finding.get("arn")),
        "account_id": finding["account_id"],
        "region": finding["region"],
        "severity": getattr(rule, "severity", None) or finding.get("severity", "medium"),
        "hipaa_sections": list(getattr(rule, "hipaa_sections", ()) or ()),
        "annotation": finding.get("annotation", ""),
        "time": time,
    }


def digest_message(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"event": "digest", "findings": messages}
