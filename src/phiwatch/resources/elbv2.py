"""Elastic Load Balancing: ALB/NLB/GWLB (collector ``elbv2``) and Classic Load Balancers (``elb``)."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

LOAD_BALANCER_V2 = "AWS::ElasticLoadBalancingV2::LoadBalancer"

SERVICE = Service(
    "elbv2",
    resources=(
        ResourceSpec(
            LOAD_BALANCER_V2,
            events=(
                on(
                    "elasticloadbalancing.amazonaws.com",
                    ("CreateLoadBalancer DeleteLoadBalancer ModifyLoadBalancerAttributes AddTags RemoveTags"),
                    P("requestParameters.loadBalancerArn"),
                    P("responseElements.loadBalancers[].loadBalancerArn"),
                    P("requestParameters.resourceArns"),
                    optional=True,
                ),
                on(
                    "elasticloadbalancing.amazonaws.com",
                    (
                        "CreateListener ModifyListener DeleteListener SetSecurityGroups SetSubnets "
                        "SetIpAddressType AddListenerCertificates RemoveListenerCertificates"
                    ),
                    P("requestParameters.loadBalancerArn"),
                    R(
                        "requestParameters.listenerArn",
                        "^(arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:)listener/([^/]+/[^/]+/[^/]+)/[^/]+$",
                        r"\1loadbalancer/\2",
                    ),
                ),
            ),
        ),
    ),
    iam=(
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTags",
    ),
)
