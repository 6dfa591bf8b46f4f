"""Event -> resource: ONE declarative table from CloudTrail write calls (and AWS Config item
changes) to the phiwatch resources they touch.

An "AWS API Call via CloudTrail" event (EventBridge envelope, the CloudTrail record in
``detail``) is looked up by ``detail.eventSource`` + ``detail.eventName``. Each entry names
one or more :class:`Target`:

* ``resource_type``: the AWS Config type phiwatch stores (``AWS::EC2::SecurityGroup``), or
  ``AWS::::Account`` for account-level calls (``DisableEbsEncryptionByDefault``,
  ``UpdateAccountPasswordPolicy``); the collector that re-collects it is the one producing that
  type, or ``service`` for account targets (the service owning the account key).
* ``ids``: where the resource's identifier is in the record (:class:`P` a path such as
  ``requestParameters.groupId`` or ``responseElements.instancesSet.items[].instanceId``,
  :class:`T` a template such as an API Gateway stage ARN, :class:`R` a path whose value is
  rewritten by a regular expression). Whatever is found is matched against the store's ARN,
  resource id or name (an IAM user is named ``userName`` in the event and stored by ``UserId``:
  the name matches). Identifiers only serve to say *who changed which resource*; re-collection
  is per (service, region), so an event whose identifiers cannot be read is still acted on.
* ``optional``: use this target only when one of its ids was found. It tells apart calls that
  share a name (Classic and v2 load balancers both call ``CreateLoadBalancer``; API Gateway v1
  and v2 both call ``UpdateStage``): when no target of an entry found an id, all are used.
* ``region``: ``global`` for account-global settings (IAM, S3 account public access block);
  otherwise the event's ``awsRegion`` (a resource already in the store keeps its stored region,
  e.g. an S3 bucket).

``when`` restricts an entry to records whose paths have given values (Application Auto
Scaling calls matter only for ``serviceNamespace`` ``dynamodb``). Lambda's CloudTrail event
names carry an API version (``UpdateFunctionConfiguration20150331v2``): entries of a source
in :data:`VERSIONED_SOURCES` match the name without that suffix, and the EventBridge pattern
uses prefix filters for them.

Only write calls are listed (the EventBridge rule sends nothing else); records with
``errorCode`` (the call failed: nothing changed) and ``readOnly`` records are ignored.

AWS Config "Configuration Item Change" events (``source`` ``aws.config``) name the resource
directly (``configurationItem`` or, for oversized items, ``configurationItemSummary``):
the type's collector re-collects it; phiwatch never stores Config's copy of the item.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from phiwatch.model import ACCOUNT_TYPE

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
CONFIG_DETAIL_TYPE = "Config Configuration Item Change"
CONFIG_SOURCE = "aws.config"
GLOBAL = "global"

#: collectors whose items are all recorded in region "global" (as AWS Config records IAM)
GLOBAL_ITEM_SERVICES = frozenset({"iam"})
#: eventSources whose eventName carries an API version suffix in CloudTrail
VERSIONED_SOURCES = frozenset({"lambda.amazonaws.com"})
_VERSION_SUFFIX = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<version>\d{8}(?:v\d+)?)$")


# -- identifier extractors -------------------------------------------------------------------


def _walk(node: Any, parts: Sequence[str]) -> list[Any]:
    """Values at ``parts`` below ``node``; ``name[]`` (or any list met) fans out over elements."""
    if not parts:
        if isinstance(node, list):
            out: list[Any] = []
            for element in node:
                out.extend(_walk(element, ()))
            return out
        return [node]
    if isinstance(node, list):
        out = []
        for element in node:
            out.extend(_walk(element, parts))
        return out
    if not isinstance(node, dict):
        return []
    head = parts[0]
    fan = head.endswith("[]")
    key = head[:-2] if fan else head
    if key not in node:
        return []
    return _walk(node[key], parts[1:])


#: longest identifier read from an event (an ARN is at most 2048 characters)
MAX_IDENTIFIER = 2048


def _scalars(values: Iterable[Any]) -> list[str]:
    """The values that can be identifiers: non-empty strings or numbers, no longer than an ARN, without
    NUL characters (no AWS identifier has them, and PostgreSQL cannot compare with them)."""
    out = []
    for value in values:
        if isinstance(value, dict) and "content" in value:  # EC2's {"tag": 1, "content": "vpc-..."}
            value = value["content"]
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            text = str(value).strip()
            if text and len(text) <= MAX_IDENTIFIER and "\x00" not in text:
                out.append(text)
    return out


def lookup(record: dict[str, Any], path: str) -> list[str]:
    """The scalar values at a dotted ``path`` of a CloudTrail record."""
    return _scalars(_walk(record, path.split(".")))


@dataclass(frozen=True)
class P:
    """A path in the CloudTrail record (``requestParameters.groupId``, ``a.items[].b``)."""

    path: str

    def extract(self, record: dict[str, Any], env: dict[str, str]) -> list[str]:
        return lookup(record, self.path)


@dataclass(frozen=True)
class T:
    """A template: ``{region}``, ``{account}``, ``{partition}`` or ``{<path>}`` (first value)."""

    template: str

    def extract(self, record: dict[str, Any], env: dict[str, str]) -> list[str]:
        missing = False

        def sub(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            if name in env:
                return env[name]
            values = lookup(record, name)
            if not values:
                missing = True
                return ""
            return values[0]

        text = re.sub(r"\{([^{}]+)\}", sub, self.template)
        return [] if missing else [text]


@dataclass(frozen=True)
class R:
    """The values at ``path`` rewritten by ``pattern`` (``re.sub`` with ``repl``), kept only if it matched."""

    path: str
    pattern: str
    repl: str = r"\1"

    def extract(self, record: dict[str, Any], env: dict[str, str]) -> list[str]:
        rx = re.compile(self.pattern)
        return [rx.sub(self.repl, v) for v in lookup(record, self.path) if rx.search(v)]


Extractor = P | T | R


@dataclass(frozen=True)
class Target:
    resource_type: str
    ids: tuple[Extractor, ...] = ()
    optional: bool = False
    service: str | None = None  # account targets: the collector owning the key
    region: str | None = None  # "global" for account-global settings; None: the event's region


@dataclass(frozen=True)
class Mapping:
    source: str
    names: tuple[str, ...]
    targets: tuple[Target, ...]
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def applies(self, record: dict[str, Any]) -> bool:
        return all(set(lookup(record, path)) & set(values) for path, values in self.when)


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _account(service: str, region: str | None = None) -> Target:
    return Target(ACCOUNT_TYPE, service=service, region=region)


# AWS Config type names (as the collectors record them)
S3_BUCKET = "AWS::S3::Bucket"
SG = "AWS::EC2::SecurityGroup"
VOLUME = "AWS::EC2::Volume"
SNAPSHOT = "AWS::EC2::Snapshot"
INSTANCE = "AWS::EC2::Instance"
EIP = "AWS::EC2::EIP"
VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
NACL = "AWS::EC2::NetworkAcl"
IGW = "AWS::EC2::InternetGateway"
ROUTE_TABLE = "AWS::EC2::RouteTable"
IAM_USER = "AWS::IAM::User"
IAM_GROUP = "AWS::IAM::Group"
IAM_ROLE = "AWS::IAM::Role"
IAM_POLICY = "AWS::IAM::Policy"
TRAIL = "AWS::CloudTrail::Trail"
KMS_KEY = "AWS::KMS::Key"
DB_INSTANCE = "AWS::RDS::DBInstance"
DB_CLUSTER = "AWS::RDS::DBCluster"
DB_SNAPSHOT = "AWS::RDS::DBSnapshot"
DB_CLUSTER_SNAPSHOT = "AWS::RDS::DBClusterSnapshot"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
LOG_GROUP = "AWS::Logs::LogGroup"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC = "AWS::SNS::Topic"
SECRET = "AWS::SecretsManager::Secret"
FUNCTION = "AWS::Lambda::Function"
FILE_SYSTEM = "AWS::EFS::FileSystem"
ELBV2 = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ELB = "AWS::ElasticLoadBalancing::LoadBalancer"
REDSHIFT_CLUSTER = "AWS::Redshift::Cluster"
REDSHIFT_PARAMS = "AWS::Redshift::ClusterParameterGroup"
OPENSEARCH = "AWS::OpenSearch::Domain"
ELASTICSEARCH = "AWS::Elasticsearch::Domain"
CERTIFICATE = "AWS::ACM::Certificate"
REST_STAGE = "AWS::ApiGateway::Stage"
V2_STAGE = "AWS::ApiGatewayV2::Stage"
VPN_CONNECTION = "AWS::EC2::VPNConnection"
ASG = "AWS::AutoScaling::AutoScalingGroup"
LAUNCH_CONFIGURATION = "AWS::AutoScaling::LaunchConfiguration"
BACKUP_PLAN = "AWS::Backup::BackupPlan"
BACKUP_VAULT = "AWS::Backup::BackupVault"
RECOVERY_POINT = "AWS::Backup::RecoveryPoint"
CODEBUILD_PROJECT = "AWS::CodeBuild::Project"
DMS_INSTANCE = "AWS::DMS::ReplicationInstance"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
CACHE_CLUSTER = "AWS::ElastiCache::CacheCluster"
REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"
BEANSTALK_ENV = "AWS::ElasticBeanstalk::Environment"
EMR_CLUSTER = "AWS::EMR::Cluster"
STREAM = "AWS::Kinesis::Stream"
NOTEBOOK = "AWS::SageMaker::NotebookInstance"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
SSM_MANAGED_INSTANCE = "AWS::SSM::ManagedInstanceInventory"
SSM_ASSOCIATION_COMPLIANCE = "AWS::SSM::AssociationCompliance"
SSM_PATCH_COMPLIANCE = "AWS::SSM::PatchCompliance"
SSM_DOCUMENT = "AWS::SSM::Document"
WEB_ACL = "AWS::WAFv2::WebACL"

_EC2 = "ec2.amazonaws.com"
_REQ = "requestParameters"
_RESP = "responseElements"

# EC2 CreateTags/DeleteTags: the resource type from the id's prefix
_EC2_TAGGED = "requestParameters.resourcesSet.items[].resourceId"
_EC2_PREFIXES = {
    "sg-": SG,
    "vol-": VOLUME,
    "snap-": SNAPSHOT,
    "i-": INSTANCE,
    "eipalloc-": EIP,
    "vpc-": VPC,
    "subnet-": SUBNET,
    "acl-": NACL,
    "igw-": IGW,
    "rtb-": ROUTE_TABLE,
    "vpn-": VPN_CONNECTION,
}
_EC2_TAG_TARGETS = tuple(
    Target(t, (R(_EC2_TAGGED, rf"^({re.escape(prefix)}[0-9a-zA-Z]+)$"),), optional=True) for prefix, t in _EC2_PREFIXES.items()
)

_RDS_TAGGED = "requestParameters.resourceName"

# newer EC2 calls are recorded with the request wrapped: requestParameters.<Call>Request.VpnConnectionId
_VPN_WRAPPED = (
    "ModifyVpnConnection",
    "ModifyVpnConnectionOptions",
    "ModifyVpnTunnelOptions",
    "ModifyVpnTunnelCertificate",
    "ReplaceVpnTunnel",
)
_KINESIS_STREAM_ARN = r"^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/([^/]+)$"
_WEB_ACL_ARN = r"^arn:[^:]+:wafv2:[^:]*:[^:]*:(?:regional|global)/webacl/[^/]+/([^/]+)$"

#: THE table. Keep it sorted by service; every collected resource type appears at least once.
TABLE: tuple[Mapping, ...] = (
    # -- S3 (collector s3) ------------------------------------------------------------------
    Mapping(
        "s3.amazonaws.com",
        _names(
            "CreateBucket DeleteBucket PutBucketLogging PutBucketEncryption DeleteBucketEncryption "
            "PutBucketPolicy DeleteBucketPolicy PutBucketAcl PutBucketVersioning "
            "PutBucketPublicAccessBlock DeleteBucketPublicAccessBlock PutPublicAccessBlock DeletePublicAccessBlock "
            "PutBucketOwnershipControls DeleteBucketOwnershipControls PutBucketReplication DeleteBucketReplication "
            "PutObjectLockConfiguration PutBucketObjectLockConfiguration PutBucketLifecycle PutBucketLifecycleConfiguration "
            "DeleteBucketLifecycle PutBucketNotification PutBucketNotificationConfiguration "
            "PutBucketTagging DeleteBucketTagging"
        ),
        (Target(S3_BUCKET, (P("requestParameters.bucketName"),)),),
    ),
    Mapping("s3.amazonaws.com", _names("PutAccountPublicAccessBlock DeleteAccountPublicAccessBlock"), (_account("s3", GLOBAL),)),
    # -- EC2 (collector ec2): security groups, volumes, snapshots, instances, EIPs, EBS defaults --
    Mapping(
        _EC2,
        _names(
            "AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress "
            "RevokeSecurityGroupEgress UpdateSecurityGroupRuleDescriptionsIngress "
            "UpdateSecurityGroupRuleDescriptionsEgress ModifySecurityGroupRules CreateSecurityGroup DeleteSecurityGroup"
        ),
        (
            Target(
                SG,
                (
                    P("requestParameters.groupId"),
                    P("responseElements.groupId"),
                    P("requestParameters.ModifySecurityGroupRulesRequest.GroupId"),
                    P("requestParameters.groupName"),
                ),
            ),
        ),
    ),
    Mapping(
        _EC2,
        _names("CreateVolume DeleteVolume ModifyVolume ModifyVolumeAttribute EnableVolumeIO"),
        (
            Target(
                VOLUME,
                (P("requestParameters.volumeId"), P("responseElements.volumeId"), P("requestParameters.ModifyVolumeRequest.VolumeId")),
            ),
        ),
    ),
    Mapping(
        _EC2,
        _names("AttachVolume DetachVolume"),
        (Target(VOLUME, (P("requestParameters.volumeId"),)), Target(INSTANCE, (P("requestParameters.instanceId"),))),
    ),
    Mapping(
        _EC2,
        _names("CreateSnapshot CreateSnapshots CopySnapshot DeleteSnapshot ModifySnapshotAttribute ResetSnapshotAttribute"),
        (
            Target(
                SNAPSHOT,
                (P("requestParameters.snapshotId"), P("responseElements.snapshotId"), P("responseElements.snapshotSet.items[].snapshotId")),
            ),
        ),
    ),
    Mapping(
        _EC2,
        _names(
            "RunInstances TerminateInstances StartInstances StopInstances ModifyInstanceAttribute "
            "ModifyInstanceMetadataOptions AssociateIamInstanceProfile DisassociateIamInstanceProfile "
            "ReplaceIamInstanceProfileAssociation ModifyNetworkInterfaceAttribute"
        ),
        (
            Target(
                INSTANCE,
                (
                    P("requestParameters.instanceId"),
                    P("requestParameters.instancesSet.items[].instanceId"),
                    P("responseElements.instancesSet.items[].instanceId"),
                    P("requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId"),
                    P("requestParameters.AssociateIamInstanceProfileRequest.InstanceId"),
                ),
            ),
        ),
    ),
    Mapping(
        _EC2,
        _names("AllocateAddress ReleaseAddress AssociateAddress DisassociateAddress"),
        (
            Target(EIP, (P("requestParameters.allocationId"), P("responseElements.allocationId"), P("requestParameters.publicIp"))),
            Target(INSTANCE, (P("requestParameters.instanceId"),), optional=True),
        ),
    ),
    Mapping(
        _EC2,
        _names("EnableEbsEncryptionByDefault DisableEbsEncryptionByDefault ModifyEbsDefaultKmsKeyId ResetEbsDefaultKmsKeyId"),
        (_account("ec2"),),
    ),
    Mapping(_EC2, _names("CreateTags DeleteTags"), _EC2_TAG_TARGETS),
    # -- VPC networking (collector vpc; CloudTrail source ec2) ----------------------------------
    Mapping(
        _EC2,
        _names("CreateVpc DeleteVpc ModifyVpcAttribute CreateFlowLogs DeleteFlowLogs"),
        (
            Target(
                VPC,
                (P("requestParameters.vpcId"), P("responseElements.vpc.vpcId"), P("requestParameters.CreateFlowLogsRequest.ResourceId")),
            ),
        ),
    ),
    Mapping(
        _EC2,
        _names("CreateSubnet DeleteSubnet ModifySubnetAttribute"),
        (Target(SUBNET, (P("requestParameters.subnetId"), P("responseElements.subnet.subnetId"))),),
    ),
    Mapping(
        _EC2,
        _names(
            "CreateNetworkAcl DeleteNetworkAcl CreateNetworkAclEntry ReplaceNetworkAclEntry DeleteNetworkAclEntry "
            "ReplaceNetworkAclAssociation"
        ),
        (Target(NACL, (P("requestParameters.networkAclId"), P("responseElements.networkAcl.networkAclId"))),),
    ),
    Mapping(
        _EC2,
        _names("CreateInternetGateway DeleteInternetGateway AttachInternetGateway DetachInternetGateway"),
        (Target(IGW, (P("requestParameters.internetGatewayId"), P("responseElements.internetGateway.internetGatewayId"))),),
    ),
    Mapping(
        _EC2,
        _names(
            "CreateRouteTable DeleteRouteTable CreateRoute ReplaceRoute DeleteRoute AssociateRouteTable "
            "DisassociateRouteTable ReplaceRouteTableAssociation"
        ),
        (Target(ROUTE_TABLE, (P("requestParameters.routeTableId"), P("responseElements.routeTable.routeTableId"))),),
    ),
    # -- Site-to-Site VPN (collector vpn; CloudTrail source ec2) -----------------------------------
    Mapping(
        _EC2,
        _names("CreateVpnConnection DeleteVpnConnection CreateVpnConnectionRoute DeleteVpnConnectionRoute " + " ".join(_VPN_WRAPPED)),
        (
            Target(
                VPN_CONNECTION,
                (
                    P("requestParameters.vpnConnectionId"),
                    P("responseElements.vpnConnection.vpnConnectionId"),
                    *(P(f"requestParameters.{call}Request.VpnConnectionId") for call in _VPN_WRAPPED),
                ),
            ),
        ),
    ),
    # -- IAM (collector iam, global) --------------------------------------------------------------
    Mapping(
        "iam.amazonaws.com",
        _names(
            "CreateUser DeleteUser UpdateUser TagUser UntagUser CreateLoginProfile UpdateLoginProfile DeleteLoginProfile "
            "AttachUserPolicy DetachUserPolicy PutUserPolicy DeleteUserPolicy AddUserToGroup RemoveUserFromGroup "
            "PutUserPermissionsBoundary DeleteUserPermissionsBoundary"
        ),
        (Target(IAM_USER, (P("requestParameters.userName"),)),),
    ),
    Mapping(
        "iam.amazonaws.com",
        _names("CreateAccessKey UpdateAccessKey DeleteAccessKey"),
        # without userName the caller changed its own keys (root: the account summary)
        (Target(IAM_USER, (P("requestParameters.userName"), P("userIdentity.userName"))), _account("iam", GLOBAL)),
    ),
    Mapping(
        "iam.amazonaws.com",
        _names("EnableMFADevice DeactivateMFADevice ResyncMFADevice CreateVirtualMFADevice DeleteVirtualMFADevice"),
        (Target(IAM_USER, (P("requestParameters.userName"),), optional=True), _account("iam", GLOBAL)),
    ),
    Mapping(
        "iam.amazonaws.com",
        _names("CreateGroup DeleteGroup UpdateGroup AttachGroupPolicy DetachGroupPolicy PutGroupPolicy DeleteGroupPolicy"),
        (Target(IAM_GROUP, (P("requestParameters.groupName"),)), Target(IAM_POLICY, (P("requestParameters.policyArn"),), optional=True)),
    ),
    Mapping(
        "iam.amazonaws.com",
        _names(
            "CreateRole DeleteRole UpdateRole UpdateRoleDescription UpdateAssumeRolePolicy TagRole UntagRole "
            "AttachRolePolicy DetachRolePolicy PutRolePolicy DeleteRolePolicy PutRolePermissionsBoundary "
            "DeleteRolePermissionsBoundary AddRoleToInstanceProfile RemoveRoleFromInstanceProfile"
        ),
        (Target(IAM_ROLE, (P("requestParameters.roleName"),)), Target(IAM_POLICY, (P("requestParameters.policyArn"),), optional=True)),
    ),
    Mapping(
        "iam.amazonaws.com",
        _names("AttachUserPolicy DetachUserPolicy"),
        (Target(IAM_POLICY, (P("requestParameters.policyArn"),), optional=True),),
    ),
    Mapping(
        "iam.amazonaws.com",
        _names("CreatePolicy DeletePolicy CreatePolicyVersion DeletePolicyVersion SetDefaultPolicyVersion TagPolicy UntagPolicy"),
        (Target(IAM_POLICY, (P("requestParameters.policyArn"), P("responseElements.policy.arn"))),),
    ),
    Mapping("iam.amazonaws.com", _names("UpdateAccountPasswordPolicy DeleteAccountPasswordPolicy"), (_account("iam", GLOBAL),)),
    # -- CloudTrail (collector cloudtrail; the account item lists the region's trails) -----------
    Mapping(
        "cloudtrail.amazonaws.com",
        _names("CreateTrail DeleteTrail UpdateTrail StartLogging StopLogging PutEventSelectors PutInsightSelectors"),
        (Target(TRAIL, (P("requestParameters.name"), P("responseElements.trailARN"))), _account("cloudtrail")),
    ),
    Mapping("cloudtrail.amazonaws.com", _names("AddTags RemoveTags"), (Target(TRAIL, (P("requestParameters.resourceId"),)),)),
    # -- KMS --------------------------------------------------------------------------------------
    Mapping(
        "kms.amazonaws.com",
        _names(
            "CreateKey EnableKeyRotation DisableKeyRotation ScheduleKeyDeletion CancelKeyDeletion EnableKey DisableKey "
            "PutKeyPolicy UpdateKeyDescription TagResource UntagResource CreateAlias UpdateAlias DeleteAlias"
        ),
        (Target(KMS_KEY, (P("requestParameters.keyId"), P("responseElements.keyMetadata.keyId"), P("requestParameters.targetKeyId"))),),
    ),
    # -- RDS --------------------------------------------------------------------------------------
    Mapping(
        "rds.amazonaws.com",
        _names(
            "CreateDBInstance CreateDBInstanceReadReplica RestoreDBInstanceFromDBSnapshot ModifyDBInstance DeleteDBInstance "
            "StartDBInstance StopDBInstance"
        ),
        (Target(DB_INSTANCE, (P("requestParameters.dBInstanceIdentifier"),)),),
    ),
    Mapping(
        "rds.amazonaws.com",
        _names("CreateDBCluster ModifyDBCluster DeleteDBCluster StartDBCluster StopDBCluster"),
        (Target(DB_CLUSTER, (P("requestParameters.dBClusterIdentifier"),)),),
    ),
    Mapping(
        "rds.amazonaws.com",
        _names("CreateDBSnapshot CopyDBSnapshot DeleteDBSnapshot ModifyDBSnapshotAttribute ModifyDBSnapshot"),
        (Target(DB_SNAPSHOT, (P("requestParameters.dBSnapshotIdentifier"), P("requestParameters.targetDBSnapshotIdentifier"))),),
    ),
    Mapping(
        "rds.amazonaws.com",
        _names("CreateDBClusterSnapshot CopyDBClusterSnapshot DeleteDBClusterSnapshot ModifyDBClusterSnapshotAttribute"),
        (
            Target(
                DB_CLUSTER_SNAPSHOT,
                (P("requestParameters.dBClusterSnapshotIdentifier"), P("requestParameters.targetDBClusterSnapshotIdentifier")),
            ),
        ),
    ),
    Mapping(
        "rds.amazonaws.com",
        _names("AddTagsToResource RemoveTagsFromResource"),
        (
            Target(DB_INSTANCE, (R(_RDS_TAGGED, r"^arn:[^:]+:rds:[^:]*:[^:]*:db:(.+)$"),), optional=True),
            Target(DB_CLUSTER, (R(_RDS_TAGGED, r"^arn:[^:]+:rds:[^:]*:[^:]*:cluster:(.+)$"),), optional=True),
            Target(DB_SNAPSHOT, (R(_RDS_TAGGED, r"^arn:[^:]+:rds:[^:]*:[^:]*:snapshot:(.+)$"),), optional=True),
            Target(DB_CLUSTER_SNAPSHOT, (R(_RDS_TAGGED, r"^arn:[^:]+:rds:[^:]*:[^:]*:cluster-snapshot:(.+)$"),), optional=True),
        ),
    ),
    # -- DynamoDB (tables; Application Auto Scaling of tables) -------------------------------------
    Mapping(
        "dynamodb.amazonaws.com",
        _names("CreateTable DeleteTable UpdateTable UpdateContinuousBackups TagResource UntagResource UpdateTimeToLive"),
        (Target(DYNAMODB_TABLE, (P("requestParameters.tableName"), P("requestParameters.resourceArn"))),),
    ),
    Mapping(
        "application-autoscaling.amazonaws.com",
        _names("RegisterScalableTarget DeregisterScalableTarget PutScalingPolicy DeleteScalingPolicy"),
        (Target(DYNAMODB_TABLE, (R("requestParameters.resourceId", r"^table/([^/]+).*$"),)),),
        when=(("requestParameters.serviceNamespace", ("dynamodb",)),),
    ),
    # -- CloudWatch Logs and alarms (collector logs) ------------------------------------------------
    Mapping(
        "logs.amazonaws.com",
        _names(
            "CreateLogGroup DeleteLogGroup PutRetentionPolicy DeleteRetentionPolicy AssociateKmsKey DisassociateKmsKey "
            "TagLogGroup UntagLogGroup TagResource UntagResource"
        ),
        (
            Target(
                LOG_GROUP,
                (
                    P("requestParameters.logGroupName"),
                    R("requestParameters.resourceArn", r"^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$"),
                ),
            ),
        ),
    ),
    Mapping(
        "monitoring.amazonaws.com",
        _names("PutMetricAlarm DeleteAlarms EnableAlarmActions DisableAlarmActions TagResource UntagResource"),
        (Target(ALARM, (P("requestParameters.alarmName"), P("requestParameters.alarmNames"), P("requestParameters.resourceARN"))),),
    ),
    # -- SNS ----------------------------------------------------------------------------------------
    Mapping(
        "sns.amazonaws.com",
        _names("CreateTopic DeleteTopic SetTopicAttributes AddPermission RemovePermission TagResource UntagResource"),
        (Target(TOPIC, (P("requestParameters.topicArn"), P("responseElements.topicArn"), P("requestParameters.resourceArn"))),),
    ),
    # -- Secrets Manager (metadata only) ---------------------------------------------------------------
    Mapping(
        "secretsmanager.amazonaws.com",
        _names(
            "CreateSecret DeleteSecret RestoreSecret UpdateSecret RotateSecret CancelRotateSecret TagResource UntagResource "
            "PutResourcePolicy DeleteResourcePolicy ReplicateSecretToRegions PutSecretValue UpdateSecretVersionStage"
        ),
        (
            Target(
                SECRET, (P("requestParameters.secretId"), P("responseElements.aRN"), P("responseElements.arn"), P("requestParameters.name"))
            ),
        ),
    ),
    # -- Lambda (versioned event names) -------------------------------------------------------------------
    Mapping(
        "lambda.amazonaws.com",
        _names(
            "CreateFunction DeleteFunction UpdateFunctionConfiguration UpdateFunctionCode AddPermission RemovePermission "
            "CreateFunctionUrlConfig UpdateFunctionUrlConfig DeleteFunctionUrlConfig TagResource UntagResource"
        ),
        (Target(FUNCTION, (P("requestParameters.functionName"), P("requestParameters.resource"))),),
    ),
    # -- EFS ------------------------------------------------------------------------------------------------
    Mapping(
        "elasticfilesystem.amazonaws.com",
        _names(
            "CreateFileSystem DeleteFileSystem UpdateFileSystem PutBackupPolicy PutFileSystemPolicy DeleteFileSystemPolicy "
            "TagResource UntagResource CreateTags DeleteTags"
        ),
        (
            Target(
                FILE_SYSTEM, (P("requestParameters.fileSystemId"), P("responseElements.fileSystemId"), P("requestParameters.resourceId"))
            ),
        ),
    ),
    # -- Elastic Load Balancing: one eventSource for Classic (names) and v2 (ARNs) -------------------------
    Mapping(
        "elasticloadbalancing.amazonaws.com",
        _names("CreateLoadBalancer DeleteLoadBalancer ModifyLoadBalancerAttributes AddTags RemoveTags"),
        (
            Target(
                ELBV2,
                (
                    P("requestParameters.loadBalancerArn"),
                    P("responseElements.loadBalancers[].loadBalancerArn"),
                    P("requestParameters.resourceArns"),
                ),
                optional=True,
            ),
            Target(ELB, (P("requestParameters.loadBalancerName"), P("requestParameters.loadBalancerNames")), optional=True),
        ),
    ),
    Mapping(
        "elasticloadbalancing.amazonaws.com",
        _names(
            "CreateListener ModifyListener DeleteListener SetSecurityGroups SetSubnets SetIpAddressType AddListenerCertificates "
            "RemoveListenerCertificates"
        ),
        (
            Target(
                ELBV2,
                (
                    P("requestParameters.loadBalancerArn"),
                    R(
                        "requestParameters.listenerArn",
                        r"^(arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:)listener/([^/]+/[^/]+/[^/]+)/[^/]+$",
                        r"\1loadbalancer/\2",
                    ),
                ),
            ),
        ),
    ),
    Mapping(
        "elasticloadbalancing.amazonaws.com",
        _names(
            "CreateLoadBalancerListeners DeleteLoadBalancerListeners SetLoadBalancerPoliciesOfListener CreateLoadBalancerPolicy "
            "DeleteLoadBalancerPolicy SetLoadBalancerListenerSSLCertificate ApplySecurityGroupsToLoadBalancer "
            "AttachLoadBalancerToSubnets DetachLoadBalancerFromSubnets"
        ),
        (Target(ELB, (P("requestParameters.loadBalancerName"),)),),
    ),
    # -- Redshift --------------------------------------------------------------------------------------------
    Mapping(
        "redshift.amazonaws.com",
        _names("CreateCluster DeleteCluster ModifyCluster EnableLogging DisableLogging RestoreFromClusterSnapshot"),
        (Target(REDSHIFT_CLUSTER, (P("requestParameters.clusterIdentifier"),)),),
    ),
    Mapping(
        "redshift.amazonaws.com",
        _names("CreateClusterParameterGroup DeleteClusterParameterGroup ModifyClusterParameterGroup ResetClusterParameterGroup"),
        # a group's parameters are copied onto its clusters' items too
        (Target(REDSHIFT_PARAMS, (P("requestParameters.parameterGroupName"),)), Target(REDSHIFT_CLUSTER)),
    ),
    Mapping(
        "redshift.amazonaws.com",
        _names("CreateTags DeleteTags"),
        (
            Target(
                REDSHIFT_CLUSTER, (R("requestParameters.resourceName", r"^arn:[^:]+:redshift:[^:]*:[^:]*:cluster:(.+)$"),), optional=True
            ),
            Target(
                REDSHIFT_PARAMS,
                (R("requestParameters.resourceName", r"^arn:[^:]+:redshift:[^:]*:[^:]*:parametergroup:(.+)$"),),
                optional=True,
            ),
        ),
    ),
    # -- OpenSearch / Elasticsearch (one collector, two types, source es) ---------------------------------
    Mapping(
        "es.amazonaws.com",
        _names(
            "CreateDomain DeleteDomain UpdateDomainConfig CreateElasticsearchDomain DeleteElasticsearchDomain "
            "UpdateElasticsearchDomainConfig AddTags RemoveTags"
        ),
        (
            Target(OPENSEARCH, (P("requestParameters.domainName"), R("requestParameters.aRN", r"^arn:.*:domain/(.+)$"))),
            Target(ELASTICSEARCH, (P("requestParameters.domainName"), R("requestParameters.aRN", r"^arn:.*:domain/(.+)$"))),
        ),
    ),
    # -- ACM ---------------------------------------------------------------------------------------------------
    Mapping(
        "acm.amazonaws.com",
        _names("RequestCertificate ImportCertificate DeleteCertificate RenewCertificate AddTagsToCertificate RemoveTagsFromCertificate"),
        (Target(CERTIFICATE, (P("requestParameters.certificateArn"), P("responseElements.certificateArn"))),),
    ),
    # -- API Gateway stages: v1 (restApiId) and v2 (apiId) share names -------------------------------------------
    Mapping(
        "apigateway.amazonaws.com",
        _names("CreateStage UpdateStage DeleteStage CreateDeployment"),
        (
            Target(
                REST_STAGE,
                (T("arn:{partition}:apigateway:{region}::/restapis/{requestParameters.restApiId}/stages/{requestParameters.stageName}"),),
                optional=True,
            ),
            Target(
                V2_STAGE,
                (T("arn:{partition}:apigateway:{region}::/apis/{requestParameters.apiId}/stages/{requestParameters.stageName}"),),
                optional=True,
            ),
        ),
    ),
    Mapping("apigateway.amazonaws.com", _names("DeleteRestApi"), (Target(REST_STAGE),)),
    Mapping("apigateway.amazonaws.com", _names("DeleteApi"), (Target(V2_STAGE),)),
    Mapping(
        "apigateway.amazonaws.com",
        _names("TagResource UntagResource"),
        (
            Target(REST_STAGE, (R("requestParameters.resourceArn", r"^(arn:.*::/restapis/[^/]+/stages/[^/]+)$"),), optional=True),
            Target(V2_STAGE, (R("requestParameters.resourceArn", r"^(arn:.*::/apis/[^/]+/stages/[^/]+)$"),), optional=True),
        ),
    ),
    # -- EC2 Auto Scaling: items are keyed by ARN, whose UUID no request carries; the name matches resourceName --
    Mapping(
        "autoscaling.amazonaws.com",
        _names(
            "CreateAutoScalingGroup UpdateAutoScalingGroup DeleteAutoScalingGroup AttachLoadBalancers DetachLoadBalancers "
            "AttachLoadBalancerTargetGroups DetachLoadBalancerTargetGroups AttachTrafficSources DetachTrafficSources "
            "SuspendProcesses ResumeProcesses EnableMetricsCollection DisableMetricsCollection SetDesiredCapacity"
        ),
        (Target(ASG, (P("requestParameters.autoScalingGroupName"),)),),
    ),
    Mapping(
        "autoscaling.amazonaws.com", _names("CreateOrUpdateTags DeleteTags"), (Target(ASG, (P("requestParameters.tags[].resourceId"),)),)
    ),
    Mapping(
        "autoscaling.amazonaws.com",
        _names("CreateLaunchConfiguration DeleteLaunchConfiguration"),
        (Target(LAUNCH_CONFIGURATION, (P("requestParameters.launchConfigurationName"),)),),
    ),
    # -- AWS Backup (the account item lists every selection and the protected resources) ---------------------------
    Mapping(
        "backup.amazonaws.com",
        _names("CreateBackupPlan UpdateBackupPlan DeleteBackupPlan CreateBackupSelection DeleteBackupSelection"),
        (Target(BACKUP_PLAN, (P("requestParameters.backupPlanId"), P("responseElements.backupPlanId"))), _account("backup")),
    ),
    Mapping(
        "backup.amazonaws.com",
        _names(
            "CreateBackupVault CreateLogicallyAirGappedBackupVault DeleteBackupVault PutBackupVaultAccessPolicy "
            "DeleteBackupVaultAccessPolicy PutBackupVaultLockConfiguration DeleteBackupVaultLockConfiguration"
        ),
        (Target(BACKUP_VAULT, (P("requestParameters.backupVaultName"), P("responseElements.backupVaultName"))),),
    ),
    Mapping(
        "backup.amazonaws.com",
        _names("StartBackupJob DeleteRecoveryPoint UpdateRecoveryPointLifecycle DisassociateRecoveryPoint"),
        (Target(RECOVERY_POINT, (P("requestParameters.recoveryPointArn"), P("responseElements.recoveryPointArn"))), _account("backup")),
    ),
    Mapping(
        "backup.amazonaws.com",
        _names("TagResource UntagResource"),
        (
            Target(BACKUP_VAULT, (R("requestParameters.resourceArn", r"^arn:[^:]+:backup:[^:]*:[^:]*:backup-vault:(.+)$"),), optional=True),
            Target(BACKUP_PLAN, (R("requestParameters.resourceArn", r"^arn:[^:]+:backup:[^:]*:[^:]*:backup-plan:(.+)$"),), optional=True),
        ),
    ),
    # -- CodeBuild ----------------------------------------------------------------------------------------------------
    Mapping(
        "codebuild.amazonaws.com",
        _names("CreateProject UpdateProject DeleteProject UpdateProjectVisibility CreateWebhook UpdateWebhook DeleteWebhook"),
        (
            Target(
                CODEBUILD_PROJECT,
                (
                    P("requestParameters.name"),
                    P("requestParameters.projectName"),
                    R("requestParameters.projectArn", r"^arn:[^:]+:codebuild:[^:]*:[^:]*:project/(.+)$"),
                ),
            ),
        ),
    ),
    # -- DMS: requests name an instance by ARN (its "rep:" suffix is not the identifier), responses by identifier --
    Mapping(
        "dms.amazonaws.com",
        _names("CreateReplicationInstance ModifyReplicationInstance DeleteReplicationInstance ApplyPendingMaintenanceAction"),
        (
            Target(
                DMS_INSTANCE,
                (
                    P("responseElements.replicationInstance.replicationInstanceIdentifier"),
                    P("requestParameters.replicationInstanceIdentifier"),
                    P("requestParameters.replicationInstanceArn"),
                ),
            ),
        ),
    ),
    Mapping(
        "dms.amazonaws.com",
        _names("AddTagsToResource RemoveTagsFromResource"),
        (Target(DMS_INSTANCE, (R("requestParameters.resourceArn", r"^(arn:[^:]+:dms:[^:]*:[^:]*:rep:.+)$"),)),),
    ),
    # -- ECS task definitions (keyed by revision ARN; a new revision replaces its family's previous one) -------------
    Mapping(
        "ecs.amazonaws.com",
        _names("RegisterTaskDefinition DeregisterTaskDefinition"),
        (
            Target(
                TASK_DEFINITION,
                (
                    P("responseElements.taskDefinition.taskDefinitionArn"),
                    R("requestParameters.taskDefinition", r"^(arn:[^:]+:ecs:[^:]*:[^:]*:task-definition/.+)$"),
                ),
            ),
        ),
    ),
    Mapping(
        "ecs.amazonaws.com",
        _names("TagResource UntagResource"),
        (Target(TASK_DEFINITION, (R("requestParameters.resourceArn", r"^(arn:[^:]+:ecs:[^:]*:[^:]*:task-definition/.+)$"),)),),
    ),
    # -- ElastiCache --------------------------------------------------------------------------------------------------
    Mapping(
        "elasticache.amazonaws.com",
        _names("CreateCacheCluster ModifyCacheCluster DeleteCacheCluster"),
        (Target(CACHE_CLUSTER, (P("requestParameters.cacheClusterId"),)),),
    ),
    Mapping(
        "elasticache.amazonaws.com",
        _names(
            "CreateReplicationGroup ModifyReplicationGroup DeleteReplicationGroup IncreaseReplicaCount DecreaseReplicaCount "
            "ModifyReplicationGroupShardConfiguration"
        ),
        # member clusters are created, changed and deleted with their group
        (Target(REPLICATION_GROUP, (P("requestParameters.replicationGroupId"),)), Target(CACHE_CLUSTER)),
    ),
    Mapping(
        "elasticache.amazonaws.com",
        _names("AddTagsToResource RemoveTagsFromResource"),
        (
            Target(
                CACHE_CLUSTER, (R("requestParameters.resourceName", r"^arn:[^:]+:elasticache:[^:]*:[^:]*:cluster:(.+)$"),), optional=True
            ),
            Target(
                REPLICATION_GROUP,
                (R("requestParameters.resourceName", r"^arn:[^:]+:elasticache:[^:]*:[^:]*:replicationgroup:(.+)$"),),
                optional=True,
            ),
        ),
    ),
    # -- Elastic Beanstalk environments (requests may name them by EnvironmentId; responses by name) -----------------
    Mapping(
        "elasticbeanstalk.amazonaws.com",
        _names(
            "CreateEnvironment UpdateEnvironment TerminateEnvironment RebuildEnvironment AbortEnvironmentUpdate "
            "ApplyEnvironmentManagedAction AssociateEnvironmentOperationsRole DisassociateEnvironmentOperationsRole SwapEnvironmentCNAMEs"
        ),
        (
            Target(
                BEANSTALK_ENV,
                (
                    P("requestParameters.environmentName"),
                    P("responseElements.environmentName"),
                    P("requestParameters.sourceEnvironmentName"),
                    P("requestParameters.destinationEnvironmentName"),
                ),
            ),
        ),
    ),
    Mapping(
        "elasticbeanstalk.amazonaws.com",
        _names("UpdateTagsForResource"),
        (Target(BEANSTALK_ENV, (R("requestParameters.resourceArn", r"^arn:[^:]+:elasticbeanstalk:[^:]*:[^:]*:environment/[^/]+/(.+)$"),)),),
    ),
    # -- EMR clusters -------------------------------------------------------------------------------------------------
    Mapping(
        "elasticmapreduce.amazonaws.com",
        _names(
            "RunJobFlow TerminateJobFlows ModifyCluster SetTerminationProtection SetVisibleToAllUsers SetKeepJobFlowAliveWhenNoSteps "
            "SetUnhealthyNodeReplacement AddTags RemoveTags"
        ),
        (
            Target(
                EMR_CLUSTER,
                (
                    P("responseElements.jobFlowId"),
                    P("requestParameters.jobFlowIds"),
                    P("requestParameters.clusterId"),
                    R("requestParameters.resourceId", r"^(j-[0-9A-Za-z]+)$"),
                ),
            ),
        ),
    ),
    # a security configuration is copied onto every cluster using it
    Mapping("elasticmapreduce.amazonaws.com", _names("DeleteSecurityConfiguration"), (Target(EMR_CLUSTER),)),
    # -- Kinesis Data Streams (stored by name; newer calls name the stream by ARN) ------------------------------------
    Mapping(
        "kinesis.amazonaws.com",
        _names(
            "CreateStream DeleteStream AddTagsToStream RemoveTagsFromStream TagResource UntagResource IncreaseStreamRetentionPeriod "
            "DecreaseStreamRetentionPeriod StartStreamEncryption StopStreamEncryption UpdateShardCount UpdateStreamMode MergeShards "
            "SplitShard EnableEnhancedMonitoring DisableEnhancedMonitoring UpdateMaxRecordSize UpdateStreamWarmThroughput"
        ),
        (
            Target(
                STREAM,
                (
                    P("requestParameters.streamName"),
                    R("requestParameters.streamARN", _KINESIS_STREAM_ARN),
                    R("requestParameters.resourceARN", _KINESIS_STREAM_ARN),
                ),
            ),
        ),
    ),
    # -- SageMaker ----------------------------------------------------------------------------------------------------
    Mapping(
        "sagemaker.amazonaws.com",
        _names("CreateNotebookInstance UpdateNotebookInstance DeleteNotebookInstance StartNotebookInstance StopNotebookInstance"),
        (Target(NOTEBOOK, (P("requestParameters.notebookInstanceName"),)),),
    ),
    Mapping(
        "sagemaker.amazonaws.com",
        _names("CreateEndpointConfig DeleteEndpointConfig"),
        (Target(ENDPOINT_CONFIG, (P("requestParameters.endpointConfigName"),)),),
    ),
    # SageMaker ARNs carry names in lower case: the ARN itself is matched against the stored one
    Mapping(
        "sagemaker.amazonaws.com",
        _names("AddTags DeleteTags"),
        (
            Target(
                NOTEBOOK, (R("requestParameters.resourceArn", r"^(arn:[^:]+:sagemaker:[^:]*:[^:]*:notebook-instance/.+)$"),), optional=True
            ),
            Target(
                ENDPOINT_CONFIG,
                (R("requestParameters.resourceArn", r"^(arn:[^:]+:sagemaker:[^:]*:[^:]*:endpoint-config/.+)$"),),
                optional=True,
            ),
        ),
    ),
    # -- Systems Manager (the account item maps managed nodes to their ping status) -----------------------------------
    Mapping(
        "ssm.amazonaws.com",
        _names("CreateDocument UpdateDocument DeleteDocument UpdateDocumentDefaultVersion UpdateDocumentMetadata ModifyDocumentPermission"),
        (Target(SSM_DOCUMENT, (P("requestParameters.name"),)),),
    ),
    Mapping(
        "ssm.amazonaws.com",
        _names("AddTagsToResource RemoveTagsFromResource"),
        (Target(SSM_DOCUMENT, (P("requestParameters.resourceId"),)),),
        when=(("requestParameters.resourceType", ("Document",)),),
    ),
    Mapping(
        "ssm.amazonaws.com", _names("UpdateManagedInstanceRole"), (Target(SSM_MANAGED_INSTANCE, (P("requestParameters.instanceId"),)),)
    ),
    Mapping(
        "ssm.amazonaws.com",
        _names("DeregisterManagedInstance"),
        (
            Target(SSM_MANAGED_INSTANCE, (P("requestParameters.instanceId"),)),
            Target(SSM_ASSOCIATION_COMPLIANCE, (P("requestParameters.instanceId"),)),
            Target(SSM_PATCH_COMPLIANCE, (P("requestParameters.instanceId"),)),
            _account("ssm"),
        ),
    ),
    Mapping(
        "ssm.amazonaws.com",
        _names("PutComplianceItems"),
        (Target(SSM_PATCH_COMPLIANCE, (P("requestParameters.resourceId"),)),),
        when=(("requestParameters.complianceType", ("Patch",)),),
    ),
    Mapping(
        "ssm.amazonaws.com",
        _names("PutComplianceItems"),
        (Target(SSM_ASSOCIATION_COMPLIANCE, (P("requestParameters.resourceId"),)),),
        when=(("requestParameters.complianceType", ("Association",)),),
    ),
    # association compliance follows the association's runs (no API call): later results come with the next collection
    Mapping(
        "ssm.amazonaws.com",
        _names("CreateAssociation CreateAssociationBatch UpdateAssociation DeleteAssociation"),
        (Target(SSM_ASSOCIATION_COMPLIANCE, (P("requestParameters.instanceId"), P("requestParameters.entries[].instanceId"))),),
    ),
    # -- AWS WAF v2 web ACLs (the account item maps each load balancer to its web ACL) --------------------------------
    Mapping(
        "wafv2.amazonaws.com",
        _names("CreateWebACL UpdateWebACL DeleteWebACL"),
        (Target(WEB_ACL, (P("requestParameters.id"), P("responseElements.summary.id"))),),
    ),
    Mapping(
        "wafv2.amazonaws.com",
        _names("PutLoggingConfiguration DeleteLoggingConfiguration TagResource UntagResource"),
        (
            Target(
                WEB_ACL,
                (
                    R("requestParameters.loggingConfiguration.resourceArn", _WEB_ACL_ARN),
                    R("requestParameters.resourceArn", _WEB_ACL_ARN),
                    R("requestParameters.resourceARN", _WEB_ACL_ARN),
                ),
            ),
        ),
    ),
    # DisassociateWebACL names only the load balancer
    Mapping(
        "wafv2.amazonaws.com",
        _names("AssociateWebACL DisassociateWebACL"),
        (Target(WEB_ACL, (R("requestParameters.webACLArn", _WEB_ACL_ARN),)), _account("wafv2")),
    ),
    # -- account-level detective services -----------------------------------------------------------------------
    Mapping(
        "guardduty.amazonaws.com",
        _names(
            "CreateDetector DeleteDetector UpdateDetector AcceptAdministratorInvitation AcceptInvitation "
            "DisassociateFromAdministratorAccount DisassociateFromMasterAccount"
        ),
        (_account("guardduty"),),
    ),
    Mapping(
        "securityhub.amazonaws.com",
        _names("EnableSecurityHub DisableSecurityHub UpdateSecurityHubConfiguration"),
        (_account("securityhub"),),
    ),
)


# -- lookups ------------------------------------------------------------------------------------


def base_name(source: str, name: str) -> str:
    """The table's name for a CloudTrail eventName (Lambda's version suffix removed)."""
    if source in VERSIONED_SOURCES:
        match = _VERSION_SUFFIX.match(name)
        if match:
            return match.group("base")
    return name


@lru_cache(maxsize=1)
def _index() -> dict[tuple[str, str], tuple[Mapping, ...]]:
    index: dict[tuple[str, str], list[Mapping]] = {}
    for mapping in TABLE:
        for name in mapping.names:
            index.setdefault((mapping.source, name), []).append(mapping)
    return {k: tuple(v) for k, v in index.items()}


def mappings_for(source: str, name: str) -> tuple[Mapping, ...]:
    return _index().get((source, base_name(source, name)), ())


def write_calls() -> dict[str, list[str]]:
    """eventSource -> the sorted write calls of the table (what the EventBridge rule matches)."""
    out: dict[str, set[str]] = {}
    for mapping in TABLE:
        out.setdefault(mapping.source, set()).update(mapping.names)
    return {source: sorted(names) for source, names in sorted(out.items())}


def table_types() -> set[str]:
    return {t.resource_type for m in TABLE for t in m.targets}


@lru_cache(maxsize=1024)
def service_for_type(resource_type: str) -> str | None:
    """The collector that produces ``resource_type`` (None when phiwatch does not collect it)."""
    from phiwatch.collect.runner import services_for_types

    if resource_type == ACCOUNT_TYPE:
        return None
    found = services_for_types([resource_type])
    return found[0] if found else None


def event_source_name(source: str) -> str:
    """EventBridge ``source`` of a CloudTrail eventSource: ``aws.`` + its first label."""
    return "aws." + source.split(".", 1)[0]


# -- parsing a message -------------------------------------------------------------------------


#: what an AWS region name looks like (``us-east-1``, ``us-gov-west-1``, ``eu-isoe-west-1``)
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+){1,3}-\d{1,2}$")


class BadEvent(Exception):
    """The message is not an event phiwatch can read (malformed JSON, wrong shape)."""


@dataclass
class ResourceRef:
    """One resource (or account item) an event touched."""

    resource_type: str
    service: str
    region: str  # an AWS region or "global"
    identifiers: tuple[str, ...] = ()
    account: bool = False


@dataclass
class Change:
    """A write call (or Config item change) mapped to the resources it touched."""

    event_id: str
    origin: str  # cloudtrail | config
    event_source: str
    event_name: str
    event_time: dt.datetime
    region: str
    account_id: str | None
    actor: str | None
    refs: list[ResourceRef] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.event_source.split('.')[0]}:{self.event_name}"


@dataclass
class Ignored:
    """A readable event that changes nothing phiwatch records."""

    reason: str  # unknown-event | failed-call | read-only | not-collected | not-an-event
    event_id: str | None
    label: str
    detail: str = ""


#: longest event id, label part or region kept from a message (they are logged and stored)
MAX_FIELD = 256


def text_field(value: Any, limit: int = MAX_FIELD) -> str | None:
    """A scalar field of an event as text (None when absent, empty or not a string/number), cut to ``limit``."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    if "\x00" in text:
        return None
    return text[:limit] or None


