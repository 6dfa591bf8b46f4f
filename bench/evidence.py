"""Evidence benchmark: the HIPAA report, the evidence pack and point-in-time queries on 30 days of history.

For each size:

1. **history** (cached in ``bench/.cache/``, rebuilt with ``--rebuild`` or when the code that
   writes the store changed): an emulator (``phiwatch emulator``, its own process) is seeded with
   about N resources by ``bench/seed.py``; day 0 is a full ``run_scan`` (collection + evaluation)
   with the store's clock set to that day (``phiwatch.model.clock``). Then, for each day 1..D,
   about ``--change-percent`` % of the resources are changed through the emulator's AWS APIs (S3
   logging, encryption, versioning and public access blocks toggled; SSH/RDP opened to the world
   and closed; log retention set and removed; KMS rotation and DynamoDB point-in-time recovery
   toggled; tags; a few resources deleted and a few created), the changed resources are
   re-collected by phiwatch's collectors (``collect(only=...)``, what the watch service does for
   the resources an event names) and evaluated (``run_scan`` without collection), all with the
   clock set to that day; every ``--full-scan-every`` days the day ends with a full scan instead.
   The policy auto-remediates ``restricted-ssh``, excepts two groups of findings (one exception
   expires on day 20) and two attestations are recorded on day 2;
2. **measure**, each command in its own process on a copy of the store (wall time, peak RSS of
   that process alone, CPU, output size; the 1-minute load average before each):
   ``phiwatch report -f pdf`` and ``-f html`` for days 0..D, ``phiwatch evidence pack`` (a
   throwaway key in a temporary ``PHIWATCH_HOME``), ``phiwatch evidence verify`` and
   ``phiwatch findings --at`` (day D/2 at noon, ``--json``; the end of day D, a table).

    .venv/bin/python bench/evidence.py                       # 5,000 resources, 30 days
    .venv/bin/python bench/evidence.py --sizes 500 --days 5  # quick

Results: a Markdown table on stdout and ``bench/results/evidence-<time>.{md,json}`` (plus
``evidence-latest.md``/``evidence-latest.json``). See bench/README.md ("Evidence").
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from run import aws_env, command_line, log, machine, phiwatch_command, run_measured, seed_subprocess  # noqa: E402

#: bump when the way the history is built changes (part of the cache key)
HISTORY_FORMAT = 1
CACHE_DIR = BENCH_DIR / ".cache"
REGION = "us-east-1"
DAY = dt.timedelta(days=1)
#: the issue's targets
REPORT_SECONDS, REPORT_MIB, AT_SECONDS = 60.0, 500.0, 2.0

#: what a day's changes are made of (relative weights)
CHANGE_MIX = {
    "s3-setting": 30,
    "tag": 20,
    "security-group-rule": 12,
    "log-retention": 10,
    "delete": 9,
    "create": 11,
    "kms-rotation": 4,
    "dynamodb-pitr": 4,
}
TAGGED_TYPES = ("AWS::EC2::Volume", "AWS::EC2::Instance", "AWS::IAM::User", "AWS::DynamoDB::Table", "AWS::SNS::Topic")
DELETABLE = ("AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::SNS::Topic", "AWS::EC2::Volume", "AWS::EC2::SecurityGroup")
CREATABLE = ("AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::SNS::Topic", "AWS::EC2::Volume", "AWS::EC2::SecurityGroup")
ATTESTATIONS = (
    ("164.308(a)(1)(ii)(A)", "The annual risk analysis covering every system that stores PHI is approved."),
    ("164.308(a)(7)(ii)(B)", "The disaster recovery plan was tested; restore times met their objectives."),
)
APPS = ("ehr", "claims", "imaging", "billing", "analytics", "lab-results", "pharmacy")


def policy_text(day0: dt.datetime) -> str:
    """The history's policy: the HIPAA packs, SSH open to the world auto-remediated, two exceptions."""
    return (
        "packs: [hipaa, hipaa-extras]\n"
        "remediation:\n"
        "  mode: 'off'\n"
        "  max_per_run: 50\n"
        "  rules:\n"
        "    restricted-ssh: {mode: auto}\n"
        "exceptions:\n"
        "  - rule: s3-bucket-logging-enabled\n"
        "    resource: 'bench-analytics-*'\n"
        "    justification: Analytics buckets hold de-identified extracts; access logging comes with the data lake migration.\n"
        "    owner: data-team@example.org\n"
        f"    expires: {(day0 + 20 * DAY).date().isoformat()}\n"
        "  - rule: s3-bucket-versioning-enabled\n"
        "    resource: 'bench-*-test-*'\n"
        "    justification: Test buckets are rebuilt from fixtures and hold no PHI.\n"
        "    owner: platform-team@example.org\n"
        f"    expires: {(day0 + 120 * DAY).date().isoformat()}\n"
    )


