"""IAM: users, groups, roles, customer managed policies, and the account's IAM settings."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

USER = "AWS::IAM::User"
GROUP = "AWS::IAM::Group"
ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::Policy"

SERVICE = Service(
    "iam",
    cost=8,
    resources=(
        ResourceSpec(
            USER,
            events=(
                on(
                    "iam.amazonaws.com",
                    (
                        "CreateUser DeleteUser UpdateUser TagUser UntagUser CreateLoginProfile "
                        "UpdateLoginProfile DeleteLoginProfile AttachUserPolicy DetachUserPolicy "
                        "PutUserPolicy DeleteUserPolicy AddUserToGroup RemoveUserFromGroup "
                        "PutUserPermissionsBoundary DeleteUserPermissionsBoundary"
                    ),
                    P("requestParameters.userName"),
                ),
                on(
                    "iam.amazonaws.com",
                    "CreateAccessKey UpdateAccessKey DeleteAccessKey",
                    P("requestParameters.userName"),
                    P("userIdentity.userName"),
                ),
                on(
                    "iam.amazonaws.com",
                    ("EnableMFADevice DeactivateMFADevice ResyncMFADevice CreateVirtualMFADevice DeleteVirtualMFADevice"),
                    P("requestParameters.userName"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            GROUP,
            events=(
                on(
                    "iam.amazonaws.com",
                    ("CreateGroup DeleteGroup UpdateGroup AttachGroupPolicy DetachGroupPolicy PutGroupPolicy DeleteGroupPolicy"),
                    P("requestParameters.groupName"),
                ),
            ),
        ),
        ResourceSpec(
            ROLE,
            events=(
                on(
                    "iam.amazonaws.com",
                    (
                        "CreateRole DeleteRole UpdateRole UpdateRoleDescription UpdateAssumeRolePolicy "
                        "TagRole UntagRole AttachRolePolicy DetachRolePolicy PutRolePolicy "
                        "DeleteRolePolicy PutRolePermissionsBoundary DeleteRolePermissionsBoundary "
                        "AddRoleToInstanceProfile RemoveRoleFromInstanceProfile"
                    ),
                    P("requestParameters.roleName"),
                ),
            ),
        ),
        ResourceSpec(
            POLICY,
            events=(
                on(
                    "iam.amazonaws.com",
                    ("CreateGroup DeleteGroup UpdateGroup AttachGroupPolicy DetachGroupPolicy PutGroupPolicy DeleteGroupPolicy"),
                    P("requestParameters.policyArn"),
                    optional=True,
                ),
                on(
                    "iam.amazonaws.com",
                    (
                        "CreateRole DeleteRole UpdateRole UpdateRoleDescription UpdateAssumeRolePolicy "
                        "TagRole UntagRole AttachRolePolicy DetachRolePolicy PutRolePolicy "
                        "DeleteRolePolicy PutRolePermissionsBoundary DeleteRolePermissionsBoundary "
                        "AddRoleToInstanceProfile RemoveRoleFromInstanceProfile"
                    ),
                    P("requestParameters.policyArn"),
                    optional=True,
                ),
                on("iam.amazonaws.com", "AttachUserPolicy DetachUserPolicy", P("requestParameters.policyArn"), optional=True),
                on(
                    "iam.amazonaws.com",
                    ("CreatePolicy DeletePolicy CreatePolicyVersion DeletePolicyVersion SetDefaultPolicyVersion TagPolicy UntagPolicy"),
                    P("requestParameters.policyArn"),
                    P("responseElements.policy.arn"),
                ),
            ),
        ),
    ),
    scope="global",
    global_items=True,
    account_events=(
        on("iam.amazonaws.com", "CreateAccessKey UpdateAccessKey DeleteAccessKey", region="global"),
        on(
            "iam.amazonaws.com",
            ("EnableMFADevice DeactivateMFADevice ResyncMFADevice CreateVirtualMFADevice DeleteVirtualMFADevice"),
            region="global",
        ),
        on("iam.amazonaws.com", "UpdateAccountPasswordPolicy DeleteAccountPasswordPolicy", region="global"),
    ),
    iam=(
        "iam:GenerateCredentialReport",
        "iam:GetAccessKeyLastUsed",
        "iam:GetAccountAuthorizationDetails",
        "iam:GetAccountPasswordPolicy",
        "iam:GetAccountSummary",
        "iam:GetCredentialReport",
        "iam:GetLoginProfile",
        "iam:ListAccessKeys",
        "iam:ListMFADevices",
        "iam:ListPolicies",
        "iam:ListUsers",
        "iam:ListVirtualMFADevices",
    ),
)
