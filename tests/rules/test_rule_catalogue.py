"""The rule catalogue's shape: every rule in the module of its service, with its metadata in its
``@rule(...)``, and pack files that only map rules to HIPAA sections."""

from __future__ import annotations

from pathlib import Path

import yaml

from phiwatch.model import ACCOUNT_TYPE
from phiwatch.resources import service_for_type
from phiwatch.rules.base import FUNCTIONS, PROCESS_CHECKS
from phiwatch.rules.registry import PACK_DIR, catalogue

#: the rules module of each service a rule's ``service`` names (AWS's service names, as the rules give them)
SERVICE_MODULES = {
    "AWS Account Management": "organizations",
    "AWS Backup": "backup",
    "AWS Certificate Manager": "acm",
    "AWS CloudTrail": "cloudtrail",
    "AWS CodeBuild": "codebuild",
    "AWS DMS": "dms",
    "AWS Elastic Beanstalk": "elasticbeanstalk",
    "AWS IAM": "iam",
    "AWS KMS": "kms",
    "AWS Lambda": "lambda_",
    "AWS Organizations": "organizations",
    "AWS Secrets Manager": "secretsmanager",
    "AWS Security Hub": "securityhub",
    "AWS Shield": "shield",
    "AWS Systems Manager": "ssm",
    "AWS WAF": "wafv2",
    "Amazon API Gateway": "apigateway",
    "Amazon CloudWatch": "cloudwatch",
    "Amazon CloudWatch Logs": "cloudwatch",
    "Amazon DynamoDB": "dynamodb",
    "Amazon EC2 / EBS": "ec2",
    "Amazon EC2 Auto Scaling": "autoscaling",
    "Amazon ECS": "ecs",
    "Amazon EFS": "efs",
    "Amazon EMR": "emr",
    "Amazon ElastiCache": "elasticache",
    "Amazon GuardDuty": "guardduty",
    "Amazon Kinesis Data Streams": "kinesis",
    "Amazon OpenSearch Service (incl. legacy Elasticsearch)": "opensearch",
    "Amazon RDS / Aurora": "rds",
    "Amazon Redshift": "redshift",
    "Amazon S3": "s3",
    "Amazon SNS": "sns",
    "Amazon SageMaker": "sagemaker",
    "Amazon VPC / EC2 networking": "vpc",
    "Elastic Load Balancing": "elb",
    "Process check (no AWS service)": "process",
    "all": "phi_names",
}
#: collectors whose resource types share one rules module
TYPE_MODULES = {"logs": "cloudwatch", "elbv2": "elb", "lambda": "lambda_"}
#: rules kept with the feature they check rather than the resource (a newcomer finds them by that word in the id)
TOPICS = {"backup": "backup", "waf": "wafv2"}


def _allowed_modules(rule) -> set[str]:
    """Its service's module (when the service is named above) or the module of a type it judges."""
    allowed = {SERVICE_MODULES[rule.service]} if rule.service in SERVICE_MODULES else set()
    for resource_type in rule.resource_types:
        service = service_for_type(resource_type)
        if service:
            allowed.add(TYPE_MODULES.get(service, service))
    allowed.update(module for word, module in TOPICS.items() if word in rule.id)
    return allowed


def test_each_rule_lives_in_the_module_of_its_service():
    misplaced = {}
    for rule_id, rule in catalogue().items():
        if rule.fn is not None and not rule.fn.__module__.startswith("phiwatch.rules."):
            continue  # a custom rule registered by another test
        module = rule.fn.__module__.rsplit(".", 1)[-1] if rule.fn else "process"
        if module not in _allowed_modules(rule):
            misplaced[rule_id] = (module, sorted(_allowed_modules(rule)))
    assert misplaced == {}


def test_every_rule_says_what_it_is_in_its_own_code():
    for rule_id, entry in FUNCTIONS.items():
        if not entry.fn.__module__.startswith("phiwatch.rules."):
            continue  # a custom rule registered by another test
        meta = entry.meta
        assert meta.get("resource_types") and meta.get("severity") and meta.get("compliant_when") and meta.get("service"), rule_id
    for rule_id, meta in PROCESS_CHECKS.items():
        assert meta["trigger"] == "process" and meta["resource_types"] == (ACCOUNT_TYPE,), rule_id


def test_pack_files_only_list_rules_and_map_them_to_sections():
    """HIPAA packs map each rule to sections (with the source); aws-managed only lists ids."""
    rules = catalogue()
    for path in sorted(Path(PACK_DIR).glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for entry in data["rules"]:
            assert set(entry) <= {"id", "hipaa_sections", "sections_source"}, (path.name, entry["id"])
            if data["pack"] != "aws-managed":
                assert entry["hipaa_sections"] and entry["sections_source"], (path.name, entry["id"])
            else:
                assert set(entry) == {"id"}, entry["id"]
            assert data["pack"] in rules[entry["id"]].packs
