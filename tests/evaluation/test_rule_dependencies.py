"""Rules that read other items (the account item, trails, keys ...) are re-evaluated on all their
resources when one of those items changes, although their own items did not change."""

from __future__ import annotations

from sqlalchemy import select

from phiwatch.collect.runner import collect
from phiwatch.evaluation import Evaluator
from phiwatch.policy import Policy
from phiwatch.rules.active import resolve_rules
from phiwatch.store.tables import rule_dependencies

RULE = "s3-bucket-public-read-prohibited"
BPA = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _verdict(store, rule_id: str, bucket: str) -> str:
    from phiwatch.evaluation import current_evaluations

    rules = resolve_rules(Policy())
    [e] = [e for e in current_evaluations(store, rules) if e["rule_id"] == rule_id and e["resource_id"] == bucket]
    return e["compliance"]


def test_account_setting_change_re_evaluates_unchanged_buckets(aws_env, store):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-public-read")
    s3.put_bucket_ownership_controls(Bucket="bucket-public-read", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    s3.put_bucket_acl(Bucket="bucket-public-read", ACL="public-read")
    ctx = aws_env.context()
    policy = Policy()
    collect(ctx, store, services=["s3"])
    Evaluator(store, policy).evaluate()
    assert _verdict(store, RULE, "bucket-public-read") == "NON_COMPLIANT"
    with store.engine.connect() as conn:  # learned while evaluating: the rule reads the account item
        learned = {(r.rule_id, r.resource_type) for r in conn.execute(select(rule_dependencies))}
    assert (RULE, "AWS::::Account") in learned

    # nothing changed: nothing re-evaluated
    assert Evaluator(store, policy).evaluate().evaluations == 0

    # only the account item changes (account-level public access block): the bucket's verdict follows
    aws_env.client("s3control").put_public_access_block(AccountId="123456789012", PublicAccessBlockConfiguration=BPA)
    result = collect(ctx, store, services=["s3"])
    assert [k for k in result.changed_keys if k[2] == "AWS::S3::Bucket"] == []
    summary = Evaluator(store, policy).evaluate()
    assert RULE in summary.dependent_rules
    assert _verdict(store, RULE, "bucket-public-read") == "COMPLIANT"
    assert "opened" not in {e["event"] for e in summary.events}
    assert "resolved" in {e["event"] for e in summary.events}
