"""A history over simulated days, for tests of point-in-time answers and reports: items recorded
and evaluated with the store's clock set (``phiwatch.model.clock``), no sleeping."""

from __future__ import annotations

import datetime as dt

from phiwatch.evaluation import Evaluator
from phiwatch.model import ConfigurationItem, clock, isoformat
from phiwatch.policy import Policy, RuleOverride, parse_policy
from phiwatch.rules.active import resolve_rules

ACCOUNT = "111122223333"
DAY = dt.timedelta(days=1)
T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

EXCEPTION = """
exceptions:
  - rule: s3-bucket-logging-enabled
    resource: "bucket-b"
    justification: Static website, holds no PHI
    owner: security@example.org
    expires: 2026-12-31
"""


def bucket(name: str, *, logging: bool, region: str = "us-east-1") -> ConfigurationItem:
    return ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId=name,
        resourceName=name,
        arn=f"arn:aws:s3:::{name}",
        awsRegion=region,
        accountId=ACCOUNT,
        supplementaryConfiguration={
            "BucketLoggingConfiguration": {"destinationBucketName": "logs", "logFilePrefix": ""} if logging else None,
            "BucketPolicy": None,
        },
    )


def only(text: str = "{}") -> Policy:
    policy = parse_policy(text)
    for rule_id, r in resolve_rules(policy).items():
        if r.pack == "hipaa" and rule_id != "s3-bucket-logging-enabled":
            policy.rules[rule_id] = RuleOverride(enabled=False)
    return policy


def day(store, when: dt.datetime, *items: ConfigurationItem, policy: Policy | None = None, deleted: tuple[str, ...] = ()) -> None:
    """Record the items and evaluate, all at ``when``."""
    with clock(lambda: when):
        with store.writer(None) as w:
            for item in items:
                item.configurationItemCaptureTime = isoformat(when)  # as a collection at that time would
                w.record(item)
            for name in deleted:
                gone = bucket(name, logging=False, region="eu-west-1")
                gone.configurationItemStatus = "ResourceDeleted"
                gone.configurationItemCaptureTime = isoformat(when)
                w.record(gone)
        Evaluator(store, policy or only()).evaluate(now=when)


def history(store) -> None:
    """Day 0: a failing, b compliant. Day 2: a fixed. Day 4: b breaks. Day 6: b excepted. Day 8: c appears, fails; day 9: c deleted."""
    day(store, T0, bucket("bucket-a", logging=False), bucket("bucket-b", logging=True))
    day(store, T0 + 2 * DAY, bucket("bucket-a", logging=True))
    day(store, T0 + 4 * DAY, bucket("bucket-b", logging=False))
    day(store, T0 + 6 * DAY, policy=only(EXCEPTION))
    day(store, T0 + 8 * DAY, bucket("bucket-c", logging=False, region="eu-west-1"), policy=only(EXCEPTION))
    day(store, T0 + 9 * DAY, policy=only(EXCEPTION), deleted=("bucket-c",))  # in eu-west-1
