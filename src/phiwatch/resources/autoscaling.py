"""EC2 Auto Scaling: groups (AWS::AutoScaling::AutoScalingGroup) and launch configurations"""

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