def parse_time(value: Any) -> dt.datetime | None:
    """An event's ISO 8601 time in UTC; None when unreadable or outside what a datetime holds in UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        parsed = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
        parsed.timestamp()
    except (ValueError, OverflowError):
        return None
    return parsed


def actor_of(identity: Any) -> str | None:
    """Who made the call: userIdentity.arn, else the invoking service or principal."""
    if not isinstance(identity, dict):
        return None
    arn = text_field(identity.get("arn"), 512) if isinstance(identity.get("arn"), str) else None
    if arn:
        return arn
    context = identity.get("sessionContext")
    session_issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    issuer = text_field(session_issuer.get("arn"), 512) if isinstance(session_issuer, dict) else None
    if issuer:
        return issuer
    for key in ("invokedBy", "principalId", "type"):
        value = identity.get(key)
        if isinstance(value, str) and (text := text_field(value, 512)):
            return f"{key}:{text}"[:512]
    return None


def unwrap(body: str) -> dict[str, Any]:
    """The event object of an SQS message body (EventBridge event, SNS-wrapped event, or a bare CloudTrail record)."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadEvent(f"not JSON: {str(exc)[:120]}") from exc
    if isinstance(event, dict) and event.get("Type") == "Notification" and isinstance(event.get("Message"), str):
        try:
            event = json.loads(event["Message"])  # an SNS topic in between
        except ValueError as exc:
            raise BadEvent(f"SNS message is not JSON: {str(exc)[:120]}") from exc
    if not isinstance(event, dict):
        raise BadEvent(f"not a JSON object but {type(event).__name__}")
    return event


