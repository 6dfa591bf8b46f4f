"""AWS Config managed rules on EC2 and VPC networking (instances, AMIs, volumes, Elastic IPs, launch
templates, security groups' network interfaces, network ACLs, transit gateways, peering connections,
VPC endpoints): one estate in moto's server, one collection, then each rule on the stored items;
what moto cannot represent (paravirtual instances, dedicated tenancy, DeleteOnTermination on a
volume's attachment) and refused reads on items built by hand."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import ConfigurationItem
from phiwatch.resources.ec2 import EIP, INSTANCE, LAUNCH_TEMPLATE, SECURITY_GROUP, VOLUME
from phiwatch.resources.vpc import NETWORK_ACL, TRANSIT_GATEWAY, VPC, VPC_PEERING_CONNECTION
from phiwatch.rules.registry import catalogue
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule, verdict_and_annotation

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICES = ["ec2", "vpc"]
RULES = (
    "approved-amis-by-id",
    "approved-amis-by-tag",
    "desired-instance-tenancy",
    "desired-instance-type",
    "ebs-optimized-instance",
    "ec2-instance-detailed-monitoring-enabled",
    "ec2-instance-multiple-eni-check",
    "ec2-launch-template-public-ip-disabled",
    "ec2-no-amazon-key-pair",
    "ec2-paravirtual-instance-check",
    "ec2-security-group-attached-to-eni",
    "ec2-security-group-attached-to-eni-periodic",
    "ec2-token-hop-limit-check",
    "ec2-transit-gateway-auto-vpc-attach-disabled",
    "ec2-volume-inuse-check",
    "eip-attached",
    "nacl-no-unrestricted-ssh-rdp",
    "vpc-network-acl-unused-check",
    "vpc-peering-dns-resolution-check",
    "service-vpc-endpoint-enabled",
)
SECRET_USER_DATA = "IyEvYmluL3NoCmVjaG8gZGItcGFzc3dvcmQ9aHVudGVyMgo="  # base64 of a script with a password


def _name(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


def build(ec2) -> dict[str, str]:
    """The estate; returns name -> resource id."""
    ids: dict[str, str] = {}
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids["vpc-main"] = vpc
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    ids["vpc-no-endpoint"] = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]

    # AMIs: one carrying the approved tag, one without tags, one deregistered after launch
    golden = ec2.register_image(Name="golden", RootDeviceName="/dev/sda1")["ImageId"]
    ec2.create_tags(Resources=[golden], Tags=[{"Key": "approved", "Value": "yes"}, {"Key": "team", "Value": "imaging"}])
    plain = ec2.register_image(Name="plain", RootDeviceName="/dev/sda1")["ImageId"]
    retired = ec2.register_image(Name="retired", RootDeviceName="/dev/sda1")["ImageId"]
    ids.update({"ami-golden": golden, "ami-plain": plain, "ami-retired": retired})
    ec2.create_key_pair(KeyName="ops-key")
    app_group = ec2.create_security_group(GroupName="app", Description="app servers", VpcId=vpc)["GroupId"]
    ids["sg-attached"] = app_group
    ids["sg-unused"] = ec2.create_security_group(GroupName="unused", Description="nothing", VpcId=vpc)["GroupId"]
    ids["sg-default"] = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]

    def launch(name: str, image: str, instance_type: str, **extra) -> str:
        instance = ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, InstanceType=instance_type, TagSpecifications=_name("instance", name), **extra
        )["Instances"][0]["InstanceId"]
        ids[name] = instance
        return instance

    launch(
        "i-hardened",
        golden,
        "m3.xlarge",  # can be EBS-optimized, not by default
        SubnetId=subnet,
        SecurityGroupIds=[app_group],
        Monitoring={"Enabled": True},
        EbsOptimized=True,
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
    )
    launch(
        "i-loose",
        plain,
        "m3.xlarge",
        KeyName="ops-key",
        MetadataOptions={"HttpTokens": "optional", "HttpPutResponseHopLimit": 3},
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet}, {"DeviceIndex": 1, "SubnetId": subnet}],
    )
    launch("i-default-optimized", golden, "m5.large", SubnetId=subnet)
    launch("i-not-optimizable", golden, "t2.micro", SubnetId=subnet)
    stopped = launch("i-stopped", plain, "t3.micro", SubnetId=subnet, KeyName="ops-key")
    ec2.stop_instances(InstanceIds=[stopped])
    launch("i-retired-ami", retired, "t3.micro", SubnetId=subnet)
    ec2.deregister_image(ImageId=retired)

    # volumes: one attached, one left over
    attached = ec2.create_volume(Size=8, AvailabilityZone=f"{REGION}a", TagSpecifications=_name("volume", "vol-attached"))["VolumeId"]
    ec2.attach_volume(VolumeId=attached, InstanceId=ids["i-hardened"], Device="/dev/sdf")
    ids["vol-attached"] = attached
    ids["vol-unattached"] = ec2.create_volume(Size=8, AvailabilityZone=f"{REGION}a")["VolumeId"]

    # Elastic IPs
    associated = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=associated, InstanceId=ids["i-hardened"])
    ids["eip-associated"] = associated
    ids["eip-idle"] = ec2.allocate_address(Domain="vpc")["AllocationId"]

    # launch templates: the public one's default version stays the public first version
    def template(name: str, public: bool) -> str:
        data = {"UserData": SECRET_USER_DATA, "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": public}]}
        ids[name] = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)["LaunchTemplate"]["LaunchTemplateId"]
        return ids[name]

    public = template("lt-public", True)
    ec2.create_launch_template_version(LaunchTemplateId=public, LaunchTemplateData={"NetworkInterfaces": [{"DeviceIndex": 0}]})
    template("lt-private", False)
    ids["lt-no-interfaces"] = ec2.create_launch_template(
        LaunchTemplateName="lt-no-interfaces", LaunchTemplateData={"InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]

    # network ACLs: the VPC's default one allows everything and is associated with the subnet
    ids["acl-default"] = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}])[
        "NetworkAcls"
    ][0]["NetworkAclId"]

    def acl(name: str, *entries: dict) -> str:
        acl_id = ec2.create_network_acl(VpcId=vpc, TagSpecifications=_name("network-acl", name))["NetworkAcl"]["NetworkAclId"]
        for entry in entries:
            ec2.create_network_acl_entry(NetworkAclId=acl_id, Egress=False, **entry)
        ids[name] = acl_id
        return acl_id

    acl(
        "acl-ssh-internal",
        {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "10.0.0.0/8", "PortRange": {"From": 22, "To": 22}},
    )
    acl(
        "acl-deny-first",
        {"RuleNumber": 90, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"},
        {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
    )
    acl(
        "acl-rdp-udp-ipv6",
        {"RuleNumber": 100, "Protocol": "17", "RuleAction": "allow", "Ipv6CidrBlock": "::/0", "PortRange": {"From": 3000, "To": 4000}},
    )
    acl(
        "acl-https-only",
        {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 443, "To": 443}},
    )

    # transit gateways
    for name, setting in (("tgw-auto-accept", "enable"), ("tgw-manual-accept", "disable")):
        ids[name] = ec2.create_transit_gateway(
            Description=name, Options={"AutoAcceptSharedAttachments": setting}, TagSpecifications=_name("transit-gateway", name)
        )["TransitGateway"]["TransitGatewayId"]

    # peering connections
    def peer(name: str, accept: bool = True, **options) -> str:
        other = ec2.create_vpc(CidrBlock=f"10.{20 + len(ids) % 200}.0.0/16")["Vpc"]["VpcId"]
        ids[f"{name}-peer-vpc"] = other
        pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=other)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
        if accept:
            ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        if options:
            ec2.modify_vpc_peering_connection_options(VpcPeeringConnectionId=pcx, **options)
        ids[name] = pcx
        return pcx

    on = {"AllowDnsResolutionFromRemoteVpc": True}
    peer("pcx-dns-both", AccepterPeeringConnectionOptions=on, RequesterPeeringConnectionOptions=on)
    peer("pcx-dns-accepter-only", AccepterPeeringConnectionOptions=on)
    peer("pcx-pending", accept=False)

    # endpoints: the main VPC has one for S3, the other none
    ids["vpce-s3"] = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3")["VpcEndpoint"]["VpcEndpointId"]
    return ids


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()
    ec2 = make_client(emulator.session(REGION), "ec2", emulator.endpoint, REGION)
    ids = build(ec2)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('managed-ec2') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session())
    result = collect(ctx, store, services=SERVICES)
    items: dict[str, ConfigurationItem] = {i.resourceId: i for i in store.current_items()}
    yield {"ids": ids, "items": items, "errors": result.errors, "store": store, "emulator": emulator}
    store.close()


def item(estate, name) -> ConfigurationItem:
    return estate["items"][estate["ids"][name]]


def judge(estate, rule_id, name, **params):
    return verdict_and_annotation(judge_rule(rule_id, item(estate, name), lookup=lambda t: [], params=params))


def run(rule_id, built, **params):
    return verdict_and_annotation(judge_rule(rule_id, built, lookup=lambda t: [], params=params))


def verdict(estate, rule_id, name, **params) -> str:
    result = judge(estate, rule_id, name, **params)
    assert result is not None, (rule_id, name)
    return result[0]


def test_every_rule_is_registered_with_awss_identifier():
    rules = catalogue()
    for rule_id in RULES:
        assert rules[rule_id].implemented, rule_id
        assert rules[rule_id].aws_identifier == rule_id.upper().replace("-", "_"), rule_id


def test_collection_has_no_errors_and_keeps_no_user_data(estate):
    assert estate["errors"] == []
    version = item(estate, "lt-public").supplementaryConfiguration["DefaultVersion"]
    assert version["VersionNumber"] == 1 and version["LaunchTemplateData"]["UserDataPresent"] is True
    assert "UserData" not in version["LaunchTemplateData"]
    assert SECRET_USER_DATA not in str(estate["store"].item_at(estate["store"].resolve(estate["ids"]["lt-public"])["id"]))


def test_collected_joins(estate):
    hardened = item(estate, "i-hardened")
    assert hardened.supplementaryConfiguration["ImageTags"] == {"approved": "yes", "team": "imaging"}
    assert hardened.supplementaryConfiguration["EbsOptimizedSupport"] == "supported"
    assert item(estate, "i-loose").supplementaryConfiguration["ImageTags"] == {}
    assert item(estate, "i-retired-ami").supplementaryConfiguration["ImageTags"] is None  # deregistered: not described
    assert item(estate, "i-default-optimized").supplementaryConfiguration["EbsOptimizedSupport"] == "default"
    assert len(item(estate, "sg-attached").supplementaryConfiguration["NetworkInterfaceIds"]) == 1
    assert item(estate, "sg-unused").supplementaryConfiguration["NetworkInterfaceIds"] == []
    endpoints = item(estate, "vpc-main").supplementaryConfiguration["VpcEndpoints"]
    assert [(e["VpcEndpointId"], e["ServiceName"]) for e in endpoints] == [(estate["ids"]["vpce-s3"], f"com.amazonaws.{REGION}.s3")]
    assert item(estate, "vpc-no-endpoint").supplementaryConfiguration["VpcEndpoints"] == []
    pcx = item(estate, "pcx-dns-both")
    assert pcx.resourceType == VPC_PEERING_CONNECTION
    assert {r["relationshipName"] for r in pcx.relationships} == {"Is associated with requester Vpc", "Is associated with accepter Vpc"}
    assert item(estate, "tgw-auto-accept").arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:transit-gateway/{estate['ids']['tgw-auto-accept']}"
    assert item(estate, "tgw-auto-accept").resourceName == "tgw-auto-accept"


# rule, compliant resource and its parameters, non-compliant resource and its parameters (None: the same)
CASES = [
    ("approved-amis-by-id", "i-hardened", {"amiIds": "ami-golden-id, ami-other"}, "i-loose", None),
    ("approved-amis-by-tag", "i-hardened", {"amisByTagKeyAndValue": "approved:yes,owner"}, "i-loose", None),
    ("approved-amis-by-tag", "i-hardened", {"amisByTagKeyAndValue": "team"}, "i-retired-ami", None),
    ("desired-instance-tenancy", "i-hardened", {"tenancy": "DEFAULT"}, "i-hardened", {"tenancy": "DEDICATED"}),  # moto: default only
    ("desired-instance-type", "i-default-optimized", {"instanceType": "t2.small, M5.LARGE"}, "i-hardened", None),
    ("ebs-optimized-instance", "i-hardened", {}, "i-loose", None),
    ("ec2-instance-detailed-monitoring-enabled", "i-hardened", {}, "i-loose", None),
    ("ec2-instance-multiple-eni-check", "i-hardened", {}, "i-loose", None),
    ("ec2-launch-template-public-ip-disabled", "lt-private", {}, "lt-public", None),
    ("ec2-no-amazon-key-pair", "i-hardened", {}, "i-loose", None),
    ("ec2-security-group-attached-to-eni", "sg-attached", {}, "sg-unused", None),
    ("ec2-security-group-attached-to-eni-periodic", "sg-attached", {}, "sg-unused", None),
    ("ec2-token-hop-limit-check", "i-hardened", {}, "i-loose", None),
    ("ec2-token-hop-limit-check", "i-loose", {"tokenHopLimit": 3}, "i-loose", {"tokenHopLimit": 2}),
    ("ec2-transit-gateway-auto-vpc-attach-disabled", "tgw-manual-accept", {}, "tgw-auto-accept", None),
    ("ec2-volume-inuse-check", "vol-attached", {}, "vol-unattached", None),
    ("eip-attached", "eip-associated", {}, "eip-idle", None),
    ("nacl-no-unrestricted-ssh-rdp", "acl-ssh-internal", {}, "acl-default", None),
    ("nacl-no-unrestricted-ssh-rdp", "acl-deny-first", {}, "acl-rdp-udp-ipv6", None),
    ("vpc-network-acl-unused-check", "acl-default", {}, "acl-ssh-internal", None),
    ("vpc-peering-dns-resolution-check", "pcx-dns-both", {}, "pcx-dns-accepter-only", None),
    ("service-vpc-endpoint-enabled", "vpc-main", {"serviceName": "s3"}, "vpc-no-endpoint", None),
]


def _resolve(estate, params: dict) -> dict:
    """Parameters naming estate resources by ``<name>-id``."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str):
            for name, rid in estate["ids"].items():
                value = value.replace(f"{name}-id", rid)
        out[key] = value
    return out


