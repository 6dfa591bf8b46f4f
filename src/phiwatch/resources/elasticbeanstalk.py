"""Elastic Beanstalk: environments (AWS::ElasticBeanstalk::Environment), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``EnvironmentName`` (AWS Config's id); ``arn``: the
  ``EnvironmentArn``.
* ``configuration``: DescribeEnvironments' element in boto3 shape (``ApplicationName``,
  ``EnvironmentId``, ``Status``, ``Health``, ``PlatformArn``, ``SolutionStackName``, ...).
* ``supplementaryConfiguration.ManagedActions``: the managed platform update settings read
  from DescribeConfigurationSettings' option settings: ``{"ManagedActionsEnabled": bool,
  "UpdateLevel": "minor" | "patch" | None, "PreferredStartTime": str | None}``. Absent when
  that call failed. No other option settings are stored (environment properties may hold
  secrets).
* ``tags``: ListTagsForResource (``{}`` and an error on the item when it failed).

Terminated environments are not listed. A targeted run (``watch``) lists the environments and
keeps the wanted ones (by name or ARN). No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

ENVIRONMENT = "AWS::ElasticBeanstalk::Environment"

MANAGED_ACTIONS = "aws:elasticbeanstalk:managedactions"
PLATFORM_UPDATE = "aws:elasticbeanstalk:managedactions:platformupdate"


def managed_actions(option_settings: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The managed platform update settings of one environment's option settings."""
    values = {(o.get("Namespace"), o.get("OptionName")): o.get("Value") for o in option_settings or []}
    enabled = str(values.get((MANAGED_ACTIONS, "ManagedActionsEnabled")) or "false").lower() == "true"
    return {
        "ManagedActionsEnabled": enabled,
        "UpdateLevel": values.get((PLATFORM_UPDATE, "UpdateLevel")) or None,
        "PreferredStartTime": values.get((MANAGED_ACTIONS, "PreferredStartTime")) or None,
    }


SERVICE = Service(
    "elasticbeanstalk",
    resources=(
        ResourceSpec(
            ENVIRONMENT,
            client="elasticbeanstalk",
            listing=Call(
                "DescribeEnvironments",
                "elasticbeanstalk:DescribeEnvironments",
                {"IncludeDeleted": False},
                result="Environments",
            ),
            id="EnvironmentName",
            arn="EnvironmentArn",
            details={
                "ManagedActions": Call(
                    "DescribeConfigurationSettings",
                    "elasticbeanstalk:DescribeConfigurationSettings",
                    {"ApplicationName": "ApplicationName", "EnvironmentName": "EnvironmentName"},
                    result="ConfigurationSettings[].OptionSettings[]",
                    parse=managed_actions,
                ),
            },
            tags=Call(
                "ListTagsForResource",
                "elasticbeanstalk:ListTagsForResource",
                {"ResourceArn": "EnvironmentArn"},
                result="ResourceTags",
            ),
            events=(
                on(
                    "elasticbeanstalk.amazonaws.com",
                    (
                        "CreateEnvironment UpdateEnvironment TerminateEnvironment RebuildEnvironment "
                        "AbortEnvironmentUpdate ApplyEnvironmentManagedAction "
                        "AssociateEnvironmentOperationsRole DisassociateEnvironmentOperationsRole "
                        "SwapEnvironmentCNAMEs"
                    ),
                    P("requestParameters.environmentName"),
                    P("responseElements.environmentName"),
                    P("requestParameters.sourceEnvironmentName"),
                    P("requestParameters.destinationEnvironmentName"),
                ),
                on(
                    "elasticbeanstalk.amazonaws.com",
                    "UpdateTagsForResource",
                    R("requestParameters.resourceArn", "^arn:[^:]+:elasticbeanstalk:[^:]*:[^:]*:environment/[^/]+/(.+)$"),
                ),
            ),
        ),
    ),
)
