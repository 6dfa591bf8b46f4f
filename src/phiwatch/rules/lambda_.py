"""Lambda rules: the HIPAA pack's and the other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.lambda_`: ``supplementaryConfiguration.Policy`` is the
function's resource policy parsed from JSON (``None`` = no resource policy; absent = GetPolicy
failed); ``supplementaryConfiguration.ReservedConcurrentExecutions`` its function-level concurrency
limit (``None`` = none; absent = GetFunctionConcurrency failed). The Availability Zones of a
function's subnets come from the ``AWS::EC2::Subnet`` items (:mod:`phiwatch.resources.vpc`).

A statement makes the function public when it allows everyone (``Principal "*"`` or
``{"AWS": "*"}``) without a condition that pins the caller to known accounts, organizations,
source resources, networks or addresses (``aws:SourceAccount``, ``aws:SourceArn``,
``aws:SourceOwner``, ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``, ``aws:PrincipalArn``,
``aws:SourceVpc``, ``aws:SourceVpce``, ``aws:SourceIp``, ``aws:userid``, ... matched with a
positive operator such as ``StringEquals`` or ``ArnLike``, not ``...IfExists``, against values
with no wildcard and no open network). A function URL with ``AuthType NONE`` adds such a statement (its only condition is
``lambda:FunctionUrlAuthType``), so it counts as public.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.lambda_ import FUNCTION
from phiwatch.resources.vpc import SUBNET
from phiwatch.rules.base import (
    REQUIRED,
    Result,
    RuleContext,
    as_list,
    compliant,
    csv_list,
    get,
    insufficient,
    non_compliant,
    not_applicable,
    principal_is_everyone,
    rule,
)

CONF = "configuration."
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


def _s3_without_source_account(statement: dict[str, Any]) -> bool:
    """An Allow to the S3 service principal that does not pin the bucket owner's account with a
    fixed ``aws:SourceAccount`` / ``aws:SourceOwner``: a bucket of any account could invoke the function."""
    principal = statement.get("Principal")
    services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
    if "s3.amazonaws.com" not in [str(s).lower() for s in services]:
        return False
    condition = statement.get("Condition")
    owner_keys = {"aws:sourceaccount", "aws:sourceowner"}
    pinned = {
        op: {k: v for k, v in entries.items() if str(k).lower() in owner_keys}
        for op, entries in (condition.items() if isinstance(condition, dict) else [])
        if isinstance(entries, dict)
    }
    return not _restricted(pinned)


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
    """AWS: NON_COMPLIANT when the function policy allows public access: a principal ``*`` (or
    ``{"AWS": "*"}``) not pinned by a fixed-value condition, or, as AWS's current page adds, an
    invocation permission for Amazon S3 without a condition such as ``aws:SourceAccount`` (or
    ``aws:SourceOwner``) limiting it to the bucket owner's account; ``aws:SourceArn`` alone does
    not pin the account (a bucket name can be taken in another account)."""
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
        and ((principal_is_everyone(st.get("Principal")) and not _restricted(st.get("Condition"))) or _s3_without_source_account(st))
    ]
    if public:
        return non_compliant(f"resource policy allows public access (statement {', '.join(public[:3])})")
    return compliant("resource policy allows no public access")


# -- managed rules outside the HIPAA pack ---------------------------------------------------------

#: runtimes of functions that bring their own language runtime on an OS-only base
OS_ONLY_RUNTIMES = {"provided", "provided.al2", "provided.al2023"}


def _integer(params: dict, name: str) -> int | None:
    """An integer rule parameter that AWS types as a string; None when not set, ValueError(name) when not a number."""
    value = params.get(name)
    if value is None or str(value).strip() == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise ValueError(name) from exc


def _subnets(item: ConfigurationItem) -> list[str]:
    return [str(s) for s in (get(item, CONF + "VpcConfig") or {}).get("SubnetIds") or [] if s]


@rule(
    "lambda-concurrency-check",
    reads={SUP + "ReservedConcurrentExecutions": "GetFunctionConcurrency"},
    aws_identifier="LAMBDA_CONCURRENCY_CHECK",
    service="AWS Lambda",
    resource_types=(FUNCTION,),
    trigger="change",
    severity="low",
    compliant_when="The function has a function-level concurrency limit (within ConcurrencyLimitLow..ConcurrencyLimitHigh when set).",
    parameters={"ConcurrencyLimitLow": ("str", None), "ConcurrencyLimitHigh": ("str", None)},
)
def lambda_concurrency_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the function has no function-level (reserved) concurrency limit, or
    one below ``ConcurrencyLimitLow`` or above ``ConcurrencyLimitHigh`` (both optional, integers
    given as strings; an empty value is not set)."""
    try:
        low, high = _integer(params, "ConcurrencyLimitLow"), _integer(params, "ConcurrencyLimitHigh")
    except ValueError as exc:
        return insufficient(f"could not check: parameter {exc} is not a number")
    limit = get(item, SUP + "ReservedConcurrentExecutions")
    if limit is None:
        return non_compliant("no function-level concurrency limit")
    if isinstance(limit, bool) or not isinstance(limit, int):
        return insufficient(f"could not check: concurrency limit {limit!r} is not a number")
    if low is not None and limit < low:
        return non_compliant(f"concurrency limit {limit} is below ConcurrencyLimitLow {low}")
    if high is not None and limit > high:
        return non_compliant(f"concurrency limit {limit} is above ConcurrencyLimitHigh {high}")
    return compliant(f"function-level concurrency limit is {limit}")


