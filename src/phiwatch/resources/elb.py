"""Classic Elastic Load Balancing: load balancers (AWS::ElasticLoadBalancing::LoadBalancer).

Collector ``elb`` (its hook lives in ``collect/elbv2.py``, with the ``elbv2`` one):

* resourceId and resourceName ``LoadBalancerName`` (AWS Config's id), arn
  ``arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/<name>``.
* ``configuration``: DescribeLoadBalancers' element (``ListenerDescriptions`` with each
  listener's ``Protocol``, ``SSLCertificateId`` and ``PolicyNames``, ``Policies``, ``Scheme``, ...).
* ``supplementaryConfiguration.LoadBalancerAttributes``: DescribeLoadBalancerAttributes'
  ``{"AccessLog": {"Enabled", "S3BucketName", ...}, "CrossZoneLoadBalancing": {"Enabled"},
  "ConnectionDraining", "ConnectionSettings", ...}``.
* ``supplementaryConfiguration.PolicyDescriptions``: DescribeLoadBalancerPolicies' list (an SSL
  negotiation policy's ``PolicyAttributeDescriptions`` hold ``Reference-Security-Policy``).
* ``tags``: DescribeTags, batched 20 names per call (by the hook).

A supplementary key that is absent means its call failed (see ``collectionErrors``). A failed
tag batch records the error on every item of the batch. No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

LOAD_BALANCER = "AWS::ElasticLoadBalancing::LoadBalancer"

SERVICE = Service(
    "elb",
    cost=2,
    resources=(
        ResourceSpec(
            LOAD_BALANCER,
            client="elb",
            listing=Call("DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancers", result="LoadBalancerDescriptions"),
            id="LoadBalancerName",
            arn="arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/{id}",
            details={
                "LoadBalancerAttributes": Call(
                    "DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    {"LoadBalancerName": "LoadBalancerName"},
                    result="LoadBalancerAttributes",
                ),
                "PolicyDescriptions": Call(
                    "DescribeLoadBalancerPolicies",
                    "elasticloadbalancing:DescribeLoadBalancerPolicies",  # not in the demo: Classic ELB listeners with policies
                    {"LoadBalancerName": "LoadBalancerName"},
                    result="PolicyDescriptions || `[]`",
                ),
            },
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
    iam=("elasticloadbalancing:DescribeTags",),  # the hook's batched DescribeTags
)
