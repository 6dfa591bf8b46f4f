"""Amazon FSx: file systems (AWS::FSx::FileSystem) of every type (Windows File Server, Lustre,
NetApp ONTAP, OpenZFS), regional.

Item layout (boto3 shapes):

* resourceId ``FileSystemId`` (AWS Config's id), resourceName the ``Name`` tag (or the id),
  arn ``ResourceARN``.
* ``configuration``: DescribeFileSystems' element (``FileSystemType``, ``Lifecycle``,
  ``StorageCapacity``, ``KmsKeyId``, ``SubnetIds``, ``WindowsConfiguration``,
  ``LustreConfiguration``, ``OntapConfiguration``, ``OpenZFSConfiguration``, ...) without its
  ``Tags`` (moved to the item's tags) and ``AdministrativeActions`` (progress of running
  operations, which changes without a configuration change).
* ``tags``: the element's ``Tags``.
* ``relationships``: its subnets.

The listing returns the whole description, tags included, so nothing is described again. No
account-level keys; collected by the generic collector from this spec. AWS Backup's rules about
file systems (``fsx-*-backup-*``) join these items with AWS Backup's (``rules/backup.py``).
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, name_tag, on, relation

FILE_SYSTEM = "AWS::FSx::FileSystem"


def _relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for subnet in configuration.get("SubnetIds") or [] for r in relation("AWS::EC2::Subnet", subnet, "Is contained in Subnet")]


SERVICE = Service(
    "fsx",
    resources=(
        ResourceSpec(
            FILE_SYSTEM,
            client="fsx",
            listing=Call("DescribeFileSystems", "fsx:DescribeFileSystems", result="FileSystems"),
            id="FileSystemId",
            name=name_tag(),
            arn=("ResourceARN", "arn:{partition}:fsx:{region}:{account}:file-system/{id}"),
            tags="Tags",
            drop=("Tags", "AdministrativeActions"),
            relationships=_relationships,
            events=(
                on(
                    "fsx.amazonaws.com",
                    "CreateFileSystem CreateFileSystemFromBackup UpdateFileSystem DeleteFileSystem",
                    P("requestParameters.fileSystemId"),
                    P("responseElements.fileSystem.fileSystemId"),
                ),
                on(
                    "fsx.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceARN", r"^arn:[^:]+:fsx:[^:]*:[^:]*:file-system/(fs-[0-9a-zA-Z]+)$"),
                ),
            ),
        ),
    ),
)
