"""Demo EC2/EBS/VPC: a PHI VPC with flow logs and a dev VPC without, open and closed security
groups, encrypted and unencrypted volumes, a public and a private snapshot, instances with
IMDSv2 required / optional and with / without a public IP, an Elastic IP.

EBS encryption by default is left OFF so the account-level rule has something to find.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from phiwatch.aws.session import make_client

PROD_PHI = {"PHI": "Yes", "Environment": "PROD"}
DEV = {"PHI": "No", "Environment": "DEV"}


def _tags(resource_type: str, name: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    pairs = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()]
    return [{"ResourceType": resource_type, "Tags": pairs}]


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    ec2 = make_client(session, "ec2", endpoint, region)
    iam = make_client(session, "iam", endpoint, region)
    logs = make_client(session, "logs", endpoint, region)
    zone = f"{region}a"

    # -- networks: PHI VPC with flow logs, dev VPC without ---------------------------------
    phi_vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=_tags("vpc", "vpc-phi-flowlogs-on", PROD_PHI))["Vpc"]["VpcId"]
    dev_vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=_tags("vpc", "vpc-dev-flowlogs-off", DEV))["Vpc"]["VpcId"]
    private_subnet = ec2.create_subnet(
        VpcId=phi_vpc,
        CidrBlock="10.10.1.0/24",
        AvailabilityZone=zone,
        TagSpecifications=_tags("subnet", "subnet-phi-private", PROD_PHI),
    )["Subnet"]["SubnetId"]
    public_subnet = ec2.create_subnet(
        VpcId=dev_vpc,
        CidrBlock="10.20.1.0/24",
        AvailabilityZone=zone,
        TagSpecifications=_tags("subnet", "subnet-dev-public-ip-on-launch", DEV),
    )["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public_subnet, MapPublicIpOnLaunch={"Value": True})
    igw = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", "igw-dev", DEV))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=dev_vpc)

    log_group = "/phi/vpc-flow-logs"
    logs.create_log_group(logGroupName=log_group, tags=PROD_PHI)
    delivery_role = iam.create_role(
        RoleName="vpc-flow-logs-delivery",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]
    ec2.create_flow_logs(
        ResourceIds=[phi_vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName=log_group,
        DeliverLogsPermissionArn=delivery_role,
    )

    # -- security groups -------------------------------------------------------------------
    def group(name: str, description: str, port: int, cidr: str) -> str:
        group_id = ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=phi_vpc,
            TagSpecifications=_tags("security-group", name, PROD_PHI),
        )["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}],
        )
        return group_id

    ssh_open = group("sg-ssh-open-world", "SSH from anywhere", 22, "0.0.0.0/0")
    rdp_open = group("sg-rdp-open-world", "RDP from anywhere", 3389, "0.0.0.0/0")
    https_internal = group("sg-https-internal", "HTTPS from the corporate network", 443, "10.0.0.0/8")

    # -- volumes and snapshots -------------------------------------------------------------
    encrypted = ec2.create_volume(
        Size=20, AvailabilityZone=zone, Encrypted=True, TagSpecifications=_tags("volume", "ebs-encrypted", PROD_PHI)
    )["VolumeId"]
    unencrypted = ec2.create_volume(Size=20, AvailabilityZone=zone, TagSpecifications=_tags("volume", "ebs-unencrypted", PROD_PHI))[
        "VolumeId"
    ]
    public_snapshot = ec2.create_snapshot(
        VolumeId=unencrypted,
        Description="imaging archive export",
        TagSpecifications=_tags("snapshot", "snapshot-public-restorable", PROD_PHI),
    )["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=public_snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"])
    private_snapshot = ec2.create_snapshot(
        VolumeId=encrypted, Description="nightly backup", TagSpecifications=_tags("snapshot", "snapshot-private", PROD_PHI)
    )["SnapshotId"]

    # -- instances -------------------------------------------------------------------------
    # An image of our own, so run_instances works whether or not the endpoint knows public AMIs.
    image = ec2.register_image(
        Name="phi-app-base-image",
        Architecture="x86_64",
        RootDeviceName="/dev/xvda",
        VirtualizationType="hvm",
    )["ImageId"]
    for mapping in ec2.describe_images(ImageIds=[image])["Images"][0].get("BlockDeviceMappings", []):
        if backing := mapping.get("Ebs", {}).get("SnapshotId"):  # the emulator backs the image with a snapshot
            ec2.create_tags(Resources=[backing], Tags=_tags("snapshot", "snapshot-ami-phi-app-base-image", PROD_PHI)[0]["Tags"])
    iam.create_role(
        RoleName="phi-app-ec2-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )
    iam.create_instance_profile(InstanceProfileName="phi-app-instance-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="phi-app-instance-profile", RoleName="phi-app-ec2-role")

    def instance(name: str, owner: str, tags: dict[str, str], http_tokens: str, **kwargs: Any) -> str:
        all_tags = {**tags, "InstanceOwnerEmail": owner}
        return ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            MetadataOptions={"HttpTokens": http_tokens, "HttpEndpoint": "enabled"},
            TagSpecifications=_tags("instance", name, all_tags) + _tags("volume", f"{name}-root", all_tags),
            **kwargs,
        )["Instances"][0]["InstanceId"]

    private_instance = instance(
        "ec2-phi-app-imdsv2-required",
        "records-team@example.org",
        PROD_PHI,
        "required",
        SubnetId=private_subnet,
        SecurityGroupIds=[https_internal],
        IamInstanceProfile={"Name": "phi-app-instance-profile"},
    )
    public_instance = instance(
        "ec2-dev-bastion-imdsv1-public-ip",
        "devops-team@example.org",
        DEV,
        "optional",
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": public_subnet, "AssociatePublicIpAddress": True}],
    )

    allocation = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", "eip-unattached", DEV))["AllocationId"]

    return {
        "vpcs": [phi_vpc, dev_vpc],
        "subnets": [private_subnet, public_subnet],
        "security_groups": [ssh_open, rdp_open, https_internal],
        "volumes": [encrypted, unencrypted],
        "snapshots": [public_snapshot, private_snapshot],
        "instances": [private_instance, public_instance],
        "eips": [allocation],
    }
