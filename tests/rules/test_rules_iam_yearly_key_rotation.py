"""hipaa-extras IAM rule on constructed items: access keys rotated within a year."""

from __future__ import annotations

import datetime as dt

from phiwatch.model import ConfigurationItem
from rule_runner import judge_rule, verdict_and_annotation

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def judge(rule_id, item, items=()):
    return verdict_and_annotation(judge_rule(rule_id, item, lookup=lambda t: [i for i in items if i.resourceType == t], now=NOW))


def _user(age_days):
    created = (NOW - dt.timedelta(days=age_days)).isoformat()
    return ConfigurationItem(
        resourceType="AWS::IAM::User",
        resourceId="AIDAEXAMPLE",
        resourceName="svc",
        awsRegion="global",
        accountId="111122223333",
        configuration={"accessKeys": [{"AccessKeyId": "AKIAEXAMPLE", "Status": "Active", "CreateDate": created}]},
    )


def test_yearly_key_rotation():
    assert judge("iam-access-keys-rotated-yearly", _user(200))[0] == "COMPLIANT"  # fails the pack's 90 days, passes a year
    assert judge("access-keys-rotated", _user(200))[0] == "NON_COMPLIANT"
    assert judge("iam-access-keys-rotated-yearly", _user(400))[0] == "NON_COMPLIANT"