# -- the cache -------------------------------------------------------------------------------
def code_key(size: int, days: int, args: argparse.Namespace) -> str:
    """What the built store depends on: the code that writes it (phiwatch without the report,
    pack and CLI code and without the read-only timeline queries), bench/seed.py, the parameters."""
    h = hashlib.sha256()
    h.update(json.dumps([HISTORY_FORMAT, size, days, args.change_percent, args.full_scan_every, REGION]).encode())
    src = ROOT / "src" / "phiwatch"
    skip = ("evidence/", "cli/", "store/timeline.py")
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".json") and not rel.startswith(skip) and "__pycache__" not in rel:
            h.update(rel.encode())
            h.update(path.read_bytes())
    h.update((BENCH_DIR / "seed.py").read_bytes())
    return h.hexdigest()[:16]


def cached(size: int, days: int, key: str | None) -> dict[str, Any] | None:
    """The cached history of this size and length built by this code (``key``; None: whatever code built it)."""
    for meta_file in sorted(CACHE_DIR.glob(f"evidence-{size}-{days}d-{key or '*'}.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        meta = json.loads(meta_file.read_text())
        if Path(meta["db"]).is_file() and Path(meta["policy"]).is_file():
            return meta
    return None


# -- the emulator, in its own process ----------------------------------------------------------
class EmulatorProcess:
    """``phiwatch emulator`` on a free port, in its own process (it does not share this one's GIL)."""

    def __init__(self) -> None:
        from phiwatch.emulator import free_port

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = aws_env(REGION)
        env["MOTO_ACM_VALIDATION_WAIT"] = "0"  # no certificate turning ISSUED in the middle of the history
        self.proc = subprocess.Popen(
            phiwatch_command() + ["emulator", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self._up():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("the emulator did not start")
            time.sleep(0.3)

    def _up(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2).read()
            return True
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# -- a day's changes through the emulator's APIs ----------------------------------------------
class Changer:
    """Makes one day's changes and says which resources they touched (type -> identifiers)."""

    def __init__(self, endpoint: str, store: Any) -> None:
        import boto3

        from phiwatch.aws.session import make_client

        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        self._clients: dict[str, Any] = {}
        self._make = lambda service: make_client(session, service, endpoint, REGION)
        self.store = store
        self.log_bucket = f"bench-access-logs-{REGION}"
        vpcs = self.client("ec2").describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        self.vpc = vpcs[0]["VpcId"] if vpcs else None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._make(service)
        return self._clients[service]

    def pools(self) -> dict[str, list[Any]]:
        types = {"AWS::S3::Bucket", "AWS::EC2::SecurityGroup", "AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::DynamoDB::Table"}
        types |= set(TAGGED_TYPES) | set(DELETABLE)
        out = {}
        for t in sorted(types):
            items = sorted(self.store.current_items(t), key=lambda i: i.resourceId)
            if t == "AWS::S3::Bucket":  # the access-log and trail buckets stay as they are
                items = [i for i in items if "access-logs" not in i.resourceId and "trail" not in i.resourceId]
            if t == "AWS::EC2::SecurityGroup":
                items = [i for i in items if (i.resourceName or "") != "default" and i.configuration.get("GroupName") != "default"]
            if t == "AWS::KMS::Key":
                items = [i for i in items if i.configuration.get("KeyManager", "CUSTOMER") == "CUSTOMER"]
            out[t] = items
        return out

    def day(self, day: int, budget: int) -> tuple[Counter[str], Counter[str], dict[str, set[str]]]:
        rng = random.Random(f"evidence-history-{day}")
        pools = self.pools()
        used: set[tuple[str, str]] = set()
        targets: dict[str, set[str]] = {}
        done: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        total = sum(CHANGE_MIX.values())
        counts = {kind: math.floor(budget * w / total) for kind, w in CHANGE_MIX.items()}
        for kind in sorted(CHANGE_MIX, key=lambda k: -(budget * CHANGE_MIX[k] / total - counts[k]))[: budget - sum(counts.values())]:
            counts[kind] += 1

        def pick(resource_type: str) -> Any | None:
            pool = [i for i in pools.get(resource_type, []) if (resource_type, i.resourceId) not in used]
            if not pool:
                return None
            item = rng.choice(pool)
            used.add((resource_type, item.resourceId))
            return item

        for planned, n in counts.items():
            for index in range(n):
                kind = planned
                resource_type = {
                    "s3-setting": "AWS::S3::Bucket",
                    "security-group-rule": "AWS::EC2::SecurityGroup",
                    "log-retention": "AWS::Logs::LogGroup",
                    "kms-rotation": "AWS::KMS::Key",
                    "dynamodb-pitr": "AWS::DynamoDB::Table",
                    "tag": TAGGED_TYPES[index % len(TAGGED_TYPES)],
                    "delete": DELETABLE[index % len(DELETABLE)],
                    "create": CREATABLE[index % len(CREATABLE)],
                }[kind]
                label = f"{kind} {resource_type.split('::')[-1]}"
                try:
                    if kind == "create":
                        identifier = self._create(resource_type, day, index, rng)
                    else:
                        item = pick(resource_type)
                        if item is None:  # none of that type (bench/seed.py seeds only some types): an S3 setting instead
                            kind, resource_type = "s3-setting", "AWS::S3::Bucket"
                            item = pick(resource_type)
                        if item is None:
                            errors[f"{label}: none left"] += 1
                            continue
                        identifier = item.resourceId
                        what = getattr(self, "_" + kind.replace("-", "_"))(item, day, index, rng)
                        label = what or label
                    targets.setdefault(resource_type, set()).add(identifier)
                    done[label] += 1
                except Exception as exc:  # noqa: BLE001 - count and go on: the history needs changes, not every one
                    errors[f"{label}: {type(exc).__name__}"] += 1
        return done, errors, targets

    # each change: the item as stored; returns what it did
    def _s3_setting(self, item: Any, day: int, index: int, rng: random.Random) -> str:
        s3, bucket = self.client("s3"), item.resourceId
        setting = rng.choice(("logging", "encryption", "versioning", "public-access-block"))
        if setting == "logging":
            if "LoggingEnabled" in s3.get_bucket_logging(Bucket=bucket):
                s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
                return "S3 logging off"
            s3.put_bucket_logging(
                Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": self.log_bucket, "TargetPrefix": f"{bucket}/"}}
            )
            return "S3 logging on"
        if setting == "encryption":
            try:
                rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            except s3.exceptions.ClientError:
                rules = []
            algorithm = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] if rules else None
            if algorithm == "aws:kms":
                s3.delete_bucket_encryption(Bucket=bucket)
                return "S3 KMS encryption removed"
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
            )
            return "S3 KMS encryption set"
        if setting == "versioning":
            current = s3.get_bucket_versioning(Bucket=bucket).get("Status")
            status = "Suspended" if current == "Enabled" else "Enabled"
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
            return f"S3 versioning {status.lower()}"
        try:
            s3.get_public_access_block(Bucket=bucket)
            s3.delete_public_access_block(Bucket=bucket)
            return "S3 public access block removed"
        except s3.exceptions.ClientError:
            s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
                },
            )
            return "S3 public access block set"

    def _security_group_rule(self, item: Any, day: int, index: int, rng: random.Random) -> str:
        ec2 = self.client("ec2")
        group = ec2.describe_security_groups(GroupIds=[item.resourceId])["SecurityGroups"][0]
        for perm in group.get("IpPermissions", []):
            if perm.get("FromPort") in (22, 3389) and any(r.get("CidrIp") == "0.0.0.0/0" for r in perm.get("IpRanges", [])):
                port = perm["FromPort"]
                ec2.revoke_security_group_ingress(
                    GroupId=item.resourceId,
                    IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
                )
                return f"port {port} closed to the world"
        port = rng.choice((22, 3389))
        ec2.authorize_security_group_ingress(
            GroupId=item.resourceId,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        return f"port {port} opened to the world"

    def _log_retention(self, item: Any, day: int, index: int, rng: random.Random) -> str:
        logs, name = self.client("logs"), item.resourceName or item.resourceId
        if item.configuration.get("retentionInDays"):
            logs.delete_retention_policy(logGroupName=name)
            return "log retention removed"
        logs.put_retention_policy(logGroupName=name, retentionInDays=rng.choice((365, 731, 2192)))
        return "log retention set"

    def _kms_rotation(self, item: Any, day: int, index: int, rng: random.Random) -> str:
        kms = self.client("kms")
        if kms.get_key_rotation_status(KeyId=item.resourceId)["KeyRotationEnabled"]:
            kms.disable_key_rotation(KeyId=item.resourceId)
            return "KMS rotation off"
        kms.enable_key_rotation(KeyId=item.resourceId)
        return "KMS rotation on"

    def _dynamodb_pitr(self, item: Any, day: int, index: int, rng: random.Random) -> str:
        ddb, table = self.client("dynamodb"), item.resourceName or item.resourceId
        desc = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        enabled = desc.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
        ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": not enabled})
        return f"DynamoDB PITR {'off' if enabled else 'on'}"

    def _tag(self, item: Any, day: int, index: int, rng: random.Random) -> str:
        tag = [{"Key": "ChangeTicket", "Value": f"CHG-{day:03d}-{index:03d}"}]
        t = item.resourceType
        if t in ("AWS::EC2::Volume", "AWS::EC2::Instance"):
            self.client("ec2").create_tags(Resources=[item.resourceId], Tags=tag)
        elif t == "AWS::IAM::User":
            self.client("iam").tag_user(UserName=item.resourceName or item.resourceId, Tags=tag)
        elif t == "AWS::DynamoDB::Table":
            self.client("dynamodb").tag_resource(ResourceArn=item.arn, Tags=tag)
        elif t == "AWS::SNS::Topic":
            self.client("sns").tag_resource(ResourceArn=item.arn or item.resourceId, Tags=tag)
        return f"tag {t.split('::')[-1]}"

    def _delete(self, item: Any, day: int, index: int, rng: random.Random) -> str:
        t = item.resourceType
        if t == "AWS::S3::Bucket":
            self.client("s3").delete_bucket(Bucket=item.resourceId)
        elif t == "AWS::Logs::LogGroup":
            self.client("logs").delete_log_group(logGroupName=item.resourceName or item.resourceId)
        elif t == "AWS::SNS::Topic":
            self.client("sns").delete_topic(TopicArn=item.arn or item.resourceId)
        elif t == "AWS::EC2::Volume":
            self.client("ec2").delete_volume(VolumeId=item.resourceId)
        elif t == "AWS::EC2::SecurityGroup":
            self.client("ec2").delete_security_group(GroupId=item.resourceId)
        return t.split("::")[-1]

    def _create(self, resource_type: str, day: int, index: int, rng: random.Random) -> str:
        app = rng.choice(APPS)
        env = rng.choice(("prod", "prod", "dev", "test"))
        name = f"bench-{app}-{env}-d{day:02d}-{index:03d}"
        tags = {"Application": app, "Environment": env.upper(), "PHI": rng.choice(("Yes", "No")), "CreatedOn": f"day-{day}"}
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        if resource_type == "AWS::S3::Bucket":
            s3 = self.client("s3")
            s3.create_bucket(Bucket=name)
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list})
            if rng.random() < 0.5:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            if rng.random() < 0.5:
                s3.put_bucket_logging(
                    Bucket=name, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": self.log_bucket, "TargetPrefix": f"{name}/"}}
                )
            return name
        if resource_type == "AWS::Logs::LogGroup":
            group = f"/bench/{app}/{env}/d{day:02d}-{index:03d}"
            self.client("logs").create_log_group(logGroupName=group, tags=tags)
            if rng.random() < 0.5:
                self.client("logs").put_retention_policy(logGroupName=group, retentionInDays=365)
            return group
        if resource_type == "AWS::SNS::Topic":
            attributes = {"KmsMasterKeyId": "alias/aws/sns"} if rng.random() < 0.6 else {}
            return self.client("sns").create_topic(Name=name, Attributes=attributes, Tags=tag_list)["TopicArn"]
        if resource_type == "AWS::EC2::Volume":
            volume = self.client("ec2").create_volume(
                AvailabilityZone=f"{REGION}a",
                Size=rng.choice((8, 20, 100)),
                Encrypted=rng.random() < 0.7,
                TagSpecifications=[{"ResourceType": "volume", "Tags": tag_list}],
            )
            return volume["VolumeId"]
        group = self.client("ec2").create_security_group(
            GroupName=name,
            Description=f"{app} {env}",
            **({"VpcId": self.vpc} if self.vpc else {}),
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list}],
        )
        return group["GroupId"]


