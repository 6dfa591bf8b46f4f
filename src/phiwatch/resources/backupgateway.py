"""AWS Backup gateway: the hypervisors' virtual machines it can back up
(AWS::BackupGateway::VirtualMachine), regional.

Item layout (boto3 shapes):

* resourceId the VM id (the last part of ``ResourceArn``, ``vm-...``), resourceName ``Name``,
  arn ``ResourceArn``.
* ``configuration``: ListVirtualMachines' element (``HostName``, ``HypervisorId``, ``Name``,
  ``Path``, ``ResourceArn``) without ``LastBackupDate``, which changes with every backup: when a
  VM was last backed up is read from its AWS Backup recovery points (``rules/backup.py``).
* ``tags``: ListTagsForResource.

No account-level keys; collected by the generic collector from this spec.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, R, ResourceSpec, Service, on

VIRTUAL_MACHINE = "AWS::BackupGateway::VirtualMachine"


def _vm_id(element: Any) -> Any:
    arn = element.get("ResourceArn") if isinstance(element, dict) else None
    return str(arn).rsplit("/", 1)[-1] if arn else None


SERVICE = Service(
    "backupgateway",
    resources=(
        ResourceSpec(
            VIRTUAL_MACHINE,
            client="backup-gateway",
            listing=Call("ListVirtualMachines", "backup-gateway:ListVirtualMachines", result="VirtualMachines"),
            id=_vm_id,
            name="Name",
            arn="ResourceArn",
            tags=Call("ListTagsForResource", "backup-gateway:ListTagsForResource", {"ResourceArn": "ResourceArn"}, result="Tags"),
            drop=("LastBackupDate",),
            events=(
                # virtual machines are discovered from their hypervisor, not created by a call of their own
                on("backup-gateway.amazonaws.com", "ImportHypervisorConfiguration StartVirtualMachinesMetadataSync DeleteHypervisor"),
                on(
                    "backup-gateway.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceARN", r"^arn:[^:]+:backup-gateway:[^:]*:[^:]*:vm/(.+)$"),
                ),
            ),
        ),
    ),
)
