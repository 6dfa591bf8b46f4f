"""EFS: file systems (AWS::EFS::FileSystem) and access points (AWS::EFS::AccessPoint).

Item layout (boto3 shapes):

* resourceId ``FileSystemId`` (AWS Config's id), resourceName the ``Name`` tag (or the id),
  arn ``FileSystemArn``.
* ``configuration``: DescribeFileSystems' element (``Encrypted``, ``KmsKeyId`` when encrypted,
  ``PerformanceMode``, ``ThroughputMode``, ``LifeCycleState``, ``Tags``, ...) except
  ``SizeInBytes`` (a metered size with its own timestamp, dropped so history only changes with
  configuration).
* ``supplementaryConfiguration.BackupPolicy``: DescribeBackupPolicy's ``{"Status":
  "ENABLED"|"ENABLING"|"DISABLED"|"DISABLING"}``, ``None`` when the file system has no backup
  policy (``PolicyNotFound``).
* ``supplementaryConfiguration.FileSystemPolicy``: the resource policy document parsed from
  DescribeFileSystemPolicy's JSON text, ``None`` when there is none (``PolicyNotFound``).
* ``tags``: from the element's ``Tags``.

Access point items (DescribeAccessPoints, one paginated listing per region; it returns the whole
description, so nothing is described again):

* resourceId ``AccessPointId`` (AWS Config's id), resourceName the ``Name`` tag (or the id),
  arn ``AccessPointArn``.
* ``configuration``: the listing element: ``FileSystemId``, ``PosixUser`` (``{"Uid", "Gid",
  "SecondaryGids"}``; **absent = no user identity enforced**), ``RootDirectory`` (``{"Path",
  "CreationInfo"}``; ``Path`` ``/`` = the file system's root), ``LifeCycleState``, ``OwnerId``, ``Tags``.
* ``tags``: from the element's ``Tags``.
* ``relationships``: the file system.

A supplementary key that is absent means its call failed (see ``collectionErrors``).
No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, json_document, name_tag, on, relation

FILE_SYSTEM = "AWS::EFS::FileSystem"
ACCESS_POINT = "AWS::EFS::AccessPoint"

SERVICE = Service(
    "efs",
    resources=(
        ResourceSpec(
            FILE_SYSTEM,
            client="efs",
            listing=Call("DescribeFileSystems", "elasticfilesystem:DescribeFileSystems", result="FileSystems"),
            id="FileSystemId",
            name=f"Name || {name_tag()}",
            arn=("FileSystemArn", "arn:{partition}:elasticfilesystem:{region}:{account}:file-system/{id}"),
            details={
                "BackupPolicy": Call(
                    "DescribeBackupPolicy",
                    "elasticfilesystem:DescribeBackupPolicy",
                    {"FileSystemId": "FileSystemId"},
                    result="BackupPolicy",
                    absent=("PolicyNotFound",),
                ),
                "FileSystemPolicy": Call(
                    "DescribeFileSystemPolicy",
                    "elasticfilesystem:DescribeFileSystemPolicy",
                    {"FileSystemId": "FileSystemId"},
                    result="Policy",
                    absent=("PolicyNotFound",),
                    parse=json_document,
                ),
            },
            tags="Tags",
            drop=("SizeInBytes",),
            events=(
                on(
                    "elasticfilesystem.amazonaws.com",
                    (
                        "CreateFileSystem DeleteFileSystem UpdateFileSystem PutBackupPolicy "
                        "PutFileSystemPolicy DeleteFileSystemPolicy TagResource UntagResource CreateTags "
                        "DeleteTags"
                    ),
                    P("requestParameters.fileSystemId"),
                    P("responseElements.fileSystemId"),
                    P("requestParameters.resourceId"),
                ),
            ),
        ),
        ResourceSpec(
            ACCESS_POINT,
            client="efs",
            listing=Call("DescribeAccessPoints", "elasticfilesystem:DescribeAccessPoints", result="AccessPoints"),
            id="AccessPointId",
            name=f"Name || {name_tag()}",
            arn=("AccessPointArn", "arn:{partition}:elasticfilesystem:{region}:{account}:access-point/{id}"),
            tags="Tags",
            relationships=lambda configuration: relation(FILE_SYSTEM, configuration.get("FileSystemId"), "Is attached to FileSystem"),
            events=(
                on(
                    "elasticfilesystem.amazonaws.com",
                    "CreateAccessPoint DeleteAccessPoint",
                    P("requestParameters.accessPointId"),
                    P("responseElements.accessPointId"),
                ),
                on(
                    "elasticfilesystem.amazonaws.com",
                    "TagResource UntagResource",
                    P("requestParameters.resourceId"),
                    optional=True,
                ),
            ),
        ),
    ),
)
