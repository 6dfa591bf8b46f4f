"""Readers of AWS state shared by the runbook and remediation tests (what a bucket's public access
block, policy or encryption is now, a security group's ingress), moving moto's access keys into
the past, and the shape of the DynamoDB tables the tests create."""

from __future__ import annotations

import datetime as dt
import json

from phiwatch.emulator import EMULATOR_ACCOUNT

#: ``create_table`` arguments of a table keyed on a string ``id``, billed on demand
ON_DEMAND_TABLE = dict(
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)


def _bpa(s3, bucket):
    try:
        return s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]


def _policy(s3, bucket):
    try:
        return json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]


def _encryption(s3, bucket):
    try:
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        return rule["ApplyServerSideEncryptionByDefault"]
    except s3.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]


def _ingress(ec2, gid):
    out = set()
    for p in ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]:
        ports = f"{p['IpProtocol']}:{p.get('FromPort', '*')}-{p.get('ToPort', '*')}"
        out.update(f"{ports} {r['CidrIp']}" for r in p.get("IpRanges", []))
        out.update(f"{ports} {r['CidrIpv6']}" for r in p.get("Ipv6Ranges", []))
    return sorted(out)


def _backdate_keys(user: str, days: int) -> None:
    """moto stamps keys with the current time; move this user's keys into the past (in-process server)."""
    from moto.iam.models import iam_backends

    for key in iam_backends[EMULATOR_ACCOUNT]["aws"].users[user].access_keys:
        key.create_date = key.create_date - dt.timedelta(days=days)
