"""AWS Config managed rules for load balancers (Classic and v2), EC2 Auto Scaling and Lambda: one
estate in moto's server, one collection, each rule judged on the stored items; then what moto
cannot represent (a dead-letter queue in ListFunctions, container-image functions, attribute-based
instance types, gateway load balancers) and the reads that failed, on items built by hand."""

from __future__ import annotations

import io
import zipfile

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import Compliance
from phiwatch.store import Store
from rule_runner import built_item, denied_read, judge_rule

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICES = ["elb", "elbv2", "autoscaling", "lambda", "vpc"]
ALB = "AWS::ElasticLoadBalancingV2::LoadBalancer"
CLB = "AWS::ElasticLoadBalancing::LoadBalancer"
GROUP = "AWS::AutoScaling::AutoScalingGroup"
LAUNCH_CONFIGURATION = "AWS::AutoScaling::LaunchConfiguration"
FUNCTION = "AWS::Lambda::Function"
SUBNET = "AWS::EC2::Subnet"
CERT = f"arn:aws:iam::{ACCOUNT}:server-certificate/portal"
TLS12 = "Protocol-TLSv1.2,ECDHE-RSA-AES128-GCM-SHA256"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return None\n")
    return buffer.getvalue()


def build(client) -> dict[str, str]:
    """One resource per verdict of each rule; returns name -> resource id."""
    ids: dict[str, str] = {}
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    subnet_a2 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.3.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    subnet_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone=f"{REGION}b")["Subnet"]["SubnetId"]
    ids.update({"subnet-a": subnet_a, "subnet-a2": subnet_a2, "subnet-b": subnet_b})

    elbv2 = client("elbv2")

    def v2(name, subnets, kind="application", **attributes):
        arn = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type=kind)["LoadBalancers"][0]["LoadBalancerArn"]
        if attributes:
            elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()])
        ids[name] = arn

    v2(
        "alb-hardened",
        [subnet_a, subnet_b],
        **{"routing.http.desync_mitigation_mode": "strictest", "routing.http.drop_invalid_header_fields.enabled": "true"},
    )
    v2("alb-defaults", [subnet_a, subnet_a2])  # two subnets, one zone
    v2("nlb-cross-zone", [subnet_a, subnet_b], "network", **{"load_balancing.cross_zone.enabled": "true"})
    v2("nlb-one-zone", [subnet_a], "network")

    elb = client("elb")

    def classic(name, zones, protocol="HTTPS", policy=None, desync=None):
        listener = {"Protocol": protocol, "LoadBalancerPort": 443 if protocol == "HTTPS" else 80, "InstancePort": 80}
        if protocol == "HTTPS":
            listener["SSLCertificateId"] = CERT
        elb.create_load_balancer(LoadBalancerName=name, AvailabilityZones=[f"{REGION}{z}" for z in zones], Listeners=[listener])
        if policy:
            attributes = [{"AttributeName": k, "AttributeValue": v} for k, v in policy.items()]
            elb.create_load_balancer_policy(
                LoadBalancerName=name, PolicyName=f"{name}-tls", PolicyTypeName="SSLNegotiationPolicyType", PolicyAttributes=attributes
            )
            elb.set_load_balancer_policies_of_listener(LoadBalancerName=name, LoadBalancerPort=443, PolicyNames=[f"{name}-tls"])
        if desync:
            elb.modify_load_balancer_attributes(
                LoadBalancerName=name,
                LoadBalancerAttributes={"AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode", "Value": desync}]},
            )
        ids[name] = name

    tls12 = {
        "Protocol-TLSv1.2": "true",
        "ECDHE-RSA-AES128-GCM-SHA256": "true",
        "Protocol-TLSv1": "false",
        "Server-Defined-Cipher-Order": "true",
    }
    classic("clb-custom-tls12", "ab", policy=tls12, desync="Strictest")
    classic("clb-custom-tls10", "ab", policy={**tls12, "Protocol-TLSv1": "true"})
    classic("clb-predefined", "a", policy={"Reference-Security-Policy": "ELBSecurityPolicy-TLS-1-2-2017-01", "Protocol-TLSv1.2": "true"})
    classic("clb-no-policy", "a")
    classic("clb-http", "ab", protocol="HTTP")

    asg = client("autoscaling")
    lc = {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
    asg.create_launch_configuration(
        LaunchConfigurationName="lc-imdsv2-hop1", MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1}, **lc
    )
    asg.create_launch_configuration(
        LaunchConfigurationName="lc-imdsv1-hop3", MetadataOptions={"HttpTokens": "optional", "HttpPutResponseHopLimit": 3}, **lc
    )
    asg.create_launch_configuration(LaunchConfigurationName="lc-no-metadata", **lc)
    for config in asg.describe_launch_configurations()["LaunchConfigurations"]:
        ids[config["LaunchConfigurationName"]] = config["LaunchConfigurationARN"]
    ec2.create_launch_template(LaunchTemplateName="app-template", LaunchTemplateData=lc)
    template = {"LaunchTemplateName": "app-template", "Version": "$Latest"}

    def mixed(*types):
        return {"LaunchTemplate": {"LaunchTemplateSpecification": template, "Overrides": [{"InstanceType": t} for t in types]}}

    sizes = {"MinSize": 0, "MaxSize": 1}
    asg.create_auto_scaling_group(
        AutoScalingGroupName="asg-mixed-rebalance",
        MixedInstancesPolicy=mixed("t3.micro", "t3a.micro"),
        CapacityRebalance=True,
        VPCZoneIdentifier=f"{subnet_a},{subnet_b}",
        **sizes,
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName="asg-mixed-one-type", MixedInstancesPolicy=mixed("t3.micro"), VPCZoneIdentifier=subnet_a, **sizes
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName="asg-template", LaunchTemplate=template, AvailabilityZones=[f"{REGION}a", f"{REGION}b"], **sizes
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName="asg-launch-config", LaunchConfigurationName="lc-imdsv2-hop1", AvailabilityZones=[f"{REGION}a"], **sizes
    )
    for group in asg.describe_auto_scaling_groups()["AutoScalingGroups"]:
        ids[group["AutoScalingGroupName"]] = group["AutoScalingGroupARN"]

    role = client("iam").create_role(RoleName="claims-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ids["role"] = role
    lam = client("lambda")
    code = {"ZipFile": _zip()}

    def function(name, runtime="python3.12", **extra):
        lam.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handle", Code=code, **extra)
        ids[name] = name

    function("fn-two-zones", VpcConfig={"SubnetIds": [subnet_a, subnet_b], "SecurityGroupIds": []}, Timeout=3, MemorySize=128)
    lam.put_function_concurrency(FunctionName="fn-two-zones", ReservedConcurrentExecutions=10)
    function("fn-one-zone", VpcConfig={"SubnetIds": [subnet_a, subnet_a2], "SecurityGroupIds": []}, Timeout=30, MemorySize=256)
    function("fn-no-vpc", runtime="nodejs20.x")
    function("fn-os-only", runtime="provided.al2023")
    return ids


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service, region=REGION):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    ids = build(client)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('lb_asg_lambda') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION], session=emulator.session())
    result = collect(ctx, store, services=SERVICES)
    yield {"ids": ids, "store": store, "result": result}
    store.close()


