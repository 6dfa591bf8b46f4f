"""Elastic Beanstalk: environments (AWS::ElasticBeanstalk::Environment), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``EnvironmentName`` (AWS Config's id); ``arn``: the
  ``EnvironmentArn``.
* ``configuration``: DescribeEnvironments' element in boto3 shape (``ApplicationName``,
  ``EnvironmentId``, ``Status``, ``Health``, ``PlatformArn``, ``SolutionStackName``, ...).
* ``supplementaryConfiguration.OptionSettings``: the option settings of DescribeConfigurationSettings
  in the namespaces rules read (:data:`KEPT_NAMESPACES`: managed actions, health reporting,
  CloudWatch Logs streaming), as ``{namespace: {option: value}}`` with AWS's text values
  (``{"aws:elasticbeanstalk:healthreporting:system": {"SystemType": "enhanced"},
  "aws:elasticbeanstalk:cloudwatch:logs": {"StreamLogs": "true", "RetentionInDays": "7",
  "DeleteOnTerminate": "false"}}``). No other option settings are stored (environment properties
  may hold secrets).
* ``supplementaryConfiguration.ManagedActions``: the managed platform update settings derived
  from them (by the hook, :mod:`phiwatch.collect.elasticbeanstalk`, so the call is made once):
  ``{"ManagedActionsEnabled": bool, "UpdateLevel": "minor" | "patch" | None,
  "PreferredStartTime": str | None}``.

  Both are absent when DescribeConfigurationSettings failed.
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
HEALTH_REPORTING = "aws:elasticbeanstalk:healthreporting:system"
CLOUDWATCH_LOGS = "aws:elasticbeanstalk:cloudwatch:logs"
#: the option namespaces recorded: none of them holds application secrets
KEPT_NAMESPACES = (MANAGED_ACTIONS, PLATFORM_UPDATE, HEALTH_REPORTING, CLOUDWATCH_LOGS)


def kept_settings(option_settings: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """``{namespace: {option: value}}`` of the option settings in :data:`KEPT_NAMESPACES`."""
    out: dict[str, dict[str, Any]] = {}
    for option in option_settings or []:
        if isinstance(option, dict) and option.get("Namespace") in KEPT_NAMESPACES and isinstance(option.get("OptionName"), str):
            out.setdefault(option["Namespace"], {})[option["OptionName"]] = option.get("Value")
    return out


def managed_actions_of(settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The managed platform update settings of :func:`kept_settings`' answer."""
    return managed_actions(
        [{"Namespace": ns, "OptionName": name, "Value": value} for ns, options in settings.items() for name, value in options.items()]
    )


def managed_actions(option_settings: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The managed platform update settings of one environment's option settings."""
    values = {(o.get("Namespace"), o.get("OptionName")): o.get("Value") for o in option_settings or []}
    enabled = str(values.get((MANAGED_ACTIONS, "ManagedActionsEnabled")) or "false").lower() == "true"
    return {
        "ManagedActionsEnabled": enabled,
        "UpdateLevel": values.get((PLATFORM_UPDATE, "UpdateLevel")) or None,
        "PreferredStartTime": values.get((MANAGED_ACTIONS, "PreferredStartTime")) or None,
    }


SPEC = ResourceSpec(
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
        "OptionSettings": Call(
            "DescribeConfigurationSettings",
            "elasticbeanstalk:DescribeConfigurationSettings",
            {"ApplicationName": "ApplicationName", "EnvironmentName": "EnvironmentName"},
            result="ConfigurationSettings[].OptionSettings[]",
            parse=kept_settings,
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
)

SERVICE = Service("elasticbeanstalk", resources=(SPEC,))
