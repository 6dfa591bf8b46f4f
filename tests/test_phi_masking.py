"""A resource named after a patient: the no-phi-in-resource-names rule flags it, and no alert
carries the identifier (ids and ARNs are masked in every message)."""

from __future__ import annotations

import json

from sqlalchemy import select

from phiwatch.notify.message import finding_message
from phiwatch.phi import mask_phi, phi_patterns_in
from phiwatch.policy import parse_policy
from phiwatch.scan import run_scan
from phiwatch.store.tables import outbox

SSN = "123-45-6789"


def test_mask_phi_masks_each_kind_and_leaves_ordinary_ids():
    assert mask_phi(f"scans-{SSN}-mri") == "scans-[masked]-mri"
    assert mask_phi("arn:aws:s3:::ward-mrn-00123456") == "arn:aws:s3:::ward-[masked]"
    assert mask_phi("patient-dob-19800101-labs") == "patient-[masked]-labs"
    for ordinary in ("sg-0abc1234", "phi-records-compliant", "arn:aws:iam::123456789012:user/alice", "vol-0123456789abcdef0", None, ""):
        assert mask_phi(ordinary) == ordinary
    assert phi_patterns_in(f"scans-{SSN}") == ["US social security number"]


def test_message_masks_ids_and_arn():
    finding = {
        "finding_id": "f1",
        "rule_id": "no-phi-in-resource-names",
        "resource_type": "AWS::S3::Bucket",
        "resource_id": f"scans-{SSN}",
        "arn": f"arn:aws:s3:::scans-{SSN}",
        "account_id": "123456789012",
        "region": "us-east-1",
        "annotation": "name looks like a US social security number",
    }
    message = finding_message("opened", finding, None, "2026-11-23T00:00:00Z")
    assert SSN not in json.dumps(message)
    assert message["resource_id"] == "scans-[masked]" and message["arn"] == "arn:aws:s3:::scans-[masked]"


def test_alerts_of_a_patient_named_bucket_never_carry_the_identifier(aws_env, store):
    aws_env.client("s3").create_bucket(Bucket=f"scans-{SSN}")
    policy = parse_policy(
        "packs: [hipaa, hipaa-extras]\n"
        "notifications:\n  - {name: siem, channel: webhook, target: 'https://siem.example.org/hook', secret_env: HOOK_SECRET}\n"
        "remediation: {mode: 'off'}\n"
    )
    outcome = run_scan(aws_env.context(), store, policy, services=["s3"])
    flagged = [e for e in outcome.scan["evaluations"] if e["rule_id"] == "no-phi-in-resource-names" and e["compliance"] == "NON_COMPLIANT"]
    assert [e["resource_id"] for e in flagged] == [f"scans-{SSN}"]  # the report names it: the store is the account owner's
    with store.engine.connect() as conn:
        payloads = [row.payload for row in conn.execute(select(outbox.c.payload))]
    assert payloads and any(p.get("rule_id") == "no-phi-in-resource-names" for p in payloads)
    assert SSN not in json.dumps(payloads)
