"""Example custom rule (Python): every object written to a PHI bucket ends up encrypted.

phiwatch never lists objects (object keys can themselves hold PHI). A bucket guarantees
encrypted objects when default encryption is on, or when its policy denies any PutObject
that does not ask for server-side encryption. Load it with `custom_rules: [phi_bucket_encryption.py]`
in the policy file (paths are relative to the policy file).
"""

import json

from phiwatch.rules.base import compliant, get, non_compliant, rule

SUP = "supplementaryConfiguration."


def _denies_unencrypted_puts(policy_text):
    try:
        policy = json.loads(policy_text or "{}")
    except ValueError:
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for st in statements:
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        condition = st.get("Condition", {})
        if st.get("Effect") == "Deny" and any(a in ("s3:PutObject", "s3:*", "*") for a in actions) and (
            "s3:x-amz-server-side-encryption" in json.dumps(condition)
        ):
            return True
    return False


@rule(
    "phi-bucket-objects-encrypted",
    reads={SUP + "ServerSideEncryptionConfiguration": "GetBucketEncryption", SUP + "BucketPolicy": "GetBucketPolicy"},
    resource_types=["AWS::S3::Bucket"],
    severity="high",
    hipaa_sections=["164.312(a)(2)(iv)", "164.312(e)(2)(ii)"],
    compliant_when="Every object in a bucket tagged PHI=Yes is encrypted at rest (default encryption or a deny policy).",
    parameters={"phiTagKey": ("str", "PHI"), "phiTagValue": ("str", "Yes")},
)
def phi_bucket_objects_encrypted(item, params, ctx):
    if (item.tags or {}).get(params["phiTagKey"]) != params["phiTagValue"]:
        return None  # not a PHI bucket: the rule does not apply
    if get(item, SUP + "ServerSideEncryptionConfiguration"):
        return compliant("default encryption encrypts every new object")
    if _denies_unencrypted_puts((get(item, SUP + "BucketPolicy") or {}).get("policyText")):
        return compliant("bucket policy denies unencrypted uploads")
    return non_compliant("PHI bucket accepts unencrypted objects (no default encryption, no deny policy)")
