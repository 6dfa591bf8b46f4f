"""IAM rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.iam`: users, groups, roles and customer managed
policies in region ``global``, and the ``AWS::::Account`` item of region ``global`` carrying
``iamPasswordPolicy``, ``iamAccountSummary``, ``iamCredentialReport`` and
``iamVirtualMfaDevices``. ``None`` means "not configured", a missing key means the read failed.

Decisions where AWS's documentation leaves room (each follows the rule's documented wording):

* Policy statements: only ``Effect: Allow`` statements count; ``Action``/``NotAction`` and
  ``Resource``/``NotResource`` may be strings or lists; conditions are not evaluated (AWS:
  "This rule does not evaluate the conditions provided in IAM policies").
* Blocked KMS actions (``blockedActionsPatterns``): a statement allows a blocked pattern when
  some action it allows matches the pattern (wildcards on both sides: ``*`` and ``kms:*`` allow
  ``kms:Decrypt``; ``kms:Re*`` allows something ``kms:ReEncrypt*`` names; ``NotAction`` allows
  the pattern unless one of its entries covers it). It does so "on all KMS keys" when a
  resource is ``*`` or is not a fixed value (holds a wildcard or a policy variable) and can
  name a KMS key, or when the statement uses ``NotResource`` (AWS: "an IAM policy must grant
  access only to fixed values").
* ``excludeRoleByManagementAccount``: phiwatch does not know the organization's management
  account, so a role that only another single account can assume, and that would otherwise be
  NON_COMPLIANT, is INSUFFICIENT_DATA when the parameter is true.
* Admin access: an Allow statement with Action ``*`` (or ``*:*``) and Resource ``*``.
  Full access: an Allow statement with Action ``*``, ``*:*`` or ``<service>:*``, or with a
  ``NotAction`` other than ``*`` (it allows every action of the services it does not name);
  prefixed wildcards such as ``ec2:Describe*`` are compliant.
* Credentials never used are aged from their creation (a key or console password created
  more than ``maxCredentialUsageAge`` days ago and never used is unused). A user without an
  active access key is COMPLIANT for access-keys-rotated; a user without a console password is
  NOT_APPLICABLE for mfa-enabled-for-iam-console-access.
* Root user: GetAccountSummary (``AccountMFAEnabled``, ``AccountAccessKeysPresent``) first,
  the credential report's ``<root_account>`` row when the summary could not be read.
  root-account-hardware-mfa-enabled: MFA on and no virtual MFA device assigned to the root
  user (ListVirtualMFADevices; a FIDO security key counts as hardware). AWS's current pages of
  root-account-mfa-enabled and root-account-hardware-mfa-enabled return NOT_APPLICABLE for an
  account without root user credentials (centralized root access); phiwatch cannot tell that
  from the account's own IAM reads, so such an account is judged like any other.
* Account-global IAM settings (password policy, root user) are judged once per account, on the
  account item of region ``global``; AWS evaluates them in every Region the rule is deployed to.
* iam-password-policy: AWS's current page reads only a lowercase ``true`` as true (``TRUE``
  turns a requirement off); phiwatch reads true/false in any case, so a requirement is never
  dropped because of its spelling.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, ConfigurationItem
from phiwatch.resources.iam import GROUP, POLICY, ROLE, USER
from phiwatch.rules.base import (
    REQUIRED,
    Result,
    RuleContext,
    as_list,
    compliant,
    csv_list,
    describe_failure,
    get,
    has,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)

CONF = "configuration."


INLINE_KEYS = {USER: "userPolicyList", GROUP: "groupPolicyList", ROLE: "rolePolicyList"}
ROOT_ROW = "<root_account>"
#: the fields of any KMS key's ARN, in any partition, region and account
KMS_KEY_ARN_FIELDS = ("arn", "aws*", "kms", "*", "*", "key/*")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_SERVICE_WILDCARD = re.compile(r"^[^:*?]+:\*$")
_ACCOUNT_PRINCIPAL = re.compile(r"^(?:arn:[^:]+:iam::)?(\d{12})(?::.*)?$")


# -- small helpers --------------------------------------------------------------------------
def _time(value: Any) -> dt.datetime | None:
    """An ISO time (or datetime) as an aware UTC datetime; None when absent or unreadable."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and value and value not in ("N/A", "no_information", "not_supported"):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _age_days(value: Any, now: dt.datetime) -> float | None:
    when = _time(value)
    if when is None:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return (now - when).total_seconds() / 86400


