"""RDS, DynamoDB, EFS, ELB(v2) and Lambda collectors against moto's server."""

from __future__ import annotations

import io
import json
import zipfile

from aws_state import ON_DEMAND_TABLE
from denied import Denied
from phiwatch.collect.runner import collect
from phiwatch.store.diff import diff_items
from stored import stored_item

ACCOUNT = "123456789012"


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _all_stored_json(store) -> str:
    """Every stored version of every resource, as text (for secret-leak assertions)."""
    out = []
    for row in store.inventory(include_deleted=True):
        out.extend(json.dumps(v["item"]) for v in store.history(row["id"]))
    return "\n".join(out)


def _network(aws_env):
    ec2 = aws_env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    return vpc, subnets


# -- RDS -------------------------------------------------------------------------------------

RDS_COMMON = dict(
    DBInstanceClass="db.t3.micro",
    Engine="postgres",
    MasterUsername="admin1",
    MasterUserPassword="password123",
    AllocatedStorage=20,
)


def test_rds_instances_clusters_and_snapshots(aws_env, store):
    rds = aws_env.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="rds-encrypted-multiaz",
        StorageEncrypted=True,
        PubliclyAccessible=False,
        MultiAZ=True,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
        EnableCloudwatchLogsExports=["postgresql"],
        Tags=_tags({"PHI": "Yes"}),
        **RDS_COMMON,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="rds-public-unencrypted",
        StorageEncrypted=False,
        PubliclyAccessible=True,
        BackupRetentionPeriod=0,
        **RDS_COMMON,
    )
    rds.create_db_snapshot(DBInstanceIdentifier="rds-encrypted-multiaz", DBSnapshotIdentifier="snapshot-public")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="snapshot-public", AttributeName="restore", ValuesToAdd=["all"])
    rds.create_db_snapshot(DBInstanceIdentifier="rds-encrypted-multiaz", DBSnapshotIdentifier="snapshot-private")
    rds.create_db_cluster(
        DBClusterIdentifier="cluster-no-deletion-protection",
        Engine="aurora-postgresql",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        StorageEncrypted=True,
        Tags=_tags({"PHI": "Yes"}),
    )
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="cluster-no-deletion-protection", DBClusterSnapshotIdentifier="cluster-snapshot-private"
    )

    ctx = aws_env.context()
    result = collect(ctx, store, services=["rds"])
    assert result.errors == []
    assert result.types_seen["AWS::RDS::DBInstance"] == 2
    assert result.types_seen["AWS::RDS::DBSnapshot"] == 2  # manual only: automated ones are skipped

    good = stored_item(store, "rds-encrypted-multiaz", "AWS::RDS::DBInstance")
    # moto gives both instances the same DbiResourceId: the collector falls back to the identifier
    assert good["resourceId"] == "rds-encrypted-multiaz"
    assert good["resourceName"] == "rds-encrypted-multiaz"
    assert good["arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:rds-encrypted-multiaz"
    conf = good["configuration"]
    assert conf["StorageEncrypted"] is True and conf["PubliclyAccessible"] is False and conf["MultiAZ"] is True
    assert conf["BackupRetentionPeriod"] == 7 and conf["DeletionProtection"] is True
    assert conf["AutoMinorVersionUpgrade"] is True and conf["IAMDatabaseAuthenticationEnabled"] is False
    assert conf["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert good["tags"] == {"PHI": "Yes"}
    assert good["collectionErrors"] == []
    assert any(r["resourceType"] == "AWS::EC2::SecurityGroup" for r in good["relationships"])

    bad = stored_item(store, "rds-public-unencrypted", "AWS::RDS::DBInstance")["configuration"]
    assert bad["StorageEncrypted"] is False and bad["PubliclyAccessible"] is True
    assert bad["BackupRetentionPeriod"] == 0 and bad["MultiAZ"] is False

    public = stored_item(store, "snapshot-public", "AWS::RDS::DBSnapshot")
    assert public["resourceId"] == "snapshot-public"
    assert public["arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:snapshot-public"
    assert public["configuration"]["Encrypted"] is True
    assert public["supplementaryConfiguration"]["DBSnapshotAttributes"] == [{"AttributeName": "restore", "AttributeValues": ["all"]}]
    assert public["relationships"][0]["resourceId"] == "rds-encrypted-multiaz"
    private = stored_item(store, "snapshot-private", "AWS::RDS::DBSnapshot")
    assert private["supplementaryConfiguration"]["DBSnapshotAttributes"] == [{"AttributeName": "restore", "AttributeValues": []}]

    cluster = stored_item(store, "cluster-no-deletion-protection", "AWS::RDS::DBCluster")
    assert cluster["resourceId"].startswith("cluster-")  # DbClusterResourceId, AWS Config's id
    assert cluster["arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:cluster-no-deletion-protection"
    assert cluster["configuration"]["DeletionProtection"] is False
    assert cluster["configuration"]["StorageEncrypted"] is True
    assert cluster["tags"] == {"PHI": "Yes"}
    cluster_snapshot = stored_item(store, "cluster-snapshot-private", "AWS::RDS::DBClusterSnapshot")
    assert cluster_snapshot["configuration"]["StorageEncrypted"] is True
    assert cluster_snapshot["supplementaryConfiguration"]["DBClusterSnapshotAttributes"][0]["AttributeName"] == "restore"

    # deletion: a snapshot missing from a complete listing is recorded as deleted
    rds.delete_db_snapshot(DBSnapshotIdentifier="snapshot-public")
    result = collect(ctx, store, services=["rds"])
    assert result.deleted == 1
    assert store.resolve("snapshot-public", "AWS::RDS::DBSnapshot")["status"] == "ResourceDeleted"


def test_rds_single_instance_keeps_dbi_resource_id(aws_env, store):
    aws_env.client("rds").create_db_instance(DBInstanceIdentifier="rds-only-one", **RDS_COMMON)
    collect(aws_env.context(), store, services=["rds"])
    item = stored_item(store, "rds-only-one", "AWS::RDS::DBInstance")
    assert item["resourceId"] == item["configuration"]["DbiResourceId"]
    assert item["resourceId"].startswith("db-")
    assert item["resourceName"] == "rds-only-one"


def test_rds_and_efs_unchanged_recollection_writes_no_version(aws_env, store):
    """Restorable times and metered sizes move on every describe: not a new version."""
    aws_env.client("rds").create_db_instance(DBInstanceIdentifier="rds-unchanged", **RDS_COMMON)
    aws_env.client("rds").create_db_cluster(
        DBClusterIdentifier="cluster-unchanged",
        Engine="aurora-postgresql",
        MasterUsername="admin1",
        MasterUserPassword="password123",
    )
    fs_id = aws_env.client("efs").create_file_system(CreationToken="efs-unchanged")["FileSystemId"]
    ctx = aws_env.context()
    first = collect(ctx, store, services=["rds", "efs"])
    assert first.errors == [] and first.created == 3
    second = collect(ctx, store, services=["rds", "efs"])
    assert (second.created, second.changed, second.deleted) == (0, 0, 0), second.changed_keys
    for identifier, resource_type in (
        ("rds-unchanged", "AWS::RDS::DBInstance"),
        ("cluster-unchanged", "AWS::RDS::DBCluster"),
        (fs_id, "AWS::EFS::FileSystem"),
    ):
        assert len(store.history(store.resolve(identifier, resource_type)["id"])) == 1


# -- DynamoDB ----------------------------------------------------------------------------------


def test_dynamodb_items_written_are_not_a_configuration_change(aws_env, store):
    """ItemCount and TableSizeBytes follow the data, not the configuration: no new version."""
    ddb = aws_env.client("dynamodb")
    ddb.create_table(
        TableName="ddb-growing",
        **ON_DEMAND_TABLE,
    )
    ctx = aws_env.context()
    collect(ctx, store, services=["dynamodb"])
    for n in range(3):
        ddb.put_item(TableName="ddb-growing", Item={"id": {"S": f"row-{n}"}})
    assert ddb.describe_table(TableName="ddb-growing")["Table"]["ItemCount"] == 3  # the emulator does move it
    second = collect(ctx, store, services=["dynamodb"])
    assert (second.created, second.changed, second.deleted) == (0, 0, 0)
    item = store.history(store.resolve("ddb-growing", "AWS::DynamoDB::Table")["id"])[-1]["item"]
    assert "ItemCount" not in item["configuration"] and "TableSizeBytes" not in item["configuration"]


def test_dynamodb_tables_pitr_sse_and_history(aws_env, store):
    ddb = aws_env.client("dynamodb")
    ddb.create_table(
        TableName="ddb-pitr-on-kms", SSESpecification={"Enabled": True, "SSEType": "KMS"}, Tags=_tags({"PHI": "Yes"}), **ON_DEMAND_TABLE
    )
    ddb.update_continuous_backups(TableName="ddb-pitr-on-kms", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ddb.create_table(TableName="ddb-pitr-off-default-key", **ON_DEMAND_TABLE)

    ctx = aws_env.context()
    result = collect(ctx, store, services=["dynamodb"])
    assert result.errors == []

    on = stored_item(store, "ddb-pitr-on-kms", "AWS::DynamoDB::Table")
    assert on["resourceId"] == on["resourceName"] == "ddb-pitr-on-kms"
    assert on["arn"] == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ddb-pitr-on-kms"
    assert on["configuration"]["SSEDescription"]["SSEType"] == "KMS"
    pitr = on["supplementaryConfiguration"]["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert on["tags"] == {"PHI": "Yes"}

    off = stored_item(store, "ddb-pitr-off-default-key", "AWS::DynamoDB::Table")
    assert "SSEDescription" not in off["configuration"]  # AWS owned key
    assert off["configuration"]["TableName"] == "ddb-pitr-off-default-key"
    pitr = off["supplementaryConfiguration"]["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "DISABLED"
    assert off["tags"] == {} and off["collectionErrors"] == []

    # history: enabling PITR makes a new version with a readable change
    ddb.update_continuous_backups(
        TableName="ddb-pitr-off-default-key", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    collect(ctx, store, services=["dynamodb"])
    versions = store.history(store.resolve("ddb-pitr-off-default-key", "AWS::DynamoDB::Table")["id"])
    assert [v["version"] for v in versions] == [1, 2]
    texts = [c.describe() for c in diff_items(versions[0]["item"], versions[1]["item"])]
    assert any("PointInTimeRecoveryStatus: DISABLED -> ENABLED" in t for t in texts), texts


# -- EFS ---------------------------------------------------------------------------------------


def test_efs_paginates_and_reads_backup_policy(aws_env, store):
    efs = aws_env.client("efs")
    ids = {}
    for i in range(12):  # moto pages DescribeFileSystems at 10
        name = "efs-encrypted-backup" if i == 0 else "efs-unencrypted" if i == 1 else f"efs-filler-{i:02d}"
        fs = efs.create_file_system(CreationToken=name, Encrypted=i != 1, Backup=i == 0, Tags=_tags({"Name": name, "PHI": "Yes"}))
        ids[name] = fs["FileSystemId"]

    result = collect(aws_env.context(), store, services=["efs"])
    assert result.errors == []
    assert result.types_seen["AWS::EFS::FileSystem"] == 12

    good = stored_item(store, ids["efs-encrypted-backup"], "AWS::EFS::FileSystem")
    assert good["resourceName"] == "efs-encrypted-backup"
    assert good["arn"] == f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/{ids['efs-encrypted-backup']}"
    assert good["configuration"]["Encrypted"] is True
    assert good["supplementaryConfiguration"]["BackupPolicy"] == {"Status": "ENABLED"}
    assert good["supplementaryConfiguration"]["FileSystemPolicy"] is None
    assert good["tags"] == {"Name": "efs-encrypted-backup", "PHI": "Yes"}

    bad = stored_item(store, ids["efs-unencrypted"], "AWS::EFS::FileSystem")
    assert bad["configuration"]["Encrypted"] is False
    assert bad["supplementaryConfiguration"]["BackupPolicy"] is None  # not configured: explicit None
    assert bad["collectionErrors"] == []


def test_efs_denied_detail_is_an_error_not_none(aws_env, store):
    efs = aws_env.client("efs")
    fs_id = efs.create_file_system(CreationToken="efs-backup-unknown", Tags=_tags({"Name": "efs-backup-unknown"}))["FileSystemId"]
    ctx = aws_env.context()
    ctx.client("efs", "us-east-1").meta.events.register("before-call.efs.DescribeBackupPolicy", Denied("DescribeBackupPolicy"))
    result = collect(ctx, store, services=["efs"])
    assert [(e.api, e.error, e.iam_action) for e in result.errors] == [
        ("DescribeBackupPolicy", "AccessDenied", "elasticfilesystem:DescribeBackupPolicy")
    ]
    item = stored_item(store, fs_id, "AWS::EFS::FileSystem")
    assert "BackupPolicy" not in item["supplementaryConfiguration"]  # absent = could not read
    assert item["collectionErrors"][0]["api"] == "DescribeBackupPolicy"


# -- ELBv2 / ELB -------------------------------------------------------------------------------


def test_elbv2_attributes_listeners_and_batched_tags(aws_env, store):
    vpc, subnets = _network(aws_env)
    elbv2 = aws_env.client("elbv2")
    arns = {}
    for i in range(21):  # more than one DescribeTags batch of 20
        name = "alb-http-no-logs" if i == 0 else "alb-redirect-protected" if i == 1 else f"alb-filler-{i:02d}"
        lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, Tags=_tags({"Name": name, "PHI": "Yes"}))
        arns[name] = lb["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="tg-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=arns["alb-http-no-logs"], Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
    )
    elbv2.create_listener(
        LoadBalancerArn=arns["alb-redirect-protected"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arns["alb-redirect-protected"],
        Attributes=[
            {"Key": "deletion_protection.enabled", "Value": "true"},
            {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
        ],
    )

    ctx = aws_env.context()
    tag_calls = []
    ctx.client("elbv2", "us-east-1").meta.events.register(
        "before-call.elastic-load-balancing-v2.DescribeTags", lambda params, **_: tag_calls.append(params)
    )
    result = collect(ctx, store, services=["elbv2"])
    assert result.errors == []
    assert result.types_seen["AWS::ElasticLoadBalancingV2::LoadBalancer"] == 21
    assert len(tag_calls) == 2  # 21 load balancers: two batched calls, never one per load balancer

    plain = stored_item(store, "alb-http-no-logs", "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert plain["resourceId"] == plain["arn"] == arns["alb-http-no-logs"]
    assert plain["arn"].startswith(f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/alb-http-no-logs/")
    sup = plain["supplementaryConfiguration"]
    assert sup["Attributes"]["deletion_protection.enabled"] == "false"
    assert sup["Attributes"].get("access_logs.s3.enabled", "false") == "false"
    [listener] = sup["Listeners"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)
    assert listener["DefaultActions"][0]["Type"] == "forward"
    assert plain["tags"] == {"Name": "alb-http-no-logs", "PHI": "Yes"}
    assert {"resourceType": "AWS::EC2::VPC", "resourceId": vpc, "name": "Is contained in Vpc"} in plain["relationships"]

    protected = stored_item(store, "alb-redirect-protected", "AWS::ElasticLoadBalancingV2::LoadBalancer")
    sup = protected["supplementaryConfiguration"]
    assert sup["Attributes"]["deletion_protection.enabled"] == "true"
    assert sup["Attributes"]["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert sup["Listeners"][0]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
    filler = stored_item(store, "alb-filler-20", "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert filler["tags"] == {"Name": "alb-filler-20", "PHI": "Yes"}  # second batch got its tags


def test_classic_elb_listeners_attributes_and_deletion(aws_env, store):
    elb = aws_env.client("elb")
    elb.create_load_balancer(
        LoadBalancerName="clb-http-only",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        AvailabilityZones=["us-east-1a"],
        Tags=_tags({"PHI": "No"}),
    )
    ctx = aws_env.context()
    result = collect(ctx, store, services=["elb"])
    assert result.errors == []
    item = stored_item(store, "clb-http-only", "AWS::ElasticLoadBalancing::LoadBalancer")
    assert item["resourceId"] == "clb-http-only"
    assert item["arn"] == f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/clb-http-only"
    assert item["configuration"]["ListenerDescriptions"][0]["Listener"]["Protocol"] == "HTTP"
    attributes = item["supplementaryConfiguration"]["LoadBalancerAttributes"]
    assert attributes["AccessLog"]["Enabled"] is False
    assert attributes["CrossZoneLoadBalancing"]["Enabled"] is False
    assert item["supplementaryConfiguration"]["PolicyDescriptions"] == []
    assert item["tags"] == {"PHI": "No"}

    elb.delete_load_balancer(LoadBalancerName="clb-http-only")
    assert collect(ctx, store, services=["elb"]).deleted == 1
    assert store.inventory(resource_type="AWS::ElasticLoadBalancing::LoadBalancer") == []


# -- Lambda ------------------------------------------------------------------------------------


def _code() -> dict:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return {"ZipFile": buf.getvalue()}


def test_lambda_policy_vpc_tags_and_redaction(aws_env, store):
    _, subnets = _network(aws_env)
    role = aws_env.client("iam").create_role(
        RoleName="lambda-exec",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]
    lam = aws_env.client("lambda")
    lam.create_function(
        FunctionName="lambda-public",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code=_code(),
        Environment={"Variables": {"DB_PASSWORD": "example-secret", "API_TOKEN": "tok-do-not-store"}},
        Tags={"PHI": "Yes"},
    )
    lam.add_permission(FunctionName="lambda-public", StatementId="public", Action="lambda:InvokeFunction", Principal="*")
    lam.create_function(
        FunctionName="lambda-private-in-vpc",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code=_code(),
        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": []},
    )

    ctx = aws_env.context()
    result = collect(ctx, store, services=["lambda"])
    assert result.errors == []

    public = stored_item(store, "lambda-public", "AWS::Lambda::Function")
    assert public["resourceId"] == "lambda-public"
    assert public["arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lambda-public"
    assert public["configuration"]["Environment"]["Variables"] == {"DB_PASSWORD": "REDACTED", "API_TOKEN": "REDACTED"}
    assert public["configuration"]["Role"] == role
    policy = public["supplementaryConfiguration"]["Policy"]
    assert policy["Statement"][0]["Principal"] == "*"
    assert public["supplementaryConfiguration"]["FunctionUrlConfig"] is None
    assert public["tags"] == {"PHI": "Yes"}

    private = stored_item(store, "lambda-private-in-vpc", "AWS::Lambda::Function")
    assert private["supplementaryConfiguration"]["Policy"] is None  # no resource policy: explicit None
    assert private["configuration"]["VpcConfig"]["SubnetIds"] == subnets
    assert "Environment" not in private["configuration"]
    assert private["tags"] == {}

    # change the secret and the policy: values never reach the store, the policy change is history
    lam.update_function_configuration(
        FunctionName="lambda-public", Environment={"Variables": {"DB_PASSWORD": "example-secret-2", "API_TOKEN": "x"}}
    )
    lam.remove_permission(FunctionName="lambda-public", StatementId="public")
    collect(ctx, store, services=["lambda"])
    row = store.resolve("lambda-public", "AWS::Lambda::Function")
    latest = store.item_at(row["id"])["item"]
    assert latest["supplementaryConfiguration"]["Policy"] is None
    versions = store.history(row["id"])
    assert len(versions) == 2
    texts = [c.describe() for c in diff_items(versions[0]["item"], versions[1]["item"])]
    assert any(t.startswith("supplementaryConfiguration.Policy") for t in texts), texts
    stored = _all_stored_json(store)
    for secret in ("example-secret", "tok-do-not-store"):
        assert secret not in stored
