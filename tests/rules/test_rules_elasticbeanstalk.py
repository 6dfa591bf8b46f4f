"""Elastic Beanstalk: elastic-beanstalk-managed-updates-enabled on constructed items, and the collector
on moto's server (which lacks DescribeConfigurationSettings)."""

from __future__ import annotations

import datetime as dt

from phiwatch.policy import Policy
from phiwatch.scan import run_scan
from rule_runner import built_item, denied_read, judge_rule, verdict_and_annotation

ACCOUNT = "123456789012"
REGION = "us-east-1"
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def run(rule_id, item, **params):
    return verdict_and_annotation(judge_rule(rule_id, item, lookup=lambda t: [], now=NOW, params=params))


def _environment(managed, errors=None):
    return built_item(
        "AWS::ElasticBeanstalk::Environment", {"EnvironmentName": "e"}, {} if managed is None else {"ManagedActions": managed}, errors
    )


def test_elastic_beanstalk_managed_updates_on_items():
    from phiwatch.resources.elasticbeanstalk import managed_actions

    options = [
        {"Namespace": "aws:elasticbeanstalk:managedactions", "OptionName": "ManagedActionsEnabled", "Value": "true"},
        {"Namespace": "aws:elasticbeanstalk:managedactions:platformupdate", "OptionName": "UpdateLevel", "Value": "minor"},
        {"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "DB_PASSWORD", "Value": "x"},
    ]
    on = managed_actions(options)
    assert on == {"ManagedActionsEnabled": True, "UpdateLevel": "minor", "PreferredStartTime": None}
    assert run("elastic-beanstalk-managed-updates-enabled", _environment(on))[0] == "COMPLIANT"
    assert run("elastic-beanstalk-managed-updates-enabled", _environment(on), UpdateLevel="patch")[0] == "NON_COMPLIANT"
    off = managed_actions(options[1:])
    assert run("elastic-beanstalk-managed-updates-enabled", _environment(off)) == ("NON_COMPLIANT", "managed platform updates are disabled")
    denied = _environment(None, denied_read("DescribeConfigurationSettings", "elasticbeanstalk:DescribeConfigurationSettings"))
    assert run("elastic-beanstalk-managed-updates-enabled", denied)[0] == "INSUFFICIENT_DATA"


def test_elastic_beanstalk_collector_on_moto(aws_env, store):
    """moto lists environments but lacks DescribeConfigurationSettings: the failure is recorded
    on the item and the rule says INSUFFICIENT_DATA, never NON_COMPLIANT."""
    eb = aws_env.client("elasticbeanstalk")
    eb.create_application(ApplicationName="patient-portal")
    arn = eb.create_environment(
        ApplicationName="patient-portal",
        EnvironmentName="portal-prod",
        SolutionStackName="64bit Amazon Linux 2023 v6.1.0 running Node.js 20",
        Tags=[{"Key": "PHI", "Value": "Yes"}],
    )["EnvironmentArn"]
    outcome = run_scan(aws_env.context(), store, Policy(), services=["elasticbeanstalk"])
    row = store.resolve("portal-prod", "AWS::ElasticBeanstalk::Environment")
    item = store.item_at(row["id"])["item"]
    assert item["arn"] == arn and item["tags"] == {"PHI": "Yes"}
    assert item["configuration"]["ApplicationName"] == "patient-portal"
    assert "ManagedActions" not in item["supplementaryConfiguration"]
    assert [e["api"] for e in item["collectionErrors"]] == ["DescribeConfigurationSettings"]
    result = [e for e in outcome.scan["evaluations"] if e["rule_id"] == "elastic-beanstalk-managed-updates-enabled"]
    assert [e["compliance"] for e in result] == ["INSUFFICIENT_DATA"]
