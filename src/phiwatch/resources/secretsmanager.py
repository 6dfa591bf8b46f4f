"""Secrets Manager: secrets (AWS::SecretsManager::Secret) — metadata only, never the secret value."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

SECRET = "AWS::SecretsManager::Secret"

SERVICE = Service(
    "secretsmanager",
    resources=(
        ResourceSpec(
            SECRET,
            events=(
                on(
                    "secretsmanager.amazonaws.com",
                    (
                        "CreateSecret DeleteSecret RestoreSecret UpdateSecret RotateSecret "
                        "CancelRotateSecret TagResource UntagResource PutResourcePolicy "
                        "DeleteResourcePolicy ReplicateSecretToRegions PutSecretValue "
                        "UpdateSecretVersionStage"
                    ),
                    P("requestParameters.secretId"),
                    P("responseElements.aRN"),
                    P("responseElements.arn"),
                    P("requestParameters.name"),
                ),
            ),
        ),
    ),
    iam=("secretsmanager:ListSecrets",),
)