def stored(estate, resource_type, name):
    wanted = estate["ids"][name]
    [item] = [i for i in estate["store"].current_items(resource_type) if wanted in (i.resourceId, i.resourceName)]
    return item


def judge(estate, rule_id, resource_type, name, **params):
    store = estate["store"]
    result = judge_rule(rule_id, stored(estate, resource_type, name), lookup=lambda t: list(store.current_items(t)), params=params)
    assert result is not None, f"{rule_id} gave no verdict on {name}"
    return result


def test_collection_has_no_errors(estate):
    assert estate["result"].errors == []


@pytest.mark.parametrize(
    "rule_id,resource_type,compliant,non_compliant,params",
    [
        ("alb-desync-mode-check", ALB, "alb-hardened", "alb-defaults", {"desyncMode": "strictest"}),
        ("alb-desync-mode-check", ALB, "alb-defaults", "alb-hardened", {"desyncMode": "Defensive, monitor"}),
        ("alb-http-drop-invalid-header-enabled", ALB, "alb-hardened", "alb-defaults", {}),
        ("elbv2-multiple-az", ALB, "alb-hardened", "alb-defaults", {}),
        ("elbv2-multiple-az", ALB, "nlb-cross-zone", "nlb-one-zone", {}),
        ("nlb-cross-zone-load-balancing-enabled", ALB, "nlb-cross-zone", "nlb-one-zone", {}),
        ("clb-desync-mode-check", CLB, "clb-custom-tls12", "clb-predefined", {"desyncMode": "strictest"}),
        ("clb-desync-mode-check", CLB, "clb-predefined", "clb-custom-tls12", {"desyncMode": "defensive"}),
        ("clb-multiple-az", CLB, "clb-custom-tls12", "clb-predefined", {}),
        ("elb-custom-security-policy-ssl-check", CLB, "clb-custom-tls12", "clb-custom-tls10", {"sslProtocolsAndCiphers": TLS12}),
        ("elb-custom-security-policy-ssl-check", CLB, "clb-custom-tls12", "clb-predefined", {"sslProtocolsAndCiphers": TLS12}),
        ("elb-custom-security-policy-ssl-check", CLB, "clb-custom-tls12", "clb-no-policy", {"sslProtocolsAndCiphers": TLS12}),
        ("autoscaling-capacity-rebalancing", GROUP, "asg-mixed-rebalance", "asg-mixed-one-type", {}),
        ("autoscaling-launch-template", GROUP, "asg-template", "asg-launch-config", {}),
        ("autoscaling-launch-template", GROUP, "asg-mixed-rebalance", "asg-launch-config", {}),
        ("autoscaling-multiple-az", GROUP, "asg-mixed-rebalance", "asg-mixed-one-type", {}),
        ("autoscaling-multiple-az", GROUP, "asg-template", "asg-launch-config", {}),
        ("autoscaling-multiple-instance-types", GROUP, "asg-mixed-rebalance", "asg-mixed-one-type", {}),
        ("autoscaling-multiple-instance-types", GROUP, "asg-mixed-rebalance", "asg-template", {}),
        ("autoscaling-launch-config-hop-limit", LAUNCH_CONFIGURATION, "lc-imdsv2-hop1", "lc-imdsv1-hop3", {}),
        ("autoscaling-launch-config-hop-limit", LAUNCH_CONFIGURATION, "lc-no-metadata", "lc-imdsv1-hop3", {}),
        ("autoscaling-launchconfig-requires-imdsv2", LAUNCH_CONFIGURATION, "lc-imdsv2-hop1", "lc-imdsv1-hop3", {}),
        ("autoscaling-launchconfig-requires-imdsv2", LAUNCH_CONFIGURATION, "lc-imdsv2-hop1", "lc-no-metadata", {}),
        ("lambda-concurrency-check", FUNCTION, "fn-two-zones", "fn-one-zone", {}),
        ("lambda-function-settings-check", FUNCTION, "fn-two-zones", "fn-one-zone", {"runtime": "python3.12,nodejs20.x"}),
        ("lambda-function-settings-check", FUNCTION, "fn-two-zones", "fn-no-vpc", {"runtime": "python3.12"}),
        ("lambda-inside-vpc", FUNCTION, "fn-two-zones", "fn-no-vpc", {}),
        ("lambda-vpc-multi-az-check", FUNCTION, "fn-two-zones", "fn-one-zone", {}),
    ],
)
def test_compliant_and_non_compliant(estate, rule_id, resource_type, compliant, non_compliant, params):
    good = judge(estate, rule_id, resource_type, compliant, **params)
    assert good.compliance is Compliance.COMPLIANT, good.annotation
    bad = judge(estate, rule_id, resource_type, non_compliant, **params)
    assert bad.compliance is Compliance.NON_COMPLIANT, bad.annotation
    assert bad.annotation


