"""AWS Config managed rules for databases (RDS / Aurora, Redshift, DynamoDB, DAX, ElastiCache,
OpenSearch): one estate built in moto's server with boto3, one collection, then each rule judged on
the stored items; what moto cannot represent (instance states, HSM encryption, key changes in
progress, Valkey, reads that failed) on constructed items."""

from __future__ import annotations

import functools
import json

import pytest

from denied import Denied
from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import Compliance, utcnow
from phiwatch.resources.dax import CLUSTER as DAX_CLUSTER
from phiwatch.resources.dynamodb import TABLE
from phiwatch.resources.elasticache import CLUSTER as CACHE_CLUSTER
from phiwatch.resources.elasticache import GROUP
from phiwatch.resources.opensearch import OPENSEARCH_DOMAIN
from phiwatch.resources.rds import CLUSTER as DB_CLUSTER
from phiwatch.resources.rds import DB_SECURITY_GROUP, INSTANCE
from phiwatch.resources.redshift import CLUSTER as WAREHOUSE
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue
from phiwatch.store import Store
from rule_runner import built_item, denied_read

REGION = "us-east-1"
ACCOUNT = "123456789012"
SERVICES = ["rds", "redshift", "dynamodb", "dax", "elasticache", "opensearch"]
# a tag value that must never reach an annotation
OWNER = {"Key": "Owner", "Value": "jane.doe@example.org"}
KEY = {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
AUDIT_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/opensearch/audit"
DAX_ROLE = f"arn:aws:iam::{ACCOUNT}:role/dax-access"


@functools.cache
def rules():
    return catalogue()


def judge_rule(rule_id, item, *, others=(), lookup=None, params=None):
    """rule_runner.judge_rule with the catalogue read once for the module (this file judges a few hundred times)."""
    rule = rules()[rule_id]
    if lookup is None:
        estate = [item, *others]
        lookup = lambda resource_type: [i for i in estate if i.resourceType == resource_type]  # noqa: E731
    return run_rule(ActiveRule(rule, {**rule.defaults(), **(params or {})}, None), item, RuleContext(now=utcnow(), lookup=lookup))


def build(client) -> dict[str, str]:
    """One resource per verdict of each rule; returns names the tests use -> values (keys, ids)."""
    out: dict[str, str] = {}
    kms = client("kms")
    out["key"] = kms.create_key(Description="phi-databases")["KeyMetadata"]["Arn"]
    out["other-key"] = kms.create_key(Description="other")["KeyMetadata"]["Arn"]

    rds = client("rds")
    common = {"DBInstanceClass": "db.t3.micro", "AllocatedStorage": 20, "MasterUserPassword": "not-stored-1234", "Tags": [OWNER]}
    rds.create_db_instance(DBInstanceIdentifier="db-pg-defaults", Engine="postgres", MasterUsername="postgres", **common)
    rds.create_db_instance(
        DBInstanceIdentifier="db-mysql-hardened",
        Engine="mysql",
        MasterUsername="claims_owner",
        EnableIAMDatabaseAuthentication=True,
        DeletionProtection=True,
        **common,
    )
    rds.create_db_instance(DBInstanceIdentifier="db-mariadb", Engine="mariadb", EngineVersion="10.11.6", MasterUsername="Admin", **common)
    cluster = {"MasterUserPassword": "not-stored-1234", "Tags": [OWNER]}
    rds.create_db_cluster(
        DBClusterIdentifier="aurora-mysql-hardened",
        Engine="aurora-mysql",
        MasterUsername="claims_owner",
        BacktrackWindow=24 * 3600,
        EnableIAMDatabaseAuthentication=True,
        **cluster,
    )
    rds.create_db_cluster(DBClusterIdentifier="aurora-mysql-defaults", Engine="aurora-mysql", MasterUsername="admin", **cluster)
    rds.create_db_cluster(DBClusterIdentifier="aurora-pg", Engine="aurora-postgresql", MasterUsername="pg_owner", **cluster)
    rds.create_db_security_group(DBSecurityGroupName="default", DBSecurityGroupDescription="default")
    rds.create_db_security_group(DBSecurityGroupName="classic-legacy", DBSecurityGroupDescription="legacy", Tags=[OWNER])

    redshift = client("redshift")
    warehouse = {"NodeType": "ra3.xlplus", "MasterUserPassword": "NotStored1234", "Tags": [OWNER]}
    redshift.create_cluster(
        ClusterIdentifier="warehouse-hardened",
        MasterUsername="phi_owner",
        DBName="claims",
        EnhancedVpcRouting=True,
        Encrypted=True,
        KmsKeyId=out["key"],
        **warehouse,
    )
    redshift.enable_logging(ClusterIdentifier="warehouse-hardened", BucketName="audit-logs", S3KeyPrefix="redshift/")
    redshift.create_cluster(ClusterIdentifier="warehouse-defaults", MasterUsername="awsuser", **warehouse)
    redshift.create_cluster(ClusterIdentifier="warehouse-cloudwatch-logs", MasterUsername="AWSUSER", DBName="DEV", **warehouse)
    redshift.enable_logging(ClusterIdentifier="warehouse-cloudwatch-logs", LogDestinationType="cloudwatch", LogExports=["connectionlog"])

    ddb = client("dynamodb")
    tags = [OWNER]
    ddb.create_table(
        TableName="table-cmk",
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": out["key"]},
        Tags=tags,
        **KEY,
    )
    ddb.create_table(TableName="table-aws-owned-key", BillingMode="PAY_PER_REQUEST", Tags=tags, **KEY)

    dax = client("dax")
    for name, sse in (("dax-encrypted", {"SSESpecification": {"Enabled": True}}), ("dax-plain", {})):
        dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=DAX_ROLE, Tags=[OWNER], **sse)

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    ec = client("elasticache")
    ec.create_cache_subnet_group(CacheSubnetGroupName="phi-cache-subnets", CacheSubnetGroupDescription="phi", SubnetIds=[subnet])
    node = {"CacheNodeType": "cache.t3.micro", "NumCacheNodes": 1, "Tags": [OWNER]}
    ec.create_cache_cluster(
        CacheClusterId="redis-hardened", Engine="redis", AutoMinorVersionUpgrade=True, CacheSubnetGroupName="phi-cache-subnets", **node
    )
    ec.create_cache_cluster(
        CacheClusterId="redis-defaults", Engine="redis", AutoMinorVersionUpgrade=False, CacheSubnetGroupName="default", **node
    )
    ec.create_cache_cluster(CacheClusterId="memcached-default-subnets", Engine="memcached", CacheSubnetGroupName="default", **node)
    group = {"CacheNodeType": "cache.t3.micro", "NumCacheClusters": 1, "Engine": "redis"}
    ec.create_replication_group(
        ReplicationGroupId="rg-hardened",
        ReplicationGroupDescription="claims cache",
        AutomaticFailoverEnabled=True,
        AtRestEncryptionEnabled=True,
        KmsKeyId=out["key"],
        TransitEncryptionEnabled=True,
        UserGroupIds=["phi-users"],
        **group,
    )
    ec.create_replication_group(ReplicationGroupId="rg-redis7-open", ReplicationGroupDescription="portal cache", **group)
    ec.create_replication_group(
        ReplicationGroupId="rg-redis5-auth",
        ReplicationGroupDescription="legacy cache",
        TransitEncryptionEnabled=True,
        AuthToken="not-stored-token-123456",
        **group,
    )
    ec.create_replication_group(ReplicationGroupId="rg-redis5-open", ReplicationGroupDescription="legacy cache", **group)
    ec.create_replication_group(ReplicationGroupId="rg-members-unrecorded", ReplicationGroupDescription="cache", **group)
    # moto lists a group's member clusters (<group>-001) without creating them; AWS always has them,
    # and a group's engine version is theirs: record the members the way AWS would list them
    for name, version in (("rg-hardened", "7.1"), ("rg-redis7-open", "7.0"), ("rg-redis5-auth", "5.0.6"), ("rg-redis5-open", "5.0.6")):
        ec.create_cache_cluster(CacheClusterId=f"{name}-001", Engine="redis", EngineVersion=version, **node)

    search = client("opensearch")
    search.create_domain(
        DomainName="search-hardened",
        ClusterConfig={"InstanceCount": 3, "ZoneAwarenessEnabled": True},
        AdvancedSecurityOptions={
            "Enabled": True,
            "InternalUserDatabaseEnabled": True,
            "MasterUserOptions": {"MasterUserName": "search-admin", "MasterUserPassword": "Not-Stored-1234"},
        },
        LogPublishingOptions={"AUDIT_LOGS": {"CloudWatchLogsLogGroupArn": AUDIT_GROUP, "Enabled": True}},
        TagList=[OWNER],
    )
    search.create_domain(DomainName="search-open", ClusterConfig={"InstanceCount": 1}, TagList=[OWNER])
    search.create_domain(DomainName="search-two-zones", ClusterConfig={"InstanceCount": 2, "ZoneAwarenessEnabled": True})
    return out


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service):
        return make_client(emulator.session(REGION), service, emulator.endpoint, REGION)

    values = build(client)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('managed-db') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session(REGION))
    result = collect(ctx, store, services=SERVICES)
    items = list(store.current_items())
    yield {"result": result, "items": items, "values": values}
    store.close()


