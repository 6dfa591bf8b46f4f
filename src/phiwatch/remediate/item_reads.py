"""Dry runs that read the finding's collected item instead of AWS, where the item holds the answer.

A plan is a dry run of the runbook: its read steps run so the plan follows the branch the real
run would take. When the finding's item was collected and judged moments ago (a scan plans
right after collecting), several of those reads ask AWS again for what the item already holds:
an S3 bucket's policy, default encryption and versioning are each read by the collector
(:mod:`phiwatch.collect.s3`) and by a runbook, and so are a DynamoDB table's point-in-time
recovery, an instance's metadata options, a security group's rules, and the account's EBS
encryption by default and IAM password policy. :class:`ItemReads` answers such a read from the
item, rebuilt into the API's response shape, and the executor records the call as it would
have been sent (service, API, parameters) and marked ``from_item`` (not sent): the plan still
shows every call the run makes, and says which reads came from the collected configuration.

A read is answered only when it asks about exactly this item (the bucket named is the item's, in
the item's Region) and the item holds what the collector read (a key absent because the
collector's call failed, or an error recorded for that API, sends the call to AWS as before).
An answer that AWS gives as an error (no bucket policy, no default encryption) is raised as the
same :class:`~botocore.exceptions.ClientError` code, so a runbook or script handles it as it
handles AWS's. Only reads whose item layout maps back to the response without loss for what the
runbooks read are listed in :data:`READERS`; every other read goes to AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, ConfigurationItem

__all__ = ["READERS", "ItemReads", "NOT_ANSWERED"]

BUCKET = "AWS::S3::Bucket"


class _NotAnswered:
    def __repr__(self) -> str:
        return "NOT_ANSWERED"


#: what a reader returns when the item cannot answer (the call goes to AWS)
NOT_ANSWERED: Any = _NotAnswered()

Reader = Callable[[ConfigurationItem, dict[str, Any]], Any]


def _not_found(code: str, api: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "read from the collected item"}}, api)


def _supplementary(item: ConfigurationItem, key: str) -> Any:
    """The item's ``supplementaryConfiguration[key]``, NOT_ANSWERED when the collector could not read it."""
    supplementary = item.supplementaryConfiguration or {}
    return supplementary[key] if key in supplementary else NOT_ANSWERED


