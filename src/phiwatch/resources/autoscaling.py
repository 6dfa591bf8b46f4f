"""EC2 Auto Scaling: groups (AWS::AutoScaling::AutoScalingGroup) and launch configurations
(AWS::AutoScaling::LaunchConfiguration), regional.

Item layout:

* ``AWS::AutoScaling::AutoScalingGroup`` (DescribeAutoScalingGroups): resourceId and arn the
  ``AutoScalingGroupARN`` (AWS Config's id), resourceName the ``AutoScalingGroupName``.
  ``configuration`` = the listing element in boto3 shape without ``Tags``; keys rules read:
  ``HealthCheckType`` (``EC2``, ``ELB``, ...), ``LoadBalancerNames`` (Classic load balancers),
  ``TargetGroupARNs``, ``LaunchConfigurationName``, ``LaunchTemplate``,
  ``MixedInstancesPolicy``. ``tags`` from its ``Tags``.
* ``AWS::AutoScaling::LaunchConfiguration`` (DescribeLaunchConfigurations): resourceId and arn
  the ``LaunchConfigurationARN``, resourceName the ``LaunchConfigurationName``.
  ``configuration`` = the listing element without ``UserData`` (user data may hold secrets;
  only ``UserDataPresent`` is kept); ``AssociatePublicIpAddress`` is absent when not set.
* ``relationships``: a group's launch configuration and Classic load balancers.

A targeted run (``watch``) passes the wanted names (an ARN's name part) to the describe call
instead of listing everything. No account-level keys.

Collected by the hook :mod:`phiwatch.collect.autoscaling`.
"""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

GROUP = "AWS::AutoScaling::AutoScalingGroup"
LAUNCH_CONFIGURATION = "AWS::AutoScaling::LaunchConfiguration"

SERVICE = Service(
    "autoscaling",
    resources=(
        ResourceSpec(
            GROUP,
            events=(
                on(
                    "autoscaling.amazonaws.com",
                    (
                        "CreateAutoScalingGroup UpdateAutoScalingGroup DeleteAutoScalingGroup "
                        "AttachLoadBalancers DetachLoadBalancers AttachLoadBalancerTargetGroups "
                        "DetachLoadBalancerTargetGroups AttachTrafficSources DetachTrafficSources "
                        "SuspendProcesses ResumeProcesses EnableMetricsCollection "
                        "DisableMetricsCollection SetDesiredCapacity"
                    ),
                    P("requestParameters.autoScalingGroupName"),
                ),
                on("autoscaling.amazonaws.com", "CreateOrUpdateTags DeleteTags", P("requestParameters.tags[].resourceId")),
            ),
        ),
        ResourceSpec(
            LAUNCH_CONFIGURATION,
            events=(
                on(
                    "autoscaling.amazonaws.com",
                    "CreateLaunchConfiguration DeleteLaunchConfiguration",
                    P("requestParameters.launchConfigurationName"),
                ),
            ),
        ),
    ),
    iam=(
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeLaunchConfigurations",
    ),
)