def stored(estate, resource_type, name):
    found = [i for i in estate["items"] if i.resourceType == resource_type and name in (i.resourceName, i.resourceId)]
    assert len(found) == 1, (resource_type, name, [i.resourceName for i in estate["items"] if i.resourceType == resource_type])
    return found[0]


def judged(estate, rule_id, resource_type, name, params=None):
    items = estate["items"]
    result = judge_rule(
        rule_id,
        stored(estate, resource_type, name),
        lookup=lambda t: [i for i in items if i.resourceType == t],
        params=params,
    )
    assert result is not None, (rule_id, name)
    return result


def test_collection_has_no_errors(estate):
    assert estate["result"].errors == []


@pytest.mark.parametrize(
    ("rule_id", "resource_type", "good", "bad"),
    [
        ("rds-instance-default-admin-check", INSTANCE, "db-mysql-hardened", "db-pg-defaults"),
        ("rds-instance-default-admin-check", INSTANCE, "db-mysql-hardened", "db-mariadb"),  # "Admin": the default, any case
        ("rds-instance-deletion-protection-enabled", INSTANCE, "db-mysql-hardened", "db-pg-defaults"),
        ("rds-instance-iam-authentication-enabled", INSTANCE, "db-mysql-hardened", "db-pg-defaults"),
        ("rds-cluster-default-admin-check", DB_CLUSTER, "aurora-mysql-hardened", "aurora-mysql-defaults"),
        ("rds-cluster-iam-authentication-enabled", DB_CLUSTER, "aurora-mysql-hardened", "aurora-mysql-defaults"),
        ("aurora-mysql-backtracking-enabled", DB_CLUSTER, "aurora-mysql-hardened", "aurora-mysql-defaults"),
        ("rds-db-security-group-not-allowed", DB_SECURITY_GROUP, "default", "classic-legacy"),
        ("redshift-audit-logging-enabled", WAREHOUSE, "warehouse-hardened", "warehouse-defaults"),
        ("redshift-cluster-kms-enabled", WAREHOUSE, "warehouse-hardened", "warehouse-defaults"),
        ("redshift-default-admin-check", WAREHOUSE, "warehouse-hardened", "warehouse-defaults"),
        ("redshift-default-admin-check", WAREHOUSE, "warehouse-hardened", "warehouse-cloudwatch-logs"),  # AWSUSER
        ("redshift-default-db-name-check", WAREHOUSE, "warehouse-hardened", "warehouse-defaults"),  # no DBName: dev
        ("redshift-default-db-name-check", WAREHOUSE, "warehouse-hardened", "warehouse-cloudwatch-logs"),  # DEV
        ("redshift-enhanced-vpc-routing-enabled", WAREHOUSE, "warehouse-hardened", "warehouse-defaults"),
        ("dynamodb-table-encryption-enabled", TABLE, "table-cmk", "table-aws-owned-key"),
        ("dynamodb-table-encrypted-kms", TABLE, "table-cmk", "table-aws-owned-key"),
        ("dax-encryption-enabled", DAX_CLUSTER, "dax-encrypted", "dax-plain"),
        ("elasticache-auto-minor-version-upgrade-check", CACHE_CLUSTER, "redis-hardened", "redis-defaults"),
        ("elasticache-subnet-group-check", CACHE_CLUSTER, "redis-hardened", "redis-defaults"),
        ("elasticache-subnet-group-check", CACHE_CLUSTER, "redis-hardened", "memcached-default-subnets"),
        ("elasticache-repl-grp-auto-failover-enabled", GROUP, "rg-hardened", "rg-redis7-open"),
        ("elasticache-repl-grp-encrypted-at-rest", GROUP, "rg-hardened", "rg-redis7-open"),
        ("elasticache-repl-grp-encrypted-in-transit", GROUP, "rg-hardened", "rg-redis7-open"),
        ("elasticache-repl-grp-redis-auth-enabled", GROUP, "rg-redis5-auth", "rg-redis5-open"),
        ("elasticache-rbac-auth-enabled", GROUP, "rg-hardened", "rg-redis7-open"),
        ("opensearch-access-control-enabled", OPENSEARCH_DOMAIN, "search-hardened", "search-open"),
        ("opensearch-audit-logging-enabled", OPENSEARCH_DOMAIN, "search-hardened", "search-open"),
        ("opensearch-data-node-fault-tolerance", OPENSEARCH_DOMAIN, "search-hardened", "search-open"),
        ("opensearch-data-node-fault-tolerance", OPENSEARCH_DOMAIN, "search-hardened", "search-two-zones"),
    ],
)
def test_compliant_and_non_compliant(estate, rule_id, resource_type, good, bad):
    result = judged(estate, rule_id, resource_type, good)
    assert result.compliance is Compliance.COMPLIANT, result.annotation
    result = judged(estate, rule_id, resource_type, bad)
    assert result.compliance is Compliance.NON_COMPLIANT and result.annotation, result.annotation


