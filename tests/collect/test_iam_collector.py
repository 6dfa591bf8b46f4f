"""IAM collector against moto's server: users, credentials, policies, account settings, deletions."""

from __future__ import annotations

import json

from phiwatch.collect.iam import CREDENTIAL_REPORT_COLUMNS, parse_credential_report
from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE
from stored import stored_item

ACCOUNT = "123456789012"
ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _account(store):
    rows = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == "global"]
    assert len(rows) == 1
    return store.item_at(rows[0]["id"])["item"]


def _seed_users(iam):
    iam.create_user(UserName="user-mfa-enabled", Tags=[{"Key": "PHI", "Value": "Yes"}])
    iam.create_login_profile(UserName="user-mfa-enabled", Password="Str0ng-Passw0rd!")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="user-mfa-enabled")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="user-mfa-enabled",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.create_user(UserName="user-console-no-mfa")
    iam.create_login_profile(UserName="user-console-no-mfa", Password="Str0ng-Passw0rd!")
    iam.create_user(UserName="user-key-no-console")
    key = iam.create_access_key(UserName="user-key-no-console")["AccessKey"]
    iam.put_user_policy(UserName="user-key-no-console", PolicyName="inline-admin", PolicyDocument=json.dumps(ADMIN_DOC))
    return key["AccessKeyId"]