def _latest(*values: Any) -> Any:
    times = [(t, v) for v in values if (t := _time(v)) is not None]
    return max(times, key=lambda tv: tv[0])[1] if times else None


def _failed(item: ConfigurationItem, apis: Iterable[str]) -> list[str]:
    failed = item.failed_apis()
    return [api for api in apis if api in failed]


# -- policy documents -------------------------------------------------------------------------
def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _allow_statements(document: Any) -> list[tuple[int, dict[str, Any]]]:
    """(1-based position, statement) of every Allow statement of a policy document."""
    statements = as_list(_document(document).get("Statement"))
    return [(n, st) for n, st in enumerate(statements, 1) if isinstance(st, dict) and st.get("Effect") == "Allow"]


@lru_cache(maxsize=4096)
def _globs_intersect(a: str, b: str) -> bool:
    """Whether two glob patterns (``*`` any run, ``?`` one character) match a common string."""
    todo, seen = [(0, 0)], set()
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            todo.append((i + 1, j))
        if j < len(b) and b[j] == "*":
            todo.append((i, j + 1))
        if i < len(a) and j < len(b):
            x, y = a[i], b[j]
            if x in "*?" or y in "*?" or x == y:
                step = (i if x == "*" else i + 1, j if y == "*" else j + 1)
                if step != (i, j):
                    todo.append(step)
    return False


@lru_cache(maxsize=4096)
def _glob_covers(outer: str, inner: str) -> bool:
    """Whether every string ``inner`` matches is matched by ``outer`` (sound, not complete)."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(outer):
            return j == len(inner)
        if outer[i] == "*":
            return match(i + 1, j) or (j < len(inner) and match(i, j + 1))
        if j == len(inner) or inner[j] == "*":
            return False
        if outer[i] == "?":
            return match(i + 1, j + 1)
        return outer[i] == inner[j] and match(i + 1, j + 1)

    return match(0, 0)


def _actions(statement: dict[str, Any], key: str) -> list[str]:
    return [str(a).strip().lower() for a in as_list(statement.get(key))]


def _allows_pattern(statement: dict[str, Any], pattern: str) -> bool:
    """Whether an Allow statement allows some action that ``pattern`` names."""
    pattern = pattern.lower()
    if "NotAction" in statement:
        return not any(_glob_covers(n, pattern) for n in _actions(statement, "NotAction"))
    return any(_globs_intersect(a, pattern) for a in _actions(statement, "Action"))


def _on_all_kms_keys(statement: dict[str, Any]) -> bool:
    """Whether the statement's resources reach KMS keys through a non-fixed value."""
    if "NotResource" in statement:
        return "*" not in [str(r).strip() for r in as_list(statement.get("NotResource"))]
    for resource in as_list(statement.get("Resource")):
        resource = _VARIABLE.sub("*", str(resource).strip())
        if resource == "*":
            return True
        if ("*" in resource or "?" in resource) and _could_name_kms_key(resource):
            return True
    return False


def _could_name_kms_key(resource: str) -> bool:
    """Whether a resource pattern can match some KMS key ARN (field by field when it has six)."""
    parts = resource.split(":", 5)
    fields = list(KMS_KEY_ARN_FIELDS)
    if len(parts) < 6:  # the last field's wildcard may span the fields that are left
        fields = fields[: len(parts) - 1] + [":".join(fields[len(parts) - 1 :])]
    return all(_globs_intersect(p, q) for p, q in zip(parts, fields))


def _blocked_kms(documents: Iterable[Any], patterns: list[str]) -> list[str]:
    """The blocked patterns some Allow statement of ``documents`` allows on all KMS keys."""
    hits: list[str] = []
    for document in documents:
        for _, statement in _allow_statements(document):
            if not _on_all_kms_keys(statement):
                continue
            hits.extend(p for p in patterns if p not in hits and _allows_pattern(statement, p))
    return hits


def _patterns(params: dict[str, Any]) -> list[str]:
    return csv_list(params.get("blockedActionsPatterns"))


# -- customer managed policies ------------------------------------------------------------------
def _policy_document(item: ConfigurationItem, params: dict[str, Any]) -> tuple[Any, Result | None]:
    """The customer managed policy's default version document, or the verdict without one:
    NOT_APPLICABLE for a permissions boundary when excludePermissionBoundaryPolicy is set,
    INSUFFICIENT_DATA when the default version was not found."""
    if params.get("excludePermissionBoundaryPolicy") and (get(item, CONF + "PermissionsBoundaryUsageCount") or 0) > 0:
        return None, not_applicable("used as a permissions boundary, which excludePermissionBoundaryPolicy excludes")
    document = get(item, CONF + "defaultPolicyDocument")
    if document is None:
        return None, insufficient("the policy's default version was not found")
    return document, None


