"""Lambda rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.lambda_`: ``supplementaryConfiguration.Policy`` is the
function's resource policy parsed from JSON (``None`` = no resource policy; absent = GetPolicy
failed).

A statement makes the function public when it allows everyone (``Principal "*"`` or
``{"AWS": "*"}``) without a condition that pins the caller to known accounts, organizations,
source resources, networks or addresses (``aws:SourceAccount``, ``aws:SourceArn``,
``aws:SourceOwner``, ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``, ``aws:PrincipalArn``,
``aws:SourceVpc``, ``aws:SourceVpce``, ``aws:SourceIp``, ``aws:userid``, ... matched with a
positive operator such as ``StringEquals`` or ``ArnLike``, not ``...IfExists``, against values
with no wildcard and no open network). A function URL with ``AuthType NONE`` adds such a statement (its only condition is
``lambda:FunctionUrlAuthType``), so it counts as public. ``lambda-inside-vpc`` is not in the
HIPAA pack.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.lambda_ import FUNCTION
from phiwatch.rules.base import Result, RuleContext, as_list, compliant, get, insufficient, non_compliant, principal_is_everyone, rule

SUP = "supplementaryConfiguration."
RESTRICTING_KEYS = {
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:userid",
    "lambda:eventsourcetoken",
}
# Operators that let a request through only when the key is present and matches; negative
# operators and ``...IfExists`` variants (true when the key is absent) restrict nothing.
OPEN_NETWORKS = {"0.0.0.0/0", "::/0"}
POSITIVE_OPERATORS = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}


def _restricted(condition: Any) -> bool:
    """True when a condition pins the caller: a positive match (no ``...IfExists``) of a
    restricting key against values without wildcards."""
    if not isinstance(condition, dict):
        return False
    for operator, entries in condition.items():
        op = str(operator).lower().split(":")[-1]  # ForAnyValue:/ForAllValues: prefixes
        if not isinstance(entries, dict) or op not in POSITIVE_OPERATORS:
            continue
        for key, values in entries.items():
            if str(key).lower() in RESTRICTING_KEYS:
                values = as_list(values)
                if values and not any("*" in str(v) or "?" in str(v) or str(v) in OPEN_NETWORKS for v in values):
                    return True
    return False


@rule(
    "lambda-function-public-access-prohibited",
    reads={SUP + "Policy": "GetPolicy"},
    aws_identifier="LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED",
    service="AWS Lambda",
    resource_types=(FUNCTION,),
    trigger="change",
    severity="critical",
    compliant_when="The Lambda function resource policy does not allow public access.",
)
def lambda_function_public_access_prohibited(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    policy = get(item, SUP + "Policy")
    if policy is None:
        return compliant("no resource policy")
    if not isinstance(policy, dict) or "Statement" not in policy:
        return insufficient("could not read the resource policy")
    public = [
        str(st.get("Sid") or f"#{n}")
        for n, st in enumerate(as_list(policy.get("Statement")))
        if isinstance(st, dict)
        and st.get("Effect") == "Allow"
        and principal_is_everyone(st.get("Principal"))
        and not _restricted(st.get("Condition"))
    ]
    if public:
        return non_compliant(f"resource policy allows public access (statement {', '.join(public[:3])})")
    return compliant("resource policy allows no public access")