def test_users_credentials_and_policies(aws_env, store):
    iam = aws_env.client("iam")
    key_id = _seed_users(iam)
    admin = iam.create_policy(PolicyName="policy-admin-full-access", PolicyDocument=json.dumps(ADMIN_DOC))["Policy"]
    iam.create_policy_version(
        PolicyArn=admin["Arn"],
        SetAsDefault=True,
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    )
    iam.attach_user_policy(UserName="user-console-no-mfa", PolicyArn=admin["Arn"])
    iam.create_group(GroupName="group-clinicians")
    iam.add_user_to_group(GroupName="group-clinicians", UserName="user-console-no-mfa")
    iam.put_group_policy(GroupName="group-clinicians", PolicyName="read", PolicyDocument=json.dumps(ADMIN_DOC))
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="role-phi-app", AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "PHI", "Value": "Yes"}])
    iam.attach_role_policy(RoleName="role-phi-app", PolicyArn=admin["Arn"])
    iam.put_role_policy(RoleName="role-phi-app", PolicyName="inline-role", PolicyDocument=json.dumps(ADMIN_DOC))

    result = collect(aws_env.context(), store, services=["iam"])
    assert result.errors == []
    assert result.types_seen == {
        "AWS::IAM::User": 3,
        "AWS::IAM::Group": 1,
        "AWS::IAM::Role": 1,
        "AWS::IAM::Policy": 1,
        ACCOUNT_TYPE: 1,
    }

    mfa = stored_item(store, "user-mfa-enabled", "AWS::IAM::User")
    user_id = iam.get_user(UserName="user-mfa-enabled")["User"]["UserId"]
    assert mfa["resourceId"] == user_id
    assert mfa["resourceName"] == "user-mfa-enabled"
    assert mfa["arn"] == f"arn:aws:iam::{ACCOUNT}:user/user-mfa-enabled"
    assert mfa["awsRegion"] == "global"
    assert mfa["tags"] == {"PHI": "Yes"}
    conf = mfa["configuration"]
    assert [d["SerialNumber"] for d in conf["mfaDevices"]] == [f"arn:aws:iam::{ACCOUNT}:mfa/user-mfa-enabled"]
    assert conf["loginProfile"]["UserName"] == "user-mfa-enabled"
    assert conf["accessKeys"] == []
    assert conf["userPolicyList"] == [] and conf["attachedManagedPolicies"] == [] and conf["groupList"] == []
    assert conf["PasswordLastUsed"] is None
    assert conf["PermissionsBoundary"] is None
    assert mfa["collectionErrors"] == []

    no_mfa = stored_item(store, "user-console-no-mfa", "AWS::IAM::User")["configuration"]
    assert no_mfa["mfaDevices"] == []
    assert no_mfa["loginProfile"] is not None
    assert no_mfa["groupList"] == ["group-clinicians"]
    assert no_mfa["attachedManagedPolicies"] == [{"PolicyName": "policy-admin-full-access", "PolicyArn": admin["Arn"]}]

    keyed = stored_item(store, "user-key-no-console", "AWS::IAM::User")
    conf = keyed["configuration"]
    assert conf["loginProfile"] is None  # no console password: explicit None, not absent
    assert len(conf["accessKeys"]) == 1
    key = conf["accessKeys"][0]
    assert key["AccessKeyId"] == key_id and key["Status"] == "Active" and key["CreateDate"]
    assert key["LastUsedDate"] is None and key["LastUsedService"] is None  # never used ("N/A" in AWS)
    assert "SecretAccessKey" not in json.dumps(keyed)
    assert conf["userPolicyList"] == [{"PolicyName": "inline-admin", "PolicyDocument": ADMIN_DOC}]

    group = stored_item(store, "group-clinicians", "AWS::IAM::Group")
    assert group["configuration"]["groupPolicyList"][0]["PolicyDocument"] == ADMIN_DOC
    assert group["arn"] == f"arn:aws:iam::{ACCOUNT}:group/group-clinicians"

    role = stored_item(store, "role-phi-app", "AWS::IAM::Role")
    assert role["resourceId"] == iam.get_role(RoleName="role-phi-app")["Role"]["RoleId"]
    assert role["configuration"]["AssumeRolePolicyDocument"] == trust
    assert role["configuration"]["rolePolicyList"] == [{"PolicyName": "inline-role", "PolicyDocument": ADMIN_DOC}]
    assert role["configuration"]["attachedManagedPolicies"][0]["PolicyArn"] == admin["Arn"]
    assert role["tags"] == {"PHI": "Yes"}
    assert {
        "resourceType": "AWS::IAM::Policy",
        "resourceId": None,
        "resourceName": "policy-admin-full-access",
        "relationshipName": "Is attached to CustomerManagedPolicy",
    } in role["relationships"]

    policy = stored_item(store, "policy-admin-full-access", "AWS::IAM::Policy")
    assert policy["resourceId"] == admin["PolicyId"]
    assert policy["arn"] == admin["Arn"]
    pconf = policy["configuration"]
    assert pconf["AttachmentCount"] == 2
    assert pconf["DefaultVersionId"] == "v2"
    assert pconf["defaultPolicyDocument"]["Statement"][0]["Action"] == "s3:*"
    assert {v["VersionId"]: v["Document"]["Statement"][0]["Action"] for v in pconf["policyVersionList"]} == {"v1": "*", "v2": "s3:*"}