@pytest.mark.parametrize(
    ("rule_id", "resource_type", "name", "why"),
    [
        ("rds-instance-iam-authentication-enabled", INSTANCE, "db-mariadb", "does not evaluate mariadb"),
        ("aurora-mysql-backtracking-enabled", DB_CLUSTER, "aurora-pg", "not Aurora MySQL"),
        ("elasticache-auto-minor-version-upgrade-check", CACHE_CLUSTER, "memcached-default-subnets", "not Redis"),
        ("elasticache-repl-grp-redis-auth-enabled", GROUP, "rg-hardened", "uses ACLs"),  # Redis 7
        ("elasticache-rbac-auth-enabled", GROUP, "rg-redis5-open", "no role-based access control"),  # Redis 5
    ],
)
def test_not_applicable(estate, rule_id, resource_type, name, why):
    result = judged(estate, rule_id, resource_type, name)
    assert result.compliance is Compliance.NOT_APPLICABLE and why in result.annotation


def test_a_group_whose_members_are_not_recorded_cannot_be_checked(estate):
    for rule_id in ("elasticache-repl-grp-redis-auth-enabled", "elasticache-rbac-auth-enabled"):
        result = judged(estate, rule_id, GROUP, "rg-members-unrecorded")
        assert result.compliance is Compliance.INSUFFICIENT_DATA and result.annotation.startswith("could not check")


