"""EMR: active clusters (AWS::EMR::Cluster), regional.

Clusters are listed in the states STARTING, BOOTSTRAPPING, RUNNING and WAITING (a terminated
cluster no longer processes data and drops out of the inventory as deleted).

Item layout:

* ``resourceId`` and ``resourceName``: the cluster ``Id`` (``j-...``, AWS Config's id) and
  ``Name``; ``arn``: the ``ClusterArn``.
* ``configuration``: DescribeCluster's ``Cluster`` in boto3 shape without ``Tags``; keys rules
  read: ``SecurityConfiguration`` (the name, absent when none), ``KerberosAttributes`` (``Realm``
  and the other non-secret fields; **every ``*Password`` field is removed**),
  ``Ec2InstanceAttributes``, ``MasterPublicDnsName``, ``InstanceCollectionType``, ``Status``.
  ``Configurations`` keep classifications but every property value is ``"REDACTED"`` (they may
  hold database passwords). When DescribeCluster failed, ``configuration`` is the ListClusters
  element and the error is on the item.
* ``supplementaryConfiguration.SecurityConfiguration``: the cluster's security configuration
  (DescribeSecurityConfiguration's JSON, parsed; read once per name), ``None`` when the cluster
  has none, absent when the call failed.
* ``supplementaryConfiguration.MasterInstances``: ListInstances' elements for the master
  instance group or fleet (``Ec2InstanceId``, ``PublicIpAddress``, ``PublicDnsName``,
  ``PrivateIpAddress``, ``Status``, ...); absent when that call failed.
* ``tags``: DescribeCluster's ``Tags``.

No account-level keys.

The spec reads each cluster: the listing, DescribeCluster (its ``Cluster`` is the
configuration, ``Tags`` the tags) and the redaction (``shape``). The hook
:mod:`phiwatch.collect.emr` adds ``supplementaryConfiguration`` (the master instances, and the
security configurations read once per name).
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

CLUSTER = "AWS::EMR::Cluster"

ACTIVE_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]

REDACTED = "REDACTED"


def redact_configurations(configurations: Any) -> Any:
    """Application configurations with every property value replaced (classifications kept)."""
    if not isinstance(configurations, list):
        return configurations
    out = []
    for conf in configurations:
        conf = dict(conf)
        if isinstance(conf.get("Properties"), dict):
            conf["Properties"] = {k: REDACTED for k in conf["Properties"]}
        if "Configurations" in conf:
            conf["Configurations"] = redact_configurations(conf["Configurations"])
        out.append(conf)
    return out


def clean_cluster(cluster: dict[str, Any]) -> dict[str, Any]:
    """The recorded cluster: no ``*Password`` field of ``KerberosAttributes``, configuration properties redacted."""
    clean = dict(cluster)
    if isinstance(clean.get("KerberosAttributes"), dict):
        clean["KerberosAttributes"] = {k: v for k, v in clean["KerberosAttributes"].items() if not k.endswith("Password")}
    if "Configurations" in clean:
        clean["Configurations"] = redact_configurations(clean["Configurations"])
    return clean


SPEC = ResourceSpec(
    CLUSTER,
    client="emr",
    listing=Call("ListClusters", "elasticmapreduce:ListClusters", {"ClusterStates": ACTIVE_STATES}, result="Clusters"),
    id="Id",
    name="Name",
    arn=("ClusterArn", "arn:{partition}:elasticmapreduce:{region}:{account}:cluster/{id}"),
    describe=Call("DescribeCluster", "elasticmapreduce:DescribeCluster", {"ClusterId": "Id"}, result="Cluster"),
    tags="Tags",
    drop=("Tags",),
    shape=clean_cluster,
    events=(
        on(
            "elasticmapreduce.amazonaws.com",
            (
                "RunJobFlow TerminateJobFlows ModifyCluster SetTerminationProtection "
                "SetVisibleToAllUsers SetKeepJobFlowAliveWhenNoSteps SetUnhealthyNodeReplacement "
                "AddTags RemoveTags"
            ),
            P("responseElements.jobFlowId"),
            P("requestParameters.jobFlowIds"),
            P("requestParameters.clusterId"),
            R("requestParameters.resourceId", "^(j-[0-9A-Za-z]+)$"),
        ),
        on("elasticmapreduce.amazonaws.com", "DeleteSecurityConfiguration"),
    ),
)

SERVICE = Service(
    "emr",
    resources=(SPEC,),
    iam=(
        "elasticmapreduce:DescribeSecurityConfiguration",
        "elasticmapreduce:ListInstances",
    ),
)
