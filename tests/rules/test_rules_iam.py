"""IAM rules: one estate in moto's server scanned once, plus constructed items for what moto
cannot represent (old keys and passwords, the root user, denied reads)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import judge_rule

ACCOUNT = "123456789012"
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SERVICES = ["iam"]


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRUST_EC2 = _doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
GOOD_PASSWORD_POLICY = dict(
    MinimumPasswordLength=14,
    RequireSymbols=True,
    RequireNumbers=True,
    RequireUppercaseCharacters=True,
    RequireLowercaseCharacters=True,
    MaxPasswordAge=90,
    PasswordReusePrevention=24,
)


# -- the moto estate --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iam_scan(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session()
    iam = make_client(session, "iam", emulator.endpoint)

    readonly = iam.create_policy(PolicyName="policy-describe-only", PolicyDocument=_doc(_allow("ec2:Describe*")))["Policy"]
    iam.create_policy(PolicyName="policy-admin", PolicyDocument=_doc(_allow("*")))
    iam.create_policy(PolicyName="policy-s3-full", PolicyDocument=_doc(_allow(["s3:GetObject", "s3:*"], "arn:aws:s3:::phi-bucket/*")))
    iam.create_policy(PolicyName="policy-kms-key-fixed", PolicyDocument=_doc(_allow(["kms:Decrypt", "kms:ReEncryptFrom"], KEY_ARN)))
    iam.create_policy(PolicyName="policy-kms-reencrypt-wildcard", PolicyDocument=_doc(_allow("kms:Re*", "*")))
    iam.create_policy(
        PolicyName="policy-kms-describe-all-keys", PolicyDocument=_doc(_allow("kms:DescribeKey", f"arn:aws:kms:*:{ACCOUNT}:key/*"))
    )
    iam.create_policy(PolicyName="policy-kms-deny-only", PolicyDocument=_doc({"Effect": "Deny", "Action": "kms:*", "Resource": "*"}))

    iam.create_group(GroupName="group-clinicians")
    iam.attach_group_policy(GroupName="group-clinicians", PolicyArn=readonly["Arn"])
    iam.create_group(GroupName="group-inline-kms-fixed-key")
    iam.put_group_policy(
        GroupName="group-inline-kms-fixed-key", PolicyName="decrypt-one-key", PolicyDocument=_doc(_allow("kms:Decrypt", KEY_ARN))
    )

    # user-all-good: console password with MFA, permissions only through a group
    iam.create_user(UserName="user-all-good")
    iam.create_login_profile(UserName="user-all-good", Password="Str0ng-Passw0rd!x")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="user-all-good")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="user-all-good", SerialNumber=device["SerialNumber"], AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.add_user_to_group(GroupName="group-clinicians", UserName="user-all-good")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="unassigned-device")
    # user-console-no-mfa: console password, no MFA, a managed policy attached directly
    iam.create_user(UserName="user-console-no-mfa")
    iam.create_login_profile(UserName="user-console-no-mfa", Password="Str0ng-Passw0rd!x")
    iam.attach_user_policy(UserName="user-console-no-mfa", PolicyArn=readonly["Arn"])
    # user-key-inline-kms: programmatic only, an inline policy allowing kms:Decrypt on every key
    iam.create_user(UserName="user-key-inline-kms")
    iam.create_access_key(UserName="user-key-inline-kms")
    iam.put_user_policy(UserName="user-key-inline-kms", PolicyName="decrypt-all", PolicyDocument=_doc(_allow("kms:Decrypt")))

    iam.create_role(RoleName="role-no-inline", AssumeRolePolicyDocument=TRUST_EC2)
    iam.create_role(RoleName="role-inline-kms-wildcard", AssumeRolePolicyDocument=TRUST_EC2)
    iam.put_role_policy(
        RoleName="role-inline-kms-wildcard", PolicyName="kms-all", PolicyDocument=_doc(_allow("kms:*", f"arn:aws:kms:*:{ACCOUNT}:key/*"))
    )

    iam.update_account_password_policy(**GOOD_PASSWORD_POLICY)

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('iamrules') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1"], session=session)
    outcome = run_scan(ctx, store, Policy(), services=SERVICES)
    assert outcome.scan["errors"] == []
    verdicts = {(e["rule_id"], e["resource_name"]): e for e in outcome.scan["evaluations"]}
    yield verdicts, store, ctx
    store.close()


def verdict(verdicts, rule_id, name):
    return verdicts[(rule_id, name)]["compliance"]


@pytest.mark.parametrize(
    "rule_id,compliant,non_compliant",
    [
        ("iam-user-mfa-enabled", "user-all-good", "user-console-no-mfa"),
        ("mfa-enabled-for-iam-console-access", "user-all-good", "user-console-no-mfa"),
        ("iam-user-no-policies-check", "user-all-good", "user-console-no-mfa"),
        ("iam-user-no-policies-check", "user-all-good", "user-key-inline-kms"),
        ("iam-no-inline-policy-check", "user-all-good", "user-key-inline-kms"),
        ("iam-no-inline-policy-check", "role-no-inline", "role-inline-kms-wildcard"),
        ("iam-no-inline-policy-check", "group-clinicians", "group-inline-kms-fixed-key"),
        ("iam-inline-policy-blocked-kms-actions", "user-all-good", "user-key-inline-kms"),
        ("iam-inline-policy-blocked-kms-actions", "role-no-inline", "role-inline-kms-wildcard"),
        ("iam-policy-no-statements-with-admin-access", "policy-s3-full", "policy-admin"),
        ("iam-policy-no-statements-with-full-access", "policy-describe-only", "policy-s3-full"),
        ("iam-policy-no-statements-with-full-access", "policy-describe-only", "policy-admin"),
        ("iam-customer-policy-blocked-kms-actions", "policy-kms-key-fixed", "policy-admin"),
        ("iam-customer-policy-blocked-kms-actions", "policy-kms-deny-only", "policy-kms-reencrypt-wildcard"),
    ],
)
def test_verdicts_on_the_estate(iam_scan, rule_id, compliant, non_compliant):
    verdicts, _, _ = iam_scan
    assert verdict(verdicts, rule_id, compliant) == "COMPLIANT", verdicts[(rule_id, compliant)]["annotation"]
    assert verdict(verdicts, rule_id, non_compliant) == "NON_COMPLIANT", verdicts[(rule_id, non_compliant)]["annotation"]
    assert verdicts[(rule_id, non_compliant)]["annotation"]


def test_inline_kms_on_a_fixed_key_is_compliant(iam_scan):
    verdicts, _, _ = iam_scan
    assert verdict(verdicts, "iam-inline-policy-blocked-kms-actions", "group-inline-kms-fixed-key") == "COMPLIANT"


def test_any_kms_action_on_all_keys_hits_the_pack_pattern_kms_star(iam_scan):
    verdicts, _, _ = iam_scan
    e = verdicts[("iam-customer-policy-blocked-kms-actions", "policy-kms-describe-all-keys")]
    # pack default "kms:*" names every KMS action; key/* is not a fixed value
    assert e["compliance"] == "NON_COMPLIANT" and "kms:*" in e["annotation"] and "kms:Decrypt" not in e["annotation"]


def test_fresh_credentials_of_moto_users(iam_scan):
    verdicts, _, _ = iam_scan
    assert verdict(verdicts, "access-keys-rotated", "user-key-inline-kms") == "COMPLIANT"
    assert verdict(verdicts, "access-keys-rotated", "user-all-good") == "COMPLIANT"  # no key at all
    for user in ("user-all-good", "user-console-no-mfa", "user-key-inline-kms"):
        assert verdict(verdicts, "iam-user-unused-credentials-check", user) == "COMPLIANT"


def test_console_mfa_not_applicable_without_password(iam_scan):
    verdicts, _, _ = iam_scan
    assert verdict(verdicts, "mfa-enabled-for-iam-console-access", "user-key-inline-kms") == "NOT_APPLICABLE"


def test_account_rules_on_the_estate(iam_scan):
    verdicts, _, _ = iam_scan
    assert verdict(verdicts, "iam-password-policy", ACCOUNT) == "COMPLIANT"
    assert verdicts[("iam-password-policy", ACCOUNT)]["region"] == "global"
    # moto's root user: no access key, no MFA
    assert verdict(verdicts, "iam-root-access-key-check", ACCOUNT) == "COMPLIANT"
    assert verdict(verdicts, "root-account-mfa-enabled", ACCOUNT) == "NON_COMPLIANT"
    assert verdict(verdicts, "root-account-hardware-mfa-enabled", ACCOUNT) == "NON_COMPLIANT"
    # only the global account item is judged
    assert all(e["region"] == "global" for (rule_id, _), e in verdicts.items() if rule_id == "iam-password-policy")


def test_virtual_mfa_devices_on_the_account_item(iam_scan):
    _, store, _ = iam_scan
    rows = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == "global"]
    conf = store.item_at(rows[0]["id"])["item"]["configuration"]
    assert conf["iamVirtualMfaDevices"] == [
        {
            "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/user-all-good",
            "UserArn": f"arn:aws:iam::{ACCOUNT}:user/user-all-good",
            "EnableDate": conf["iamVirtualMfaDevices"][0]["EnableDate"],
        }
    ]  # assigned devices only, and never the seed or QR code


def test_parameters_change_verdicts(iam_scan):
    _, store, ctx = iam_scan
    policy = parse_policy("""