def test_parameters_narrow_what_is_compliant(estate):
    key, other = estate["values"]["key"], estate["values"]["other-key"]
    key_id = key.rsplit("/", 1)[-1]

    def verdict(rule_id, resource_type, name, **params):
        return judged(estate, rule_id, resource_type, name, params).compliance.value

    # comma-separated lists, spaces around entries, a key given by id or ARN
    assert verdict("dynamodb-table-encrypted-kms", TABLE, "table-cmk", kmsKeyArns=f" {other} , {key} ") == "COMPLIANT"
    assert verdict("dynamodb-table-encrypted-kms", TABLE, "table-cmk", kmsKeyArns=other) == "NON_COMPLIANT"
    assert verdict("redshift-cluster-kms-enabled", WAREHOUSE, "warehouse-hardened", kmsKeyArns=key) == "COMPLIANT"
    assert verdict("redshift-cluster-kms-enabled", WAREHOUSE, "warehouse-hardened", kmsKeyArns=other) == "NON_COMPLIANT"
    assert verdict("elasticache-repl-grp-encrypted-at-rest", GROUP, "rg-hardened", approvedKMSKeyIds=key_id) == "COMPLIANT"
    assert verdict("elasticache-repl-grp-encrypted-at-rest", GROUP, "rg-hardened", approvedKMSKeyIds=other) == "NON_COMPLIANT"
    # an empty parameter is no parameter
    assert verdict("dynamodb-table-encrypted-kms", TABLE, "table-cmk", kmsKeyArns="") == "COMPLIANT"
    assert verdict("rds-instance-default-admin-check", INSTANCE, "db-mysql-hardened", validAdminUserNames=" , ") == "COMPLIANT"
    # allowed names: others are refused, and a default one stays refused even when listed
    assert verdict("rds-instance-default-admin-check", INSTANCE, "db-mysql-hardened", validAdminUserNames="dba,claims_owner") == "COMPLIANT"
    assert verdict("rds-instance-default-admin-check", INSTANCE, "db-mysql-hardened", validAdminUserNames="dba") == "NON_COMPLIANT"
    assert verdict("rds-instance-default-admin-check", INSTANCE, "db-pg-defaults", validAdminUserNames="postgres") == "NON_COMPLIANT"
    assert verdict("rds-cluster-default-admin-check", DB_CLUSTER, "aurora-pg", validAdminUserNames="dba") == "NON_COMPLIANT"
    assert verdict("redshift-default-admin-check", WAREHOUSE, "warehouse-hardened", validAdminUserNames="awsuser,dba") == "NON_COMPLIANT"
    assert verdict("redshift-default-db-name-check", WAREHOUSE, "warehouse-hardened", validDatabaseNames="claims") == "COMPLIANT"
    assert verdict("redshift-default-db-name-check", WAREHOUSE, "warehouse-hardened", validDatabaseNames="dev,billing") == "NON_COMPLIANT"
    # audit logs to CloudWatch Logs are logging, but not to one of bucketNames
    assert verdict("redshift-audit-logging-enabled", WAREHOUSE, "warehouse-cloudwatch-logs") == "COMPLIANT"
    assert verdict("redshift-audit-logging-enabled", WAREHOUSE, "warehouse-cloudwatch-logs", bucketNames="audit-logs") == "NON_COMPLIANT"
    assert verdict("redshift-audit-logging-enabled", WAREHOUSE, "warehouse-hardened", bucketNames="other,audit-logs") == "COMPLIANT"
    # engines outside databaseEngines are not judged
    result = judged(estate, "rds-instance-deletion-protection-enabled", INSTANCE, "db-pg-defaults", {"databaseEngines": "mysql, MariaDB"})
    assert result.compliance is Compliance.NOT_APPLICABLE
    assert verdict("rds-instance-deletion-protection-enabled", INSTANCE, "db-mariadb", databaseEngines="mysql, MariaDB") == "NON_COMPLIANT"
    # a backtrack window is a minimum: 24 hours satisfy 12, not 48
    assert verdict("aurora-mysql-backtracking-enabled", DB_CLUSTER, "aurora-mysql-hardened", BacktrackWindowInHours=12.0) == "COMPLIANT"
    assert verdict("aurora-mysql-backtracking-enabled", DB_CLUSTER, "aurora-mysql-hardened", BacktrackWindowInHours=48) == "NON_COMPLIANT"
    # user groups and log groups from a list
    assert verdict("elasticache-rbac-auth-enabled", GROUP, "rg-hardened", allowedUserGroupIDs="ops,phi-users") == "COMPLIANT"
    assert verdict("elasticache-rbac-auth-enabled", GROUP, "rg-hardened", allowedUserGroupIDs="ops") == "NON_COMPLIANT"
    groups = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:other,{AUDIT_GROUP}:*"
    assert (
        verdict("opensearch-audit-logging-enabled", OPENSEARCH_DOMAIN, "search-hardened", cloudWatchLogsLogGroupArnList=groups)
        == "COMPLIANT"
    )
    other_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:other"
    assert (
        verdict("opensearch-audit-logging-enabled", OPENSEARCH_DOMAIN, "search-hardened", cloudWatchLogsLogGroupArnList=other_group)
        == "NON_COMPLIANT"
    )


