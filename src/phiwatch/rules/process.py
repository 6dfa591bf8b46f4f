"""Process checks: AWS Config rules that track a manual task (no resource configuration is evaluated)."""

from __future__ import annotations

from phiwatch.model import ACCOUNT_TYPE
from phiwatch.rules.base import process_check

process_check(
    "annual-risk-assessment-performed",
    aws_identifier="AWS_CONFIG_PROCESS_CHECK",
    service="Process check (no AWS service)",
    resource_types=(ACCOUNT_TYPE,),
    severity="low",
    compliant_when=(
        "Process check (AWS_CONFIG_PROCESS_CHECK) tracking the manual task: an annual risk assessment has been performed; "
        "no AWS resource configuration is evaluated."
    ),
)