rules:
  iam-password-policy:
    parameters: {MinimumPasswordLength: 20}
  iam-customer-policy-blocked-kms-actions:
    parameters: {blockedActionsPatterns: "kms:Decrypt, kms:ReEncryptFrom"}
""")
    outcome = run_scan(ctx, store, policy, collect_first=False)
    verdicts = {(e["rule_id"], e["resource_name"]): e for e in outcome.scan["evaluations"]}
    e = verdicts[("iam-password-policy", ACCOUNT)]
    assert e["compliance"] == "NON_COMPLIANT" and "MinimumPasswordLength 14 < 20" in e["annotation"]
    # without kms:* in the patterns, DescribeKey on every key is allowed; kms:Re* still names ReEncryptFrom
    assert verdict(verdicts, "iam-customer-policy-blocked-kms-actions", "policy-kms-describe-all-keys") == "COMPLIANT"
    assert verdict(verdicts, "iam-customer-policy-blocked-kms-actions", "policy-kms-reencrypt-wildcard") == "NON_COMPLIANT"
    run_scan(ctx, store, Policy(), collect_first=False)


# -- constructed items -----------------------------------------------------------------------
RULES = catalogue()


def evaluate(rule_id: str, item: ConfigurationItem, **params):
    return judge_rule(rule_id, item, lookup=lambda t: [], now=NOW, params=params)


def days_ago(days: float) -> str:
    return (NOW - dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")


def user(name: str = "user-constructed", errors: list | None = None, **configuration) -> ConfigurationItem:
    base = {
        "UserName": name,
        "CreateDate": days_ago(400),
        "PasswordLastUsed": None,
        "groupList": [],
        "attachedManagedPolicies": [],
        "userPolicyList": [],
        "accessKeys": [],
        "mfaDevices": [],
        "loginProfile": None,
    }
    base.update(configuration)
    base = {k: v for k, v in base.items() if v != "ABSENT"}
    return ConfigurationItem(
        resourceType="AWS::IAM::User",
        resourceId=f"AIDA{name.upper()}",
        resourceName=name,
        awsRegion="global",
        accountId=ACCOUNT,
        configuration=base,
        collectionErrors=errors or [],
    )


def key(key_id: str, created: float, last_used: float | None | str = None, status: str = "Active") -> dict:
    k = {"AccessKeyId": key_id, "Status": status, "CreateDate": days_ago(created), "LastUsedService": None, "LastUsedRegion": None}
    if last_used != "ABSENT":  # absent: GetAccessKeyLastUsed failed for this key
        k["LastUsedDate"] = None if last_used is None else days_ago(last_used)
    return k


def account(region: str = "global", errors: list | None = None, **configuration) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        resourceName=ACCOUNT,
        awsRegion=region,
        accountId=ACCOUNT,
        configuration=configuration,
        collectionErrors=errors or [],
    )


def denied(api: str, action: str) -> list[dict]:
    return [{"api": api, "error": "AccessDenied", "iam_action": action}]


def test_access_keys_rotated():
    old = user("user-key-old", accessKeys=[key("AKIAOLD", 120), key("AKIANEW", 3)])
    result = evaluate("access-keys-rotated", old)
    assert result.compliance.value == "NON_COMPLIANT" and "AKIAOLD" in result.annotation and "AKIANEW" not in result.annotation
    inactive = user("user-key-old-inactive", accessKeys=[key("AKIAOFF", 400, status="Inactive")])
    assert evaluate("access-keys-rotated", inactive).compliance.value == "COMPLIANT"
    assert evaluate("access-keys-rotated", old, maxAccessKeyAge=180).compliance.value == "COMPLIANT"


def test_unused_credentials():
    stale_password = user("user-password-unused", loginProfile={"CreateDate": days_ago(300)}, PasswordLastUsed=days_ago(120))
    result = evaluate("iam-user-unused-credentials-check", stale_password)
    assert result.compliance.value == "NON_COMPLIANT" and "console password" in result.annotation
    never_used_key = user("user-key-never-used", accessKeys=[key("AKIANEVER", 200)])
    result = evaluate("iam-user-unused-credentials-check", never_used_key)
    assert result.compliance.value == "NON_COMPLIANT" and "AKIANEVER" in result.annotation
    recent = user(
        "user-credentials-used",
        loginProfile={"CreateDate": days_ago(300)},
        PasswordLastUsed=days_ago(5),
        accessKeys=[key("AKIAUSED", 300, last_used=1), key("AKIAOFF", 300, status="Inactive")],
    )
    assert evaluate("iam-user-unused-credentials-check", recent).compliance.value == "COMPLIANT"
    assert evaluate("iam-user-unused-credentials-check", user("user-no-credentials")).compliance.value == "COMPLIANT"
    assert evaluate("iam-user-unused-credentials-check", stale_password, maxCredentialUsageAge=150).compliance.value == "COMPLIANT"


def test_unused_credentials_without_last_use_is_insufficient():
    no_list_users = user(
        "user-password-listusers-denied",
        loginProfile={"CreateDate": days_ago(300)},
        PasswordLastUsed="ABSENT",
        errors=denied("ListUsers", "iam:ListUsers"),
    )
    result = evaluate("iam-user-unused-credentials-check", no_list_users)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "iam:ListUsers" in result.annotation
    # a password younger than the limit needs no last-use date
    young = user(
        "user-password-young",
        loginProfile={"CreateDate": days_ago(10)},
        PasswordLastUsed="ABSENT",
        errors=denied("ListUsers", "iam:ListUsers"),
    )
    assert evaluate("iam-user-unused-credentials-check", young).compliance.value == "COMPLIANT"
    key_unknown = user(
        "user-key-lastused-denied",
        accessKeys=[key("AKIAUNK", 200, last_used="ABSENT")],
        errors=denied("GetAccessKeyLastUsed", "iam:GetAccessKeyLastUsed"),
    )
    assert evaluate("iam-user-unused-credentials-check", key_unknown).compliance.value == "INSUFFICIENT_DATA"


def test_denied_read_is_insufficient_data():
    item = user("user-mfa-denied", mfaDevices="ABSENT", errors=denied("ListMFADevices", "iam:ListMFADevices"))
    result = evaluate("iam-user-mfa-enabled", item)
    assert result.compliance.value == "INSUFFICIENT_DATA"
    assert "iam:ListMFADevices" in result.annotation and "AccessDenied" in result.annotation
    item.configuration["loginProfile"] = {"CreateDate": days_ago(3)}
    assert evaluate("mfa-enabled-for-iam-console-access", item).compliance.value == "INSUFFICIENT_DATA"
    keys_denied = user("user-keys-denied", accessKeys="ABSENT", errors=denied("ListAccessKeys", "iam:ListAccessKeys"))
    assert evaluate("access-keys-rotated", keys_denied).compliance.value == "INSUFFICIENT_DATA"
    # missing without a failed call: not collected, the rule does not apply
    item.collectionErrors = []
    assert evaluate("iam-user-mfa-enabled", item) is None
    policy_denied = account(errors=denied("GetAccountPasswordPolicy", "iam:GetAccountPasswordPolicy"))
    assert evaluate("iam-password-policy", policy_denied).compliance.value == "INSUFFICIENT_DATA"


def test_password_policy():
    assert evaluate("iam-password-policy", account(iamPasswordPolicy=None)).compliance.value == "NON_COMPLIANT"
    weak = dict(GOOD_PASSWORD_POLICY, RequireSymbols=False, PasswordReusePrevention=5)
    weak.pop("MaxPasswordAge")
    result = evaluate("iam-password-policy", account(iamPasswordPolicy=weak))
    assert result.compliance.value == "NON_COMPLIANT"
    assert "RequireSymbols" in result.annotation and "PasswordReusePrevention" in result.annotation and "never expire" in result.annotation
    good = dict(GOOD_PASSWORD_POLICY, ExpirePasswords=True)
    assert evaluate("iam-password-policy", account(iamPasswordPolicy=good)).compliance.value == "COMPLIANT"
    assert (
        evaluate(
            "iam-password-policy", account(iamPasswordPolicy=weak), RequireSymbols=False, PasswordReusePrevention=5, MaxPasswordAge=None
        ).compliance.value
        == "COMPLIANT"
    )
    # the account item of a region has no IAM settings: the rule does not apply
    assert evaluate("iam-password-policy", account("us-east-1")) is None


ROOT_ROW = {
    "user": "<root_account>",
    "arn": f"arn:aws:iam::{ACCOUNT}:root",
    "password_enabled": "not_supported",
    "mfa_active": "true",
    "access_key_1_active": "false",
    "access_key_1_last_rotated": "N/A",
    "access_key_2_active": "false",
    "access_key_2_last_rotated": "N/A",
}


def test_root_access_key():
    with_key = account(iamAccountSummary={"AccountAccessKeysPresent": 1, "AccountMFAEnabled": 1})
    assert evaluate("iam-root-access-key-check", with_key).compliance.value == "NON_COMPLIANT"
    without = account(iamAccountSummary={"AccountAccessKeysPresent": 0, "AccountMFAEnabled": 1})
    assert evaluate("iam-root-access-key-check", without).compliance.value == "COMPLIANT"
    # summary denied: the credential report's root row decides (an inactive key still exists)
    inactive_key = dict(ROOT_ROW, access_key_1_last_rotated="2024-01-01T00:00:00+00:00")
    from_report = account(iamCredentialReport=[inactive_key], errors=denied("GetAccountSummary", "iam:GetAccountSummary"))
    assert evaluate("iam-root-access-key-check", from_report).compliance.value == "NON_COMPLIANT"
    clean_report = account(iamCredentialReport=[ROOT_ROW], errors=denied("GetAccountSummary", "iam:GetAccountSummary"))
    assert evaluate("iam-root-access-key-check", clean_report).compliance.value == "COMPLIANT"
    nothing = account(errors=denied("GetAccountSummary", "iam:GetAccountSummary"))
    result = evaluate("iam-root-access-key-check", nothing)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "iam:GetAccountSummary" in result.annotation
    assert evaluate("iam-root-access-key-check", account("us-east-1")) is None
    assert evaluate("iam-root-access-key-check", account()) is None  # IAM not collected


def test_root_mfa_and_hardware_mfa():
    summary = {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}
    virtual = account(
        iamAccountSummary=summary,
        iamVirtualMfaDevices=[
            {"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device", "UserArn": f"arn:aws:iam::{ACCOUNT}:root"},
            {"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice", "UserArn": f"arn:aws:iam::{ACCOUNT}:user/alice"},
        ],
    )
    assert evaluate("root-account-mfa-enabled", virtual).compliance.value == "COMPLIANT"
    result = evaluate("root-account-hardware-mfa-enabled", virtual)
    assert result.compliance.value == "NON_COMPLIANT" and "virtual" in result.annotation
    hardware = account(
        iamAccountSummary=summary,
        iamVirtualMfaDevices=[{"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice", "UserArn": f"arn:aws:iam::{ACCOUNT}:user/alice"}],
    )
    assert evaluate("root-account-hardware-mfa-enabled", hardware).compliance.value == "COMPLIANT"
    # a custom-named virtual device of the root user is found by its user ARN
    renamed = account(
        iamAccountSummary=summary,
        iamVirtualMfaDevices=[{"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/phone", "UserArn": f"arn:aws:iam::{ACCOUNT}:root"}],
    )
    assert evaluate("root-account-hardware-mfa-enabled", renamed).compliance.value == "NON_COMPLIANT"
    devices_denied = account(iamAccountSummary=summary, errors=denied("ListVirtualMFADevices", "iam:ListVirtualMFADevices"))
    result = evaluate("root-account-hardware-mfa-enabled", devices_denied)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "iam:ListVirtualMFADevices" in result.annotation
    no_mfa = account(iamAccountSummary={"AccountMFAEnabled": 0}, errors=denied("ListVirtualMFADevices", "iam:ListVirtualMFADevices"))
    assert evaluate("root-account-hardware-mfa-enabled", no_mfa).compliance.value == "NON_COMPLIANT"
    # summary denied: the credential report's root row tells whether MFA is on
    from_report = account(
        iamCredentialReport=[dict(ROOT_ROW, mfa_active="false")], errors=denied("GetAccountSummary", "iam:GetAccountSummary")
    )
    assert evaluate("root-account-mfa-enabled", from_report).compliance.value == "NON_COMPLIANT"
    assert (
        evaluate("root-account-mfa-enabled", account(errors=denied("GetAccountSummary", "iam:GetAccountSummary"))).compliance.value
        == "INSUFFICIENT_DATA"
    )


def policy_item(name: str, *statements: dict, boundary_uses: int = 0) -> ConfigurationItem:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return ConfigurationItem(
        resourceType="AWS::IAM::Policy",
        resourceId=f"ANPA{name.upper()}",
        resourceName=name,
        awsRegion="global",
        accountId=ACCOUNT,
        configuration={
            "PolicyName": name,
            "PermissionsBoundaryUsageCount": boundary_uses,
            "AttachmentCount": 0,
            "defaultPolicyDocument": document,
        },
    )


def test_policy_statement_analysis():
    cases = {
        # (statements) -> (admin, full, kms)
        "policy-notaction": ([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}], ("COMPLIANT", "NON_COMPLIANT", "NON_COMPLIANT")),
        "policy-notaction-kms": (
            [{"Effect": "Allow", "NotAction": ["kms:*", "iam:*"], "Resource": "*"}],
            ("COMPLIANT", "NON_COMPLIANT", "COMPLIANT"),
        ),
        "policy-star-star-service": ([_allow("*:*")], ("NON_COMPLIANT", "NON_COMPLIANT", "NON_COMPLIANT")),
        "policy-admin-scoped": ([_allow("*", ["arn:aws:s3:::a", "arn:aws:s3:::b"])], ("COMPLIANT", "NON_COMPLIANT", "COMPLIANT")),
        "policy-variable-key": (
            [_allow("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/${{aws:username}}")],
            ("COMPLIANT", "COMPLIANT", "NON_COMPLIANT"),
        ),
        "policy-alias-wildcard": ([_allow("kms:Decrypt", f"arn:aws:kms:*:{ACCOUNT}:alias/*")], ("COMPLIANT", "COMPLIANT", "COMPLIANT")),
        "policy-conditioned": (
            [_allow("kms:Decrypt", "*", Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})],
            ("COMPLIANT", "COMPLIANT", "NON_COMPLIANT"),
        ),
        "policy-single-statement-dict": (_allow("s3:*"), ("COMPLIANT", "NON_COMPLIANT", "COMPLIANT")),
    }
    for name, (statements, expected) in cases.items():
        statements = statements if isinstance(statements, list) else [statements]
        item = policy_item(name, *statements)
        got = tuple(
            evaluate(r, item).compliance.value
            for r in (
                "iam-policy-no-statements-with-admin-access",
                "iam-policy-no-statements-with-full-access",
                "iam-customer-policy-blocked-kms-actions",
            )
        )
        assert got == expected, name
    not_resource = policy_item("policy-notresource", {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": KEY_ARN})
    assert evaluate("iam-customer-policy-blocked-kms-actions", not_resource).compliance.value == "NON_COMPLIANT"
    single = ConfigurationItem(
        resourceType="AWS::IAM::Policy",
        resourceId="ANPASINGLE",
        resourceName="policy-single",
        awsRegion="global",
        accountId=ACCOUNT,
        configuration={"defaultPolicyDocument": {"Statement": _allow("s3:*")}},
    )
    assert evaluate("iam-policy-no-statements-with-full-access", single).compliance.value == "NON_COMPLIANT"


def test_exclude_permission_boundary_policy():
    boundary = policy_item("policy-boundary-admin", _allow("*"), boundary_uses=2)
    assert evaluate("iam-policy-no-statements-with-admin-access", boundary).compliance.value == "NON_COMPLIANT"
    for rule_id in (
        "iam-policy-no-statements-with-admin-access",
        "iam-policy-no-statements-with-full-access",
        "iam-customer-policy-blocked-kms-actions",
    ):
        assert evaluate(rule_id, boundary, excludePermissionBoundaryPolicy=True).compliance.value == "NOT_APPLICABLE"


def role_item(name: str, trust: dict, inline: list[dict]) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType="AWS::IAM::Role",
        resourceId=f"AROA{name.upper()}",
        resourceName=name,
        awsRegion="global",
        accountId=ACCOUNT,
        configuration={
            "RoleName": name,
            "AssumeRolePolicyDocument": trust,
            "rolePolicyList": [{"PolicyName": f"p{n}", "PolicyDocument": d} for n, d in enumerate(inline)],
            "attachedManagedPolicies": [],
        },
    )


def test_exclude_role_by_management_account():
    decrypt_all = {"Version": "2012-10-17", "Statement": [_allow("kms:Decrypt")]}
    other = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]}
    org_role = role_item("role-assumed-from-one-account", other, [decrypt_all])
    assert evaluate("iam-inline-policy-blocked-kms-actions", org_role).compliance.value == "NON_COMPLIANT"
    result = evaluate("iam-inline-policy-blocked-kms-actions", org_role, excludeRoleByManagementAccount=True)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "999988887777" in result.annotation
    service = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    app_role = role_item("role-service", service, [decrypt_all])
    assert (
        evaluate("iam-inline-policy-blocked-kms-actions", app_role, excludeRoleByManagementAccount=True).compliance.value == "NON_COMPLIANT"
    )
