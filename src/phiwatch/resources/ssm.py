"""Systems Manager: managed instances, their association and patch compliance, and the account's documents."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

MANAGED_INSTANCE = "AWS::SSM::ManagedInstanceInventory"
ASSOCIATION_COMPLIANCE = "AWS::SSM::AssociationCompliance"
PATCH_COMPLIANCE = "AWS::SSM::PatchCompliance"
DOCUMENT = "AWS::SSM::Document"

SERVICE = Service(
    "ssm",
    resources=(
        ResourceSpec(
            MANAGED_INSTANCE,
            events=(
                on("ssm.amazonaws.com", "UpdateManagedInstanceRole", P("requestParameters.instanceId")),
                on("ssm.amazonaws.com", "DeregisterManagedInstance", P("requestParameters.instanceId")),
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
        "ssm:DescribeInstanceInformation",
        "ssm:ListDocuments",
        "ssm:ListResourceComplianceSummaries",  # not in the demo: only when managed nodes exist (none in the emulator)
    ),
)