@pytest.mark.parametrize(("rule_id", "good", "good_params", "bad", "bad_params"), CASES)
def test_compliant_and_non_compliant(estate, rule_id, good, good_params, bad, bad_params):
    result = judge(estate, rule_id, good, **_resolve(estate, good_params))
    assert result[0] == "COMPLIANT", result
    result = judge(estate, rule_id, bad, **_resolve(estate, good_params if bad_params is None else bad_params))
    assert result[0] == "NON_COMPLIANT", result
    assert result[1]


def test_every_rule_has_a_case_through_moto_or_by_hand():
    through_moto = {case[0] for case in CASES}
    assert set(RULES) - through_moto == {"ec2-paravirtual-instance-check"}  # moto reports no VirtualizationType


def test_annotations(estate):
    ids = estate["ids"]
    assert judge(estate, "ec2-no-amazon-key-pair", "i-loose") == ("NON_COMPLIANT", "instance was launched with key pair ops-key")
    assert judge(estate, "ec2-token-hop-limit-check", "i-loose") == (
        "NON_COMPLIANT",
        "metadata token hop limit is 3, above tokenHopLimit 1",
    )
    multi = judge(estate, "ec2-instance-multiple-eni-check", "i-loose")[1]
    assert multi.startswith("instance uses 2 network interfaces")
    assert judge(estate, "ec2-launch-template-public-ip-disabled", "lt-public") == (
        "NON_COMPLIANT",
        "default version 1 assigns a public IP address (network interface device index 0)",
    )
    assert judge(estate, "nacl-no-unrestricted-ssh-rdp", "acl-rdp-udp-ipv6") == (
        "NON_COMPLIANT",
        "inbound SSH/RDP allowed from anywhere: UDP 3389 from ::/0 (rule 100)",
    )
    default_acl = judge(estate, "nacl-no-unrestricted-ssh-rdp", "acl-default")[1]
    assert "TCP 22 from 0.0.0.0/0 (rule 100)" in default_acl and "UDP 3389 from 0.0.0.0/0 (rule 100)" in default_acl
    assert judge(estate, "vpc-peering-dns-resolution-check", "pcx-dns-accepter-only") == (
        "NON_COMPLIANT",
        f"DNS resolution from the remote VPC is not enabled for the requester VPC {ids['vpc-main']}",
    )
    assert judge(estate, "eip-attached", "eip-associated") == ("COMPLIANT", f"Elastic IP is associated with {ids['i-hardened']}")
    # annotations never carry tag values
    tagged = judge(estate, "approved-amis-by-tag", "i-hardened", amisByTagKeyAndValue="approved:yes")[1]
    assert "yes" not in tagged and "approved" not in tagged.replace("an approved tag", "")