def test_collected_items(estate):
    dax = stored(estate, DAX_CLUSTER, "dax-encrypted")
    assert dax.resourceId == "dax-encrypted" and dax.arn == f"arn:aws:dax:{REGION}:{ACCOUNT}:cache/dax-encrypted"
    assert dax.configuration["SSEDescription"] == {"Status": "ENABLED"} and dax.tags == {"Owner": "jane.doe@example.org"}
    assert {"resourceType": "AWS::IAM::Role", "resourceId": DAX_ROLE, "relationshipName": "Is associated with Role"} in dax.relationships
    legacy = stored(estate, DB_SECURITY_GROUP, "classic-legacy")
    assert legacy.resourceId == legacy.resourceName == "classic-legacy"
    assert legacy.arn == f"arn:aws:rds:{REGION}:{ACCOUNT}:secgrp:classic-legacy"
    assert legacy.tags == {"Owner": "jane.doe@example.org"}
    aurora = stored(estate, DB_CLUSTER, "aurora-mysql-hardened")
    assert aurora.configuration["BacktrackWindow"] == 86400 and aurora.configuration["MasterUsername"] == "claims_owner"
    assert "not-stored" not in json.dumps([i.to_dict() for i in estate["items"]])


def test_annotations_carry_no_tag_values(estate):
    from phiwatch.rules.registry import catalogue

    rules = catalogue()
    ours = [
        r
        for r in rules.values()
        if r.fn is not None and r.fn.__module__.rsplit(".", 1)[-1] in {"rds", "redshift", "dynamodb", "dax", "elasticache", "opensearch"}
    ]
    items = estate["items"]
    seen = 0
    for rule in ours:
        for item in items:
            if item.resourceType in rule.resource_types:
                result = judge_rule(rule.id, item, lookup=lambda t: [i for i in items if i.resourceType == t])
                seen += result is not None
                assert result is None or "jane.doe" not in result.annotation, (rule.id, item.resourceId)
    assert seen > 100


