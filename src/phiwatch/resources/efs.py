"""EFS: file systems (AWS::EFS::FileSystem).

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

A supplementary key that is absent means its call failed (see ``collectionErrors``).
No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, json_document, name_tag, on

FILE_SYSTEM = "AWS::EFS::FileSystem"

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
    ),
)