def test_not_applicable_cases(estate):
    ids = estate["ids"]
    approved = {"amiIds": ids["ami-plain"]}
    assert verdict(estate, "approved-amis-by-id", "i-stopped", **approved) == "NOT_APPLICABLE"  # running instances only
    assert verdict(estate, "approved-amis-by-tag", "i-stopped", amisByTagKeyAndValue="team") == "NOT_APPLICABLE"
    assert verdict(estate, "ec2-no-amazon-key-pair", "i-stopped") == "NOT_APPLICABLE"
    assert verdict(estate, "ec2-no-amazon-key-pair", "i-loose") == "NON_COMPLIANT"
    assert verdict(estate, "desired-instance-tenancy", "i-loose", tenancy="DEDICATED", imageId=ids["ami-golden"]) == "NOT_APPLICABLE"
    assert verdict(estate, "ebs-optimized-instance", "i-not-optimizable") == "NOT_APPLICABLE"
    assert judge(estate, "ebs-optimized-instance", "i-default-optimized") == (
        "COMPLIANT",
        "instance type m5.large is EBS-optimized by default",
    )
    assert verdict(estate, "ec2-security-group-attached-to-eni", "sg-default") == "NOT_APPLICABLE"
    assert verdict(estate, "ec2-security-group-attached-to-eni-periodic", "sg-default") == "NOT_APPLICABLE"
    assert verdict(estate, "vpc-peering-dns-resolution-check", "pcx-pending") == "NOT_APPLICABLE"
    assert verdict(estate, "ec2-launch-template-public-ip-disabled", "lt-no-interfaces") == "COMPLIANT"
    assert verdict(estate, "nacl-no-unrestricted-ssh-rdp", "acl-https-only") == "COMPLIANT"
    assert verdict(estate, "ec2-transit-gateway-auto-vpc-attach-disabled", "tgw-manual-accept") == "COMPLIANT"