def parse_event(body: str, default_account: str | None = None) -> Change | Ignored:
    """Map one SQS message body to the resources it changed; raises :class:`BadEvent`."""
    event = unwrap(body)
    if event.get("source") == CONFIG_SOURCE or event.get("detail-type") == CONFIG_DETAIL_TYPE:
        return _config_change(event)
    if isinstance(event.get("detail"), dict):
        record = event["detail"]
        detail_type = event.get("detail-type")
        if detail_type not in (CLOUDTRAIL_DETAIL_TYPE, None):
            return Ignored("not-an-event", text_field(event.get("id")), str(detail_type)[:100], "not an API call or Config item change")
        envelope_region = event.get("region")
        envelope_time = event.get("time")
        event_id = text_field(record.get("eventID")) or text_field(event.get("id"))
    elif "eventSource" in event and "eventName" in event:
        record = event  # a bare CloudTrail record (e.g. replayed from a trail's S3 log file)
        envelope_region = envelope_time = None
        event_id = text_field(record.get("eventID"))
    else:
        raise BadEvent("neither an EventBridge event with a detail object nor a CloudTrail record")
    return _cloudtrail_change(record, event_id, envelope_region, envelope_time, default_account)


def _cloudtrail_change(
    record: dict[str, Any], event_id: str | None, envelope_region: Any, envelope_time: Any, default_account: str | None
) -> Change | Ignored:
    source, name = record.get("eventSource"), record.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str) or not source or not name:
        raise BadEvent("CloudTrail record without eventSource/eventName")
    label = f"{source.split('.')[0][:MAX_FIELD]}:{name[:MAX_FIELD]}"
    if record.get("errorCode"):
        return Ignored("failed-call", event_id, label, f"the call failed ({str(record.get('errorCode'))[:60]}): nothing changed")
    if record.get("readOnly") is True:
        return Ignored("read-only", event_id, label, "read-only call")
    mappings = [m for m in mappings_for(source, name) if m.applies(record)]
    if not mappings:
        return Ignored("unknown-event", event_id, label, "no entry in phiwatch's event table")
    region = record.get("awsRegion") or envelope_region
    if not isinstance(region, str) or not _REGION.match(region):
        raise BadEvent(f"{label}: no awsRegion")
    when = parse_time(record.get("eventTime")) or parse_time(envelope_time)
    if when is None:
        raise BadEvent(f"{label}: no readable eventTime")
    raw_identity = record.get("userIdentity")
    identity: dict[str, Any] = raw_identity if isinstance(raw_identity, dict) else {}
    account = text_field(record.get("recipientAccountId")) or text_field(identity.get("accountId")) or default_account
    partition = "aws"
    arn = identity.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        partition = arn.split(":")[1] or "aws"
    env = {"region": region, "account": str(account or ""), "partition": partition}
    change = Change(
        event_id=event_id or f"{label}@{when.isoformat()}",
        origin="cloudtrail",
        event_source=source,
        event_name=name,
        event_time=when,
        region=region,
        account_id=account or None,
        actor=actor_of(identity),
    )
    for mapping in mappings:
        found: list[tuple[Target, tuple[str, ...]]] = []
        for target in mapping.targets:
            target_ids: list[str] = []
            for extractor in target.ids:
                target_ids.extend(v for v in extractor.extract(record, env) if v not in target_ids)
            found.append((target, tuple(target_ids)))
        any_optional_hit = any(ids for target, ids in found if target.optional)
        for target, ids in found:
            if target.optional and not ids and any_optional_hit:
                continue  # another reading of an ambiguous call matched
            ref = _ref(target, ids, region)
            if ref is not None:
                _add(change.refs, ref)
    if not change.refs:
        return Ignored("not-collected", change.event_id, label, "its resource types are not collected")
    return change


