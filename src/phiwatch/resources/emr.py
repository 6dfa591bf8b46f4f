"""EMR: active clusters (AWS::EMR::Cluster), regional."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

CLUSTER = "AWS::EMR::Cluster"

SERVICE = Service(
    "emr",
    resources=(
        ResourceSpec(
            CLUSTER,
            events=(
                on(
                    "elasticmapreduce.amazonaws.com",
                    (
                        "RunJobFlow TerminateJobFlows ModifyCluster SetTerminationProtection "
                        "SetVisibleToAllUsers SetKeepJobFlowAliveWhenNoSteps SetUnhealthyNodeReplacement "
                        "AddTags RemoveTags"
                    ),
                    P("responseElements.jobFlowId"),
                    P("requestParameters.jobFlowIds"),
                    P("requestParameters.clusterId"),
                    R("requestParameters.resourceId", "^(j-[0-9A-Za-z]+)$"),
                ),
                on("elasticmapreduce.amazonaws.com", "DeleteSecurityConfiguration"),
            ),
        ),
    ),
    iam=(
        "elasticmapreduce:DescribeCluster",
        "elasticmapreduce:DescribeSecurityConfiguration",
        "elasticmapreduce:ListClusters",
        "elasticmapreduce:ListInstances",
    ),
)
