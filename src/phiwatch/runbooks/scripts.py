"""The vetted ``aws:executeScript`` handlers of the built-in runbooks.

Why scripts at all: a few fixes need logic an ``aws:executeAwsApi`` step cannot express —
merging a statement into an existing bucket policy (JSON), picking the world-open rules of a
security group, date arithmetic on access keys, "never weaken" merging of a password policy.
SSM itself solves this with ``aws:executeScript``; so do we, with two restrictions:

* phiwatch never runs script text taken from a document. A document's ``aws:executeScript``
  step must name one of the handlers below (``Handler``) and carry, as ``Script``, exactly
  that function's source (what :func:`script_source` returns). phiwatch then calls the
  function from this module; real SSM runs the identical inline text. Anything else is
  refused at validation (see :mod:`phiwatch.runbooks.step_inputs`).
* Scripts decide, ``aws:executeAwsApi`` steps write: every write of a built-in runbook is a
  visible executeAwsApi step (planned in a dry run, listed in the audit trail). A script's own
  AWS calls are reads, declared in :data:`SCRIPTS` (for the runbook's IAM policy) and routed by
  phiwatch through the executor (recorded, counted, limited to the declared APIs).

Each handler gets ``(events, context)`` like SSM's: ``events`` is the step's interpolated
``InputPayload``. It obtains AWS clients with
``getattr(context, "phiwatch_client", None) or boto3.client``: under phiwatch, ``context``
carries the executor's client factory; under SSM, ``context`` is a plain dict and boto3 is used.
Handlers are self-contained (imports and helpers inside the function) so that their source is
a complete SSM script. Passing ``Verify: true`` makes a handler raise when the resource still
needs a change: that is how the runbooks verify their own effect.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from typing import Any, Callable


def tls_only_policy(events, context):
    """Bucket policy with a Deny-insecure-transport statement MERGED into the existing policy.

    events: Bucket, Partition (default "aws"), Verify (bool).
    Returns {"Policy": the policy JSON to put, "Changed": False when the existing policy
    already denies requests without TLS (then Policy is the existing policy, unchanged)}.
    """
    import json

    from botocore.exceptions import ClientError

    make_client = getattr(context, "phiwatch_client", None)
    if make_client is None:
        import boto3

        make_client = boto3.client
    s3 = make_client("s3")
    bucket = events["Bucket"]
    partition = events.get("Partition") or "aws"
    verify = str(events.get("Verify", False)).lower() == "true"

    def as_list(value):
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def denies_insecure_transport(statement):
        if statement.get("Effect") != "Deny":
            return False
        principal = statement.get("Principal")
        if not (principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))):
            return False
        if not any(a in ("*", "s3:*") for a in as_list(statement.get("Action"))):
            return False
        condition = statement.get("Condition") or {}
        for op in ("Bool", "BoolIfExists"):
            value = (condition.get(op) or {}).get("aws:SecureTransport")
            if value is not None and str(as_list(value)[0]).lower() == "false":
                return True
        return False

    try:
        text = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        policy = json.loads(text)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
            raise
        text, policy = None, {"Version": "2012-10-17", "Statement": []}
    statements = as_list(policy.get("Statement"))
    if any(denies_insecure_transport(s) for s in statements):
        return {"Policy": text, "Changed": False}
    if verify:
        raise RuntimeError(f"the policy of bucket {bucket} does not deny requests without TLS")
    sids = {s.get("Sid") for s in statements}
    sid, n = "DenyInsecureTransport", 1
    while sid in sids:
        n += 1
        sid = f"DenyInsecureTransport{n}"
    arn = f"arn:{partition}:s3:::{bucket}"
    statements.append({
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
    policy["Statement"] = statements
    policy.setdefault("Version", "2012-10-17")
    return {"Policy": json.dumps(policy), "Changed": True}


def select_open_ingress(events, context):
    """The world-open ingress (0.0.0.0/0, ::/0) of a security group to revoke.

    events: IpPermissions (DescribeSecurityGroups' list), Ports (list of "22", "1020-1025" or
    "all"), AuthorizedTcpPorts / AuthorizedUdpPorts ("443,1020-1025": with "all", world-open
    rules entirely within these stay), Verify (bool).
    A TCP, UDP or all-protocol rule is selected when it reaches a listed port; only its
    0.0.0.0/0 and ::/0 ranges are revoked (other CIDRs and group references stay). A port-range
    rule reaching a listed port is revoked whole (AWS cannot revoke part of a range).
    Returns {"IpPermissions": [...] for RevokeSecurityGroupIngress, "Count": n}.
    """

    def ranges(text):
        out = []
        for part in [p.strip() for p in str(text or "").split(",") if p.strip()]:
            low, _, high = part.partition("-")
            out.append((int(low), int(high or low)))
        return out

    ports = [str(p).strip().lower() for p in (events.get("Ports") or []) if str(p).strip()]
    every_port = "all" in ports or "*" in ports
    blocked = [] if every_port else ranges(",".join(ports))
    authorized = {"tcp": ranges(events.get("AuthorizedTcpPorts")), "udp": ranges(events.get("AuthorizedUdpPorts"))}
    verify = str(events.get("Verify", False)).lower() == "true"
    protocols = {"6": "tcp", "17": "udp", "tcp": "tcp", "udp": "udp", "-1": "-1", "all": "-1"}

    selected = []
    for perm in events.get("IpPermissions") or []:
        proto = protocols.get(str(perm.get("IpProtocol", "")).lower())
        if proto is None:  # ICMP and other protocols have no ports
            continue
        world4 = any(r.get("CidrIp") == "0.0.0.0/0" for r in perm.get("IpRanges") or [])
        world6 = any(r.get("CidrIpv6") == "::/0" for r in perm.get("Ipv6Ranges") or [])
        if not (world4 or world6):
            continue
        if proto == "-1" or perm.get("FromPort") in (None, -1):
            low, high = 0, 65535
        else:
            low, high = int(perm["FromPort"]), int(perm["ToPort"])
        if every_port:
            allowed = authorized.get(proto, [])
            hit = not any(a <= low and high <= b for a, b in allowed)
        else:
            hit = any(a <= high and low <= b for a, b in blocked)
        if not hit:
            continue
        revoke = {"IpProtocol": perm["IpProtocol"]}
        if "FromPort" in perm:
            revoke["FromPort"] = perm["FromPort"]
        if "ToPort" in perm:
            revoke["ToPort"] = perm["ToPort"]
        if world4:
            revoke["IpRanges"] = [{"CidrIp": "0.0.0.0/0"}]
        if world6:
            revoke["Ipv6Ranges"] = [{"CidrIpv6": "::/0"}]
        selected.append(revoke)
    if verify and selected:
        raise RuntimeError(f"{len(selected)} world-open ingress rule(s) remain: {selected}")
    return {"IpPermissions": selected, "Count": len(selected)}


def select_old_access_keys(events, context):
    """The ACTIVE access keys of a user that are too old or unused too long.

    events: UserName, MaxAccessKeyAge (days, 0 = do not check age), MaxCredentialUsageAge
    (days since last use, or since creation for a never-used key; 0 = do not check), Verify.
    Returns {"KeyIds": [...], "FirstKeyId": "" or id, "SecondKeyId": "" or id, "Count": n,
    "Reasons": {key id: why}}. IAM allows two keys per user; more raises an error.
    """
    import datetime as dt

    make_client = getattr(context, "phiwatch_client", None)
    if make_client is None:
        import boto3

        make_client = boto3.client
    iam = make_client("iam")
    user = events["UserName"]
    max_age = int(events.get("MaxAccessKeyAge") or 0)
    max_idle = int(events.get("MaxCredentialUsageAge") or 0)
    verify = str(events.get("Verify", False)).lower() == "true"
    now = dt.datetime.now(dt.timezone.utc)

    def when(value):
        if value is None or isinstance(value, dt.datetime):
            parsed = value
        else:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed

    keys, marker = [], None
    while True:
        page = iam.list_access_keys(UserName=user, **({"Marker": marker} if marker else {}))
        keys.extend(page.get("AccessKeyMetadata") or [])
        marker = page.get("Marker") if page.get("IsTruncated") else None
        if not marker:
            break

    reasons = {}
    for key in keys:
        if key.get("Status") != "Active":
            continue
        key_id = key["AccessKeyId"]
        created = when(key.get("CreateDate"))
        why = []
        if max_age > 0 and created is not None:
            age = (now - created).total_seconds() / 86400
            if age > max_age:
                why.append(f"created {int(age)} days ago (max {max_age})")
        if max_idle > 0:
            used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed") or {}
            last = when(used.get("LastUsedDate")) or created
            if last is not None:
                idle = (now - last).total_seconds() / 86400
                if idle > max_idle:
                    seen = "last used" if used.get("LastUsedDate") else "never used, created"
                    why.append(f"{seen} {int(idle)} days ago (max {max_idle})")
        if why:
            reasons[key_id] = "; ".join(why)
    ids = sorted(reasons)
    if len(ids) > 2:
        raise RuntimeError(f"user {user} has {len(ids)} keys to deactivate; IAM allows two")
    if verify and ids:
        raise RuntimeError(f"access keys still active: {reasons}")
    return {
        "KeyIds": ids,
        "FirstKeyId": ids[0] if ids else "",
        "SecondKeyId": ids[1] if len(ids) > 1 else "",
        "Count": len(ids),
        "Reasons": reasons,
    }


def stricter_password_policy(events, context):
    """The account password policy that meets the wanted values without weakening the current one.

    events: MinimumPasswordLength, RequireSymbols, RequireNumbers, RequireUppercaseCharacters,
    RequireLowercaseCharacters, AllowUsersToChangePassword, MaxPasswordAge,
    PasswordReusePrevention, Verify. Each field becomes the stricter of current and wanted
    (longer length, required if either requires, shorter non-zero max age, longer reuse
    prevention); HardExpiry is kept as it is. Returns every field plus "Changed".
    """
    from botocore.exceptions import ClientError

    make_client = getattr(context, "phiwatch_client", None)
    if make_client is None:
        import boto3

        make_client = boto3.client
    iam = make_client("iam")
    verify = str(events.get("Verify", False)).lower() == "true"

    def flag(value):
        return str(value).lower() == "true"

    try:
        current = iam.get_account_password_policy()["PasswordPolicy"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
        current = None
    have = current or {}
    merged = {
        "MinimumPasswordLength": max(int(have.get("MinimumPasswordLength") or 0), int(events["MinimumPasswordLength"])),
        "PasswordReusePrevention": max(int(have.get("PasswordReusePrevention") or 0), int(events["PasswordReusePrevention"])),
        "HardExpiry": bool(have.get("HardExpiry", False)),
    }
    for name in ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters", "RequireLowercaseCharacters",
                 "AllowUsersToChangePassword"):
        merged[name] = bool(have.get(name, False)) or flag(events[name])
    ages = [a for a in (int(have.get("MaxPasswordAge") or 0), int(events["MaxPasswordAge"])) if a > 0]
    merged["MaxPasswordAge"] = min(ages) if ages else 0
    limits = {"MinimumPasswordLength": (6, 128), "PasswordReusePrevention": (1, 24), "MaxPasswordAge": (1, 1095)}
    for name, (low, high) in limits.items():
        if not low <= merged[name] <= high:
            raise ValueError(f"{name} must be {low}..{high}, got {merged[name]}")
    changed = current is None or any(
        merged[k] != (have.get(k) if not isinstance(merged[k], bool) else bool(have.get(k, False))) for k in merged
    )
    if verify and changed:
        raise RuntimeError(f"the password policy is weaker than wanted: {current}")
    merged["Changed"] = changed
    return merged


@dataclass(frozen=True)
class ScriptSpec:
    """A vetted handler: the function and the (service, Api) reads it may make."""

    name: str
    func: Callable[..., Any]
    api_calls: tuple[tuple[str, str], ...]


SCRIPTS: dict[str, ScriptSpec] = {
    spec.name: spec
    for spec in (
        ScriptSpec("tls_only_policy", tls_only_policy, (("s3", "GetBucketPolicy"),)),
        ScriptSpec("select_open_ingress", select_open_ingress, ()),
        ScriptSpec("select_old_access_keys", select_old_access_keys,
                   (("iam", "ListAccessKeys"), ("iam", "GetAccessKeyLastUsed"))),
        ScriptSpec("stricter_password_policy", stricter_password_policy, (("iam", "GetAccountPasswordPolicy"),)),
    )
}


def script_source(name: str) -> str:
    """The exact inline ``Script`` an SSM document must carry for handler ``name``."""
    return textwrap.dedent(inspect.getsource(SCRIPTS[name].func)).strip() + "\n"


def same_script(text: str, name: str) -> bool:
    """Whether ``text`` is handler ``name``'s source (line endings and trailing blanks aside)."""

    def norm(s: str) -> list[str]:
        return [line.rstrip() for line in s.replace("\r\n", "\n").strip().split("\n")]

    return norm(text) == norm(script_source(name))