def _ref(target: Target, ids: tuple[str, ...], region: str) -> ResourceRef | None:
    if target.resource_type == ACCOUNT_TYPE:
        return ResourceRef(ACCOUNT_TYPE, target.service or "", target.region or region, (), account=True)
    service = target.service or service_for_type(target.resource_type)
    if service is None:
        return None
    if service in GLOBAL_ITEM_SERVICES:
        region = GLOBAL
    return ResourceRef(target.resource_type, service, target.region or region, ids)


def _add(refs: list[ResourceRef], ref: ResourceRef) -> None:
    """Add ``ref``, merging identifiers into an existing reference to the same type and region."""
    for existing in refs:
        if (existing.resource_type, existing.service, existing.region) == (ref.resource_type, ref.service, ref.region):
            existing.identifiers = tuple(dict.fromkeys(existing.identifiers + ref.identifiers))
            return
    refs.append(ref)


def _config_change(event: dict[str, Any]) -> Change | Ignored:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadEvent("Config event without a detail object")
    item = detail.get("configurationItem") or detail.get("configurationItemSummary")
    message_type = text_field(detail.get("messageType")) or ""
    if not isinstance(item, dict):
        return Ignored("not-an-event", text_field(event.get("id")), f"config:{message_type or '?'}", "no configurationItem")
    resource_type = item.get("resourceType")
    resource_id = text_field(item.get("resourceId"), 2048)
    region = item.get("awsRegion") or event.get("region")
    if not isinstance(resource_type, str) or not isinstance(region, str) or not _REGION.match(region):
        raise BadEvent("Config item without resourceType/awsRegion")
    label = f"config:{resource_type[:MAX_FIELD]}"
    service = service_for_type(resource_type) if len(resource_type) <= MAX_FIELD else None
    if service is None:
        return Ignored("not-collected", text_field(event.get("id")), label, f"phiwatch does not collect {resource_type[:MAX_FIELD]}")
    when = parse_time(item.get("configurationItemCaptureTime")) or parse_time(event.get("time"))
    if when is None:
        raise BadEvent(f"{label}: no readable capture time")
    ids = tuple(
        dict.fromkeys(
            v for v in (resource_id, text_field(item.get("ARN") or item.get("arn"), 2048), text_field(item.get("resourceName"), 2048)) if v
        )
    )
    if service in GLOBAL_ITEM_SERVICES:
        region = GLOBAL  # phiwatch records IAM in region "global", as AWS Config does
    event_id = text_field(event.get("id")) or f"{label}/{resource_id}@{when.isoformat()}"
    state_id = text_field(item.get("configurationStateId"))
    if state_id is not None:
        event_id = f"config:{resource_type}/{resource_id}/{state_id}"[:1024]
    return Change(
        event_id=event_id,
        origin="config",
        event_source="config.amazonaws.com",
        event_name=message_type or "ConfigurationItemChange",
        event_time=when,
        region=region,
        account_id=text_field(item.get("awsAccountId")) or text_field(event.get("account")),
        actor=None,
        refs=[ResourceRef(resource_type, service, region, ids)],
    )