@pytest.mark.parametrize(
    "rule_id,resource_type,name,params",
    [
        ("alb-desync-mode-check", ALB, "nlb-cross-zone", {"desyncMode": "defensive"}),
        ("alb-http-drop-invalid-header-enabled", ALB, "nlb-one-zone", {}),
        ("nlb-cross-zone-load-balancing-enabled", ALB, "alb-hardened", {}),
        ("elb-custom-security-policy-ssl-check", CLB, "clb-http", {"sslProtocolsAndCiphers": TLS12}),
        ("autoscaling-capacity-rebalancing", GROUP, "asg-launch-config", {}),
        ("autoscaling-capacity-rebalancing", GROUP, "asg-template", {}),
        ("lambda-vpc-multi-az-check", FUNCTION, "fn-no-vpc", {}),
        ("lambda-function-settings-check", FUNCTION, "fn-os-only", {"runtime": "python3.12"}),
    ],
)
def test_not_applicable(estate, rule_id, resource_type, name, params):
    assert judge(estate, rule_id, resource_type, name, **params).compliance is Compliance.NOT_APPLICABLE


# -- what each rule reports, parameter by parameter ------------------------------------------------


def test_load_balancer_annotations(estate):
    assert judge(estate, "alb-desync-mode-check", ALB, "alb-defaults", desyncMode="strictest").annotation == (
        "desync mitigation mode is defensive, not one of desyncMode (strictest)"
    )
    assert judge(estate, "elbv2-multiple-az", ALB, "alb-defaults").annotation == "mapped to 1 Availability Zone(s), fewer than 2"
    three = judge(estate, "elbv2-multiple-az", ALB, "alb-hardened", minAvailabilityZones=3)
    assert three.compliance is Compliance.NON_COMPLIANT and "fewer than 3" in three.annotation
    assert judge(estate, "clb-multiple-az", CLB, "clb-custom-tls12", minAvailabilityZones=3).compliance is Compliance.NON_COMPLIANT
    weak = judge(estate, "elb-custom-security-policy-ssl-check", CLB, "clb-custom-tls10", sslProtocolsAndCiphers=TLS12)
    assert weak.annotation == "HTTPS:443 policy clb-custom-tls10-tls also enables protocol-tlsv1"
    short = judge(
        estate, "elb-custom-security-policy-ssl-check", CLB, "clb-custom-tls12", sslProtocolsAndCiphers=f"{TLS12},Protocol-TLSv1.3"
    )
    assert short.compliance is Compliance.NON_COMPLIANT and "does not enable protocol-tlsv1.3" in short.annotation
    predefined = judge(estate, "elb-custom-security-policy-ssl-check", CLB, "clb-predefined", sslProtocolsAndCiphers=TLS12)
    assert predefined.annotation == "HTTPS:443 uses the predefined policy ELBSecurityPolicy-TLS-1-2-2017-01"


