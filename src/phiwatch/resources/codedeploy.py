"""CodeDeploy: deployment groups (AWS::CodeDeploy::DeploymentGroup), regional.

Collected by the hook :mod:`phiwatch.collect.codedeploy` (groups are listed per application).

Item layout:

* ``resourceId``: the ``deploymentGroupId``; ``resourceName``: the ``deploymentGroupName``;
  ``arn``: ``arn:<partition>:codedeploy:<region>:<account>:deploymentgroup:<application>/<group>``.
* ``configuration``: GetDeploymentGroup's ``deploymentGroupInfo`` in boto3 shape without the
  per-deployment members (``lastSuccessfulDeployment``, ``lastAttemptedDeployment``,
  ``targetRevision``). Keys rules read: ``computePlatform`` (``Server``, ``Lambda``, ``ECS``),
  ``deploymentConfigName``, ``autoRollbackConfiguration`` (``enabled``, ``events``),
  ``alarmConfiguration`` (``enabled``, ``alarms``).
* ``supplementaryConfiguration.DeploymentConfig``: for ``Server`` (EC2/On-Premises) groups only,
  GetDeploymentConfig's ``deploymentConfigInfo`` of the group's configuration
  (``minimumHealthyHosts``: ``{"type": "HOST_COUNT" | "FLEET_PERCENT", "value": int}``), read
  once per configuration name and region. Absent for other platforms, and when that call failed
  (the error is then on the item).
* ``tags``: ListTagsForResource.

No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, T, on

DEPLOYMENT_GROUP = "AWS::CodeDeploy::DeploymentGroup"

SERVICE = Service(
    "codedeploy",
    resources=(
        ResourceSpec(
            DEPLOYMENT_GROUP,
            events=(
                on(
                    "codedeploy.amazonaws.com",
                    "CreateDeploymentGroup UpdateDeploymentGroup DeleteDeploymentGroup",
                    T(
                        "arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:"
                        "{requestParameters.applicationName}/{requestParameters.currentDeploymentGroupName}"
                    ),
                    T(
                        "arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:"
                        "{requestParameters.applicationName}/{requestParameters.deploymentGroupName}"
                    ),
                    T(
                        "arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:"
                        "{requestParameters.applicationName}/{requestParameters.newDeploymentGroupName}"
                    ),
                    P("responseElements.deploymentGroupId"),
                ),
                on("codedeploy.amazonaws.com", "DeleteApplication UpdateApplication"),
                on("codedeploy.amazonaws.com", "TagResource UntagResource", P("requestParameters.resourceArn")),
                # a custom deployment configuration's minimum healthy hosts is read into each Server group
                on("codedeploy.amazonaws.com", "DeleteDeploymentConfig"),
            ),
        ),
    ),
    iam=(
        "codedeploy:ListApplications",
        "codedeploy:ListDeploymentGroups",
        "codedeploy:GetDeploymentGroup",
        "codedeploy:GetDeploymentConfig",
        "codedeploy:ListTagsForResource",
    ),
)