# -- the EventBridge patterns --------------------------------------------------------------------

#: EventBridge's default limit on an event pattern's length (characters)
PATTERN_LIMIT = 2048


def _name_filters(source: str, names: list[str]) -> list[Any]:
    if source in VERSIONED_SOURCES:
        return [{"prefix": name} for name in names]
    return list(names)


def cloudtrail_patterns(services: Iterable[str] | None = None, limit: int = PATTERN_LIMIT) -> list[dict[str, Any]]:
    """Event patterns (each at most ``limit`` characters) matching the table's write calls.

    ``services``: only entries whose targets are re-collected by these collectors (default: all).
    """
    wanted = set(services) if services is not None else None
    calls: dict[str, set[str]] = {}
    for mapping in TABLE:
        for target in mapping.targets:
            service = target.service if target.resource_type == ACCOUNT_TYPE else service_for_type(target.resource_type)
            if service is None or (wanted is not None and service not in wanted):
                continue
            calls.setdefault(mapping.source, set()).update(mapping.names)
    patterns: list[dict[str, Any]] = []
    current: dict[str, list[str]] = {}

    def build(group: dict[str, list[str]]) -> dict[str, Any]:
        sources = sorted(group)
        names: list[Any] = []
        for source in sources:
            for entry in _name_filters(source, group[source]):
                if entry not in names:
                    names.append(entry)
        return {
            "source": sorted({event_source_name(s) for s in sources}),
            "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
            "detail": {"eventSource": sources, "eventName": names},
        }

    def size(group: dict[str, list[str]]) -> int:
        return len(json.dumps(build(group), separators=(",", ":")))

    for source in sorted(calls):
        names = sorted(calls[source])
        candidate = {**current, source: names}
        if current and size(candidate) > limit:
            patterns.append(build(current))
            current = {}
            candidate = {source: names}
        if size(candidate) <= limit:
            current = candidate
            continue
        # one source alone is too long: split its names
        chunk: list[str] = []
        for name in names:
            if chunk and size({source: chunk + [name]}) > limit:
                patterns.append(build({source: chunk}))
                chunk = []
            chunk.append(name)
        current = {source: chunk}
    if current:
        patterns.append(build(current))
    return patterns


def config_pattern() -> dict[str, Any]:
    return {"source": [CONFIG_SOURCE], "detail-type": [CONFIG_DETAIL_TYPE]}