@pytest.mark.parametrize(
    "rule_id,resource_type,name,params,reason",
    [
        ("alb-desync-mode-check", ALB, "alb-hardened", {"desyncMode": "paranoid"}, "parameter desyncMode takes at most two"),
        ("clb-desync-mode-check", CLB, "clb-http", {"desyncMode": "defensive,strictest,monitor"}, "at most two"),
        ("elbv2-multiple-az", ALB, "alb-hardened", {"minAvailabilityZones": 11}, "between 2 and 10"),
        ("clb-multiple-az", CLB, "clb-http", {"minAvailabilityZones": 1}, "between 2 and 10"),
        ("autoscaling-multiple-az", GROUP, "asg-template", {"minAvailabilityZones": 1}, "at least 2"),
        ("lambda-concurrency-check", FUNCTION, "fn-two-zones", {"ConcurrencyLimitLow": "ten"}, "ConcurrencyLimitLow is not a number"),
    ],
)
def test_an_invalid_parameter_is_could_not_check(estate, rule_id, resource_type, name, params, reason):
    result = judge(estate, rule_id, resource_type, name, **params)
    assert result.compliance is Compliance.INSUFFICIENT_DATA and reason in result.annotation


def test_autoscaling_parameters(estate):
    assert judge(estate, "autoscaling-multiple-az", GROUP, "asg-template", minAvailabilityZones=3).annotation == (
        "group spans 2 Availability Zone(s), fewer than 3"
    )
    assert judge(estate, "autoscaling-launch-config-hop-limit", LAUNCH_CONFIGURATION, "lc-imdsv1-hop3").annotation == (
        "metadata response hop limit is 3, greater than 1"
    )