def _bucket_policy(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    stored = _supplementary(item, "BucketPolicy")
    if stored is NOT_ANSWERED:
        return NOT_ANSWERED
    if stored is None:
        return _not_found("NoSuchBucketPolicy", "GetBucketPolicy")
    text = stored.get("policyText") if isinstance(stored, dict) else None
    return {"Policy": text} if isinstance(text, str) and text else NOT_ANSWERED


def _setting(stored: Any, response_key: str, missing: str, api: str) -> Any:
    """A setting the collector stored (a dict; None: the resource has none) as ``api``'s response,
    ``{response_key: stored}``, or the error ``missing`` AWS gives when there is none."""
    if stored is NOT_ANSWERED:
        return NOT_ANSWERED
    if stored is None:
        return _not_found(missing, api)
    return {response_key: stored} if isinstance(stored, dict) else NOT_ANSWERED


def _bucket_encryption(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    stored = _supplementary(item, "ServerSideEncryptionConfiguration")
    return _setting(stored, "ServerSideEncryptionConfiguration", "ServerSideEncryptionConfigurationNotFoundError", "GetBucketEncryption")


def _bucket_versioning(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    stored = _supplementary(item, "BucketVersioningConfiguration")
    if not isinstance(stored, dict) or stored.get("status") not in ("Off", "Enabled", "Suspended"):
        return NOT_ANSWERED
    response: dict[str, Any] = {} if stored["status"] == "Off" else {"Status": stored["status"]}  # never enabled: no Status
    if stored.get("isMfaDeleteEnabled"):
        response["MFADelete"] = "Enabled"
    return response


def _continuous_backups(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    stored = _supplementary(item, "ContinuousBackupsDescription")
    if not isinstance(stored, dict) or not isinstance(stored.get("PointInTimeRecoveryDescription"), dict):
        return NOT_ANSWERED
    return {"ContinuousBackupsDescription": stored}


def _instance(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    configuration = item.configuration or {}
    if not isinstance(configuration.get("MetadataOptions"), dict) or configuration.get("InstanceId") != item.resourceId:
        return NOT_ANSWERED
    return {"Reservations": [{"Instances": [configuration]}]}


def _security_group(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    configuration = item.configuration or {}
    if not isinstance(configuration.get("IpPermissions"), list) or configuration.get("GroupId") != item.resourceId:
        return NOT_ANSWERED
    return {"SecurityGroups": [configuration]}


def _configuration(item: ConfigurationItem, key: str) -> Any:
    """The item's ``configuration[key]``, NOT_ANSWERED when the collector could not read it (no key)."""
    configuration = item.configuration or {}
    return configuration[key] if key in configuration else NOT_ANSWERED


def _ebs_encryption_by_default(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    stored = _configuration(item, "ebsEncryptionByDefault")
    return {"EbsEncryptionByDefault": stored} if isinstance(stored, bool) else NOT_ANSWERED


def _password_policy(item: ConfigurationItem, params: dict[str, Any]) -> Any:
    return _setting(_configuration(item, "iamPasswordPolicy"), "PasswordPolicy", "NoSuchEntity", "GetAccountPasswordPolicy")


def _about_account(reader: Reader) -> Reader:
    """``reader`` for a call without parameters about the account's settings."""

    def answer(item: ConfigurationItem, params: dict[str, Any]) -> Any:
        if item.resourceType != ACCOUNT_TYPE or params:
            return NOT_ANSWERED
        return reader(item, params)

    return answer


def _about_item(resource_type: str, key: str, reader: Reader, *, listed: bool = False) -> Reader:
    """``reader`` for a call whose one parameter ``key`` names the item (its id; with ``listed``, a
    list of exactly its id) of ``resource_type``, and nothing else."""

    def answer(item: ConfigurationItem, params: dict[str, Any]) -> Any:
        named = [item.resourceId] if listed else item.resourceId
        if item.resourceType != resource_type or set(params) != {key} or params[key] != named:
            return NOT_ANSWERED
        return reader(item, params)

    return answer


#: (boto3 service, API) -> how the item answers it (reads the collectors make, with the item
#: layouts of :mod:`phiwatch.collect.s3`, :mod:`phiwatch.resources.dynamodb` and
#: :mod:`phiwatch.resources.ec2`: an instance's and a security group's describe element; and the
#: account item's settings: EBS encryption by default (each Region's item) and the IAM password
#: policy (the ``global`` item))
READERS: dict[tuple[str, str], Reader] = {
    ("s3", "GetBucketPolicy"): _about_item(BUCKET, "Bucket", _bucket_policy),
    ("s3", "GetBucketEncryption"): _about_item(BUCKET, "Bucket", _bucket_encryption),
    ("s3", "GetBucketVersioning"): _about_item(BUCKET, "Bucket", _bucket_versioning),
    ("dynamodb", "DescribeContinuousBackups"): _about_item("AWS::DynamoDB::Table", "TableName", _continuous_backups),
    ("ec2", "DescribeInstances"): _about_item("AWS::EC2::Instance", "InstanceIds", _instance, listed=True),
    ("ec2", "DescribeSecurityGroups"): _about_item("AWS::EC2::SecurityGroup", "GroupIds", _security_group, listed=True),
    ("ec2", "GetEbsEncryptionByDefault"): _about_account(_ebs_encryption_by_default),
    ("iam", "GetAccountPasswordPolicy"): _about_account(_password_policy),
}


class ItemReads:
    """Answers a dry run's reads about ``item`` (in ``region``) from the item itself. An item of
    Region ``global`` (the account's IAM settings) answers in any Region; its readers read only
    what is the same in every Region."""

    def __init__(self, item: ConfigurationItem, region: str) -> None:
        self.item = item
        self.region = region
        self._failed = {str(e.get("api")) for e in item.collectionErrors or [] if isinstance(e, dict)}

    def answer(self, service: str, api: str, params: dict[str, Any]) -> Any:
        """The response (a dict) or the error (a ClientError, to raise) AWS would give, as the
        item holds it; NOT_ANSWERED when the call must go to AWS."""
        reader = READERS.get((service, api))
        if reader is None or api in self._failed or self.item.awsRegion not in (self.region, GLOBAL_REGION):
            return NOT_ANSWERED
        return reader(self.item, params)