def test_required_parameters_left_unset_do_not_run(estate):
    """As AWS Config does not deploy them without it (tests/rules/test_required_parameters.py: what a scan does)."""
    for rule_id, name in (
        ("approved-amis-by-id", "i-hardened"),
        ("desired-instance-type", "i-hardened"),
        ("desired-instance-tenancy", "i-hardened"),
        ("service-vpc-endpoint-enabled", "vpc-main"),
    ):
        for params in ({}, {p: " " for p in catalogue()[rule_id].parameters}):
            with pytest.raises(ValueError, match="does not run without parameter"):
                judge(estate, rule_id, name, **params)


def test_parameter_parsing(estate):
    ids = estate["ids"]
    # comma lists with spaces and empty parts; the default placeholder tags match nothing
    assert verdict(estate, "approved-amis-by-id", "i-hardened", amiIds=f" ,{ids['ami-golden']} ,") == "COMPLIANT"
    assert verdict(estate, "approved-amis-by-tag", "i-hardened") == "NON_COMPLIANT"
    assert verdict(estate, "approved-amis-by-tag", "i-hardened", amisByTagKeyAndValue="approved:no") == "NON_COMPLIANT"
    assert verdict(estate, "approved-amis-by-tag", "i-hardened", amisByTagKeyAndValue="other, approved") == "COMPLIANT"
    # tenancy in any case; a value AWS does not know is "could not check"
    assert verdict(estate, "desired-instance-tenancy", "i-hardened", tenancy="default") == "COMPLIANT"
    assert verdict(estate, "desired-instance-tenancy", "i-hardened", tenancy="shared") == "INSUFFICIENT_DATA"
    assert verdict(estate, "desired-instance-tenancy", "i-hardened", tenancy="DEFAULT", hostId="h-0123") == "NON_COMPLIANT"
    # multiple interfaces all allowed by NetworkInterfaceIds
    enis = ",".join(i["NetworkInterfaceId"] for i in item(estate, "i-loose").configuration["NetworkInterfaces"])
    assert verdict(estate, "ec2-instance-multiple-eni-check", "i-loose", NetworkInterfaceIds=enis) == "COMPLIANT"
    assert verdict(estate, "ec2-instance-multiple-eni-check", "i-loose", NetworkInterfaceIds=enis.split(",")[0]) == "NON_COMPLIANT"
    # tokenHopLimit outside 1..64
    assert verdict(estate, "ec2-token-hop-limit-check", "i-hardened", tokenHopLimit=65) == "INSUFFICIENT_DATA"
    assert verdict(estate, "ec2-token-hop-limit-check", "i-hardened", tokenHopLimit=0) == "INSUFFICIENT_DATA"
    # deleteOnTermination: a boolean given as text; anything else is NON_COMPLIANT, as AWS says
    assert verdict(estate, "ec2-volume-inuse-check", "vol-attached", deleteOnTermination="False") == "COMPLIANT"
    assert verdict(estate, "ec2-volume-inuse-check", "vol-attached", deleteOnTermination="") == "COMPLIANT"
    assert judge(estate, "ec2-volume-inuse-check", "vol-attached", deleteOnTermination="yes") == (
        "NON_COMPLIANT",
        "deleteOnTermination 'yes' is not True or False",
    )
    # moto's DescribeVolumes attachments carry no DeleteOnTermination: the True case is built below
    assert verdict(estate, "ec2-volume-inuse-check", "vol-attached", deleteOnTermination="TRUE") == "NON_COMPLIANT"
    # exempted launch templates; vpcIds limit the sides checked
    assert (
        verdict(estate, "ec2-launch-template-public-ip-disabled", "lt-public", exemptedLaunchTemplates=f"lt-x, {ids['lt-public']}")
        == "COMPLIANT"
    )
    accepter_vpc = ids["pcx-dns-accepter-only-peer-vpc"]
    assert verdict(estate, "vpc-peering-dns-resolution-check", "pcx-dns-accepter-only", vpcIds=accepter_vpc) == "COMPLIANT"
    assert verdict(estate, "vpc-peering-dns-resolution-check", "pcx-dns-accepter-only", vpcIds="vpc-elsewhere") == "NOT_APPLICABLE"
    # service names: full name or suffix after a dot, never a bare substring
    assert verdict(estate, "service-vpc-endpoint-enabled", "vpc-main", serviceName=f"com.amazonaws.{REGION}.s3") == "COMPLIANT"
    assert verdict(estate, "service-vpc-endpoint-enabled", "vpc-main", serviceName="3") == "NON_COMPLIANT"
    assert verdict(estate, "service-vpc-endpoint-enabled", "vpc-main", serviceName="dynamodb") == "NON_COMPLIANT"