# -- building the history ---------------------------------------------------------------------
def build_history(size: int, days: int, args: argparse.Namespace, key: str) -> dict[str, Any]:
    from phiwatch.aws import AwsContext
    from phiwatch.collect import runner
    from phiwatch.collect.registry import load_collectors
    from phiwatch.evidence.attest import record_attestation
    from phiwatch.evidence.signing import LocalSigner
    from phiwatch.model import clock
    from phiwatch.policy import parse_policy
    from phiwatch.rules.active import resolve_rules
    from phiwatch.scan import run_scan
    from phiwatch.store import Store

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"evidence-{size}-{days}d-*"):
        stale.unlink()
    db_path = CACHE_DIR / f"evidence-{size}-{days}d-{key}.db"
    today = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    day0 = today - (days + 1) * DAY  # day D is yesterday: every day of the history is in the past
    policy_file = CACHE_DIR / f"evidence-{size}-{days}d-{key}.policy.yaml"
    policy_file.write_text(policy_text(day0))
    policy = parse_policy(policy_file.read_text())
    rules = resolve_rules(policy)
    for k, v in aws_env(REGION).items():
        if k.startswith(("AWS_", "MOTO_")):
            os.environ[k] = v
    collector_of = {t: name for name, cls in sorted(load_collectors().items()) for t in cls.resource_types}
    t_build = time.monotonic()
    log(f"size {size}: building {days} days of history into {db_path.name}")
    emulator = EmulatorProcess()
    per_day: list[dict[str, Any]] = []
    store = Store(f"sqlite:///{db_path}")
    try:
        seeded = seed_subprocess(emulator.endpoint, size, [REGION], args.seed_workers, [], args.timeout)
        log(f"size {size}: seeded {seeded['total']} resources in {seeded['seconds']} s")
        aws = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION])
        changer = Changer(emulator.endpoint, store)
        signer = LocalSigner.generate()
        for day in range(days + 1):
            base = day0 + day * DAY
            t0 = time.monotonic()
            row: dict[str, Any] = {"day": day, "date": base.date().isoformat()}
            targets: dict[str, set[str]] = {}
            with clock(lambda base=base, t0=t0: base + dt.timedelta(seconds=time.monotonic() - t0)):
                if day > 0:
                    budget = max(1, math.ceil(sum(store.counts_by_type().values()) * args.change_percent / 100))
                    done, errors, targets = changer.day(day, budget)
                    row.update(changed=sum(done.values()), change_kinds=dict(done), change_errors=dict(errors))
                full = day == 0 or (args.full_scan_every > 0 and day % args.full_scan_every == 0)
                if full:
                    outcome = run_scan(aws, store, policy, rules=rules, report=False)
                    collected = [outcome.collect_result]
                else:
                    by_service: dict[str, dict[str, set[str]]] = {}
                    for resource_type, ids in targets.items():
                        by_service.setdefault(collector_of[resource_type], {}).setdefault(resource_type, set()).update(ids)
                    collected = [
                        runner.collect(aws, store, services=[service], regions=[REGION], only=only)
                        for service, only in sorted(by_service.items())
                    ]
                    run_id = collected[-1].run_id if collected else None
                    outcome = run_scan(aws, store, policy, rules=rules, collect_first=False, run_id=run_id, report=False)
                if day == 2:  # a person attests what no AWS data proves
                    with tempfile.TemporaryDirectory() as tmp:
                        for n, (section, statement) in enumerate(ATTESTATIONS):
                            evidence = Path(tmp) / f"attestation-{n + 1}.txt"
                            evidence.write_text(f"{statement}\nSigned off by the security officer.\n")
                            record_attestation(
                                store, signer, section=section, by="Dana Reyes, Security Officer", statement=statement, evidence=evidence
                            )
            row.update(
                scan="full" if full else "targeted",
                versions=sum(c.created + c.changed + c.deleted for c in collected if c is not None),
                requests=sum(c.requests for c in collected if c is not None),
                collection_errors=sum(len(c.errors) for c in collected if c is not None),
                evaluations=outcome.summary.evaluations,
                finding_events=len(outcome.summary.events),
                remediations=len(outcome.remediation.events) if outcome.remediation is not None else 0,
                seconds=round(time.monotonic() - t0, 1),
            )
            per_day.append(row)
            log(
                f"size {size}: day {day} ({row['scan']}): {row.get('changed', 0)} changed, {row['versions']} versions, "
                f"{row['evaluations']} evaluations, {row['finding_events']} finding events, {row['seconds']} s"
            )
        items = sum(store.counts_by_type().values())
    finally:
        store.close()
        emulator_cpu = emulator.cpu_seconds()
        emulator.stop()
    meta = {
        "size": size,
        "days": days,
        "key": key,
        "db": str(db_path),
        "policy": str(policy_file),
        "day0": day0.isoformat(),
        "built": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "build_commit": machine()["commit"],
        "build_seconds": round(time.monotonic() - t_build, 1),
        "emulator_cpu_seconds": round(emulator_cpu, 1),
        "seeded": seeded["total"],
        "resources_at_end": items,
        "change_percent": args.change_percent,
        "full_scan_every": args.full_scan_every,
        "per_day": per_day,
    }
    meta.update(history_facts(db_path, day0, days))
    (CACHE_DIR / f"evidence-{size}-{days}d-{key}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def history_facts(db_path: Path, day0: dt.datetime, days: int) -> dict[str, Any]:
    """What the history holds: rows per table, finding events per day, findings that opened and resolved on different days."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = ("resources", "versions", "evaluation_history", "findings", "finding_events", "remediations", "audit_log", "attestations")
        rows = {}
        for t in tables:
            try:
                rows[t] = conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
            except sqlite3.OperationalError:
                rows[t] = None
        events_by_day: dict[str, dict[str, int]] = {}
        for date, event, n in conn.execute("SELECT substr(time, 1, 10), event, count(*) FROM finding_events GROUP BY 1, 2 ORDER BY 1, 2"):
            events_by_day.setdefault(date, {})[event] = n
        reopened_later = conn.execute(
            "SELECT count(*) FROM (SELECT finding_id FROM finding_events WHERE event = 'opened' "
            "GROUP BY finding_id HAVING count(DISTINCT substr(time, 1, 10)) > 1)"
        ).fetchone()[0]
        resolved_later = conn.execute(
            "SELECT count(DISTINCT o.finding_id) FROM finding_events o JOIN finding_events r ON r.finding_id = o.finding_id "
            "WHERE o.event = 'opened' AND r.event IN ('resolved', 'remediated') AND substr(r.time, 1, 10) > substr(o.time, 1, 10)"
        ).fetchone()[0]
    finally:
        conn.close()
    later = [d for d in events_by_day if d > day0.date().isoformat()]
    return {
        "rows": rows,
        "db_mib": round(sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*")) / 2**20, 1),
        "finding_events_by_day": events_by_day,
        "days_with_openings": sum(1 for d in later if events_by_day[d].get("opened")),
        "days_with_fixes": sum(1 for d in later if events_by_day[d].get("resolved") or events_by_day[d].get("remediated")),
        "findings_opened_again_on_a_later_day": reopened_later,
        "findings_fixed_on_a_later_day": resolved_later,
    }


# -- measuring ----------------------------------------------------------------------------------
def measure(meta: dict[str, Any], args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    day0 = dt.datetime.fromisoformat(meta["day0"])
    days = meta["days"]
    db = workdir / "store.db"
    shutil.copyfile(meta["db"], db)  # the cached store stays as built
    home = workdir / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PHIWATCH_"))}
    env.update(PHIWATCH_DB=f"sqlite:///{db}", PHIWATCH_HOME=str(home), COLUMNS="200")
    period = ["--from", day0.date().isoformat(), "--to", (day0 + days * DAY).date().isoformat(), "--policy", meta["policy"]]
    middle = (day0 + (days // 2) * DAY).replace(hour=12, minute=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (day0 + days * DAY).replace(hour=23, minute=59, second=59).strftime("%Y-%m-%dT%H:%M:%SZ")
    pdf, html, pack = workdir / "report.pdf", workdir / "report.html", workdir / "pack.zip"
    report_target = f"< {REPORT_SECONDS:g} s, < {REPORT_MIB:g} MiB"
    commands = [
        ("report -f pdf", ["report", "-f", "pdf", "-o", str(pdf), *period], pdf, report_target),
        ("report -f html", ["report", "-f", "html", "-o", str(html), *period], html, report_target),
        ("evidence pack", ["evidence", "pack", "-o", str(pack), *period], pack, report_target),
        ("evidence verify", ["evidence", "verify", str(pack)], None, ""),
        (f"findings --at {middle} --json", ["findings", "--at", middle, "--json"], None, f"< {AT_SECONDS:g} s"),
        (f"findings --at {end}", ["findings", "--at", end], None, f"< {AT_SECONDS:g} s"),
    ]
    rows = []
    for label, argv, output, target in commands:
        runs = []
        for _ in range(args.repeat):
            if output is not None:
                output.unlink(missing_ok=True)  # the pack refuses to overwrite a file
            load = round(os.getloadavg()[0], 2)
            measured = run_measured(phiwatch_command() + argv, env, args.timeout)
            measured["load_before"] = load
            runs.append(measured)
        best = sorted(runs, key=lambda r: r["wall_seconds"])[len(runs) // 2]  # the median run
        size = output.stat().st_size if output is not None and output.exists() else len(best["stdout"].encode())
        row = {
            "command": label,
            "argv": "phiwatch " + " ".join(argv),
            "wall_seconds": best["wall_seconds"],
            "wall_seconds_all": [r["wall_seconds"] for r in runs],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "cpu_seconds": best["cpu_seconds"],
            "output_bytes": size,
            "exit_code": best["exit_code"],
            "load_before": [r["load_before"] for r in runs],
            "target": target,
        }
        if label.startswith("findings") and "--json" in argv and best["exit_code"] == 0:
            row["findings"] = len(json.loads(best["stdout"]))
        if best["exit_code"] != 0:
            row["stderr_tail"] = best["stderr"][-2000:]
        elif best["stderr"].strip():
            row["stderr"] = best["stderr"].strip()[-500:]
        row["met"] = _met(row)
        rows.append(row)
        log(
            f"size {meta['size']}: {label}: {row['wall_seconds']} s, {row['peak_rss_mib']} MiB, {_size(size)}, exit {row['exit_code']}"
            + (f" ({row['met']})" if target else "")
        )
    return rows


def _met(row: dict[str, Any]) -> str:
    if row["exit_code"] != 0:
        return "FAILED"
    if row["command"].startswith(("report", "evidence pack")):
        time_ok, memory_ok = row["wall_seconds"] < REPORT_SECONDS, row["peak_rss_mib"] < REPORT_MIB
        if time_ok and memory_ok:
            return "yes"
        return f"time {'yes' if time_ok else '**no**'}, memory {'yes' if memory_ok else '**no**'}"
    if row["command"].startswith("findings"):
        return "yes" if row["wall_seconds"] < AT_SECONDS else "**no**"
    return ""


def _n(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB" if n >= 2**10 else f"{n} B"


# -- the report ---------------------------------------------------------------------------------
def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# phiwatch evidence benchmark — {report['started']}",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, moto {m['moto']}, "
        f"SQLAlchemy {m['sqlalchemy']}, commit {m['commit'] or '?'}",
    ]
    for r in report["results"]:
        h = r["history"]
        rows = h["rows"]
        lines += [
            "",
            f"## {r['size']} resources, {h['days']} days",
            "",
            f"History ({'cached, ' if r['cached'] else ''}built {h['built']} at commit {h['build_commit']} in {h['build_seconds']} s): "
            f"{h['seeded']} resources seeded, {h['resources_at_end']} in the store at the end; {rows['versions']:,} versions, "
            f"{rows['evaluation_history']:,} evaluation history rows, {rows['findings']:,} findings with {rows['finding_events']:,} events, "
            f"{rows['remediations']} remediations, {rows['attestations']} attestations; store {h['db_mib']} MiB. "
            f"Findings opened on {h['days_with_openings']} of the {h['days']} later days and were fixed on {h['days_with_fixes']}; "
            f"{h['findings_fixed_on_a_later_day']:,} findings were fixed on a later day than they opened.",
            "",
            build_summary(h),
            "",
            "| command | wall s | peak RSS MiB | CPU s | output | target | met | load avg before |",
            "|---|---:|---:|---:|---:|---|---|---|",
        ]
        for row in r["measured"]:
            extra = f" ({row['findings']:,} findings)" if "findings" in row else ""
            lines.append(
                f"| `{row['command']}` | {row['wall_seconds']} | {row['peak_rss_mib']} | {row['cpu_seconds']} | {_size(row['output_bytes'])}{extra} | "
                f"{row['target'] or '—'} | {row['met'] or '—'} | {', '.join(str(x) for x in row['load_before'])} |"
            )
    return "\n".join(lines) + "\n"


def build_summary(h: dict[str, Any]) -> str:
    """One paragraph on how the history was built: changes per day, what each day's scan took."""
    days = h["per_day"]
    later = [d for d in days if d["day"] > 0]
    targeted = [d for d in later if d["scan"] == "targeted"]
    full = [d for d in later if d["scan"] == "full"]
    changed = [d.get("changed", 0) for d in later]
    low, high = min(changed, default=0), max(changed, default=0)
    errors = sum(sum(d.get("change_errors", {}).values()) for d in later)
    text = (
        f"Build: day 0 is a full scan of the seeded estate, {days[0]['seconds']} s ({days[0]['versions']:,} versions, "
        f"{days[0]['evaluations']:,} evaluations); days 1-{h['days']}: {low if low == high else f'{low}-{high}'} "
        f"resources changed a day through the emulator's APIs ({errors} changes refused by the emulator in all)"
    )
    if targeted:
        text += (
            f", {_n(len(targeted), 'day')} re-collected only the changed resources and evaluated "
            f"({sum(d['seconds'] for d in targeted) / len(targeted):.1f} s a day on average)"
        )
    if full:
        text += f", {_n(len(full), 'day')} ended with a full scan ({', '.join(str(d['seconds']) for d in full)} s)"
    return text + "."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000", help="comma-separated estate sizes (default 5000)")
    parser.add_argument("--days", type=int, default=30, help="days of history after day 0 (default 30)")
    parser.add_argument("--change-percent", type=float, default=3.0, help="share of the resources changed each day (default 3)")
    parser.add_argument("--full-scan-every", type=int, default=10, help="a full scan every N days; 0: only on day 0 (default 10)")
    parser.add_argument("--rebuild", action="store_true", help="build the history again even when a cached one fits")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the cached history of this size even if the code that wrote it changed since"
    )
    parser.add_argument("--build-only", action="store_true", help="build (or find) the history, do not measure")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command; the median is reported (default 1)")
    parser.add_argument("--seed-workers", type=int, default=16, help="seeding threads (default 16)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per seeding or command (default 1800)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory (default bench/results)")
    parser.add_argument("--keep", action="store_true", help="keep the report, pack and store copy (printed at the end)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line("bench/evidence.py", argv),
        "machine": machine(),
        "results": [],
    }
    failed = False
    for size in sizes:
        key = code_key(size, args.days, args)
        meta = None if args.rebuild else cached(size, args.days, None if args.reuse else key)
        was_cached = meta is not None
        if meta is None:
            meta = build_history(size, args.days, args, key)
        else:
            log(f"size {size}: cached history {Path(meta['db']).name} (built {meta['built']} at commit {meta['build_commit']})")
            if meta["key"] != key:
                log(f"size {size}: the code that writes the store changed since that history was built (--reuse)")
        if meta["days_with_openings"] == 0 or meta["days_with_fixes"] == 0:
            log(f"size {size}: the history has no findings opening or being fixed after day 0: check the changes")
            failed = True
        result: dict[str, Any] = {"size": size, "cached": was_cached, "history": meta}
        if not args.build_only:
            workdir = Path(tempfile.mkdtemp(prefix="phiwatch-evidence-bench-"))
            try:
                result["measured"] = measure(meta, args, workdir)
            finally:
                if args.keep:
                    log(f"kept {workdir}")
                else:
                    shutil.rmtree(workdir, ignore_errors=True)
            failed = failed or any(r["exit_code"] != 0 for r in result["measured"])
        report["results"].append(result)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    if not args.build_only:
        text = markdown(report)
        for name in (f"evidence-{stamp}", "evidence-latest"):
            (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
            (out / f"{name}.md").write_text(text)
        print(text)
        log(f"written {out / f'evidence-{stamp}.md'} and .json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
