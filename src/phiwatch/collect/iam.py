"""IAM: users, groups, roles, customer managed policies, and the account's IAM settings.

IAM is global: every item is in region ``global`` (:data:`GLOBAL_REGION`), as AWS Config records
it. Users, groups, roles and customer managed policies come from ONE paginated
``GetAccountAuthorizationDetails`` listing (filter User, Role, Group, LocalManagedPolicy); per user
only what that listing does not give is asked for (access keys and their last use, MFA devices,
login profile), plus one ``ListUsers`` listing for ``PasswordLastUsed``.

The credential report answers the per-user questions whose answer is "none": when AWS has a report
ready by the time the users are listed (it is asked for first and asked again just before; AWS keeps
one for four hours), a user whose row says no access
key, no active MFA device or no password is not asked ``ListAccessKeys``, ``ListMFADevices`` or
``GetLoginProfile`` (``[]``, ``[]``, ``None``). Whatever exists is still read from its own call, for
the ids, serial numbers and dates the report lacks. A user without a row (created after the
report), or whose row has another ARN or creation time (deleted and created again), is asked
everything. So a key, device or password added after the report was generated is seen by the
first collection after AWS's next report, as with AWS's own credential-report checks.

Policy documents are decoded JSON objects (dicts) everywhere, never url-encoded strings.
Tags are on ``item.tags`` (a dict), not in ``configuration``.

``AWS::IAM::User`` (resourceId = ``UserId``, resourceName = ``UserName``, arn = the user's ARN).
``configuration`` is the ``UserDetailList`` element (``Path``, ``UserName``, ``UserId``, ``Arn``,
``CreateDate``, ``PermissionsBoundary`` (``None`` when there is none)) plus:

* ``PasswordLastUsed``: ISO time or ``None`` (never used / no password); absent when ListUsers failed
* ``groupList``: group names
* ``attachedManagedPolicies``: ``[{"PolicyName", "PolicyArn"}]`` (AWS and customer managed)
* ``userPolicyList``: inline policies ``[{"PolicyName", "PolicyDocument": {...}}]``
* ``accessKeys``: ``[{"AccessKeyId", "Status", "CreateDate", "LastUsedDate", "LastUsedService",
  "LastUsedRegion"}]``; ``LastUsedDate`` / ``LastUsedService`` / ``LastUsedRegion`` are ``None``
  when the key was never used, and absent from a key when GetAccessKeyLastUsed failed for it
* ``mfaDevices``: ListMFADevices' ``[{"UserName", "SerialNumber", "EnableDate"}]`` (``[]`` = no MFA)
* ``loginProfile``: ``{"UserName", "CreateDate", "PasswordResetRequired"}``, or ``None`` when the
  user has no console password

``AWS::IAM::Group`` (resourceId = ``GroupId``): ``Path``, ``GroupName``, ``GroupId``, ``Arn``,
``CreateDate``, ``groupPolicyList`` (inline, decoded), ``attachedManagedPolicies``.

``AWS::IAM::Role`` (resourceId = ``RoleId``): ``Path``, ``RoleName``, ``RoleId``, ``Arn``,
``CreateDate``, ``AssumeRolePolicyDocument`` (decoded), ``RoleLastUsed`` (``{}`` when never used),
``PermissionsBoundary`` (or ``None``), ``InstanceProfileList`` (each profile's ``Roles`` reduced to
``{"RoleName", "RoleId", "Arn"}``), ``rolePolicyList`` (inline, decoded), ``attachedManagedPolicies``.

``AWS::IAM::Policy``, customer managed policies only (resourceId = ``PolicyId``): ``PolicyName``,
``PolicyId``, ``Arn``, ``Path``, ``DefaultVersionId``, ``AttachmentCount``,
``PermissionsBoundaryUsageCount``, ``IsAttachable``, ``Description``, ``CreateDate``, ``UpdateDate``,
``policyVersionList`` (``[{"VersionId", "IsDefaultVersion", "CreateDate", "Document": {...}}]``),
``defaultPolicyDocument`` (the default version's document). AWS managed policies are not items.
Policy tags are not collected (they would cost one call per policy).

Relationships (AWS Config's names, ``resourceId`` ``None``): user -> group ``Is attached to Group``;
user/group/role -> customer managed policy ``Is attached to CustomerManagedPolicy``.

The ``AWS::::Account`` item in region ``global`` gets:

* ``iamPasswordPolicy``: GetAccountPasswordPolicy's ``PasswordPolicy``, or ``None`` when the
  account has no password policy
* ``iamAccountSummary``: GetAccountSummary's ``SummaryMap`` (``AccountMFAEnabled``,
  ``AccountAccessKeysPresent``, counts and quotas)
* ``iamCredentialReport``: the credential report as a list of dicts, one per row including the
  ``<root_account>`` row when AWS gives it, with only the documented columns
  (:data:`CREDENTIAL_REPORT_COLUMNS`), values as AWS writes them (strings: ``"true"``/``"false"``,
  ISO times, ``"N/A"``, ``"no_information"``, ``"not_supported"``)
* ``iamCredentialReportGeneratedTime``: when AWS generated that report
* ``iamVirtualMfaDevices``: ListVirtualMFADevices(AssignmentStatus=Assigned) reduced to
  ``[{"SerialNumber", "UserArn", "EnableDate"}]`` (``UserArn`` ends in ``:root`` for the root
  user's virtual device); never the seed or QR code

A key that is absent means the call failed (see ``collectionErrors``); ``None`` means "not configured".
When GetAccountAuthorizationDetails failed, its error is also on the global account item: the users,
groups and roles recorded are then not all of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import unquote

from phiwatch.aws.session import iam_action_for
from phiwatch.collect.base import (
    FAILED,
    GLOBAL_REGION,
    CollectContext,
    Collector,
    ListFailed,
    register,
    tags_from_list,
)
from phiwatch.model import ACCOUNT_TYPE, CollectionError, ConfigurationItem
from phiwatch.resources.iam import GROUP, POLICY, ROLE, USER

AUTHORIZATION_FILTER = ["User", "Role", "Group", "LocalManagedPolicy"]

#: Credential report columns kept (AWS's documented columns; anything else is dropped).
CREDENTIAL_REPORT_COLUMNS: tuple[str, ...] = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)

ROOT_ACCOUNT_ROW = "<root_account>"


# -- pure helpers ---------------------------------------------------------------------------
def decode_document(value: Any) -> Any:
    """A policy document as a dict (boto3 already decodes them; url-encoded JSON strings too)."""
    if isinstance(value, str):
        for text in (value, unquote(value)):
            try:
                return json.loads(text)
            except ValueError:
                continue
    return value


def parse_credential_report(content: str | bytes | None) -> list[dict[str, str]]:
    """The credential report CSV as one dict per row, keeping only :data:`CREDENTIAL_REPORT_COLUMNS`."""
    if content is None:
        return []
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    reader = csv.DictReader(io.StringIO(content))
    return [{col: row[col] for col in CREDENTIAL_REPORT_COLUMNS if row.get(col) is not None} for row in reader]


def report_row_of(rows: dict[str, dict[str, str]] | None, user: dict[str, Any]) -> dict[str, str] | None:
    """The credential report's row of ``user`` (a UserDetailList element), or None when the report
    is missing, has no row for the user (created after it), or has the row of another user of the
    same name (deleted and created again: other ARN or creation time)."""
    row = (rows or {}).get(user.get("UserName", ""))
    if row is None or row.get("arn") != user.get("Arn"):
        return None
    try:  # the items keep times as ISO strings; the report writes whole seconds
        created = _as_time(user.get("CreateDate"))
        reported = _as_time(row.get("user_creation_time"))
    except (TypeError, ValueError):
        return None
    return row if abs((reported - created).total_seconds()) < 1 else None


def _as_time(value: Any) -> dt.datetime:
    """An aware datetime from a datetime or an ISO 8601 string (ValueError or TypeError otherwise)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _has_access_keys(row: dict[str, str]) -> bool:
    """False only when the row says the user has neither access key (both "last rotated" N/A)."""
    return any(row.get(f"access_key_{n}_last_rotated", "N/A") != "N/A" or row.get(f"access_key_{n}_active") == "true" for n in (1, 2))


