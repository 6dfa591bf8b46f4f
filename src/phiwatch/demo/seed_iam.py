"""Demo IAM: users with and without MFA, an old-style service key, admin policies, a weak password policy.

* ``alice-mfa-enabled``: console password and an enabled virtual MFA device, in group ``clinicians``
* ``bob-no-mfa``: console password, no MFA, in group ``clinicians``
* ``svc-etl-old-key``: programmatic user with an access key. The emulator (moto) stamps keys with
  the current time and cannot backdate them, so in the demo the key is new; rules on key age are
  tested with constructed items instead.
* ``carol-admin-inline``: inline policy allowing ``*`` on ``*``, and the admin managed policy attached
* group ``clinicians`` with an inline read policy on the PHI records bucket
* role ``phi-app-role`` (EC2 trust) with a least-privilege customer managed policy
* customer managed policy ``phi-admin-full-access`` allowing every action on every resource
* an account password policy that is WEAK (length 8, no symbols, no reuse prevention, no expiry)
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from phiwatch.aws.session import make_client


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    iam = make_client(session, "iam", endpoint, region)

    def user(name: str, tags: dict[str, str]) -> None:
        iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    iam.update_account_password_policy(
        MinimumPasswordLength=8,
        RequireSymbols=False,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
    )

    admin = iam.create_policy(
        PolicyName="phi-admin-full-access",
        Description="Full access to everything (too broad for a HIPAA estate)",
        PolicyDocument=_doc({"Sid": "FullAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}),
    )["Policy"]
    app_policy = iam.create_policy(
        PolicyName="phi-app-read-records",
        Description="Read PHI records from the records bucket",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": "arn:aws:s3:::phi-records-compliant/*",
            }
        ),
    )["Policy"]

    iam.create_group(GroupName="clinicians")
    iam.put_group_policy(
        GroupName="clinicians",
        PolicyName="clinicians-read-phi-records",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::phi-records-compliant", "arn:aws:s3:::phi-records-compliant/*"],
            }
        ),
    )

    user("alice-mfa-enabled", {"Department": "Cardiology", "Environment": "PROD", "InstanceOwnerEmail": "alice@example.org"})
    iam.create_login_profile(UserName="alice-mfa-enabled", Password="Demo-Passw0rd-Alice!", PasswordResetRequired=False)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa-enabled")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="alice-mfa-enabled",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.add_user_to_group(GroupName="clinicians", UserName="alice-mfa-enabled")

    user("bob-no-mfa", {"Department": "Radiology", "Environment": "PROD", "InstanceOwnerEmail": "bob@example.org"})
    iam.create_login_profile(UserName="bob-no-mfa", Password="Demo-Passw0rd-Bob!", PasswordResetRequired=False)
    iam.add_user_to_group(GroupName="clinicians", UserName="bob-no-mfa")

    # moto stamps CreateDate = now; a real "old key" cannot be seeded through the API.
    user("svc-etl-old-key", {"Environment": "PROD", "PHI": "Yes", "InstanceOwnerEmail": "data-eng@example.org"})
    iam.create_access_key(UserName="svc-etl-old-key")  # secret discarded: never printed or stored

    user("carol-admin-inline", {"Department": "IT", "Environment": "PROD", "InstanceOwnerEmail": "carol@example.org"})
    iam.put_user_policy(
        UserName="carol-admin-inline",
        PolicyName="carol-break-glass-admin",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    )
    iam.attach_user_policy(UserName="carol-admin-inline", PolicyArn=admin["Arn"])

    iam.create_role(
        RoleName="phi-app-role",
        Description="EHR application servers",
        AssumeRolePolicyDocument=_doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
        Tags=[
            {"Key": "PHI", "Value": "Yes"},
            {"Key": "Environment", "Value": "PROD"},
            {"Key": "InstanceOwnerEmail", "Value": "ehr-team@example.org"},
        ],
    )
    iam.attach_role_policy(RoleName="phi-app-role", PolicyArn=app_policy["Arn"])

    return {
        "users": ["alice-mfa-enabled", "bob-no-mfa", "svc-etl-old-key", "carol-admin-inline"],
        "groups": ["clinicians"],
        "roles": ["phi-app-role"],
        "policies": ["phi-admin-full-access", "phi-app-read-records"],
    }
