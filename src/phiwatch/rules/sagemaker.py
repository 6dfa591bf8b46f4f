"""SageMaker rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.sagemaker`: ``configuration`` is DescribeNotebookInstance's
/ DescribeEndpointConfig's answer, where an absent or empty ``KmsKeyId`` means no customer KMS
key. When the describe call failed the key is absent for that reason: the rules then report
INSUFFICIENT_DATA.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.sagemaker import ENDPOINT_CONFIG, NOTEBOOK
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, describe_failure, get, insufficient, non_compliant, rule
from phiwatch.rules.kms import key_matches


def _kms_key_configured(item: ConfigurationItem, params: dict, ctx: RuleContext, api: str, what: str) -> Result:
    if api in item.failed_apis():
        return insufficient(describe_failure(item, [api]))
    key = get(item, "configuration.KmsKeyId")
    if not key:
        return non_compliant(f"{what} has no AWS KMS key configured")
    allowed = csv_list(params.get("kmsKeyArns"))
    if allowed and not key_matches(key, allowed, item, ctx):
        return non_compliant(f"{what} uses a KMS key that is not one of kmsKeyArns")
    return compliant(f"{what} uses AWS KMS key {key}")


# reads is empty on purpose: an absent KmsKeyId means "no key" when the describe call
# succeeded; its failure is checked in _kms_key_configured.
@rule(
    "sagemaker-endpoint-configuration-kms-key-configured",
    reads={},
    aws_identifier="SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED",
    service="Amazon SageMaker",
    resource_types=(ENDPOINT_CONFIG,),
    trigger="periodic",
    severity="high",
    compliant_when="The SageMaker endpoint configuration specifies a KmsKeyId (optionally one of kmsKeyArns).",
    parameters={"kmsKeyArns": ("str", None)},
)
def sagemaker_endpoint_configuration_kms_key_configured(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _kms_key_configured(item, params, ctx, "DescribeEndpointConfig", "endpoint configuration")


@rule(
    "sagemaker-notebook-instance-kms-key-configured",
    reads={},
    aws_identifier="SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED",
    service="Amazon SageMaker",
    resource_types=(NOTEBOOK,),
    trigger="periodic",
    severity="high",
    compliant_when="The SageMaker notebook instance specifies a KmsKeyId (optionally one of kmsKeyArns).",
    parameters={"kmsKeyArns": ("str", None)},
)
def sagemaker_notebook_instance_kms_key_configured(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _kms_key_configured(item, params, ctx, "DescribeNotebookInstance", "notebook instance")


@rule(
    "sagemaker-notebook-no-direct-internet-access",
    reads={"configuration.DirectInternetAccess": "DescribeNotebookInstance"},
    aws_identifier="SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS",
    service="Amazon SageMaker",
    resource_types=(NOTEBOOK,),
    trigger="periodic",
    severity="low",
    compliant_when="Direct internet access is disabled on the SageMaker notebook instance.",
)
def sagemaker_notebook_no_direct_internet_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if str(get(item, "configuration.DirectInternetAccess")).lower() == "disabled":
        return compliant("direct internet access is disabled")
    return non_compliant("direct internet access is enabled")


@rule(
    "sagemaker-notebook-instance-inside-vpc",
    reads={},
    aws_identifier="SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC",
    service="Amazon SageMaker",
    resource_types=(NOTEBOOK,),
    trigger="change",
    severity="medium",
    compliant_when="The notebook instance is launched in a VPC subnet (one of SubnetIds when that parameter is set).",
    parameters={"SubnetIds": ("str", None)},
)
def sagemaker_notebook_instance_inside_vpc(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if "DescribeNotebookInstance" in item.failed_apis():
        return insufficient(describe_failure(item, ["DescribeNotebookInstance"]))
    subnet = get(item, "configuration.SubnetId")
    if not subnet:
        return non_compliant("notebook instance is not launched in a VPC")
    allowed = csv_list(params.get("SubnetIds"))
    if allowed and subnet not in allowed:
        return non_compliant(f"notebook instance is in subnet {subnet}, not one of SubnetIds")
    return compliant(f"notebook instance is in subnet {subnet}")


@rule(
    "sagemaker-notebook-instance-root-access-check",
    reads={},
    aws_identifier="SAGEMAKER_NOTEBOOK_INSTANCE_ROOT_ACCESS_CHECK",
    service="Amazon SageMaker",
    resource_types=(NOTEBOOK,),
    trigger="change",
    severity="medium",
    compliant_when="Root access is disabled for the notebook instance's users (RootAccess Disabled).",
)
def sagemaker_notebook_instance_root_access_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """SageMaker's default is RootAccess Enabled: a description without ``RootAccess`` is Enabled."""
    if "DescribeNotebookInstance" in item.failed_apis():
        return insufficient(describe_failure(item, ["DescribeNotebookInstance"]))
    if (get(item, "configuration.RootAccess") or "Enabled") == "Enabled":
        return non_compliant("root access is enabled for the notebook instance's users")
    return compliant("root access is disabled")
