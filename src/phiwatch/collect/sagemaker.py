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

No account-level keys.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.sagemaker import ENDPOINT_CONFIG, NOTEBOOK

_KINDS = (
    # type, list api, list key, name key, arn key, describe api, describe parameter
    (NOTEBOOK, "ListNotebookInstances", "NotebookInstances", "NotebookInstanceName", "NotebookInstanceArn", "DescribeNotebookInstance"),
    (ENDPOINT_CONFIG, "ListEndpointConfigs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn", "DescribeEndpointConfig"),
)


@register
class SageMakerCollector(Collector):
    name = "sagemaker"
    resource_types = (NOTEBOOK, ENDPOINT_CONFIG)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        for resource_type, list_api, list_key, name_key, arn_key, describe_api in _KINDS:
            if not ctx.wants(resource_type):
                continue
            try:
                elements = list(ctx.paginate("sagemaker", list_api, list_key, resource_type=resource_type, id_key=name_key))
            except ListFailed:
                continue
            elements = [e for e in elements if ctx.selected(resource_type, e.get(name_key), e.get(arn_key))]
            describe = functools.partial(self._item, ctx, resource_type, name_key=name_key, arn_key=arn_key, describe_api=describe_api)
            for item in ctx.map(describe, elements):
                if item is not None:
                    yield item
            ctx.mark_complete(resource_type)

    def _item(
        self, ctx: CollectContext, resource_type: str, element: dict[str, Any], name_key: str, arn_key: str, describe_api: str
    ) -> ConfigurationItem | None:
        name = element[name_key]
        arn = element.get(arn_key) or ""
        item = ctx.item(resource_type, name, resourceName=name, arn=arn, configuration=dict(element))
        described = ctx.call(
            "sagemaker",
            describe_api,
            item=item,
            not_found=("ValidationException", "ResourceNotFound"),
            absent=None,
            **{name_key: name},
        )
        if described is None:
            return None  # deleted between the listing and now
        if described is not FAILED:
            item.configuration = described
            item.arn = described.get(arn_key) or arn
            item.relationships = kms_key_relationship(described.get("KmsKeyId"))
        if item.arn:
            tags = ctx.call("sagemaker", "ListTags", item=item, ResourceArn=item.arn)
            if tags is not FAILED:
                item.tags = tags_from_list(tags.get("Tags"))
        item.refresh_state_id()
        return item
