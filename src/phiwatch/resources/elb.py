"""Classic Elastic Load Balancing: load balancers (AWS::ElasticLoadBalancing::LoadBalancer)."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

LOAD_BALANCER = "AWS::ElasticLoadBalancing::LoadBalancer"

SERVICE = Service(
    "elb",
    resources=(
        ResourceSpec(
            LOAD_BALANCER,
            events=(
                on(
                    "elasticloadbalancing.amazonaws.com",
                    ("CreateLoadBalancer DeleteLoadBalancer ModifyLoadBalancerAttributes AddTags RemoveTags"),
                    P("requestParameters.loadBalancerName"),
                    P("requestParameters.loadBalancerNames"),
                    optional=True,
                ),
                on(
                    "elasticloadbalancing.amazonaws.com",
                    (
                        "CreateLoadBalancerListeners DeleteLoadBalancerListeners "
                        "SetLoadBalancerPoliciesOfListener CreateLoadBalancerPolicy "
                        "DeleteLoadBalancerPolicy SetLoadBalancerListenerSSLCertificate "
                        "ApplySecurityGroupsToLoadBalancer AttachLoadBalancerToSubnets "
                        "DetachLoadBalancerFromSubnets"
                    ),
                    P("requestParameters.loadBalancerName"),
                ),
            ),
        ),
    ),
    iam=(
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancerPolicies",  # not in the demo: Classic ELB listeners with policies
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTags",
    ),
)
