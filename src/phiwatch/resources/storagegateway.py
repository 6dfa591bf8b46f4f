"""AWS Storage Gateway: volumes of volume gateways (AWS::StorageGateway::Volume), regional.

Item layout (boto3 shapes):

* resourceId ``VolumeId``, resourceName the ``VolumeId``, arn ``VolumeARN``.
* ``configuration``: ListVolumes' element (``VolumeARN``, ``VolumeId``, ``GatewayARN``,
  ``GatewayId``, ``VolumeType`` (``CACHED``/``STORED``), ``VolumeSizeInBytes``,
  ``VolumeAttachmentStatus``). ListVolumes without a gateway lists every volume of the region,
  one paginated listing; the per-type describe calls are not made (no rule reads them).
* ``tags``: ListTagsForResource.
* ``relationships``: none recorded (gateways are not collected).

No account-level keys; collected by the generic collector from this spec. AWS Backup's rules about
volumes (``storagegateway-*-backup-*``) join these items with AWS Backup's (``rules/backup.py``).
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

VOLUME = "AWS::StorageGateway::Volume"

SERVICE = Service(
    "storagegateway",
    resources=(
        ResourceSpec(
            VOLUME,
            client="storagegateway",
            listing=Call("ListVolumes", "storagegateway:ListVolumes", result="VolumeInfos"),
            id="VolumeId",
            name="VolumeId",
            arn="VolumeARN",
            tags=Call("ListTagsForResource", "storagegateway:ListTagsForResource", {"ResourceARN": "VolumeARN"}, result="Tags"),
            events=(
                on(
                    "storagegateway.amazonaws.com",
                    (
                        "CreateCachediSCSIVolume CreateStorediSCSIVolume CreateSnapshotFromVolumeRecoveryPoint "
                        "DeleteVolume UpdateSnapshotSchedule"
                    ),
                    P("requestParameters.volumeARN"),
                    P("responseElements.volumeARN"),
                ),
                on(
                    "storagegateway.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceARN", r"^(arn:[^:]+:storagegateway:[^:]*:[^:]*:gateway/[^/]+/volume/[^/]+)$"),
                ),
            ),
        ),
    ),
)