@rule(
    "iam-customer-policy-blocked-kms-actions",
    aws_identifier="IAM_CUSTOMER_POLICY_BLOCKED_KMS_ACTIONS",
    service="AWS IAM",
    resource_types=(POLICY,),
    trigger="change",
    severity="high",
    compliant_when="Customer-managed IAM policies do not allow the blocked KMS actions (pack: kms:*, kms:Decrypt, kms:ReEncrypt*) on all KMS keys.",
    parameters={"blockedActionsPatterns": ("str", "kms:*, kms:Decrypt, kms:ReEncrypt*"), "excludePermissionBoundaryPolicy": ("bool", None)},
)
def iam_customer_policy_blocked_kms_actions(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    document, verdict = _policy_document(item, params)
    if verdict is not None:
        return verdict
    hits = _blocked_kms([document], _patterns(params))
    if hits:
        return non_compliant(f"default version allows blocked KMS actions ({', '.join(hits)}) on all KMS keys")
    return compliant("no blocked KMS action is allowed on all KMS keys")


@rule(
    "iam-policy-no-statements-with-admin-access",
    aws_identifier="IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
    service="AWS IAM",
    resource_types=(POLICY,),
    trigger="change",
    severity="high",
    compliant_when="No customer-managed IAM policy has a statement with Effect Allow, Action '*' on Resource '*'.",
    parameters={"excludePermissionBoundaryPolicy": ("bool", None)},
)
def iam_policy_no_statements_with_admin_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    document, verdict = _policy_document(item, params)
    if verdict is not None:
        return verdict
    for n, statement in _allow_statements(document):
        actions = _actions(statement, "Action")
        resources = [str(r).strip() for r in as_list(statement.get("Resource"))]
        if ("*" in actions or "*:*" in actions) and "*" in resources:
            return non_compliant(f"statement {n} allows Action '*' on Resource '*'")
    return compliant("no statement allows all actions on all resources")


@rule(
    "iam-policy-no-statements-with-full-access",
    aws_identifier="IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS",
    service="AWS IAM",
    resource_types=(POLICY,),
    trigger="change",
    severity="high",
    compliant_when="No customer-managed IAM policy allows full access ('service:*') to any AWS service.",
    parameters={"excludePermissionBoundaryPolicy": ("bool", None)},
)
def iam_policy_no_statements_with_full_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    document, verdict = _policy_document(item, params)
    if verdict is not None:
        return verdict
    for n, statement in _allow_statements(document):
        if "NotAction" in statement:
            if "*" not in _actions(statement, "NotAction"):
                return non_compliant(f"statement {n} uses NotAction, allowing every action of the services it does not name")
            continue
        for action in _actions(statement, "Action"):
            if action in ("*", "*:*"):
                return non_compliant(f"statement {n} allows every action of every service")
            if _SERVICE_WILDCARD.match(action):
                return non_compliant(f"statement {n} allows every action of {action.split(':')[0]}")
    return compliant("no statement allows every action of a service")


# -- users, groups, roles: inline policies --------------------------------------------------------
def _inline_documents(item: ConfigurationItem) -> list[Any]:
    key = INLINE_KEYS.get(item.resourceType)
    return [p.get("PolicyDocument") for p in get(item, CONF + key) or [] if isinstance(p, dict)] if key else []


def _only_other_account(item: ConfigurationItem) -> str | None:
    """The one other account that alone may assume this role, else None."""
    accounts: set[str] = set()
    for _, statement in _allow_statements(get(item, CONF + "AssumeRolePolicyDocument")):
        principal = statement.get("Principal")
        if not isinstance(principal, dict) or set(principal) != {"AWS"}:
            return None
        for value in as_list(principal["AWS"]):
            match = _ACCOUNT_PRINCIPAL.match(str(value).strip())
            if not match:
                return None
            accounts.add(match.group(1))
    if len(accounts) == 1 and item.accountId not in accounts:
        return accounts.pop()
    return None


@rule(
    "iam-inline-policy-blocked-kms-actions",
    aws_identifier="IAM_INLINE_POLICY_BLOCKED_KMS_ACTIONS",
    service="AWS IAM",
    resource_types=(
        GROUP,
        ROLE,
        USER,
    ),
    trigger="change",
    severity="high",
    compliant_when="Inline policies of IAM users/roles/groups do not allow the blocked KMS actions (pack: kms:*, kms:Decrypt, kms:ReEncrypt*) on all KMS keys.",
    parameters={"blockedActionsPatterns": ("str", "kms:*, kms:Decrypt, kms:ReEncrypt*"), "excludeRoleByManagementAccount": ("bool", None)},
)
def iam_inline_policy_blocked_kms_actions(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.resourceType not in INLINE_KEYS:
        return None
    documents = _inline_documents(item)
    hits = _blocked_kms(documents, _patterns(params))
    if not hits:
        return compliant("no inline policy allows a blocked KMS action on all KMS keys")
    if item.resourceType == ROLE and params.get("excludeRoleByManagementAccount"):
        other = _only_other_account(item)
        if other is not None:
            return insufficient(
                f"only account {other} can assume this role; phiwatch cannot tell whether it is the "
                "organization's management account (excludeRoleByManagementAccount)"
            )
    return non_compliant(f"an inline policy allows blocked KMS actions ({', '.join(hits)}) on all KMS keys")


@rule(
    "iam-no-inline-policy-check",
    aws_identifier="IAM_NO_INLINE_POLICY_CHECK",
    service="AWS IAM",
    resource_types=(
        USER,
        ROLE,
        GROUP,
    ),
    trigger="change",
    severity="low",
    compliant_when="The IAM user, role or group has no inline policy.",
    aws_runbook="AWSConfigRemediation-ReplaceIAMInlinePolicy",
)
def iam_no_inline_policy_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    key = INLINE_KEYS.get(item.resourceType)
    if key is None:
        return None
    count = len(get(item, CONF + key) or [])
    if count:
        return non_compliant(f"has {count} inline polic{'y' if count == 1 else 'ies'}")
    return compliant("no inline policy")


# -- users ------------------------------------------------------------------------------------------
@rule(
    "iam-user-no-policies-check",
    aws_identifier="IAM_USER_NO_POLICIES_CHECK",
    service="AWS IAM",
    resource_types=(USER,),
    trigger="change",
    severity="low",
    compliant_when="No IAM policy is attached directly to the IAM user (permissions come from groups/roles).",
    aws_runbook="AWSConfigRemediation-RemoveUserPolicies",
)
def iam_user_no_policies_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    attached = len(get(item, CONF + "attachedManagedPolicies") or [])
    inline = len(get(item, CONF + "userPolicyList") or [])
    if attached or inline:
        return non_compliant(f"policies attached directly to the user: {attached} managed, {inline} inline")
    return compliant("no policy attached directly to the user")


@rule(
    "iam-user-mfa-enabled",
    reads={CONF + "mfaDevices": "ListMFADevices"},
    aws_identifier="IAM_USER_MFA_ENABLED",
    service="AWS IAM",
    resource_types=(USER,),
    trigger="periodic",
    severity="high",
    compliant_when="MFA is enabled for every IAM user.",
)
def iam_user_mfa_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    devices = get(item, CONF + "mfaDevices") or []
    if devices:
        return compliant(f"{len(devices)} MFA device(s) enabled")
    return non_compliant("no MFA device enabled")


@rule(
    "mfa-enabled-for-iam-console-access",
    reads={CONF + "loginProfile": "GetLoginProfile"},
    aws_identifier="MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
    service="AWS IAM",
    resource_types=(USER,),
    trigger="periodic",
    severity="high",
    compliant_when="MFA is enabled for every IAM user that has a console password.",
)
def mfa_enabled_for_iam_console_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if get(item, CONF + "loginProfile") is None:
        return not_applicable("no console password")
    if not has(item, CONF + "mfaDevices"):
        failed = _failed(item, ["ListMFADevices"])
        return insufficient(describe_failure(item, failed)) if failed else None
    if get(item, CONF + "mfaDevices"):
        return compliant("console password with MFA enabled")
    return non_compliant("console password without MFA")


@rule(
    "access-keys-rotated",
    reads={CONF + "accessKeys": "ListAccessKeys"},
    aws_identifier="ACCESS_KEYS_ROTATED",
    service="AWS IAM",
    resource_types=(USER,),
    trigger="periodic",
    severity="high",
    compliant_when="Every active IAM access key has been rotated within maxAccessKeyAge days (pack: 90).",
    parameters={"maxAccessKeyAge": ("int", 90)},
    remediation="phiwatch-DeactivateOldAccessKeys",
)
def access_keys_rotated(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    max_age = params.get("maxAccessKeyAge")
    max_age = 90 if max_age is None else max_age
    active = [k for k in get(item, CONF + "accessKeys") or [] if k.get("Status") == "Active"]
    if not active:
        return compliant("no active access key")
    old, unknown = [], []
    for key in active:
        age = _age_days(key.get("CreateDate"), ctx.now)
        if age is None:
            unknown.append(key.get("AccessKeyId"))
        elif age > max_age:
            old.append(f"{key.get('AccessKeyId')} ({int(age)} days)")
    if old:
        return non_compliant(f"active access key(s) older than {max_age} days: {', '.join(old)}")
    if unknown:
        return insufficient(f"creation date unknown for access key(s) {', '.join(map(str, unknown))}")
    return compliant(f"{len(active)} active access key(s), all created within {max_age} days")


@rule(
    "iam-user-unused-credentials-check",
    reads={CONF + "loginProfile": "GetLoginProfile", CONF + "accessKeys": "ListAccessKeys"},
    aws_identifier="IAM_USER_UNUSED_CREDENTIALS_CHECK",
    service="AWS IAM",
    resource_types=(USER,),
    trigger="periodic",
    severity="high",
    compliant_when="IAM user passwords and active access keys have been used within maxCredentialUsageAge days (pack: 90).",
    parameters={"maxCredentialUsageAge": ("int", 90)},
    remediation="phiwatch-DeactivateOldAccessKeys",
    aws_runbook="AWSConfigRemediation-RevokeUnusedIAMUserCredentials",
)
def iam_user_unused_credentials_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    max_age = params.get("maxCredentialUsageAge")
    max_age = 90 if max_age is None else max_age
    unused: list[str] = []
    unknown: list[str] = []  # failed APIs that hide when a credential was last used
    checked = 0

    login = get(item, CONF + "loginProfile")
    if login is not None:
        checked += 1
        created = login.get("CreateDate") or get(item, CONF + "CreateDate")
        created_age = _age_days(created, ctx.now)
        if created_age is None or created_age > max_age:  # old enough for last use to matter
            if not has(item, CONF + "PasswordLastUsed"):
                unknown.extend(_failed(item, ["ListUsers"]) or ["ListUsers"])
            else:
                age = _age_days(_latest(get(item, CONF + "PasswordLastUsed"), created), ctx.now)
                if age is None or age > max_age:
                    unused.append("console password" + ("" if age is None else f" ({int(age)} days)"))

    for key in get(item, CONF + "accessKeys") or []:
        if key.get("Status") != "Active":
            continue
        checked += 1
        created_age = _age_days(key.get("CreateDate"), ctx.now)
        if created_age is not None and created_age <= max_age:
            continue
        if "LastUsedDate" not in key:
            unknown.extend(_failed(item, ["GetAccessKeyLastUsed"]) or ["GetAccessKeyLastUsed"])
            continue
        age = _age_days(_latest(key.get("LastUsedDate"), key.get("CreateDate")), ctx.now)
        if age is None or age > max_age:
            unused.append(f"access key {key.get('AccessKeyId')}" + ("" if age is None else f" ({int(age)} days)"))

    if unused:
        return non_compliant(f"not used within {max_age} days: {', '.join(unused)}")
    if unknown:
        return insufficient(describe_failure(item, unknown))
    if not checked:
        return compliant("no console password or active access key")
    return compliant(f"every credential used (or created) within {max_age} days")


# -- the account (region global) ----------------------------------------------------------------
def _root_row(item: ConfigurationItem) -> dict[str, Any] | None:
    for row in get(item, CONF + "iamCredentialReport") or []:
        if isinstance(row, dict) and row.get("user") == ROOT_ROW:
            return row
    return None


ROOT_APIS = ("GetAccountSummary", "GenerateCredentialReport", "GetCredentialReport")


def _root_unknown(item: ConfigurationItem) -> Result | None:
    """INSUFFICIENT_DATA when the root user's settings could not be read; None when not collected."""
    failed = _failed(item, ROOT_APIS)
    return insufficient(describe_failure(item, failed)) if failed else None


def _root_mfa(item: ConfigurationItem) -> bool | None:
    summary = get(item, CONF + "iamAccountSummary")
    if isinstance(summary, dict) and "AccountMFAEnabled" in summary:
        return int(summary["AccountMFAEnabled"] or 0) > 0
    row = _root_row(item)
    if row is not None and "mfa_active" in row:
        return row["mfa_active"] == "true"
    return None


def _root_keys(item: ConfigurationItem) -> bool | None:
    summary = get(item, CONF + "iamAccountSummary")
    if isinstance(summary, dict) and "AccountAccessKeysPresent" in summary:
        return int(summary["AccountAccessKeysPresent"] or 0) > 0
    row = _root_row(item)
    if row is None or not any(f"access_key_{n}_active" in row for n in (1, 2)):
        return None
    return any(
        row.get(f"access_key_{n}_active") == "true" or row.get(f"access_key_{n}_last_rotated") not in (None, "", "N/A", "not_supported")
        for n in (1, 2)
    )


@rule(
    "iam-root-access-key-check",
    aws_identifier="IAM_ROOT_ACCESS_KEY_CHECK",
    service="AWS IAM",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="critical",
    compliant_when="The root user has no access key.",
)
def iam_root_access_key_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.awsRegion != GLOBAL_REGION:
        return None
    present = _root_keys(item)
    if present is None:
        return _root_unknown(item)
    if present:
        return non_compliant("the root user has an access key")
    return compliant("the root user has no access key")


@rule(
    "root-account-mfa-enabled",
    aws_identifier="ROOT_ACCOUNT_MFA_ENABLED",
    service="AWS IAM",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="critical",
    compliant_when="MFA is enabled for the root user.",
)
def root_account_mfa_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.awsRegion != GLOBAL_REGION:
        return None
    enabled = _root_mfa(item)
    if enabled is None:
        return _root_unknown(item)
    return compliant("MFA is enabled for the root user") if enabled else non_compliant("MFA is not enabled for the root user")


def _is_root_device(device: dict[str, Any]) -> bool:
    return str(device.get("UserArn") or "").endswith(":root") or str(device.get("SerialNumber") or "").endswith("/root-account-mfa-device")


@rule(
    "root-account-hardware-mfa-enabled",
    aws_identifier="ROOT_ACCOUNT_HARDWARE_MFA_ENABLED",
    service="AWS IAM",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="critical",
    compliant_when="The root user signs in with a hardware MFA device (no virtual MFA device permitted).",
)
def root_account_hardware_mfa_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.awsRegion != GLOBAL_REGION:
        return None
    enabled = _root_mfa(item)
    if enabled is None:
        return _root_unknown(item)
    if not enabled:
        return non_compliant("MFA is not enabled for the root user")
    if not has(item, CONF + "iamVirtualMfaDevices"):
        failed = _failed(item, ["ListVirtualMFADevices"])
        return insufficient(describe_failure(item, failed)) if failed else None
    if any(_is_root_device(d) for d in get(item, CONF + "iamVirtualMfaDevices") or [] if isinstance(d, dict)):
        return non_compliant("the root user signs in with a virtual MFA device")
    return compliant("the root user's MFA is a hardware device (no virtual MFA device assigned)")


@rule(
    "iam-password-policy",
    reads={CONF + "iamPasswordPolicy": "GetAccountPasswordPolicy"},
    aws_identifier="IAM_PASSWORD_POLICY",
    service="AWS IAM",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="high",
    compliant_when="The account password policy meets the pack values: min length 14, upper/lower/number/symbol required, reuse prevention 24, max age 90 days.",
    parameters={
        "RequireUppercaseCharacters": ("bool", True),
        "RequireLowercaseCharacters": ("bool", True),
        "RequireSymbols": ("bool", True),
        "RequireNumbers": ("bool", True),
        "MinimumPasswordLength": ("int", 14),
        "PasswordReusePrevention": ("int", 24),
        "MaxPasswordAge": ("int", 90),
    },
    remediation="phiwatch-SetIamPasswordPolicy",
    aws_runbook="AWSConfigRemediation-SetIAMPasswordPolicy",
)
def iam_password_policy(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    policy = get(item, CONF + "iamPasswordPolicy")
    if not policy:
        return non_compliant("the account has no IAM password policy")
    gaps: list[str] = []
    for name in ("RequireUppercaseCharacters", "RequireLowercaseCharacters", "RequireSymbols", "RequireNumbers"):
        if params.get(name) and not policy.get(name):
            gaps.append(f"{name} off")
    minimum = params.get("MinimumPasswordLength")
    if minimum is not None and (policy.get("MinimumPasswordLength") or 0) < minimum:
        gaps.append(f"MinimumPasswordLength {policy.get('MinimumPasswordLength') or 0} < {minimum}")
    reuse = params.get("PasswordReusePrevention")
    if reuse is not None and (policy.get("PasswordReusePrevention") or 0) < reuse:
        gaps.append(f"PasswordReusePrevention {policy.get('PasswordReusePrevention') or 'off'} < {reuse}")
    max_age = params.get("MaxPasswordAge")
    if max_age is not None:
        actual = policy.get("MaxPasswordAge")
        if not actual or not policy.get("ExpirePasswords", True):
            gaps.append(f"passwords never expire (MaxPasswordAge must be <= {max_age})")
        elif actual > max_age:
            gaps.append(f"MaxPasswordAge {actual} > {max_age}")
    if gaps:
        return non_compliant("password policy: " + "; ".join(gaps))
    return compliant("password policy meets every required setting")


@rule(
    "iam-access-keys-rotated-yearly",
    reads={"configuration.accessKeys": "ListAccessKeys"},
    service="AWS IAM",
    resource_types=(USER,),
    trigger="periodic",
    severity="medium",
    compliant_when="Every active access key of the user is younger than maxAccessKeyAge days (default 365).",
    parameters={"maxAccessKeyAge": ("int", 365)},
)
def iam_access_keys_rotated_yearly(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """access-keys-rotated with a yearly ceiling (maxAccessKeyAge, default 365 days)."""
    return access_keys_rotated(item, params, ctx)


# -- AWS Config managed rules on attachments and memberships ---------------------------------------
#: what GetAccountAuthorizationDetails' failure leaves unknown (recorded on the global account item)
AUTHORIZATION_API = "GetAccountAuthorizationDetails"
NAME_KEYS = {USER: "UserName", GROUP: "GroupName", ROLE: "RoleName"}


def _listing_failed(account_id: str, ctx: RuleContext) -> Result | None:
    """INSUFFICIENT_DATA when the users, groups and roles of the account were not all listed."""
    for account in ctx.items(ACCOUNT_TYPE, account_id=account_id, region=GLOBAL_REGION):
        if AUTHORIZATION_API in account.failed_apis():
            return insufficient(describe_failure(account, [AUTHORIZATION_API]))
    return None


def _attached_arns(item: ConfigurationItem) -> set[str]:
    return {str(p["PolicyArn"]) for p in get(item, CONF + "attachedManagedPolicies") or [] if isinstance(p, dict) and p.get("PolicyArn")}


def _members(group: ConfigurationItem, ctx: RuleContext) -> list[str]:
    name = get(group, CONF + "GroupName") or group.resourceName
    return [
        u.resourceName or u.resourceId for u in ctx.items(USER, account_id=group.accountId) if name in (get(u, CONF + "groupList") or [])
    ]


@rule(
    "iam-group-has-users-check",
    reads={},
    aws_identifier="IAM_GROUP_HAS_USERS_CHECK",
    service="AWS IAM",
    resource_types=(GROUP,),
    trigger="change",
    severity="low",
    compliant_when="The IAM group has at least one IAM user.",
)
def iam_group_has_users_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Members are the users whose ``groupList`` names the group (the same listing as the group's)."""
    members = _members(item, ctx)
    if members:
        return compliant(f"the group has {len(members)} user(s)")
    return _listing_failed(item.accountId, ctx) or non_compliant("the group has no user")


def exception_names(value: Any) -> dict[str, set[str]]:
    """exceptionList ``users:[a;b], groups:[c], roles:[d;e]`` as ``{"users": {...}, "groups": {...}, "roles": {...}}``."""
    out: dict[str, set[str]] = {"users": set(), "groups": set(), "roles": set()}
    for kind, names in re.findall(r"(users|groups|roles)\s*:\s*\[([^\]]*)\]", str(value or ""), flags=re.IGNORECASE):
        out[kind.lower()].update(n.strip() for n in names.split(";") if n.strip())
    return out


EXCEPTION_KINDS = {USER: "users", GROUP: "groups", ROLE: "roles"}


@rule(
    "iam-policy-blacklisted-check",
    reads={},
    aws_identifier="IAM_POLICY_BLACKLISTED_CHECK",
    service="AWS IAM",
    resource_types=(USER, GROUP, ROLE),
    trigger="change",
    severity="high",
    compliant_when="None of the managed policies in policyArns (default AdministratorAccess) is attached to the IAM user, group or role.",
    parameters={"policyArns": ("str", "arn:aws:iam::aws:policy/AdministratorAccess"), "exceptionList": ("str", None)},
)
def iam_policy_blacklisted_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """exceptionList names resources (not ARNs) as ``users:[a;b], groups:[c], roles:[d]``: a listed
    resource is NOT_APPLICABLE. An empty policyArns judges nothing."""
    blocked = csv_list(params.get("policyArns"))
    if not blocked:
        return None
    name = get(item, CONF + NAME_KEYS[item.resourceType]) or item.resourceName
    if name in exception_names(params.get("exceptionList"))[EXCEPTION_KINDS[item.resourceType]]:
        return not_applicable(f"{name} is in exceptionList")
    attached = sorted(_attached_arns(item) & set(blocked))
    if attached:
        return non_compliant(f"blocked policy attached: {', '.join(attached)}")
    return compliant("none of policyArns is attached")


@rule(
    "iam-role-managed-policy-check",
    reads={},
    aws_identifier="IAM_ROLE_MANAGED_POLICY_CHECK",
    service="AWS IAM",
    resource_types=(ROLE,),
    trigger="change",
    severity="low",
    compliant_when="Every managed policy in managedPolicyArns is attached to the IAM role.",
    parameters={"managedPolicyArns": ("str", REQUIRED)},
)
def iam_role_managed_policy_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """managedPolicyArns is required: the rule does not run without it. AWS's page speaks of AWS managed
    policies; a customer managed policy's ARN is checked the same way."""
    wanted = csv_list(params.get("managedPolicyArns"))
    if not wanted:
        return None
    missing = [arn for arn in wanted if arn not in _attached_arns(item)]
    if missing:
        return non_compliant(f"not attached: {', '.join(missing)}")
    return compliant("every policy of managedPolicyArns is attached")


@rule(
    "iam-user-group-membership-check",
    reads={},
    aws_identifier="IAM_USER_GROUP_MEMBERSHIP_CHECK",
    service="AWS IAM",
    resource_types=(USER,),
    trigger="change",
    severity="low",
    compliant_when="The IAM user is a member of at least one IAM group (of one of groupNames when that parameter is set).",
    parameters={"groupNames": ("str", None)},
)
def iam_user_group_membership_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """groupNames is read as the groups a user may belong to: membership of any one of them is enough."""
    groups = list(get(item, CONF + "groupList") or [])
    wanted = csv_list(params.get("groupNames"))
    if not groups:
        return non_compliant("the user is in no IAM group")
    if wanted and not set(groups) & set(wanted):
        return non_compliant(f"the user is in none of groupNames ({', '.join(wanted)})")
    return compliant(f"the user is in group(s) {', '.join(sorted(groups)[:5])}")


POLICY_USAGE_TYPES = {"IAM_USER": (USER,), "IAM_GROUP": (GROUP,), "IAM_ROLE": (ROLE,), "ANY": (USER, GROUP, ROLE)}


def _trusts_someone(role: ConfigurationItem) -> bool:
    document = get(role, CONF + "AssumeRolePolicyDocument") or {}
    return any(
        isinstance(st, dict) and st.get("Effect") == "Allow" and st.get("Principal")
        for st in as_list(document.get("Statement") if isinstance(document, dict) else None)
    )


@rule(
    "iam-policy-in-use",
    reads={},
    aws_identifier="IAM_POLICY_IN_USE",
    service="AWS IAM",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="low",
    compliant_when=(
        "The managed policy policyARN is attached to an IAM user, to a group with at least one user, or to a role with "
        "at least one trusted entity (only the kind policyUsageType names, default ANY)."
    ),
    parameters={"policyARN": ("str", REQUIRED), "policyUsageType": ("str", None)},
)
def iam_policy_in_use(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Judged once per account, on the global account item (IAM is global). policyARN is required:
    the rule does not run without it; policyUsageType is compared without regard to case."""
    policy = (params.get("policyARN") or "").strip()
    if item.awsRegion != GLOBAL_REGION or not policy:
        return None
    if not any(key.startswith("iam") for key in item.configuration) and AUTHORIZATION_API not in item.failed_apis():
        return None  # IAM was not collected
    usage = (params.get("policyUsageType") or "ANY").strip().upper()
    if usage not in POLICY_USAGE_TYPES:
        return insufficient(f"could not check: policyUsageType {usage} is not one of {', '.join(POLICY_USAGE_TYPES)}")
    for resource_type in POLICY_USAGE_TYPES[usage]:
        for entity in ctx.items(resource_type, account_id=item.accountId):
            if policy not in _attached_arns(entity):
                continue
            if resource_type == GROUP and not _members(entity, ctx):
                continue
            if resource_type == ROLE and not _trusts_someone(entity):
                continue
            kind = resource_type.rsplit("::", 1)[-1].lower()
            return compliant(f"the policy is in use by {kind} {entity.resourceName or entity.resourceId}")
    failed = _listing_failed(item.accountId, ctx)
    if failed is not None:
        return failed
    return non_compliant("the policy is not attached to any user, group with users, or role with a trusted entity")