def test_denied_reads_are_could_not_check(aws_env, store):
    ddb = aws_env.client("dynamodb")
    ddb.create_table(TableName="table-unreadable", BillingMode="PAY_PER_REQUEST", **KEY)
    aws_env.client("redshift").create_cluster(
        ClusterIdentifier="warehouse-unreadable", NodeType="ra3.xlplus", MasterUsername="phi_owner", MasterUserPassword="NotStored1234"
    )
    ctx = aws_env.context()
    ctx.client("dynamodb", REGION).meta.events.register("before-call", Denied("DescribeTable"))
    ctx.client("redshift", REGION).meta.events.register("before-call", Denied("DescribeLoggingStatus"))
    result = collect(ctx, store, services=["dynamodb", "redshift"])
    assert {(e.api, e.iam_action) for e in result.errors} == {
        ("DescribeTable", "dynamodb:DescribeTable"),
        ("DescribeLoggingStatus", "redshift:DescribeLoggingStatus"),
    }
    items = {i.resourceId: i for i in store.current_items()}
    for rule_id in ("dynamodb-table-encryption-enabled", "dynamodb-table-encrypted-kms"):
        result = judge_rule(rule_id, items["table-unreadable"])
        assert result.compliance is Compliance.INSUFFICIENT_DATA and "dynamodb:DescribeTable" in result.annotation
    result = judge_rule("redshift-audit-logging-enabled", items["warehouse-unreadable"])
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "redshift:DescribeLoggingStatus" in result.annotation
    # the cluster's own settings were read: the rules on them still judge it
    assert judge_rule("redshift-default-admin-check", items["warehouse-unreadable"]).compliance is Compliance.COMPLIANT


# -- constructed items: what moto cannot represent ------------------------------------------------


