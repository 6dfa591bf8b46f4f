"""PHI in resource names and tags, across services (the hipaa-extras pack): names and tag values are
copied into logs, consoles, billing and alerts, where PHI must never appear."""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.phi import phi_patterns_in
from phiwatch.resources.dynamodb import TABLE
from phiwatch.resources.ec2 import INSTANCE, SNAPSHOT, VOLUME
from phiwatch.resources.efs import FILE_SYSTEM
from phiwatch.resources.iam import ROLE, USER
from phiwatch.resources.kms import KEY
from phiwatch.resources.lambda_ import FUNCTION
from phiwatch.resources.logs import LOG_GROUP
from phiwatch.resources.rds import INSTANCE as RDS_INSTANCE
from phiwatch.resources.rds import SNAPSHOT as RDS_SNAPSHOT
from phiwatch.resources.s3 import BUCKET
from phiwatch.resources.secretsmanager import SECRET
from phiwatch.resources.sns import TOPIC
from phiwatch.rules.base import Result, RuleContext, compliant, non_compliant, rule


# Patterns that look like patient identifiers. Annotations name the pattern, never the text.
@rule(
    "no-phi-in-resource-names",
    service="all",
    resource_types=(
        BUCKET,
        INSTANCE,
        VOLUME,
        SNAPSHOT,
        RDS_INSTANCE,
        RDS_SNAPSHOT,
        TABLE,
        LOG_GROUP,
        TOPIC,
        SECRET,
        FUNCTION,
        USER,
        ROLE,
        KEY,
        FILE_SYSTEM,
    ),
    trigger="change",
    severity="high",
    compliant_when="The resource's name and tag values contain nothing that looks like a patient identifier (US SSN, medical record number, date of birth, Medicare beneficiary identifier). The annotation names the pattern, never the matching text.",
)
def no_phi_in_resource_names(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    found: list[str] = []
    for where, text in [("name", item.resourceName or ""), ("id", item.resourceId or "")] + [
        (f"tag {key}", f"{key} {value}") for key, value in (item.tags or {}).items()
    ]:
        for pattern in phi_patterns_in(text):
            found.append(f"{where} looks like a {pattern}")
    if found:
        return non_compliant("; ".join(dict.fromkeys(found)))
    return compliant("no identifier-like text in the name or tags")