# -- what moto cannot represent -----------------------------------------------------------------


def _instance(**configuration) -> ConfigurationItem:
    base = {"InstanceId": "i-1", "State": {"Name": "running"}, "ImageId": "ami-1", "InstanceType": "m5.large"}
    return built_item(INSTANCE, {**base, **configuration}, resource_id="i-1")


def test_paravirtual_instances():
    assert run("ec2-paravirtual-instance-check", _instance(VirtualizationType="paravirtual")) == (
        "NON_COMPLIANT",
        "instance uses paravirtual virtualization",
    )
    assert run("ec2-paravirtual-instance-check", _instance(VirtualizationType="hvm")) == (
        "COMPLIANT",
        "instance virtualization type is hvm",
    )


def test_dedicated_and_host_tenancy():
    dedicated = _instance(Placement={"Tenancy": "dedicated"})
    on_host = _instance(Placement={"Tenancy": "host", "HostId": "h-0abc"})
    assert run("desired-instance-tenancy", dedicated, tenancy="DEDICATED")[0] == "COMPLIANT"
    assert run("desired-instance-tenancy", dedicated, tenancy="HOST") == ("NON_COMPLIANT", "instance tenancy is dedicated, not host")
    assert run("desired-instance-tenancy", on_host, tenancy="HOST", hostId="h-0abc, h-0def") == (
        "COMPLIANT",
        "instance tenancy is host on host h-0abc",
    )
    assert run("desired-instance-tenancy", on_host, tenancy="HOST", hostId="h-0def")[0] == "NON_COMPLIANT"