def test_lambda_parameters(estate):
    within = judge(estate, "lambda-concurrency-check", FUNCTION, "fn-two-zones", ConcurrencyLimitLow="5", ConcurrencyLimitHigh="10")
    assert within.compliance is Compliance.COMPLIANT
    low = judge(estate, "lambda-concurrency-check", FUNCTION, "fn-two-zones", ConcurrencyLimitLow="20")
    assert low.annotation == "concurrency limit 10 is below ConcurrencyLimitLow 20"
    high = judge(estate, "lambda-concurrency-check", FUNCTION, "fn-two-zones", ConcurrencyLimitHigh="5", ConcurrencyLimitLow="")
    assert high.annotation == "concurrency limit 10 is above ConcurrencyLimitHigh 5"
    role_name = judge(estate, "lambda-function-settings-check", FUNCTION, "fn-two-zones", runtime="python3.12", role="claims-fn")
    role_arn = judge(estate, "lambda-function-settings-check", FUNCTION, "fn-two-zones", runtime="python3.12", role=estate["ids"]["role"])
    assert role_name.compliance is role_arn.compliance is Compliance.COMPLIANT
    other_role = judge(estate, "lambda-function-settings-check", FUNCTION, "fn-two-zones", runtime="python3.12", role="billing-fn")
    assert other_role.annotation == "role claims-fn is not billing-fn"
    settings = judge(estate, "lambda-function-settings-check", FUNCTION, "fn-one-zone", runtime="python3.12")
    assert settings.annotation == "timeout 30s is not 3s; memorySize 256MB is not 128MB"
    matching = judge(estate, "lambda-function-settings-check", FUNCTION, "fn-one-zone", runtime="python3.12", timeout=30, memorySize=256)
    assert matching.compliance is Compliance.COMPLIANT
    ids = estate["ids"]
    allowed = judge(estate, "lambda-inside-vpc", FUNCTION, "fn-two-zones", subnetIds=f"{ids['subnet-a']}, {ids['subnet-b']}")
    assert allowed.compliance is Compliance.COMPLIANT
    outside = judge(estate, "lambda-inside-vpc", FUNCTION, "fn-two-zones", subnetIds=ids["subnet-a"])
    assert outside.annotation == f"function uses subnet(s) not in subnetIds: {ids['subnet-b']}"
    three = judge(estate, "lambda-vpc-multi-az-check", FUNCTION, "fn-two-zones", availabilityZones=3)
    assert three.compliance is Compliance.NON_COMPLIANT and "fewer than 3" in three.annotation
    one = judge(estate, "lambda-vpc-multi-az-check", FUNCTION, "fn-one-zone", availabilityZones=1)
    assert one.annotation == f"subnets in 1 Availability Zone(s) ({REGION}a), fewer than 2"


# -- collected items ------------------------------------------------------------------------------


def test_lambda_items_carry_the_concurrency_limit(estate):
    assert stored(estate, FUNCTION, "fn-two-zones").supplementaryConfiguration["ReservedConcurrentExecutions"] == 10
    assert stored(estate, FUNCTION, "fn-one-zone").supplementaryConfiguration["ReservedConcurrentExecutions"] is None