def verdict_of(rule_id, resource_type, configuration, supplementary=None, errors=None, params=None, others=(), resource_id="r-1"):
    item = built_item(resource_type, configuration, supplementary, errors, resource_id=resource_id)
    result = judge_rule(rule_id, item, others=others, params=params)
    return None if result is None else result.compliance.value


def test_instance_states_and_engines_of_iam_authentication():
    base = {"DBInstanceIdentifier": "db", "Engine": "aurora-postgresql", "IAMDatabaseAuthenticationEnabled": False}
    assert verdict_of("rds-instance-iam-authentication-enabled", INSTANCE, {**base, "DBInstanceStatus": "available"}) == "NON_COMPLIANT"
    assert verdict_of("rds-instance-iam-authentication-enabled", INSTANCE, {**base, "DBInstanceStatus": "storage-full"}) == "NON_COMPLIANT"
    assert verdict_of("rds-instance-iam-authentication-enabled", INSTANCE, {**base, "DBInstanceStatus": "stopped"}) == "NOT_APPLICABLE"
    oracle = {**base, "Engine": "oracle-ee", "DBInstanceStatus": "available"}
    assert verdict_of("rds-instance-iam-authentication-enabled", INSTANCE, oracle) == "NOT_APPLICABLE"


def test_aurora_instances_carry_their_own_deletion_protection():
    member = {"DBInstanceIdentifier": "aurora-1", "Engine": "aurora-mysql", "DBClusterIdentifier": "c", "DeletionProtection": False}
    assert verdict_of("rds-instance-deletion-protection-enabled", INSTANCE, member) == "NON_COMPLIANT"


def test_backtracking_on_aurora_mysql_5_6_and_default_admin_names():
    cluster = {"DBClusterIdentifier": "c", "Engine": "aurora", "BacktrackWindow": 0}
    assert verdict_of("aurora-mysql-backtracking-enabled", DB_CLUSTER, cluster) == "NON_COMPLIANT"
    assert verdict_of("aurora-mysql-backtracking-enabled", DB_CLUSTER, {**cluster, "BacktrackWindow": 3600}) == "COMPLIANT"
    assert verdict_of("rds-cluster-default-admin-check", DB_CLUSTER, {**cluster, "MasterUsername": "POSTGRES"}) == "NON_COMPLIANT"
    assert verdict_of("rds-cluster-default-admin-check", DB_CLUSTER, cluster) == "NOT_APPLICABLE"  # no master user reported
    assert verdict_of("rds-cluster-iam-authentication-enabled", DB_CLUSTER, cluster) == "NON_COMPLIANT"


def test_redshift_encrypted_with_an_hsm_is_not_kms():
    hsm = {"ClusterIdentifier": "w", "Encrypted": True, "HsmStatus": {"HsmClientCertificateIdentifier": "hsm-cert", "Status": "active"}}
    assert verdict_of("redshift-cluster-kms-enabled", WAREHOUSE, hsm) == "NON_COMPLIANT"
    assert verdict_of("redshift-enhanced-vpc-routing-enabled", WAREHOUSE, {"ClusterIdentifier": "w"}) == "NON_COMPLIANT"


