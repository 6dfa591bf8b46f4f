"""Database rules (RDS, Redshift, DynamoDB, OpenSearch, ElastiCache, DMS, EFS, Kinesis) against AWS's
semantics: keys moto leaves out, DynamoDB's per-region account verdict and its threshold, and
parameters given the way a policy gives them (strings, lists with spaces, booleans in any case)."""

from __future__ import annotations

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem, utcnow
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.active import active_rules, resolve_rules, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import built_item, judge_rule

ACCOUNT = "123456789012"
TABLE_KEY = dict(
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}]
)


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session()

    def client(service, region="us-east-1"):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    rds = client("rds")
    # no PubliclyAccessible in the call: moto then leaves the key out of DescribeDBInstances
    rds.create_db_instance(
        DBInstanceIdentifier="rds-flag-unset",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    dms = client("dms")
    dms.create_replication_instance(ReplicationInstanceIdentifier="dms-flag-unset", ReplicationInstanceClass="dms.t3.micro")
    dms.create_replication_instance(
        ReplicationInstanceIdentifier="dms-public", ReplicationInstanceClass="dms.t3.micro", PubliclyAccessible=True
    )
    client("dynamodb", "us-east-1").create_table(
        TableName="east-table", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}, **TABLE_KEY
    )
    client("dynamodb", "us-west-2").create_table(
        TableName="west-table", ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 2}, **TABLE_KEY
    )
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('auditdb') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1", "us-west-2"], session=session)
    outcome = run_scan(ctx, store, Policy(), services=["rds", "dms", "dynamodb"])
    assert outcome.scan["errors"] == []
    verdicts = {(e["rule_id"], e["resource_name"], e["region"]): e for e in outcome.scan["evaluations"]}
    yield verdicts
    store.close()


def test_rds_instance_without_publicly_accessible_key_is_judged(estate):
    e = estate.get(("rds-instance-public-access-check", "rds-flag-unset", "us-east-1"))
    assert e is not None, "the instance got no verdict"
    assert e["compliance"] == "COMPLIANT"


def test_dms_instance_without_publicly_accessible_key_is_judged(estate):
    e = estate.get(("dms-replication-not-public", "dms-flag-unset", "us-east-1"))
    assert e is not None, "the replication instance got no verdict"
    assert e["compliance"] == "COMPLIANT"
    assert estate[("dms-replication-not-public", "dms-public", "us-east-1")]["compliance"] == "NON_COMPLIANT"


def test_throughput_limit_is_judged_per_region_on_that_region_tables(estate):
    east = estate[("dynamodb-throughput-limit-check", ACCOUNT, "us-east-1")]
    west = estate[("dynamodb-throughput-limit-check", ACCOUNT, "us-west-2")]
    assert east["compliance"] == west["compliance"] == "COMPLIANT"
    assert "5 of 20000 RCU" in east["annotation"] and "3 of 20000 WCU" in east["annotation"]
    assert "7 of 20000 RCU" in west["annotation"] and "2 of 20000 WCU" in west["annotation"]


# -- constructed items -----------------------------------------------------------------------------


def _account(region="us-east-1", **limits):
    return ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        awsRegion=region,
        accountId=ACCOUNT,
        configuration={"dynamodbLimits": {"AccountMaxReadCapacityUnits": 100, "AccountMaxWriteCapacityUnits": 100, **limits}},
    )


def _table(name, read, write, region="us-east-1"):
    return built_item(
        "AWS::DynamoDB::Table",
        {"TableName": name, "ProvisionedThroughput": {"ReadCapacityUnits": read, "WriteCapacityUnits": write}},
        resource_id=name,
        region=region,
    )


def test_throughput_limit_reached_is_non_compliant():
    # AWS: "When this value is reached, the rule is marked as noncompliant": 80 of 100 RCU at the default 80%
    result = judge_rule("dynamodb-throughput-limit-check", _account(), others=[_table("t1", 80, 10)])
    assert result.compliance.value == "NON_COMPLIANT" and "RCU" in result.annotation
    result = judge_rule("dynamodb-throughput-limit-check", _account(), others=[_table("t1", 79, 10)])
    assert result.compliance.value == "COMPLIANT"


