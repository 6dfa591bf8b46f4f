"""WAFv2, Site-to-Site VPN, Systems Manager and AWS Backup collectors against moto's server.

The embedded emulator answers ListResourcesForWebACL from moto's associations and has no managed
nodes (no SSM Agent runs there). moto makes no backup selection, recovery point or vault access
policy (the emulator answers those reads as AWS does for none); refused reads are asserted to be
recorded as failed (key absent, error naming the IAM action), never as "not configured".
"""

from __future__ import annotations

import json

from denied import Denied
from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE
from phiwatch.resources.vpn import redact
from stored import stored_item

ACCOUNT = "123456789012"
FIREHOSE = f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/aws-waf-logs-phi"
VISIBILITY = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}


def _account(store, region="us-east-1"):
    rows = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == region]
    return store.item_at(rows[0]["id"])["item"]


def _apis(errors):
    return {e.api for e in errors}


def test_wafv2_web_acls_logging_and_tags(aws_env, store):
    waf = aws_env.client("wafv2")
    on = waf.create_web_acl(
        Name="waf-logging-on",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig=VISIBILITY,
        Tags=[{"Key": "PHI", "Value": "Yes"}],
    )["Summary"]
    off = waf.create_web_acl(Name="waf-logging-off", Scope="REGIONAL", DefaultAction={"Block": {}}, VisibilityConfig=VISIBILITY)["Summary"]
    waf.put_logging_configuration(LoggingConfiguration={"ResourceArn": on["ARN"], "LogDestinationConfigs": [FIREHOSE]})
    alb = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/alb-portal/50dc6c495c0c9188"
    stage = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3/stages/prod"
    waf.associate_web_acl(WebACLArn=on["ARN"], ResourceArn=alb)
    waf.associate_web_acl(WebACLArn=on["ARN"], ResourceArn=stage)

    result = collect(aws_env.context(), store, services=["wafv2"])
    assert result.errors == []
    assert result.types_seen["AWS::WAFv2::WebACL"] == 2
    item_on = stored_item(store, on["Id"], "AWS::WAFv2::WebACL")
    assert item_on["resourceName"] == "waf-logging-on" and item_on["arn"] == on["ARN"]
    assert item_on["arn"].startswith(f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/waf-logging-on/")
    assert item_on["configuration"]["Scope"] == "REGIONAL" and "LockToken" not in item_on["configuration"]
    assert item_on["supplementaryConfiguration"]["LoggingConfiguration"]["LogDestinationConfigs"] == [FIREHOSE]
    assert item_on["tags"] == {"PHI": "Yes"}
    item_off = stored_item(store, off["Id"], "AWS::WAFv2::WebACL")
    assert item_off["supplementaryConfiguration"]["LoggingConfiguration"] is None  # off, not "unknown"
    # only load balancers: the API Gateway stage is not an ALB
    assert item_on["supplementaryConfiguration"]["AssociatedResources"] == [alb]
    assert item_off["supplementaryConfiguration"]["AssociatedResources"] == []
    account = _account(store)
    assert account["configuration"]["wafv2LoadBalancerWebAcls"] == {alb: {"Id": on["Id"], "Name": "waf-logging-on", "ARN": on["ARN"]}}

    waf.delete_web_acl(Name="waf-logging-off", Scope="REGIONAL", Id=off["Id"], LockToken=off["LockToken"])
    result = collect(aws_env.context(), store, services=["wafv2"])
    assert result.deleted == 1
    assert store.resolve(off["Id"], "AWS::WAFv2::WebACL")["status"] == "ResourceDeleted"


def test_wafv2_account_map_is_empty_without_web_acls(aws_env, store):
    result = collect(aws_env.context(), store, services=["wafv2"])
    assert result.errors == []
    assert _account(store)["configuration"]["wafv2LoadBalancerWebAcls"] == {}


def test_vpn_connections_without_secrets(aws_env, store):
    ec2 = aws_env.client("ec2")
    cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="203.0.113.10", BgpAsn=65010)["CustomerGateway"]["CustomerGatewayId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=cgw,
        VpnGatewayId=vgw,
        TagSpecifications=[{"ResourceType": "vpn-connection", "Tags": [{"Key": "Name", "Value": "vpn-clinic"}]}],
    )["VpnConnection"]["VpnConnectionId"]
    result = collect(aws_env.context(), store, services=["vpn"])
    assert result.errors == []
    item = stored_item(store, vpn, "AWS::EC2::VPNConnection")
    assert item["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpn-connection/{vpn}"
    assert item["resourceName"] == "vpn-clinic" and item["tags"] == {"Name": "vpn-clinic"}
    assert item["configuration"]["CustomerGatewayId"] == cgw and item["configuration"]["VpnGatewayId"] == vgw
    assert "CustomerGatewayConfiguration" not in item["configuration"]  # holds the tunnels' pre-shared keys
    assert {"resourceType": "AWS::EC2::VPNGateway", "resourceId": vgw, "name": "Is attached to VPNGateway"} in item["relationships"]

    ec2.delete_vpn_connection(VpnConnectionId=vpn)
    result = collect(aws_env.context(), store, services=["vpn"])
    assert result.deleted == 1


def test_vpn_redaction_drops_keys_and_status_times():
    element = {
        "VpnConnectionId": "vpn-0abc",
        "CustomerGatewayConfiguration": "<xml>psk</xml>",
        "Tags": [],
        "Options": {
            "TunnelOptions": [
                {"OutsideIpAddress": "198.51.100.1", "PreSharedKey": "secret-1"},
                {"OutsideIpAddress": "198.51.100.2", "PreSharedKey": "secret-2"},
            ]
        },
        "VgwTelemetry": [{"Status": "UP", "LastStatusChange": "2026-01-01T00:00:00Z", "OutsideIpAddress": "198.51.100.1"}],
    }
    out = redact(element)
    assert "secret" not in json.dumps(out) and "CustomerGatewayConfiguration" not in out
    assert out["Options"]["TunnelOptions"][1] == {"OutsideIpAddress": "198.51.100.2"}
    assert out["VgwTelemetry"] == [{"Status": "UP", "OutsideIpAddress": "198.51.100.1"}]


def test_ssm_documents_and_sharing(aws_env, store):
    ssm = aws_env.client("ssm")
    content = json.dumps(
        {
            "schemaVersion": "2.2",
            "description": "d",
            "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["true"]}}],
        }
    )
    for name in ("ssm-doc-private", "ssm-doc-public"):
        ssm.create_document(Name=name, Content=content, DocumentType="Command", Tags=[{"Key": "PHI", "Value": "No"}])
    ssm.modify_document_permission(Name="ssm-doc-public", PermissionType="Share", AccountIdsToAdd=["all"])

    result = collect(aws_env.context(), store, services=["ssm"])
    assert result.errors == []
    public = stored_item(store, "ssm-doc-public", "AWS::SSM::Document")
    assert public["arn"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:document/ssm-doc-public"
    assert public["configuration"]["DocumentType"] == "Command" and public["tags"] == {"PHI": "No"}
    assert public["supplementaryConfiguration"]["DocumentPermission"]["AccountIds"] == ["all"]
    private = stored_item(store, "ssm-doc-private", "AWS::SSM::Document")
    assert private["supplementaryConfiguration"]["DocumentPermission"] == {"AccountIds": [], "AccountSharingInfoList": []}
    assert private["collectionErrors"] == []
    # no SSM Agent runs in the emulator: no managed node, an explicit empty map (not "unknown")
    assert _account(store)["configuration"]["ssmManagedInstances"] == {}
    assert result.types_seen.get("AWS::SSM::ManagedInstanceInventory") is None

    ssm.modify_document_permission(Name="ssm-doc-public", PermissionType="Share", AccountIdsToRemove=["all"])
    collect(aws_env.context(), store, services=["ssm"])
    history = store.history(store.resolve("ssm-doc-public", "AWS::SSM::Document")["id"])
    assert len(history) == 2
    assert (
        stored_item(store, "ssm-doc-public", "AWS::SSM::Document")["supplementaryConfiguration"]["DocumentPermission"]["AccountIds"] == []
    )


def test_backup_plans_and_vaults(aws_env, store):
    backup = aws_env.client("backup")
    plan = backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "phi-daily-35d",
            "Rules": [
                {
                    "RuleName": "daily",
                    "TargetBackupVaultName": "Default",
                    "ScheduleExpression": "cron(0 5 ? * * *)",
                    "Lifecycle": {"DeleteAfterDays": 35},
                }
            ],
        },
        BackupPlanTags={"PHI": "Yes"},
    )

    # selections unreadable: neither the plan nor the account claims "no selection"
    denied = aws_env.context()
    denied.client("backup", "us-east-1").meta.events.register("before-call.backup.ListBackupSelections", Denied())
    result = collect(denied, store, services=["backup"])
    item = stored_item(store, plan["BackupPlanId"], "AWS::Backup::BackupPlan")
    assert item["arn"] == plan["BackupPlanArn"] and item["resourceName"] == "phi-daily-35d"
    rules = item["configuration"]["Rules"]
    assert rules[0]["ScheduleExpression"] == "cron(0 5 ? * * *)" and rules[0]["Lifecycle"]["DeleteAfterDays"] == 35
    assert item["tags"] == {"PHI": "Yes"}
    assert "BackupSelections" not in item["supplementaryConfiguration"]
    assert {(e.api, e.error) for e in result.errors} == {("ListBackupSelections", "AccessDenied")}
    assert "backupSelections" not in _account(store)["configuration"]

    # read: the plan has no selection (moto creates none)
    result = collect(aws_env.context(), store, services=["backup"])
    assert result.errors == []
    assert stored_item(store, plan["BackupPlanId"], "AWS::Backup::BackupPlan")["supplementaryConfiguration"]["BackupSelections"] == []
    account = _account(store)
    assert account["configuration"]["backupSelections"] == []
    # no vault in the region: nothing can be protected, known without calling ListProtectedResources
    assert account["configuration"]["backupProtectedResourceArns"] == []

    backup.create_backup_vault(BackupVaultName="phi-vault", BackupVaultTags={"PHI": "Yes"})
    denied = aws_env.context()
    client = denied.client("backup", "us-east-1")
    for operation in ("GetBackupVaultAccessPolicy", "ListRecoveryPointsByBackupVault", "ListProtectedResources"):
        client.meta.events.register(f"before-call.backup.{operation}", Denied())
    result = collect(denied, store, services=["backup"])
    vault = stored_item(store, "phi-vault", "AWS::Backup::BackupVault")
    assert vault["arn"] == f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:phi-vault"
    assert "NumberOfRecoveryPoints" not in vault["configuration"] and vault["tags"] == {"PHI": "Yes"}
    assert "AccessPolicy" not in vault["supplementaryConfiguration"]  # unreadable: unknown, not None
    assert _apis(result.errors) == {"GetBackupVaultAccessPolicy", "ListRecoveryPointsByBackupVault", "ListProtectedResources"}
    assert "backupProtectedResourceArns" not in _account(store)["configuration"]

    result = collect(aws_env.context(), store, services=["backup"])
    assert result.errors == []
    assert stored_item(store, "phi-vault", "AWS::Backup::BackupVault")["supplementaryConfiguration"]["AccessPolicy"] is None
    assert _account(store)["configuration"]["backupProtectedResourceArns"] == []
    assert result.types_seen.get("AWS::Backup::RecoveryPoint") is None

    backup.delete_backup_plan(BackupPlanId=plan["BackupPlanId"])
    result = collect(aws_env.context(), store, services=["backup"])
    assert store.resolve(plan["BackupPlanId"], "AWS::Backup::BackupPlan")["status"] == "ResourceDeleted"
