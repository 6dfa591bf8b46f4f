"""SageMaker: notebook instances (AWS::SageMaker::NotebookInstance) and endpoint configurations
(AWS::SageMaker::EndpointConfig), regional.

Item layout:

* ``AWS::SageMaker::NotebookInstance`` (ListNotebookInstances, then DescribeNotebookInstance):
  resourceId and resourceName the ``NotebookInstanceName``, arn the ``NotebookInstanceArn``.
  ``configuration`` = DescribeNotebookInstance's answer in boto3 shape; keys rules read:
  ``KmsKeyId`` (**absent or empty = no customer KMS key for the storage volume**) and
  ``DirectInternetAccess`` (``"Enabled"``/``"Disabled"``); also ``SubnetId``,
  ``SecurityGroups``, ``RootAccess``, ``NotebookInstanceStatus``. When DescribeNotebookInstance
  failed, ``configuration`` is the listing element (no ``KmsKeyId`` or ``DirectInternetAccess``)
  and the error is on the item.
* ``AWS::SageMaker::EndpointConfig`` (ListEndpointConfigs, then DescribeEndpointConfig):
  resourceId and resourceName the ``EndpointConfigName``, arn the ``EndpointConfigArn``.
  ``configuration`` = DescribeEndpointConfig's answer: ``KmsKeyId`` (absent = no customer key),
  ``ProductionVariants``, ``DataCaptureConfig``, ... Same fallback as notebooks on failure.
* ``tags``: ListTags per ARN (``{}`` and an error on the item when it failed).
* ``relationships``: the KMS key when ``KmsKeyId`` is a key ARN or KeyId.

A targeted run (``watch``) lists and describes only the wanted ones (by name or ARN).
No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

NOTEBOOK = "AWS::SageMaker::NotebookInstance"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"

#: DescribeNotebookInstance / DescribeEndpointConfig of a name that no longer exists
_GONE = ("ValidationException", "ResourceNotFound")


def _kms_key(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    return kms_key_relationship(configuration.get("KmsKeyId"))


SERVICE = Service(
    "sagemaker",
    resources=(
        ResourceSpec(
            NOTEBOOK,
            client="sagemaker",
            listing=Call("ListNotebookInstances", "sagemaker:ListNotebookInstances", result="NotebookInstances"),
            id="NotebookInstanceName",
            arn="NotebookInstanceArn",
            describe=Call(
                "DescribeNotebookInstance", "sagemaker:DescribeNotebookInstance", {"NotebookInstanceName": "NotebookInstanceName"}
            ),
            gone=_GONE,
            tags=Call("ListTags", "sagemaker:ListTags", {"ResourceArn": "NotebookInstanceArn"}, result="Tags"),
            relationships=_kms_key,
            events=(
                on(
                    "sagemaker.amazonaws.com",
                    ("CreateNotebookInstance UpdateNotebookInstance DeleteNotebookInstance StartNotebookInstance StopNotebookInstance"),
                    P("requestParameters.notebookInstanceName"),
                ),
                on(
                    "sagemaker.amazonaws.com",
                    "AddTags DeleteTags",
                    R("requestParameters.resourceArn", "^(arn:[^:]+:sagemaker:[^:]*:[^:]*:notebook-instance/.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            ENDPOINT_CONFIG,
            client="sagemaker",
            listing=Call("ListEndpointConfigs", "sagemaker:ListEndpointConfigs", result="EndpointConfigs"),
            id="EndpointConfigName",
            arn="EndpointConfigArn",
            describe=Call("DescribeEndpointConfig", "sagemaker:DescribeEndpointConfig", {"EndpointConfigName": "EndpointConfigName"}),
            gone=_GONE,
            tags=Call("ListTags", "sagemaker:ListTags", {"ResourceArn": "EndpointConfigArn"}, result="Tags"),
            relationships=_kms_key,
            events=(
                on("sagemaker.amazonaws.com", "CreateEndpointConfig DeleteEndpointConfig", P("requestParameters.endpointConfigName")),
                on(
                    "sagemaker.amazonaws.com",
                    "AddTags DeleteTags",
                    R("requestParameters.resourceArn", "^(arn:[^:]+:sagemaker:[^:]*:[^:]*:endpoint-config/.+)$"),
                    optional=True,
                ),
            ),
        ),
    ),
)
