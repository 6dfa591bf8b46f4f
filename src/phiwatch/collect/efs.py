"""EFS: file systems (AWS::EFS::FileSystem).

Item layout (boto3 shapes):

* resourceId ``FileSystemId`` (AWS Config's id), resourceName the ``Name`` tag (or the id),
  arn ``FileSystemArn``.
* ``configuration``: DescribeFileSystems' element (``Encrypted``, ``KmsKeyId`` when encrypted,
  ``PerformanceMode``, ``ThroughputMode``, ``LifeCycleState``, ``Tags``, ...) except
  ``SizeInBytes`` (a metered size with its own timestamp, dropped so history only changes with
  configuration). The listing is paginated (moto pages at 10 items).
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

import json
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, Detail, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem

FILE_SYSTEM = "AWS::EFS::FileSystem"


def _fs(item: ConfigurationItem) -> dict[str, Any]:
    return {"FileSystemId": item.resourceId}


def _policy(response: dict[str, Any]) -> Any:
    text = response.get("Policy")
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return {"policyText": text}


DETAILS = (
    Detail("efs", "DescribeBackupPolicy", _fs, "supplementaryConfiguration.BackupPolicy", "BackupPolicy", not_found=("PolicyNotFound",)),
    Detail("efs", "DescribeFileSystemPolicy", _fs, "supplementaryConfiguration.FileSystemPolicy", _policy, not_found=("PolicyNotFound",)),
)


@register
class EfsCollector(Collector):
    name = "efs"
    resource_types = (FILE_SYSTEM,)
    targetable = frozenset({FILE_SYSTEM})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(FILE_SYSTEM):  # a targeted run for other services' resources
            return
        try:
            file_systems = list(ctx.paginate("efs", "DescribeFileSystems", "FileSystems", resource_type=FILE_SYSTEM, id_key="FileSystemId"))
        except ListFailed:
            return
        file_systems = [
            fs
            for fs in file_systems
            if ctx.selected(
                FILE_SYSTEM, fs.get("FileSystemId"), fs.get("FileSystemArn"), fs.get("Name"), tags_from_list(fs.get("Tags")).get("Name")
            )
        ]
        yield from ctx.map(lambda fs: self._file_system(ctx, fs), file_systems)
        ctx.mark_complete(FILE_SYSTEM)

    def _file_system(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        fs_id = element["FileSystemId"]
        tags = tags_from_list(element.get("Tags"))
        item = ctx.item(
            FILE_SYSTEM,
            fs_id,
            resourceName=element.get("Name") or tags.get("Name") or fs_id,
            arn=element.get("FileSystemArn") or ctx.arn("elasticfilesystem", f"file-system/{fs_id}"),
            configuration={k: v for k, v in element.items() if k != "SizeInBytes"},
            tags=tags,
        )
        for detail in DETAILS:
            detail.apply(ctx, item)
        item.refresh_state_id()
        return item
