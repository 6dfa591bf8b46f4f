"""hipaa-extras rule no-phi-in-resource-names on constructed items: identifiers in names and tags are flagged, never echoed."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwatch.model import ConfigurationItem
from rule_runner import judge_rule, verdict_and_annotation

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def judge(rule_id, item, items=()):
    return verdict_and_annotation(judge_rule(rule_id, item, lookup=lambda t: [i for i in items if i.resourceType == t], now=NOW))


def bucket(name, region="us-east-1", tags=None, **sup):
    return ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId=name,
        resourceName=name,
        awsRegion=region,
        accountId="111122223333",
        tags=tags or {},
        supplementaryConfiguration=sup,
    )


@pytest.mark.parametrize(
    "name,tags,pattern",
    [
        ("patient-123-45-6789-scans", {}, "social security"),
        ("exports", {"Subject": "MRN0042317"}, "medical record"),
        ("dob-1984-02-29-intake", {}, "date of birth"),
    ],
)
def test_identifier_like_names_are_flagged_without_echoing(name, tags, pattern):
    verdict, why = judge("no-phi-in-resource-names", bucket(name, tags=tags))
    assert verdict == "NON_COMPLIANT" and pattern in why
    for fragment in ("123-45-6789", "0042317", "1984"):
        assert fragment not in why


def test_ordinary_names_pass():
    assert judge("no-phi-in-resource-names", bucket("phi-records-2026", tags={"Environment": "PROD"}))[0] == "COMPLIANT"