def is_aws_managed(policy_arn: str) -> bool:
    return ":iam::aws:policy/" in policy_arn


def _inline(policies: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"PolicyName": p.get("PolicyName"), "PolicyDocument": decode_document(p.get("PolicyDocument"))} for p in policies or []]


def _not_applicable(value: Any) -> Any:
    """GetAccessKeyLastUsed answers "N/A" for a key never used: store None."""
    return None if value in (None, "", "N/A") else value


def _policy_relationships(attached: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": POLICY,
            "resourceId": None,
            "resourceName": p.get("PolicyName"),
            "relationshipName": "Is attached to CustomerManagedPolicy",
        }
        for p in attached
        if not is_aws_managed(p.get("PolicyArn", ""))
    ]


def _without(element: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in element.items() if k not in keys}


# -- the collector --------------------------------------------------------------------------
@register
class IamCollector(Collector):
    name = "iam"
    resource_types = (USER, GROUP, ROLE, POLICY)
    global_service = True

    #: longest wait, in seconds, for AWS to finish generating the credential report
    credential_report_wait: ClassVar[float] = 60.0
    #: page size of GetAccountAuthorizationDetails (AWS maximum 1000)
    authorization_page_size: ClassVar[int] = 1000

    targetable = frozenset({ACCOUNT_TYPE, USER, GROUP, ROLE, POLICY})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.only is not None:
            yield from self._targeted(ctx)
            return
        account = ctx.account_item(GLOBAL_REGION)
        # Ask for the credential report first: AWS builds it while we list everything else.
        report = _CredentialReport(ctx, account, self.credential_report_wait)
        report.start()
        self._password_policy(ctx, account)
        self._account_summary(ctx, account)
        self._virtual_mfa_devices(ctx, account)
        password_last_used, list_users_errors = self._password_last_used(ctx)
        names = _PolicyNames(ctx)
        rows = report.user_rows()
        try:
            for page in self._authorization_pages(ctx):
                for group in ctx.identified(
                    "iam", "GetAccountAuthorizationDetails", page.get("GroupDetailList"), "GroupId", resource_type=GROUP
                ):
                    yield self._group(ctx, group)
                for role in ctx.identified(
                    "iam", "GetAccountAuthorizationDetails", page.get("RoleDetailList"), "RoleId", resource_type=ROLE
                ):
                    yield self._role(ctx, role)
                for policy in page.get("Policies") or []:
                    if is_aws_managed(policy.get("Arn", "")):
                        continue
                    policy = names.complete(policy)
                    if policy is not None:
                        yield self._policy(ctx, policy)
                users = ctx.identified(
                    "iam", "GetAccountAuthorizationDetails", page.get("UserDetailList"), ("UserId", "UserName"), resource_type=USER
                )
                yield from ctx.map(lambda u: self._user(ctx, u, password_last_used, list_users_errors, rows), users)
        except ListFailed:
            # recorded by ctx.call; no type was listed completely, and the account-level rules that
            # look at every user, group and role (iam-policy-in-use) say "could not check"
            account.collectionErrors.append(ctx.errors[-1].to_dict())
        else:
            ctx.mark_complete(USER, GROUP, ROLE)
            if not names.failed:
                ctx.mark_complete(POLICY)
        report.finish()
        yield account

    def _targeted(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        """Only the wanted users, groups, roles and policies (a listing of just their kinds, no
        per-user calls for others) and the account settings only when asked for."""
        account = ctx.account_item(GLOBAL_REGION)
        report = _CredentialReport(ctx, account, self.credential_report_wait)
        if ctx.wants(ACCOUNT_TYPE):
            report.start()
            self._password_policy(ctx, account)
            self._account_summary(ctx, account)
            self._virtual_mfa_devices(ctx, account)
        kinds = {k: t for k, t in zip(AUTHORIZATION_FILTER, (USER, ROLE, GROUP, POLICY)) if ctx.wants(t)}
        if kinds:
            password_last_used, list_users_errors = self._password_last_used(ctx) if USER in kinds.values() else (None, [])
            names = _PolicyNames(ctx)
            try:
                for page in self._authorization_pages(ctx, list(kinds)):
                    for group in ctx.identified(
                        "iam", "GetAccountAuthorizationDetails", page.get("GroupDetailList"), "GroupId", resource_type=GROUP
                    ):
                        if ctx.selected(GROUP, group.get("GroupId"), group.get("GroupName"), group.get("Arn")):
                            yield self._group(ctx, group)
                    for role in ctx.identified(
                        "iam", "GetAccountAuthorizationDetails", page.get("RoleDetailList"), "RoleId", resource_type=ROLE
                    ):
                        if ctx.selected(ROLE, role.get("RoleId"), role.get("RoleName"), role.get("Arn")):
                            yield self._role(ctx, role)
                    for policy in page.get("Policies") or []:
                        if is_aws_managed(policy.get("Arn", "")):
                            continue
                        policy = names.complete(policy)  # no call unless PolicyId/PolicyName are missing (moto)
                        if policy is not None and ctx.selected(POLICY, policy.get("PolicyId"), policy.get("PolicyName"), policy.get("Arn")):
                            yield self._policy(ctx, policy)
                    users = [
                        u
                        for u in ctx.identified(
                            "iam", "GetAccountAuthorizationDetails", page.get("UserDetailList"), ("UserId", "UserName"), resource_type=USER
                        )
                        if ctx.selected(USER, u.get("UserId"), u.get("UserName"), u.get("Arn"))
                    ]
                    yield from ctx.map(lambda u: self._user(ctx, u, password_last_used, list_users_errors), users)
            except ListFailed:
                pass
            else:
                ctx.mark_complete(*(t for t in kinds.values() if t != POLICY))
                if POLICY in kinds.values() and not names.failed:
                    ctx.mark_complete(POLICY)
        if ctx.wants(ACCOUNT_TYPE):
            report.finish()
            yield account

    # -- account settings -------------------------------------------------------------------
    def _password_policy(self, ctx: CollectContext, account: ConfigurationItem) -> None:
        response = ctx.call("iam", "GetAccountPasswordPolicy", item=account, not_found=("NoSuchEntity",), absent={})
        if response is not FAILED:
            account.configuration["iamPasswordPolicy"] = response.get("PasswordPolicy")

    def _account_summary(self, ctx: CollectContext, account: ConfigurationItem) -> None:
        response = ctx.call("iam", "GetAccountSummary", item=account)
        if response is not FAILED:
            account.configuration["iamAccountSummary"] = response.get("SummaryMap", {})

    def _virtual_mfa_devices(self, ctx: CollectContext, account: ConfigurationItem) -> None:
        """Assigned virtual MFA devices (for root-account-hardware-mfa-enabled): serial and user ARN only."""
        try:
            devices = [
                {
                    "SerialNumber": d.get("SerialNumber"),
                    "UserArn": (d.get("User") or {}).get("Arn"),
                    "EnableDate": d.get("EnableDate"),
                }
                for d in ctx.paginate("iam", "ListVirtualMFADevices", "VirtualMFADevices", item=account, AssignmentStatus="Assigned")
            ]
        except ListFailed:
            return  # recorded on the account item: the key stays absent
        account.configuration["iamVirtualMfaDevices"] = devices

    # -- listings ---------------------------------------------------------------------------
    def _password_last_used(self, ctx: CollectContext) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """UserId -> PasswordLastUsed (None if never), or (None, errors) when ListUsers failed."""
        before = len(ctx.errors)
        try:
            return {
                u["UserId"]: u.get("PasswordLastUsed")
                for u in ctx.paginate("iam", "ListUsers", "Users", resource_type=USER, id_key="UserId")
            }, []
        except ListFailed:
            return None, [e.to_dict() for e in ctx.errors[before:]]

    def _authorization_pages(self, ctx: CollectContext, kinds: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Pages of GetAccountAuthorizationDetails; raises :class:`ListFailed` when a page fails."""
        marker: str | None = None
        while True:
            params: dict[str, Any] = {"Filter": kinds or AUTHORIZATION_FILTER, "MaxItems": self.authorization_page_size}
            if marker:
                params["Marker"] = marker
            page = ctx.call("iam", "GetAccountAuthorizationDetails", **params)
            if page is FAILED:
                raise ListFailed("iam:GetAccountAuthorizationDetails")
            yield page
            marker = page.get("Marker")
            if not page.get("IsTruncated") or not marker:
                return

    # -- items ------------------------------------------------------------------------------
    def _user(
        self,
        ctx: CollectContext,
        element: dict[str, Any],
        password_last_used: dict[str, Any] | None,
        list_users_errors: list[dict[str, Any]],
        report_rows: dict[str, dict[str, str]] | None = None,
    ) -> ConfigurationItem:
        name = element["UserName"]
        attached = element.get("AttachedManagedPolicies") or []
        groups = element.get("GroupList") or []
        configuration = _without(element, "UserPolicyList", "GroupList", "AttachedManagedPolicies", "Tags")
        configuration.setdefault("PermissionsBoundary", None)
        configuration.update(groupList=groups, attachedManagedPolicies=attached, userPolicyList=_inline(element.get("UserPolicyList")))
        item = ctx.item(
            USER,
            element["UserId"],
            resourceName=name,
            arn=element.get("Arn"),
            configuration=configuration,
            tags=tags_from_list(element.get("Tags")),
            relationships=[
                {"resourceType": GROUP, "resourceId": None, "resourceName": g, "relationshipName": "Is attached to Group"} for g in groups
            ]
            + _policy_relationships(attached),
        )
        if password_last_used is None:
            item.collectionErrors.extend(list_users_errors)
        else:
            configuration["PasswordLastUsed"] = password_last_used.get(element["UserId"])
        row = report_row_of(report_rows, element)
        if row is not None and not _has_access_keys(row):
            configuration["accessKeys"] = []
        else:
            self._access_keys(ctx, item, name)
        if row is not None and row.get("mfa_active") == "false":
            configuration["mfaDevices"] = []
        else:
            mfa = ctx.call("iam", "ListMFADevices", item=item, UserName=name)
            if mfa is not FAILED:
                configuration["mfaDevices"] = mfa.get("MFADevices", [])
        if row is not None and row.get("password_enabled") == "false":
            configuration["loginProfile"] = None
        else:
            login = ctx.call("iam", "GetLoginProfile", item=item, not_found=("NoSuchEntity",), absent={}, UserName=name)
            if login is not FAILED:
                configuration["loginProfile"] = login.get("LoginProfile")
        item.refresh_state_id()
        return item

    def _access_keys(self, ctx: CollectContext, item: ConfigurationItem, name: str) -> None:
        listed = ctx.call("iam", "ListAccessKeys", item=item, UserName=name)
        if listed is FAILED:
            return
        keys = []
        for meta in listed.get("AccessKeyMetadata", []):
            key = {"AccessKeyId": meta.get("AccessKeyId"), "Status": meta.get("Status"), "CreateDate": meta.get("CreateDate")}
            used = ctx.call("iam", "GetAccessKeyLastUsed", item=item, AccessKeyId=meta.get("AccessKeyId"))
            if used is not FAILED:
                last = used.get("AccessKeyLastUsed") or {}
                key["LastUsedDate"] = last.get("LastUsedDate")
                key["LastUsedService"] = _not_applicable(last.get("ServiceName"))
                key["LastUsedRegion"] = _not_applicable(last.get("Region"))
            keys.append(key)
        item.configuration["accessKeys"] = keys

    def _group(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        attached = element.get("AttachedManagedPolicies") or []
        configuration = _without(element, "GroupPolicyList", "AttachedManagedPolicies")
        configuration.update(groupPolicyList=_inline(element.get("GroupPolicyList")), attachedManagedPolicies=attached)
        return ctx.item(
            GROUP,
            element["GroupId"],
            resourceName=element.get("GroupName"),
            arn=element.get("Arn"),
            configuration=configuration,
            relationships=_policy_relationships(attached),
        )

    def _role(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        attached = element.get("AttachedManagedPolicies") or []
        configuration = _without(element, "RolePolicyList", "AttachedManagedPolicies", "Tags")
        configuration["AssumeRolePolicyDocument"] = decode_document(element.get("AssumeRolePolicyDocument"))
        configuration.setdefault("PermissionsBoundary", None)
        configuration.setdefault("RoleLastUsed", {})
        configuration["InstanceProfileList"] = [
            {
                **_without(profile, "Roles", "Tags"),
                "Roles": [{k: r.get(k) for k in ("RoleName", "RoleId", "Arn")} for r in profile.get("Roles") or []],
            }
            for profile in element.get("InstanceProfileList") or []
        ]
        configuration.update(rolePolicyList=_inline(element.get("RolePolicyList")), attachedManagedPolicies=attached)
        return ctx.item(
            ROLE,
            element["RoleId"],
            resourceName=element.get("RoleName"),
            arn=element.get("Arn"),
            configuration=configuration,
            tags=tags_from_list(element.get("Tags")),
            relationships=_policy_relationships(attached),
        )

    def _policy(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        versions = [
            {
                "VersionId": v.get("VersionId"),
                "IsDefaultVersion": bool(v.get("IsDefaultVersion")),
                "CreateDate": v.get("CreateDate"),
                "Document": decode_document(v.get("Document")),
            }
            for v in element.get("PolicyVersionList") or []
        ]
        default = next(
            (v for v in versions if v["IsDefaultVersion"]),
            next((v for v in versions if v["VersionId"] == element.get("DefaultVersionId")), None),
        )
        configuration = _without(element, "PolicyVersionList")
        configuration["policyVersionList"] = versions
        configuration["defaultPolicyDocument"] = default["Document"] if default else None
        return ctx.item(
            POLICY,
            element["PolicyId"],
            resourceName=element.get("PolicyName"),
            arn=element.get("Arn"),
            configuration=configuration,
        )


class _PolicyNames:
    """PolicyName/PolicyId for policy details that lack them (moto leaves them out; AWS does not).

    Asked for lazily with one ``ListPolicies(Scope=Local)`` listing, so AWS never pays for it.
    """

    def __init__(self, ctx: CollectContext) -> None:
        self.ctx = ctx
        self.by_arn: dict[str, dict[str, Any]] | None = None
        self.failed = False

    def complete(self, element: dict[str, Any]) -> dict[str, Any] | None:
        """``element`` with PolicyName and PolicyId, or None when they cannot be learnt."""
        if element.get("PolicyId") and element.get("PolicyName"):
            return element
        if self.by_arn is None and not self.failed:
            try:
                self.by_arn = {
                    p["Arn"]: p
                    for p in self.ctx.paginate("iam", "ListPolicies", "Policies", resource_type=POLICY, id_key="Arn", Scope="Local")
                }
            except ListFailed:
                self.failed = True
        listed = (self.by_arn or {}).get(element.get("Arn", ""))
        if not listed or not listed.get("PolicyId"):
            self.failed = True
            return None
        return {"PolicyName": listed.get("PolicyName"), "PolicyId": listed["PolicyId"], **_without(element, "PolicyName", "PolicyId")}


class _CredentialReport:
    """GenerateCredentialReport, polled until COMPLETE within a bounded wait, then GetCredentialReport."""

    def __init__(self, ctx: CollectContext, account: ConfigurationItem, wait: float) -> None:
        self.ctx = ctx
        self.account = account
        self.wait = wait
        self.state: Any = FAILED
        self.started = 0.0
        self.fetched = False

    def _generate(self) -> Any:
        response = self.ctx.call("iam", "GenerateCredentialReport", item=self.account)
        return response if response is FAILED else response.get("State")

    def start(self) -> None:
        self.started = time.monotonic()
        self.state = self._generate()

    def user_rows(self) -> dict[str, dict[str, str]] | None:
        """The report's rows by user name when AWS has it ready now (it keeps one for four hours;
        a new one is often done by the time the account settings are read), fetched once; None
        when it is not ready: the users' own calls are made then, without waiting for it."""
        if self.state not in ("COMPLETE", FAILED) and not self.fetched:
            self.state = self._generate()
        if self.state == "COMPLETE" and not self.fetched:
            self._fetch()
        report = self.account.configuration.get("iamCredentialReport") if self.fetched else None
        if report is None:
            return None
        return {row["user"]: row for row in report if row.get("user") and row["user"] != ROOT_ACCOUNT_ROW}

    def finish(self) -> None:
        if self.fetched:
            return
        if self.state not in ("COMPLETE", FAILED):
            self.state = self._generate()  # the listings took a while: often done by now
        delay = 0.5
        while self.state != "COMPLETE":
            if self.state is FAILED:
                return
            remaining = self.wait - (time.monotonic() - self.started)
            if remaining <= 0:
                self._timed_out()
                return
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
            self.state = self._generate()
        self._fetch()

    def _fetch(self) -> None:
        self.fetched = True
        response = self.ctx.call("iam", "GetCredentialReport", item=self.account)
        if response is FAILED:
            return
        self.account.configuration["iamCredentialReport"] = parse_credential_report(response.get("Content"))
        self.account.configuration["iamCredentialReportGeneratedTime"] = response.get("GeneratedTime")

    def _timed_out(self) -> None:
        error = CollectionError(
            service="iam",
            api="GenerateCredentialReport",
            region=self.ctx.region,
            error="Timeout",
            iam_action=iam_action_for("iam", "GenerateCredentialReport"),
            resource_type=ACCOUNT_TYPE,
            resource_id=self.ctx.account_id,
            message=f"credential report still {self.state} after {self.wait:.0f}s",
        )
        self.ctx.errors.append(error)
        self.account.collectionErrors.append(error.to_dict())