def test_load_balancer_and_group_items_hold_what_the_rules_read(estate):
    alb = stored(estate, ALB, "alb-hardened")
    assert alb.supplementaryConfiguration["Attributes"]["routing.http.desync_mitigation_mode"] == "strictest"
    clb = stored(estate, CLB, "clb-custom-tls12")
    assert clb.supplementaryConfiguration["LoadBalancerAttributes"]["AdditionalAttributes"] == [
        {"Key": "elb.http.desyncmitigationmode", "Value": "Strictest"}
    ]
    group = stored(estate, GROUP, "asg-mixed-rebalance")
    assert group.configuration["CapacityRebalance"] is True
    assert sorted(group.configuration["AvailabilityZones"]) == [f"{REGION}a", f"{REGION}b"]
    assert stored(estate, LAUNCH_CONFIGURATION, "lc-imdsv1-hop3").configuration["MetadataOptions"]["HttpPutResponseHopLimit"] == 3


# -- what moto cannot represent, and reads that failed (items built by hand) -----------------------


def _function(**configuration):
    return built_item(FUNCTION, {"FunctionName": "fn", "Runtime": "python3.12", **configuration}, {"ReservedConcurrentExecutions": None})


def _verdict(rule_id, item, others=(), **params):
    result = judge_rule(rule_id, item, others=others, params=params)
    assert result is not None
    return result.compliance, result.annotation


def test_lambda_dead_letter_queue():
    # AWS lists DeadLetterConfig in ListFunctions; moto 5.2 leaves it out, so the queue is set here
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:claims-dlq"
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:claims-dlq"
    with_queue = _function(DeadLetterConfig={"TargetArn": queue})
    assert _verdict("lambda-dlq-check", with_queue) == (Compliance.COMPLIANT, f"dead-letter queue {queue}")
    assert _verdict("lambda-dlq-check", _function()) == (Compliance.NON_COMPLIANT, "no dead-letter queue")
    assert _verdict("lambda-dlq-check", _function(DeadLetterConfig={})) == (Compliance.NON_COMPLIANT, "no dead-letter queue")
    assert _verdict("lambda-dlq-check", with_queue, dlqArns=f"{topic}, {queue}")[0] is Compliance.COMPLIANT
    assert _verdict("lambda-dlq-check", with_queue, dlqArns=topic) == (
        Compliance.NON_COMPLIANT,
        f"dead-letter queue {queue} is not one of dlqArns",
    )


def test_lambda_dead_letter_queue_of_a_collected_function(estate):
    assert judge(estate, "lambda-dlq-check", FUNCTION, "fn-two-zones").compliance is Compliance.NON_COMPLIANT


def test_container_image_function_is_not_judged_on_settings():
    image = built_item(FUNCTION, {"FunctionName": "fn", "PackageType": "Image", "Timeout": 900})
    assert _verdict("lambda-function-settings-check", image, runtime="python3.12")[0] is Compliance.NOT_APPLICABLE


def test_a_refused_concurrency_read_is_could_not_check():
    item = built_item(FUNCTION, {"FunctionName": "fn"}, errors=denied_read("GetFunctionConcurrency", "lambda:GetFunctionConcurrency"))
    compliance, annotation = _verdict("lambda-concurrency-check", item)
    assert compliance is Compliance.INSUFFICIENT_DATA and "lambda:GetFunctionConcurrency" in annotation


