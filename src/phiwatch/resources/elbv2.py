"""Elastic Load Balancing v2: ALB/NLB/GWLB (AWS::ElasticLoadBalancingV2::LoadBalancer).

Collector ``elbv2`` (its hook lives in ``collect/elbv2.py``, with the Classic ``elb`` one):

* resourceId and arn ``LoadBalancerArn`` (AWS Config's id), resourceName ``LoadBalancerName``.
* ``configuration``: DescribeLoadBalancers' element (``Type`` application|network|gateway,
  ``Scheme``, ``VpcId``, ``AvailabilityZones``, ``SecurityGroups``, ...).
* ``supplementaryConfiguration.Attributes``: DescribeLoadBalancerAttributes as a dict
  ``{key: value}`` with string values as AWS returns them, e.g. ``"access_logs.s3.enabled":
  "false"``, ``"deletion_protection.enabled"``, ``"routing.http.drop_invalid_header_fields.enabled"``,
  ``"waf.fail_open.enabled"``. AWS always returns ``access_logs.s3.enabled``; moto omits it until
  it is set, so treat a missing key as ``"false"``.
* ``supplementaryConfiguration.Listeners``: DescribeListeners' elements (``Protocol``, ``Port``,
  ``SslPolicy``, ``Certificates`` (the default certificate), ``DefaultActions`` with
  ``Type`` forward|redirect|fixed-response|... and ``RedirectConfig`` for redirects).
* ``tags``: DescribeTags, batched 20 ARNs per call (by the hook).
* relationships: VPC, subnets, security groups.

A supplementary key that is absent means its call failed (see ``collectionErrors``). A failed
tag batch records the error on every item of the batch. No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

LOAD_BALANCER_V2 = "AWS::ElasticLoadBalancingV2::LoadBalancer"


def _attributes(attributes: Any) -> dict[str, Any]:
    """DescribeLoadBalancerAttributes' ``[{Key, Value}]`` as ``{key: value}``."""
    return {a["Key"]: a.get("Value") for a in attributes or [] if "Key" in a}


def _relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    relationships: list[dict[str, Any]] = []
    if configuration.get("VpcId"):
        relationships.append({"resourceType": "AWS::EC2::VPC", "resourceId": configuration["VpcId"], "name": "Is contained in Vpc"})
    for zone in configuration.get("AvailabilityZones") or []:
        if zone.get("SubnetId"):
            relationships.append({"resourceType": "AWS::EC2::Subnet", "resourceId": zone["SubnetId"], "name": "Is attached to Subnet"})
    for sg in configuration.get("SecurityGroups") or []:
        relationships.append({"resourceType": "AWS::EC2::SecurityGroup", "resourceId": sg, "name": "Is associated with SecurityGroup"})
    return relationships


SERVICE = Service(
    "elbv2",
    cost=2,
    resources=(
        ResourceSpec(
            LOAD_BALANCER_V2,
            client="elbv2",
            listing=Call("DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancers", result="LoadBalancers"),
            id="LoadBalancerArn",
            name="LoadBalancerName",
            arn="LoadBalancerArn",
            details={
                "Attributes": Call(
                    "DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    {"LoadBalancerArn": "LoadBalancerArn"},
                    result="Attributes",
                    parse=_attributes,
                ),
                "Listeners": Call(
                    "DescribeListeners",
                    "elasticloadbalancing:DescribeListeners",
                    {"LoadBalancerArn": "LoadBalancerArn"},
                    result="Listeners",
                    pages=True,
                ),
            },
            relationships=_relationships,
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
    iam=("elasticloadbalancing:DescribeTags",),  # the hook's batched DescribeTags
)
