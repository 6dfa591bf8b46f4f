"""Identity, key and monitoring rules checked against AWS Config's semantics: parameters as a policy
file gives them (text with spaces, booleans in any case), through a scan of moto's estate where moto
can represent the case."""

from __future__ import annotations

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.policy import parse_policy
from phiwatch.rules.active import active_rules, resolve_rules
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import judge_rule

ACCOUNT = "123456789012"


def _params(policy_text: str, rule_id: str) -> dict:
    """The parameters a rule runs with under a policy file (validated and coerced as a scan does)."""
    policy = parse_policy(policy_text)
    (active,) = active_rules(policy, resolve_rules(policy), only={rule_id})
    return active.params


def test_alarm_action_parameters_are_trimmed(aws_env, tmp_path):
    sns, cloudwatch = aws_env.client("sns"), aws_env.client("cloudwatch")
    topic = sns.create_topic(Name="alarm-topic")["TopicArn"]
    cloudwatch.put_metric_alarm(
        AlarmName="alarm-to-topic",
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
        InsufficientDataActions=[topic],
    )
    policy = parse_policy(f"""
rules:
  cloudwatch-alarm-action-check:
    parameters: {{action1: " {topic} ", okActionRequired: "FALSE", insufficientDataActionRequired: "TRUE"}}
""")
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        outcome = run_scan(aws_env.context(), store, policy, services=["logs"])
        verdicts = {(e["rule_id"], e["resource_name"]): e for e in outcome.scan["evaluations"]}
        e = verdicts[("cloudwatch-alarm-action-check", "alarm-to-topic")]
        # the ARN given with spaces around it names the alarm's topic
        assert e["compliance"] == "COMPLIANT", e["annotation"]
    finally:
        store.close()


def _account(**configuration) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        resourceName=ACCOUNT,
        awsRegion="global",
        accountId=ACCOUNT,
        configuration=configuration,
    )


def test_password_policy_booleans_in_any_case_still_require():
    # AWS reads only a lowercase "true" as true; phiwatch never turns a requirement off because of case
    params = _params('rules:\n  iam-password-policy:\n    parameters: {RequireSymbols: "TRUE"}\n', "iam-password-policy")
    assert params["RequireSymbols"] is True
    weak = {
        "MinimumPasswordLength": 14,
        "RequireSymbols": False,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "MaxPasswordAge": 90,
        "ExpirePasswords": True,
        "PasswordReusePrevention": 24,
    }
    result = judge_rule("iam-password-policy", _account(iamPasswordPolicy=weak), params=params)
    assert result is not None and result.compliance.value == "NON_COMPLIANT" and "RequireSymbols" in result.annotation