def test_volume_delete_on_termination():
    def volume(*attachments) -> ConfigurationItem:
        return built_item(VOLUME, {"VolumeId": "vol-1", "Attachments": list(attachments)}, resource_id="vol-1")

    marked = volume({"InstanceId": "i-1", "State": "attached", "DeleteOnTermination": True})
    kept = volume({"InstanceId": "i-1", "State": "attached", "DeleteOnTermination": False})
    assert run("ec2-volume-inuse-check", marked, deleteOnTermination="true")[0] == "COMPLIANT"
    assert run("ec2-volume-inuse-check", kept, deleteOnTermination=True) == (
        "NON_COMPLIANT",
        "volume is attached to i-1 without DeleteOnTermination",
    )
    assert run("ec2-volume-inuse-check", kept)[0] == "COMPLIANT"
    detached = volume({"InstanceId": "i-1", "State": "detached"})  # detached from a terminated instance
    assert run("ec2-volume-inuse-check", detached) == ("NON_COMPLIANT", "volume is not attached to an instance")


def test_other_cases_by_hand():
    # a type DescribeInstanceTypes did not describe: could not check, unless optimized anyway
    unknown = built_item(INSTANCE, {"InstanceType": "x9.huge", "EbsOptimized": False}, {"EbsOptimizedSupport": None})
    assert run("ebs-optimized-instance", unknown)[0] == "INSUFFICIENT_DATA"
    assert run("ebs-optimized-instance", built_item(INSTANCE, {"EbsOptimized": True}, {"EbsOptimizedSupport": None}))[0] == "COMPLIANT"
    # detailed monitoring being switched on does not comply yet
    assert run("ec2-instance-detailed-monitoring-enabled", _instance(Monitoring={"State": "pending"})) == (
        "NON_COMPLIANT",
        "detailed monitoring is pending",
    )
    # a security group shared from another account
    shared = built_item(SECURITY_GROUP, {"GroupName": "partner", "OwnerId": "210987654321"}, {"NetworkInterfaceIds": []})
    assert run("ec2-security-group-attached-to-eni-periodic", shared)[0] == "NOT_APPLICABLE"
    # an endpoint that is being deleted does not count
    vpc = built_item(
        VPC, {}, {"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "ServiceName": "com.amazonaws.us-east-1.s3", "State": "deleting"}]}
    )
    assert run("service-vpc-endpoint-enabled", vpc, serviceName="s3")[0] == "NON_COMPLIANT"
    # an ACL entry opening all ports to ::/0 over TCP
    acl = built_item(
        NETWORK_ACL,
        {"Entries": [{"RuleNumber": 5, "Protocol": "6", "RuleAction": "allow", "Egress": False, "Ipv6CidrBlock": "::/0"}]},
    )
    assert run("nacl-no-unrestricted-ssh-rdp", acl) == (
        "NON_COMPLIANT",
        "inbound SSH/RDP allowed from anywhere: TCP 22 from ::/0 (rule 5); TCP 3389 from ::/0 (rule 5)",
    )
    egress = built_item(
        NETWORK_ACL, {"Entries": [{"RuleNumber": 5, "Protocol": "-1", "RuleAction": "allow", "Egress": True, "CidrBlock": "0.0.0.0/0"}]}
    )
    assert run("nacl-no-unrestricted-ssh-rdp", egress)[0] == "COMPLIANT"  # outbound entries are not judged
    assert run("ec2-transit-gateway-auto-vpc-attach-disabled", built_item(TRANSIT_GATEWAY, {"Options": {}}))[0] == "COMPLIANT"
    assert run(
        "eip-attached", built_item(EIP, {"PublicIp": "198.51.100.7", "NetworkInterfaceId": "eni-1", "AssociationId": "eipassoc-1"})
    ) == (
        "COMPLIANT",
        "Elastic IP is associated with eni-1",
    )


@pytest.mark.parametrize(
    ("rule_id", "resource_type", "api", "iam_action"),
    [
        ("approved-amis-by-tag", INSTANCE, "DescribeImages", "ec2:DescribeImages"),
        ("ebs-optimized-instance", INSTANCE, "DescribeInstanceTypes", "ec2:DescribeInstanceTypes"),
        ("ec2-security-group-attached-to-eni", SECURITY_GROUP, "DescribeNetworkInterfaces", "ec2:DescribeNetworkInterfaces"),
        ("ec2-security-group-attached-to-eni-periodic", SECURITY_GROUP, "DescribeNetworkInterfaces", "ec2:DescribeNetworkInterfaces"),
        ("ec2-launch-template-public-ip-disabled", LAUNCH_TEMPLATE, "DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplateVersions"),
        ("service-vpc-endpoint-enabled", VPC, "DescribeVpcEndpoints", "ec2:DescribeVpcEndpoints"),
    ],
)
def test_a_refused_read_is_could_not_check(rule_id, resource_type, api, iam_action):
    configuration = {"State": {"Name": "running"}, "ImageId": "ami-1", "GroupName": "app"}
    unreadable = built_item(resource_type, configuration, errors=denied_read(api, iam_action))
    result = run(rule_id, unreadable, amisByTagKeyAndValue="approved", serviceName="s3")
    assert result[0] == "INSUFFICIENT_DATA"
    assert api in result[1] and iam_action in result[1]


def test_refused_joins_through_moto_leave_items_unjudged(estate, tmp_path):
    """Collected again with DescribeImages, DescribeNetworkInterfaces and DescribeVpcEndpoints refused:
    the keys they fill are absent, the error is on each item, and the rules say "could not check"."""
    emulator = estate["emulator"]
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session())

    def deny(model, **_):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "denied"}}, model.name)

    events = ctx.client("ec2", REGION).meta.events
    for api in ("DescribeImages", "DescribeNetworkInterfaces", "DescribeVpcEndpoints"):
        events.register(f"before-call.ec2.{api}", deny)
    store = Store(f"sqlite:///{tmp_path / 'denied.db'}")
    try:
        result = collect(ctx, store, services=SERVICES)
        items = {i.resourceId: i for i in store.current_items()}
    finally:
        store.close()
    assert sorted({e.api for e in result.errors}) == ["DescribeImages", "DescribeNetworkInterfaces", "DescribeVpcEndpoints"]
    ids = estate["ids"]
    hardened, group, vpc = items[ids["i-hardened"]], items[ids["sg-unused"]], items[ids["vpc-main"]]
    assert (
        "ImageTags" not in hardened.supplementaryConfiguration and hardened.supplementaryConfiguration["EbsOptimizedSupport"] == "supported"
    )
    assert "NetworkInterfaceIds" not in group.supplementaryConfiguration
    assert "VpcEndpoints" not in vpc.supplementaryConfiguration and vpc.supplementaryConfiguration["FlowLogs"] == []
    for rule_id, judged, params in (
        ("approved-amis-by-tag", hardened, {"amisByTagKeyAndValue": "approved"}),
        ("ec2-security-group-attached-to-eni", group, {}),
        ("service-vpc-endpoint-enabled", vpc, {"serviceName": "s3"}),
    ):
        verdict_, annotation = run(rule_id, judged, **params)
        assert verdict_ == "INSUFFICIENT_DATA" and "UnauthorizedOperation" in annotation, rule_id
    assert run("approved-amis-by-id", hardened, amiIds=ids["ami-golden"])[0] == "COMPLIANT"  # other rules are unaffected
