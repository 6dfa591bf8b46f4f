"""Elastic Beanstalk: environments (AWS::ElasticBeanstalk::Environment), regional."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

ENVIRONMENT = "AWS::ElasticBeanstalk::Environment"

SERVICE = Service(
    "elasticbeanstalk",
    resources=(
        ResourceSpec(
            ENVIRONMENT,
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
    iam=(
        "elasticbeanstalk:DescribeConfigurationSettings",  # not in the demo: per environment (the emulator lacks it)
        "elasticbeanstalk:DescribeEnvironments",
        "elasticbeanstalk:ListTagsForResource",  # not in the demo: per environment
    ),
)
