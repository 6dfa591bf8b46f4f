"""Amazon MQ: brokers (AWS::AmazonMQ::Broker), regional.

Item layout:

* ``resourceId`` the ``BrokerId``, ``resourceName`` the ``BrokerName``, ``arn`` the ``BrokerArn``.
* ``configuration``: DescribeBroker's answer in boto3 shape (its ``Tags`` moved to the item's
  tags; the users' passwords are never returned). Keys rules read: ``PubliclyAccessible``,
  ``DeploymentMode``, ``EngineType``, ``EncryptionOptions``, ``Logs``, ``AutoMinorVersionUpgrade``,
  ``SubnetIds``, ``SecurityGroups``. When DescribeBroker failed, ``configuration`` is the
  ListBrokers summary (no ``PubliclyAccessible``) and the error is on the item.
* ``relationships``: the broker's subnets and security groups.

ListBrokers gives only a summary, so each broker is described. No account-level keys; collected
by the generic collector from this spec.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on, relation

BROKER = "AWS::AmazonMQ::Broker"


def _relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    out = [r for subnet in configuration.get("SubnetIds") or [] for r in relation("AWS::EC2::Subnet", subnet, "Is contained in Subnet")]
    return out + [
        r
        for group in configuration.get("SecurityGroups") or []
        for r in relation("AWS::EC2::SecurityGroup", group, "Is associated with SecurityGroup")
    ]


SERVICE = Service(
    "mq",
    resources=(
        ResourceSpec(
            BROKER,
            client="mq",
            listing=Call("ListBrokers", "mq:ListBrokers", result="BrokerSummaries"),
            id="BrokerId",
            name="BrokerName",
            arn="BrokerArn",
            describe=Call("DescribeBroker", "mq:DescribeBroker", {"BrokerId": "BrokerId"}),
            gone=("NotFoundException",),
            tags="Tags",
            drop=("Tags",),
            relationships=_relationships,
            events=(
                on(
                    "mq.amazonaws.com",
                    "CreateBroker UpdateBroker DeleteBroker RebootBroker",
                    P("requestParameters.brokerId"),
                    P("responseElements.brokerId"),
                ),
                on(
                    "mq.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourceArn", r"^arn:[^:]+:mq:[^:]*:[^:]*:broker:[^:]*:([^:]+)$"),
                ),
            ),
        ),
    ),
)