def _judge_with_policy(policy_text, rule_id, item, others=()):
    """``rule_id`` on ``item`` with the parameters ``policy_text`` gives (coerced as a scan coerces them)."""
    policy = parse_policy(policy_text)
    (active,) = active_rules(policy, resolve_rules(policy), only={rule_id})
    estate = [item, *others]
    ctx = RuleContext(now=utcnow(), lookup=lambda t: [i for i in estate if i.resourceType == t])
    return run_rule(active, item, ctx)


def test_parameters_as_strings_lists_with_spaces_and_booleans_in_any_case():
    replica = built_item(
        "AWS::RDS::DBInstance",
        {"DBInstanceIdentifier": "r", "Engine": "mysql", "BackupRetentionPeriod": 3, "ReadReplicaSourceDBInstanceIdentifier": "src"},
    )
    text = 'rules: {db-instance-backup-enabled: {parameters: {checkReadReplicas: "TRUE", backupRetentionMinimum: "7"}}}'
    result = _judge_with_policy(text, "db-instance-backup-enabled", replica)
    assert result.compliance.value == "NON_COMPLIANT" and "below backupRetentionMinimum 7" in result.annotation
    text = 'rules: {db-instance-backup-enabled: {parameters: {checkReadReplicas: "false"}}}'
    assert _judge_with_policy(text, "db-instance-backup-enabled", replica).compliance.value == "NOT_APPLICABLE"

    cluster = built_item(
        "AWS::Redshift::Cluster",
        {"ClusterIdentifier": "c", "Encrypted": True, "NodeType": "ra3.xlplus"},
        {"LoggingStatus": {"LoggingEnabled": True}},
    )
    text = 'rules: {redshift-cluster-configuration-check: {parameters: {nodeTypes: "dc2.large , ra3.xlplus", loggingEnabled: "TRUE"}}}'
    assert _judge_with_policy(text, "redshift-cluster-configuration-check", cluster).compliance.value == "COMPLIANT"
    text = 'rules: {redshift-cluster-configuration-check: {parameters: {nodeTypes: "dc2.large, ra3.4xlarge"}}}'
    assert _judge_with_policy(text, "redshift-cluster-configuration-check", cluster).compliance.value == "NON_COMPLIANT"

    text = 'rules: {dynamodb-throughput-limit-check: {parameters: {accountRCUThresholdPercentage: "50"}}}'
    result = _judge_with_policy(text, "dynamodb-throughput-limit-check", _account(), [_table("t1", 50, 0)])
    assert result.compliance.value == "NON_COMPLIANT"

    domain = built_item(
        "AWS::OpenSearch::Domain",
        {"DomainName": "d", "DomainEndpointOptions": {"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}},
    )
    text = 'rules: {opensearch-https-required: {parameters: {tlsPolicies: " Policy-Min-TLS-1-2-PFS-2023-10 ,Policy-Min-TLS-1-2-2019-07"}}}'
    assert _judge_with_policy(text, "opensearch-https-required", domain).compliance.value == "COMPLIANT"

    group = built_item("AWS::ElastiCache::ReplicationGroup", {"ReplicationGroupId": "g", "Engine": "redis", "SnapshotRetentionLimit": 7})
    text = 'rules: {elasticache-redis-cluster-automatic-backup-check: {parameters: {snapshotRetentionPeriod: "7"}}}'
    assert _judge_with_policy(text, "elasticache-redis-cluster-automatic-backup-check", group).compliance.value == "COMPLIANT"


def test_empty_string_parameters_mean_unset():
    instance = built_item(
        "AWS::RDS::DBInstance",
        {"DBInstanceIdentifier": "i", "Engine": "postgres", "StorageEncrypted": True, "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k"},
    )
    text = 'rules: {rds-storage-encrypted: {parameters: {kmsKeyId: ""}}}'
    assert _judge_with_policy(text, "rds-storage-encrypted", instance).compliance.value == "COMPLIANT"
    domain = built_item("AWS::OpenSearch::Domain", {"DomainName": "d", "DomainEndpointOptions": {"EnforceHTTPS": True}})
    text = 'rules: {opensearch-https-required: {parameters: {tlsPolicies: ""}}}'
    assert _judge_with_policy(text, "opensearch-https-required", domain).compliance.value == "COMPLIANT"