@rule(
    "lambda-dlq-check",
    aws_identifier="LAMBDA_DLQ_CHECK",
    service="AWS Lambda",
    resource_types=(FUNCTION,),
    trigger="change",
    severity="low",
    compliant_when="The function has a dead-letter queue (one of dlqArns when set).",
    parameters={"dlqArns": ("str", None)},
)
def lambda_dlq_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the function has no dead-letter queue (``DeadLetterConfig.TargetArn``),
    or one that is not in ``dlqArns`` (comma-separated SQS/SNS ARNs) when that is set."""
    allowed = csv_list(params.get("dlqArns"))
    target = (get(item, CONF + "DeadLetterConfig") or {}).get("TargetArn")
    if not target:
        return non_compliant("no dead-letter queue")
    if allowed and target not in allowed:
        return non_compliant(f"dead-letter queue {target} is not one of dlqArns")
    return compliant(f"dead-letter queue {target}")


@rule(
    "lambda-function-settings-check",
    aws_identifier="LAMBDA_FUNCTION_SETTINGS_CHECK",
    service="AWS Lambda",
    resource_types=(FUNCTION,),
    trigger="change",
    severity="low",
    compliant_when="The function's runtime is one of runtime, and its role, timeout and memory size equal the parameters.",
    parameters={"runtime": ("str", REQUIRED), "role": ("str", None), "timeout": ("int", 3), "memorySize": ("int", 128)},
)
def lambda_function_settings_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the runtime is not one of ``runtime`` (comma-separated, required) or
    the role (``role``: a name, matched against the role ARN's last part, or an ARN, matched whole),
    timeout or memory size differ from the parameters (defaults 3 s and 128 MB). AWS's current page
    says functions packaged as container images and functions on an OS-only runtime
    (``provided``, ``provided.al2``, ``provided.al2023``) are ignored: NOT_APPLICABLE."""
    if get(item, CONF + "PackageType") == "Image":
        return not_applicable("function is packaged as a container image")
    runtime = get(item, CONF + "Runtime")
    if runtime in OS_ONLY_RUNTIMES:
        return not_applicable(f"function uses the OS-only runtime {runtime}")
    runtimes = csv_list(params.get("runtime"))
    if not runtimes:
        return insufficient("could not check: the rule needs parameter runtime")
    problems = []
    if runtime not in runtimes:
        problems.append(f"runtime {runtime} is not one of runtime")
    role_wanted = str(params.get("role") or "").strip()
    role = str(get(item, CONF + "Role") or "")
    if role_wanted and role_wanted != (role if ":" in role_wanted else role.rsplit("/", 1)[-1]):
        problems.append(f"role {role.rsplit('/', 1)[-1] or 'none'} is not {role_wanted}")
    for setting, name, unit in (("Timeout", "timeout", "s"), ("MemorySize", "memorySize", "MB")):
        wanted, actual = params.get(name), get(item, CONF + setting)
        if wanted is not None and actual != wanted:
            problems.append(f"{name} {actual}{unit} is not {wanted}{unit}")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant(f"runtime {runtime}, role, timeout and memory size match")


@rule(
    "lambda-inside-vpc",
    aws_identifier="LAMBDA_INSIDE_VPC",
    service="AWS Lambda",
    resource_types=(FUNCTION,),
    trigger="change",
    severity="medium",
    compliant_when="The function is connected to a VPC (in subnets of subnetIds when set).",
    parameters={"subnetIds": ("str", None)},
)
def lambda_inside_vpc(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the function is not connected to a VPC (no ``VpcConfig.SubnetIds``).
    With ``subnetIds`` (comma-separated), every subnet of the function must be one of them."""
    subnets = _subnets(item)
    if not subnets:
        return non_compliant("function is not connected to a VPC")
    allowed = csv_list(params.get("subnetIds"))
    other = [s for s in subnets if allowed and s not in allowed]
    if other:
        return non_compliant(f"function uses subnet(s) not in subnetIds: {', '.join(other)}")
    return compliant(f"function is connected to a VPC ({len(subnets)} subnet(s))")


@rule(
    "lambda-vpc-multi-az-check",
    aws_identifier="LAMBDA_VPC_MULTI_AZ_CHECK",
    service="AWS Lambda",
    resource_types=(FUNCTION,),
    trigger="change",
    severity="medium",
    compliant_when="The VPC-connected function's subnets are in at least 2 Availability Zones (at least availabilityZones when set).",
    parameters={"availabilityZones": ("int", None)},
)
def lambda_vpc_multi_az_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: NON_COMPLIANT when the function's subnets are in only one Availability Zone, or in fewer
    than ``availabilityZones``; a function not connected to a VPC is NOT_APPLICABLE. The zones come
    from the recorded subnets of the function's account and region: with none recorded (the VPC
    collector did not run) the rule does not apply; a subnet not recorded is "could not check"
    unless the recorded ones already reach the minimum."""
    subnets = _subnets(item)
    if not subnets:
        return not_applicable("function is not connected to a VPC")
    wanted = max(2, int(params.get("availabilityZones") or 2))
    recorded = {s.resourceId: s for s in ctx.items(SUBNET, account_id=item.accountId, region=item.awsRegion)}
    if not recorded:
        return None
    zones = sorted({str(get(recorded[s], CONF + "AvailabilityZone")) for s in subnets if s in recorded})
    unknown = [s for s in subnets if s not in recorded]
    if len(zones) >= wanted:
        return compliant(f"subnets in {len(zones)} Availability Zones ({', '.join(zones)})")
    if unknown:
        return insufficient(f"could not check: subnet(s) not in the inventory: {', '.join(unknown)}")
    return non_compliant(f"subnets in {len(zones)} Availability Zone(s) ({', '.join(zones)}), fewer than {wanted}")