def test_account_item_password_policy_summary_and_credential_report(aws_env, store):
    iam = aws_env.client("iam")
    _seed_users(iam)
    ctx = aws_env.context()
    collect(ctx, store, services=["iam"])
    conf = _account(store)["configuration"]
    assert conf["iamPasswordPolicy"] is None  # no policy: explicit None
    assert conf["iamAccountSummary"]["AccountMFAEnabled"] == 0
    assert "AccountAccessKeysPresent" in conf["iamAccountSummary"]
    rows = {r["user"]: r for r in conf["iamCredentialReport"]}
    assert set(rows) == {"user-mfa-enabled", "user-console-no-mfa", "user-key-no-console"}
    assert rows["user-mfa-enabled"]["mfa_active"] == "true"
    assert rows["user-console-no-mfa"]["mfa_active"] == "false"
    assert rows["user-console-no-mfa"]["password_enabled"] == "true"
    assert rows["user-key-no-console"]["password_enabled"] == "false"
    assert rows["user-key-no-console"]["access_key_1_active"] == "true"
    assert set(rows["user-mfa-enabled"]) <= set(CREDENTIAL_REPORT_COLUMNS)
    assert conf["iamCredentialReportGeneratedTime"]

    iam.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=False, RequireNumbers=True)
    result = collect(ctx, store, services=["iam"])
    assert result.errors == []
    account = _account(store)
    policy = account["configuration"]["iamPasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 8 and policy["RequireSymbols"] is False
    assert account["awsRegion"] == "global" and account["resourceId"] == ACCOUNT


def test_credential_report_parsing_keeps_root_row_and_known_columns():
    content = (
        b"user,arn,user_creation_time,password_enabled,mfa_active,access_key_1_active,some_future_column\n"
        b"<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,true,false,x\n"
        b"alice,arn:aws:iam::123456789012:user/alice,2021-01-01T00:00:00+00:00,true,false,true,y\n"
    )
    rows = parse_credential_report(content)
    assert [r["user"] for r in rows] == ["<root_account>", "alice"]
    assert rows[0] == {
        "user": "<root_account>",
        "arn": "arn:aws:iam::123456789012:root",
        "user_creation_time": "2020-01-01T00:00:00+00:00",
        "password_enabled": "not_supported",
        "mfa_active": "true",
        "access_key_1_active": "false",
    }
    assert parse_credential_report(None) == []


def test_deleted_user_is_recorded_and_changes_are_versioned(aws_env, store):
    iam = aws_env.client("iam")
    iam.create_user(UserName="user-soon-deleted")
    iam.create_user(UserName="user-gains-mfa")
    ctx = aws_env.context()
    collect(ctx, store, services=["iam"])

    iam.delete_user(UserName="user-soon-deleted")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="user-gains-mfa")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="user-gains-mfa",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    result = collect(ctx, store, services=["iam"])
    assert result.errors == []
    assert result.deleted == 1
    gone = store.resolve("user-soon-deleted", "AWS::IAM::User")
    assert gone["status"] == "ResourceDeleted"
    assert [r["resource_name"] for r in store.inventory(resource_type="AWS::IAM::User")] == ["user-gains-mfa"]

    row = store.resolve("user-gains-mfa", "AWS::IAM::User")
    versions = store.history(row["id"])
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["item"]["configuration"]["mfaDevices"] == []
    assert len(versions[1]["item"]["configuration"]["mfaDevices"]) == 1


def test_denied_listing_records_error_and_deletes_nothing(aws_env, store, monkeypatch):
    from phiwatch.collect.iam import IamCollector

    iam = aws_env.client("iam")
    iam.create_user(UserName="user-kept-when-listing-fails")
    ctx = aws_env.context()
    collect(ctx, store, services=["iam"])

    # MaxItems=0 is below the API's minimum: botocore refuses the call, as a denied listing would fail.
    monkeypatch.setattr(IamCollector, "authorization_page_size", 0)
    result = collect(ctx, store, services=["iam"])
    failed = [e for e in result.errors if e.api == "GetAccountAuthorizationDetails"]
    assert len(failed) == 1 and failed[0].iam_action == "iam:GetAccountAuthorizationDetails"
    assert result.deleted == 0
    assert store.resolve("user-kept-when-listing-fails", "AWS::IAM::User")["status"] != "ResourceDeleted"


def test_credential_report_wait_is_bounded(aws_env, store, monkeypatch):
    from phiwatch.collect import iam as iam_module

    monkeypatch.setattr(iam_module._CredentialReport, "_generate", lambda self: "INPROGRESS")
    monkeypatch.setattr(iam_module.IamCollector, "credential_report_wait", 0.2)
    result = collect(aws_env.context(), store, services=["iam"])
    assert [(e.api, e.error) for e in result.errors] == [("GenerateCredentialReport", "Timeout")]
    account = _account(store)
    assert "iamCredentialReport" not in account["configuration"]  # absent: could not read
    assert account["configuration"]["iamPasswordPolicy"] is None
    assert [e["api"] for e in account["collectionErrors"]] == ["GenerateCredentialReport"]