def test_lambda_subnets_missing_from_the_inventory():
    subnets = [built_item(SUBNET, {"SubnetId": "subnet-a", "AvailabilityZone": f"{REGION}a"}, resource_id="subnet-a")]
    item = _function(VpcConfig={"SubnetIds": ["subnet-a", "subnet-gone"]})
    compliance, annotation = _verdict("lambda-vpc-multi-az-check", item, subnets)
    assert compliance is Compliance.INSUFFICIENT_DATA and annotation == "could not check: subnet(s) not in the inventory: subnet-gone"
    # without any recorded subnet the VPC collector did not run: no verdict
    assert judge_rule("lambda-vpc-multi-az-check", item) is None
    both = subnets + [built_item(SUBNET, {"AvailabilityZone": f"{REGION}b"}, resource_id="subnet-b")]
    spread = _function(VpcConfig={"SubnetIds": ["subnet-a", "subnet-b", "subnet-gone"]})
    assert _verdict("lambda-vpc-multi-az-check", spread, both)[0] is Compliance.COMPLIANT
    elsewhere = [built_item(SUBNET, {"AvailabilityZone": "us-west-2b"}, resource_id="subnet-b", region="us-west-2")]
    assert _verdict("lambda-vpc-multi-az-check", spread, subnets + elsewhere)[0] is Compliance.INSUFFICIENT_DATA


def test_attribute_based_instance_types_are_not_judged():
    overrides = [{"InstanceRequirements": {"VCpuCount": {"Min": 2}, "MemoryMiB": {"Min": 4096}}}]
    group = built_item(GROUP, {"MixedInstancesPolicy": {"LaunchTemplate": {"Overrides": overrides}}})
    assert _verdict("autoscaling-multiple-instance-types", group)[0] is Compliance.NOT_APPLICABLE


def test_a_launch_configuration_with_a_mistyped_hop_limit_is_could_not_check():
    config = built_item(LAUNCH_CONFIGURATION, {"MetadataOptions": {"HttpPutResponseHopLimit": "two"}})
    assert _verdict("autoscaling-launch-config-hop-limit", config)[0] is Compliance.INSUFFICIENT_DATA


def test_gateway_load_balancer():
    gateway = built_item(ALB, {"Type": "gateway", "AvailabilityZones": [{"ZoneName": "a"}, {"ZoneName": "b"}]}, {"Attributes": {}})
    assert _verdict("alb-desync-mode-check", gateway, desyncMode="defensive")[0] is Compliance.NOT_APPLICABLE
    assert _verdict("nlb-cross-zone-load-balancing-enabled", gateway)[0] is Compliance.NOT_APPLICABLE
    assert _verdict("elbv2-multiple-az", gateway)[0] is Compliance.COMPLIANT


@pytest.mark.parametrize(
    "rule_id,resource_type,configuration,api,params",
    [
        ("alb-desync-mode-check", ALB, {"Type": "application"}, "DescribeLoadBalancerAttributes", {"desyncMode": "defensive"}),
        ("alb-http-drop-invalid-header-enabled", ALB, {"Type": "application"}, "DescribeLoadBalancerAttributes", {}),
        ("nlb-cross-zone-load-balancing-enabled", ALB, {"Type": "network"}, "DescribeLoadBalancerAttributes", {}),
        ("clb-desync-mode-check", CLB, {}, "DescribeLoadBalancerAttributes", {"desyncMode": "defensive"}),
        (
            "elb-custom-security-policy-ssl-check",
            CLB,
            {"ListenerDescriptions": [{"Listener": {"Protocol": "SSL", "LoadBalancerPort": 443}, "PolicyNames": ["p"]}]},
            "DescribeLoadBalancerPolicies",
            {"sslProtocolsAndCiphers": TLS12},
        ),
    ],
)
def test_a_refused_read_is_could_not_check(rule_id, resource_type, configuration, api, params):
    item = built_item(resource_type, configuration, errors=denied_read(api, f"elasticloadbalancing:{api}"))
    compliance, annotation = _verdict(rule_id, item, **params)
    assert compliance is Compliance.INSUFFICIENT_DATA
    assert annotation == f"could not check: {api} failed (AccessDenied; needs elasticloadbalancing:{api})"


def test_attributes_not_collected_give_no_verdict():
    # an item recorded before its attributes were collected: nothing failed, nothing to judge
    assert judge_rule("alb-http-drop-invalid-header-enabled", built_item(ALB, {"Type": "application"})) is None
