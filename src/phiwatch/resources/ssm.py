"""Systems Manager: managed instances, their association and patch compliance, and the account's documents.

``AWS::SSM::ManagedInstanceInventory`` (DescribeInstanceInformation, one paginated listing per region; its spec below):

* resourceId and resourceName the managed node id (``i-…`` for EC2, ``mi-…`` for hybrid nodes).
* ``configuration``: the InstanceInformation element (``PingStatus`` Online|ConnectionLost|Inactive,
  ``PlatformType``, ``AgentVersion``, ``ResourceType`` EC2Instance|ManagedInstance, ``IsLatestVersion``,
  ``AssociationStatus``, ...) without the volatile ``LastPingDateTime``, ``LastAssociationExecutionDate``
  and ``LastSuccessfulAssociationExecutionDate`` (they change every few minutes).
* ``supplementaryConfiguration.Inventory``: the node's Systems Manager inventory (GetInventory
  filtered to the node: one call per node), reduced to ``{"TypeNames": [...], "Applications":
  [{"Name", "Version"}]}``: the inventory types collected for it (``AWS:Application``,
  ``AWS:Network``, ...; ``[]`` when no inventory is collected) and the name and version of each
  ``AWS:Application`` entry (nothing else of the inventory's content is kept). Absent when the call
  failed.
* ``relationships``: the EC2 instance, for an ``EC2Instance`` node.

``AWS::SSM::AssociationCompliance`` and ``AWS::SSM::PatchCompliance`` (ListResourceComplianceSummaries,
one paginated listing per region for every node, not one call per node; not called when the
region has no managed node; collected by the hook, ``collect/ssm.py``):

* resourceId and resourceName the managed node id; one item per node and compliance type.
* ``configuration``: the summary element (``ComplianceType`` Association|Patch, ``Status``
  COMPLIANT|NON_COMPLIANT, ``OverallSeverity``, ``CompliantSummary``, ``NonCompliantSummary``,
  ``ExecutionSummary`` with only ``ExecutionType``: its execution time and id change on every run).

``AWS::SSM::Document`` (ListDocuments with ``Owner=Self``: documents the account owns; collected by the hook):

* resourceId and resourceName the document ``Name``, arn ``arn:aws:ssm:<region>:<account>:document/<name>``.
* ``configuration``: ListDocuments' element (``DocumentType``, ``DocumentFormat``, ``Owner``, ...)
  without ``Tags``.
* ``supplementaryConfiguration.DocumentPermission``: DescribeDocumentPermission (``Share``, every page):
  ``{"AccountIds": [...], "AccountSharingInfoList": [...]}``; ``"all"`` in ``AccountIds`` means public.
* ``tags``: the element's ``Tags``.

Account item (per region): ``configuration.ssmManagedInstances`` = ``{node id: PingStatus}`` for
every managed node DescribeInstanceInformation lists, present only when that listing succeeded
(absent, with the error in the account item's ``collectionErrors``, when it failed).

A supplementary key that is absent means its call failed (see ``collectionErrors``).
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

MANAGED_INSTANCE = "AWS::SSM::ManagedInstanceInventory"
ASSOCIATION_COMPLIANCE = "AWS::SSM::AssociationCompliance"
PATCH_COMPLIANCE = "AWS::SSM::PatchCompliance"
DOCUMENT = "AWS::SSM::Document"

#: InstanceInformation members that change every few minutes
VOLATILE_INFO = ("LastPingDateTime", "LastAssociationExecutionDate", "LastSuccessfulAssociationExecutionDate")


def _node_filter(element: Any) -> list[dict[str, Any]]:
    return [{"Key": "AWS:InstanceInformation.InstanceId", "Values": [element.get("InstanceId")], "Type": "Equal"}]


def inventory_summary(entities: Any) -> dict[str, Any]:
    """GetInventory's entities of one node as ``{"TypeNames", "Applications"}`` (names and versions only)."""
    types: set[str] = set()
    applications: list[dict[str, Any]] = []
    for entity in entities if isinstance(entities, list) else []:
        data = entity.get("Data") if isinstance(entity, dict) else None
        if not isinstance(data, dict):
            continue
        types.update(name for name in data if isinstance(name, str))
        content = (data.get("AWS:Application") or {}).get("Content") or []
        applications.extend(
            {"Name": entry.get("Name"), "Version": entry.get("Version")}
            for entry in content
            if isinstance(entry, dict) and entry.get("Name")
        )
    return {"TypeNames": sorted(types), "Applications": applications}


def _node_relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    if configuration.get("ResourceType") != "EC2Instance":
        return []
    node_id = configuration.get("InstanceId")
    return [{"resourceType": "AWS::EC2::Instance", "resourceId": node_id, "name": "Is associated with Instance"}]


SERVICE = Service(
    "ssm",
    resources=(
        ResourceSpec(
            MANAGED_INSTANCE,
            client="ssm",
            listing=Call("DescribeInstanceInformation", "ssm:DescribeInstanceInformation", result="InstanceInformationList"),
            id="InstanceId",
            drop=VOLATILE_INFO,
            details={
                "Inventory": Call(
                    "GetInventory",
                    "ssm:GetInventory",
                    {"Filters": _node_filter},
                    result="Entities",
                    parse=inventory_summary,
                )
            },
            relationships=_node_relationships,
            events=(
                on("ssm.amazonaws.com", "UpdateManagedInstanceRole", P("requestParameters.instanceId")),
                on("ssm.amazonaws.com", "DeregisterManagedInstance", P("requestParameters.instanceId")),
                on("ssm.amazonaws.com", "PutInventory", P("requestParameters.instanceId")),
            ),
        ),
        ResourceSpec(
            ASSOCIATION_COMPLIANCE,
            events=(
                on("ssm.amazonaws.com", "DeregisterManagedInstance", P("requestParameters.instanceId")),
                on(
                    "ssm.amazonaws.com",
                    "PutComplianceItems",
                    P("requestParameters.resourceId"),
                    when={"requestParameters.complianceType": ("Association",)},
                ),
                on(
                    "ssm.amazonaws.com",
                    "CreateAssociation CreateAssociationBatch UpdateAssociation DeleteAssociation",
                    P("requestParameters.instanceId"),
                    P("requestParameters.entries[].instanceId"),
                ),
            ),
        ),
        ResourceSpec(
            PATCH_COMPLIANCE,
            events=(
                on("ssm.amazonaws.com", "DeregisterManagedInstance", P("requestParameters.instanceId")),
                on(
                    "ssm.amazonaws.com",
                    "PutComplianceItems",
                    P("requestParameters.resourceId"),
                    when={"requestParameters.complianceType": ("Patch",)},
                ),
            ),
        ),
        ResourceSpec(
            DOCUMENT,
            events=(
                on(
                    "ssm.amazonaws.com",
                    (
                        "CreateDocument UpdateDocument DeleteDocument UpdateDocumentDefaultVersion "
                        "UpdateDocumentMetadata ModifyDocumentPermission"
                    ),
                    P("requestParameters.name"),
                ),
                on(
                    "ssm.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    P("requestParameters.resourceId"),
                    when={"requestParameters.resourceType": ("Document",)},
                ),
            ),
        ),
    ),
    account_events=(on("ssm.amazonaws.com", "DeregisterManagedInstance"),),
    iam=(
        "ssm:DescribeDocumentPermission",
        "ssm:ListDocuments",
        "ssm:ListResourceComplianceSummaries",  # not in the demo: only when managed nodes exist (none in the emulator)
    ),
)