def _iam_calls(ctx) -> dict[str, int]:
    return {op: n for (service, op), n in ctx.counter.per_operation().items() if service == "iam"}


def test_credential_report_spares_the_calls_whose_answer_is_none(aws_env, store, monkeypatch):
    from phiwatch.collect import iam as iam_module

    iam = aws_env.client("iam")
    _seed_users(iam)
    iam.create_user(UserName="user-without-credentials")
    ctx = aws_env.context()
    result = collect(ctx, store, services=["iam"])
    assert result.errors == []
    calls = _iam_calls(ctx)
    # asked only of the users whose row says they have one: a key, an MFA device, a password
    assert calls["ListAccessKeys"] == 1
    assert calls["ListMFADevices"] == 1
    assert calls["GetLoginProfile"] == 2
    assert calls["GetCredentialReport"] == 1  # read once, before the users, and kept for the account item
    assert len(_account(store)["configuration"]["iamCredentialReport"]) == 4  # one row per user (moto writes no root row)
    bare = stored_item(store, "user-without-credentials", "AWS::IAM::User")["configuration"]
    assert (bare["accessKeys"], bare["mfaDevices"], bare["loginProfile"]) == ([], [], None)

    # every user asked everything (no report ready): the very same items, nothing changes
    monkeypatch.setattr(iam_module._CredentialReport, "user_rows", lambda self: None)
    ctx = aws_env.context()
    again = collect(ctx, store, services=["iam"])
    assert again.errors == [] and again.changed == 0 and again.created == 0
    calls = _iam_calls(ctx)
    assert calls["ListAccessKeys"] == calls["ListMFADevices"] == calls["GetLoginProfile"] == 4


def test_a_report_not_ready_at_the_start_is_not_waited_for_by_the_users(aws_env, store, monkeypatch):
    from phiwatch.collect import iam as iam_module

    iam = aws_env.client("iam")
    _seed_users(iam)
    states = iter(["STARTED", "STARTED"])  # at the start and before the users; COMPLETE after
    real = iam_module._CredentialReport._generate
    monkeypatch.setattr(iam_module._CredentialReport, "_generate", lambda self: next(states, None) or real(self))
    ctx = aws_env.context()
    result = collect(ctx, store, services=["iam"])
    assert result.errors == []
    calls = _iam_calls(ctx)
    assert calls["ListAccessKeys"] == calls["ListMFADevices"] == calls["GetLoginProfile"] == 3
    assert calls["GetCredentialReport"] == 1  # read at the end, for the account item
    assert len(_account(store)["configuration"]["iamCredentialReport"]) == 3


def test_a_report_row_is_used_only_for_the_user_it_describes():
    import datetime as dt

    from phiwatch.collect.iam import report_row_of

    created = dt.datetime(2026, 3, 1, 8, 30, 15, tzinfo=dt.UTC)
    user = {"UserName": "ana", "Arn": "arn:aws:iam::123456789012:user/ana", "CreateDate": created}
    row = {"user": "ana", "arn": user["Arn"], "user_creation_time": "2026-03-01T08:30:15+00:00", "mfa_active": "false"}
    rows = {"ana": row}
    assert report_row_of(rows, user) is row
    assert report_row_of(rows, {**user, "CreateDate": "2026-03-01T08:30:15.512000Z"}) is row  # as items keep it
    assert report_row_of(None, user) is None  # no report
    assert report_row_of({}, user) is None  # created after the report
    # deleted and created again after the report: the row is the old user's
    assert report_row_of(rows, {**user, "CreateDate": created + dt.timedelta(hours=1)}) is None
    assert report_row_of(rows, {**user, "Arn": "arn:aws:iam::123456789012:user/team/ana"}) is None
    assert report_row_of({"ana": {**row, "user_creation_time": "no_information"}}, user) is None
    assert report_row_of(rows, {**user, "CreateDate": None}) is None