@pytest.mark.parametrize(
    ("sse", "enabled", "kms"),
    [
        ({"Status": "ENABLING", "SSEType": "KMS", "KMSMasterKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}, "COMPLIANT", "COMPLIANT"),
        (
            {"Status": "UPDATING", "SSEType": "KMS", "KMSMasterKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k"},
            "NON_COMPLIANT",
            "COMPLIANT",
        ),
        ({"Status": "DISABLING", "SSEType": "KMS"}, "NON_COMPLIANT", "NON_COMPLIANT"),
        ({"Status": "DISABLED"}, "NON_COMPLIANT", "NON_COMPLIANT"),
    ],
)
def test_dynamodb_encryption_states(sse, enabled, kms):
    table = {"TableName": "t", "SSEDescription": sse}
    assert verdict_of("dynamodb-table-encryption-enabled", TABLE, table) == enabled
    assert verdict_of("dynamodb-table-encrypted-kms", TABLE, table) == kms


def test_denied_describe_table_on_a_built_item():
    errors = denied_read("DescribeTable", "dynamodb:DescribeTable")
    assert verdict_of("dynamodb-table-encrypted-kms", TABLE, {}, errors=errors) == "INSUFFICIENT_DATA"
    assert verdict_of("dynamodb-table-encrypted-kms", TABLE, {}) is None  # not read for another reason: no verdict


def test_dax_encryption_being_enabled_is_not_yet_encrypted():
    assert (
        verdict_of("dax-encryption-enabled", DAX_CLUSTER, {"ClusterName": "d", "SSEDescription": {"Status": "ENABLING"}}) == "NON_COMPLIANT"
    )
    assert verdict_of("dax-encryption-enabled", DAX_CLUSTER, {"ClusterName": "d"}) == "NON_COMPLIANT"


def test_elasticache_cases_moto_cannot_represent():
    valkey = {"CacheClusterId": "v", "Engine": "valkey", "AutoMinorVersionUpgrade": False, "CacheSubnetGroupName": "custom"}
    assert verdict_of("elasticache-auto-minor-version-upgrade-check", CACHE_CLUSTER, valkey) == "NOT_APPLICABLE"
    assert verdict_of("elasticache-subnet-group-check", CACHE_CLUSTER, valkey) == "COMPLIANT"
    classic = {"CacheClusterId": "c", "Engine": "redis", "AutoMinorVersionUpgrade": True}  # no subnet group: outside a VPC
    assert verdict_of("elasticache-subnet-group-check", CACHE_CLUSTER, classic) == "NON_COMPLIANT"
    group = {"ReplicationGroupId": "g", "AutomaticFailover": "enabling", "AtRestEncryptionEnabled": True, "MemberClusters": ["g-001"]}
    assert verdict_of("elasticache-repl-grp-auto-failover-enabled", GROUP, group) == "NON_COMPLIANT"
    # at rest with the default ElastiCache key: encrypted, but not with an approved key
    assert verdict_of("elasticache-repl-grp-encrypted-at-rest", GROUP, group) == "COMPLIANT"
    assert verdict_of("elasticache-repl-grp-encrypted-at-rest", GROUP, group, params={"approvedKMSKeyIds": "k"}) == "NON_COMPLIANT"
    # Valkey 8 members: ACLs, so RBAC is checked; members mid-upgrade count by their lowest version
    member = built_item(CACHE_CLUSTER, {"CacheClusterId": "g-001", "Engine": "valkey", "EngineVersion": "8.0"}, resource_id="g-001")
    assert verdict_of("elasticache-rbac-auth-enabled", GROUP, group, others=[member]) == "NON_COMPLIANT"
    older = built_item(CACHE_CLUSTER, {"CacheClusterId": "g-002", "ReplicationGroupId": "g", "EngineVersion": "5.0.6"}, resource_id="g-002")
    # (the second member is found by its ReplicationGroupId)
    assert verdict_of("elasticache-rbac-auth-enabled", GROUP, group, others=[member, older], resource_id="g") == "NOT_APPLICABLE"
    assert verdict_of("elasticache-repl-grp-redis-auth-enabled", GROUP, group, others=[member, older], resource_id="g") == "NON_COMPLIANT"
    # a member in another region is not this group's
    elsewhere = built_item(CACHE_CLUSTER, {"CacheClusterId": "g-001", "EngineVersion": "5.0.6"}, resource_id="g-001", region="eu-west-1")
    assert verdict_of("elasticache-rbac-auth-enabled", GROUP, group, others=[elsewhere]) == "INSUFFICIENT_DATA"


def test_opensearch_audit_logs_switched_off_and_missing_cluster_config():
    domain = {"DomainName": "d", "LogPublishingOptions": {"AUDIT_LOGS": {"CloudWatchLogsLogGroupArn": AUDIT_GROUP, "Enabled": False}}}
    assert verdict_of("opensearch-audit-logging-enabled", OPENSEARCH_DOMAIN, domain) == "NON_COMPLIANT"
    assert verdict_of("opensearch-data-node-fault-tolerance", OPENSEARCH_DOMAIN, domain) == "NON_COMPLIANT"
    assert verdict_of("opensearch-access-control-enabled", OPENSEARCH_DOMAIN, domain) == "NON_COMPLIANT"
