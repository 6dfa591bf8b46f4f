"""Demo Systems Manager documents owned by the account: one shared publicly, one private."""

from __future__ import annotations

import json
from typing import Any

import boto3

from phiwatch.aws.session import make_client


def _content(description: str, commands: list[str]) -> str:
    return json.dumps(
        {
            "schemaVersion": "2.2",
            "description": description,
            "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": commands}}],
        }
    )


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    ssm = make_client(session, "ssm", endpoint, region)
    documents = {
        "ehr-patching-doc-private": ("Patch the EHR application hosts", ["yum -y update --security"]),
        "ehr-log-rotation-doc-public": ("Rotate EHR application logs", ["logrotate -f /etc/logrotate.conf"]),
    }
    for name, (description, commands) in documents.items():
        ssm.create_document(
            Name=name,
            DocumentType="Command",
            DocumentFormat="JSON",
            Content=_content(description, commands),
            Tags=[
                {"Key": "Environment", "Value": "PROD"},
                {"Key": "PHI", "Value": "No"},
                {"Key": "InstanceOwnerEmail", "Value": "ehr-ops@example.org"},
            ],
        )
    ssm.modify_document_permission(Name="ehr-log-rotation-doc-public", PermissionType="Share", AccountIdsToAdd=["all"])
    return {"documents": sorted(documents)}
