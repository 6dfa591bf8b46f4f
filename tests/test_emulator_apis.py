"""The read APIs the embedded emulator adds to moto (phiwatch/emulator_apis.py), through boto3 over HTTP:
each answers as AWS does for what moto holds (often nothing), in the service's own protocol."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from phiwatch.collect.runner import collect

ACCOUNT = "123456789012"


def _error(call, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# -- services moto does not have: an account that never used them ------------------------------


@pytest.mark.parametrize(("service", "region", "arn_region"), [("waf", "us-east-1", ""), ("waf-regional", "eu-west-1", "eu-west-1")])
def test_waf_classic_lists_nothing_and_knows_no_item(aws_env, service, region, arn_region):
    waf = aws_env.client(service, region)
    assert waf.list_web_acls()["WebACLs"] == []
    assert waf.list_rules()["Rules"] == []
    assert waf.list_rule_groups()["RuleGroups"] == []
    acl_arn = f"arn:aws:{service}:{arn_region}:{ACCOUNT}:webacl/d7b5a5c4"
    nonexistent = ("WAFNonexistentItemException", 400)
    assert _error(waf.get_web_acl, WebACLId="d7b5a5c4") == nonexistent
    assert _error(waf.get_rule, RuleId="r-1") == nonexistent
    assert _error(waf.get_logging_configuration, ResourceArn=acl_arn) == nonexistent
    assert _error(waf.list_activated_rules_in_rule_group, RuleGroupId="g-1") == nonexistent
    assert _error(waf.list_tags_for_resource, ResourceARN=acl_arn) == nonexistent
    # nothing can be created there: a write is not implemented (501, which clients do not retry)
    assert _error(waf.get_change_token) == ("NotImplemented", 501)


def test_waf_regional_web_acl_resources_of_an_unknown_acl(aws_env):
    waf = aws_env.client("waf-regional")
    assert _error(waf.list_resources_for_web_acl, WebACLId="d7b5a5c4") == ("WAFNonexistentItemException", 400)


def test_storage_gateway_and_backup_gateway_list_nothing(aws_env):
    gateway = aws_env.client("storagegateway")
    assert gateway.list_volumes()["VolumeInfos"] == []
    assert gateway.list_gateways()["Gateways"] == []
    volume = f"arn:aws:storagegateway:us-east-1:{ACCOUNT}:gateway/sgw-12A3456B/volume/vol-1122AABB"
    assert _error(gateway.list_tags_for_resource, ResourceARN=volume) == ("InvalidGatewayRequestException", 400)

    backup_gateway = aws_env.client("backup-gateway")  # RPC v2 CBOR on the wire
    assert backup_gateway.list_virtual_machines()["VirtualMachines"] == []
    assert backup_gateway.list_hypervisors()["Hypervisors"] == []
    vm = f"arn:aws:backup-gateway:us-east-1:{ACCOUNT}:vm/vm-0123456789abcdef0"
    assert _error(backup_gateway.list_tags_for_resource, ResourceArn=vm)[0] == "ResourceNotFoundException"


# -- services moto has, operations it lacks ----------------------------------------------------


def test_network_firewall_has_no_policy_or_rule_group_and_still_lists_its_firewalls(aws_env):
    firewall = aws_env.client("network-firewall")
    vpc = aws_env.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    policy_arn = f"arn:aws:network-firewall:us-east-1:{ACCOUNT}:firewall-policy/phi-policy"
    created = firewall.create_firewall(FirewallName="phi-edge", FirewallPolicyArn=policy_arn, VpcId=vpc, SubnetMappings=[])
    assert firewall.list_firewalls()["Firewalls"] == [{"FirewallName": "phi-edge", "FirewallArn": created["Firewall"]["FirewallArn"]}]
    assert firewall.list_firewall_policies()["FirewallPolicies"] == []
    assert firewall.list_rule_groups()["RuleGroups"] == []
    assert _error(firewall.describe_firewall_policy, FirewallPolicyArn=policy_arn) == ("ResourceNotFoundException", 400)
    group_arn = f"arn:aws:network-firewall:us-east-1:{ACCOUNT}:stateful-rulegroup/phi-rules"
    assert _error(firewall.describe_rule_group, RuleGroupArn=group_arn) == ("ResourceNotFoundException", 400)


def test_guardduty_findings_of_a_detector(aws_env):
    guardduty = aws_env.client("guardduty")
    detector = guardduty.create_detector(Enable=True)["DetectorId"]
    not_archived = {"Criterion": {"service.archived": {"Eq": ["false"]}}}
    assert guardduty.list_findings(DetectorId=detector, FindingCriteria=not_archived)["FindingIds"] == []
    # ids it does not know are left out, as AWS does
    assert guardduty.get_findings(DetectorId=detector, FindingIds=["0cb2b1f4a0f94f5a"])["Findings"] == []
    assert _error(guardduty.get_findings, DetectorId=detector, FindingIds=[f"f{i}" for i in range(51)]) == ("BadRequestException", 400)
    # a detector of no one: moto's answer for its other detector calls
    assert _error(guardduty.list_findings, DetectorId="not-a-detector") == ("BadRequestException", 400)
    assert _error(guardduty.get_findings, DetectorId="not-a-detector", FindingIds=["f1"]) == ("BadRequestException", 400)


def test_shield_srt_access_without_role_or_buckets(aws_env):
    shield = aws_env.client("shield")
    shield.create_subscription()
    access = shield.describe_drt_access()
    assert "RoleArn" not in access and "LogBucketList" not in access


def test_backup_selections_recovery_points_policy_and_protected_resources(aws_env):
    backup = aws_env.client("backup")
    backup.create_backup_vault(BackupVaultName="phi-vault")
    plan = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": "daily", "Rules": [{"RuleName": "r", "TargetBackupVaultName": "phi-vault"}]}
    )
    plan_id = plan["BackupPlanId"]
    assert backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
    assert _error(backup.get_backup_selection, BackupPlanId=plan_id, SelectionId="sel-1")[0] == "ResourceNotFoundException"
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="phi-vault")["RecoveryPoints"] == []
    assert _error(backup.get_backup_vault_access_policy, BackupVaultName="phi-vault")[0] == "ResourceNotFoundException"
    assert backup.list_protected_resources()["Results"] == []
    # a plan or vault the account does not have is refused
    assert _error(backup.list_backup_selections, BackupPlanId="no-such-plan")[0] == "ResourceNotFoundException"
    assert _error(backup.list_recovery_points_by_backup_vault, BackupVaultName="no-such-vault")[0] == "ResourceNotFoundException"
    assert _error(backup.get_backup_vault_access_policy, BackupVaultName="no-such-vault")[0] == "ResourceNotFoundException"
    # moto's own routes are untouched
    assert backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["BackupPlanName"] == "daily"
    assert [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]] == ["phi-vault"]


# -- what it is for: collecting these services is clean --------------------------------------------


def test_collecting_the_services_moto_lacks_or_half_implements_has_no_error(aws_env, store):
    aws_env.client("guardduty").create_detector(Enable=True)
    aws_env.client("shield").create_subscription()
    backup = aws_env.client("backup")
    backup.create_backup_vault(BackupVaultName="phi-vault")
    backup.create_backup_plan(BackupPlan={"BackupPlanName": "daily", "Rules": [{"RuleName": "r", "TargetBackupVaultName": "phi-vault"}]})
    services = ["waf", "wafregional", "storagegateway", "backupgateway", "networkfirewall", "guardduty", "shield", "backup"]
    result = collect(aws_env.context(), store, services=services)
    assert [(e.service, e.api, e.error) for e in result.errors] == []
    accounts = {i.awsRegion: i for i in store.current_items("AWS::::Account")}
    assert {region: item.collectionErrors for region, item in accounts.items()} == {"global": [], "us-east-1": []}
    assert accounts["global"].configuration["shieldDrtAccess"] == {"RoleArn": None, "LogBucketList": None}
    assert len(accounts["us-east-1"].configuration["guardDutyDetectors"]) == 1


# -- EC2 listings in pages, as AWS answers them -----------------------------------------------------


def test_ec2_listings_answer_in_pages_of_max_results(aws_env):
    ec2 = aws_env.client("ec2")
    volumes = [ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"] for _ in range(12)]
    for volume in volumes[:7]:
        ec2.create_snapshot(VolumeId=volume)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.96.0/24")["Subnet"]["SubnetId"]
    for i in range(6):
        ec2.create_security_group(GroupName=f"paged-{i}", Description="paging", VpcId=vpc)
        ec2.create_network_interface(SubnetId=subnet)
    listings = {
        "describe_volumes": ("Volumes", "VolumeId", {}),
        "describe_snapshots": ("Snapshots", "SnapshotId", {"OwnerIds": ["self"]}),
        "describe_security_groups": ("SecurityGroups", "GroupId", {}),
        "describe_network_interfaces": ("NetworkInterfaces", "NetworkInterfaceId", {}),
    }
    for action, (key, id_key, params) in listings.items():
        whole = [e[id_key] for e in getattr(ec2, action)(**params)[key]]
        pages = list(ec2.get_paginator(action).paginate(MaxResults=5, **params))
        sizes = [len(page[key]) for page in pages]
        assert len(sizes) >= 2 and all(size == 5 for size in sizes[:-1]) and 0 < sizes[-1] <= 5, (action, sizes)
        assert "NextToken" not in pages[-1] and all(page.get("NextToken") for page in pages[:-1])
        assert [e[id_key] for page in pages for e in page[key]] == whole, action  # each once, in order


def test_ec2_listing_refuses_max_results_with_ids_and_an_unknown_token(aws_env):
    ec2 = aws_env.client("ec2")
    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
    assert _error(ec2.describe_volumes, MaxResults=5, VolumeIds=[volume]) == ("InvalidParameterCombination", 400)
    assert _error(ec2.describe_volumes, MaxResults=5, NextToken="not-a-token") == ("InvalidNextToken", 400)
    assert [v["VolumeId"] for v in ec2.describe_volumes(VolumeIds=[volume])["Volumes"]] == [volume]  # ids alone: as before
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    # AWS documents no such refusal for security groups: ids with MaxResults are answered
    assert [g["GroupId"] for g in ec2.describe_security_groups(MaxResults=5, GroupIds=[group])["SecurityGroups"]] == [group]
