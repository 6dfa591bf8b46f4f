"""Evidence end to end: real scans of the emulator over simulated days (the store's clock set, no
sleeping), then `phiwatch report`, `attest`, `findings --at` and `evidence pack|verify` run as
the user runs them, in a subprocess. The estate carries PHI-looking values in a bucket name, tag
values and a Lambda function's environment: none of them may reach a report or a pack."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from browser import CHROMIUM, open_checked
from conftest import AwsEnv
from phiwatch.model import clock
from phiwatch.policy import parse_policy
from phiwatch.scan import run_scan
from phiwatch.store import Store

DAY = dt.timedelta(days=1)
# the history's first day: ten days ago, so every later day is in the past for the subprocesses
T0 = (dt.datetime.now(dt.UTC) - 10 * DAY).replace(hour=9, minute=0, second=0, microsecond=0)

PHI_BUCKET = "claims-123-45-6789"  # an SSN in a resource name
PHI_VALUES = ("123-45-6789", "Jane Quincy Public", "MRN-0012345", "987-65-4321", "s3cr3t-db-pa55")
POLICY = "packs: [hipaa]\nremediation:\n  mode: dry-run\n"

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")


def cli(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "phiwatch.cli", *args], env=env, capture_output=True, text=True, timeout=300, **kw)


def seed(aws_env) -> None:
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket=PHI_BUCKET)
    s3.put_bucket_tagging(
        Bucket=PHI_BUCKET,
        Tagging={"TagSet": [{"Key": "PatientName", "Value": "Jane Quincy Public"}, {"Key": "PatientMRN", "Value": "MRN-0012345"}]},
    )
    s3.create_bucket(Bucket="audit-logs")
    s3.put_bucket_acl(Bucket="audit-logs", ACL="log-delivery-write")
    iam = aws_env.client("iam")
    role = iam.create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    aws_env.client("lambda").create_function(
        FunctionName="intake",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": {"PATIENT_SSN": "987-65-4321", "DB_PASSWORD": "s3cr3t-db-pa55", "LOG_LEVEL": "INFO"}},
    )


@pytest.fixture(scope="module")
def scanned(emulator, tmp_path_factory) -> Path:
    """The store of real scans over simulated days, built once for the module: day 0 scan; day 2
    the PHI bucket gets access logging (a finding fixed) and a scan; scans on days 4 and 6."""
    emulator.reset()
    aws_env = AwsEnv(emulator)
    seed(aws_env)
    path = tmp_path_factory.mktemp("history") / "evidence.db"
    store = Store(f"sqlite:///{path}")
    policy = parse_policy(POLICY)
    aws = aws_env.context()
    s3 = aws_env.client("s3")
    for offset in (0, 2, 4, 6):
        when = T0 + offset * DAY
        if offset == 2:
            s3.put_bucket_logging(
                Bucket=PHI_BUCKET, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "audit-logs", "TargetPrefix": "claims/"}}
            )
        with clock(lambda when=when: when):
            run_scan(aws, store, policy, services=["s3", "lambda"], now=when)
    store.close()
    return path


@pytest.fixture
def history(scanned, tmp_path):
    """A copy of the scanned store for one test, with its own data directory (evidence key)."""
    path = tmp_path / "evidence.db"
    shutil.copyfile(scanned, path)
    db = f"sqlite:///{path}"
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    env = dict(os.environ, PHIWATCH_DB=db, PHIWATCH_HOME=str(tmp_path / "home"), COLUMNS="200")
    return {"db": db, "env": env, "policy": policy_file, "tmp": tmp_path}


def logging_finding(env: dict[str, str], at: dt.datetime, status: str = "open") -> list[dict]:
    out = cli(["findings", "--json", "--at", at.isoformat(), "--status", status, "--rule", "s3-bucket-logging-enabled"], env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_findings_at_answers_from_history(history):
    env = history["env"]
    before = logging_finding(env, T0 + DAY)
    assert any(f["resource_id"] == PHI_BUCKET for f in before)  # open on day 1
    after = logging_finding(env, T0 + 3 * DAY)
    assert not any(f["resource_id"] == PHI_BUCKET for f in after)  # fixed on day 2
    resolved = logging_finding(env, T0 + 3 * DAY, status="resolved")
    assert [f["resolved_at"][:10] for f in resolved if f["resource_id"] == PHI_BUCKET] == [str((T0 + 2 * DAY).date())]
    assert logging_finding(env, T0 - DAY) == []  # before the history
    capped = cli(["findings", "--limit", "1", "--at", (T0 + 5 * DAY).isoformat()], env)
    assert capped.returncode == 0 and "more (the oldest opened are shown)" in " ".join(capped.stdout.split())
    future = cli(["findings", "--at", "2999-01-01"], env)
    assert future.returncode == 2 and "in the future" in future.stderr


def test_report_formats_from_a_real_history(history):
    env, tmp = history["env"], history["tmp"]
    period = ["--from", T0.date().isoformat(), "--to", (T0 + 7 * DAY).isoformat(), "--policy", str(history["policy"])]
    out = cli(["report", "-f", "json", *period], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    summary = data["summary"]
    assert summary["fixed_in_period"] >= 1 and summary["opened_in_period"] >= summary["fixed_in_period"]
    assert summary["mean_time_to_remediate_hours"] == pytest.approx(48.0, abs=0.1) or summary["mean_time_to_remediate_hours"] > 0
    assert len(summary["trend"]) == 8  # one point per day of the period
    parts = {p["citation"]: p for p in data["parts"]}
    assert list(parts) == ["164.308", "164.310", "164.312", "164.314", "164.316"]
    specs = {s["citation"]: s for p in data["parts"] for st in p["standards"] for s in st["specifications"]}
    audit = specs["164.312(b)"]
    assert any(r["rule_id"] == "s3-bucket-logging-enabled" for r in audit["rules"])
    assert specs["164.308(a)(1)(ii)(A)"]["status"] == "attestation_needed"  # risk analysis: no AWS data proves it
    assert specs["164.310(a)(2)(i)"]["status"] == "covered_by_aws"

    # a section alone, Markdown to standard output
    md = cli(["report", "--section", "164.312(b)", *period], env)
    assert md.returncode == 0, md.stderr
    assert "164.312(b)" in md.stdout and "164.308(a)(1)" not in md.stdout

    bad = cli(["report", "--section", "164.999(z)", *period], env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    both = cli(["report", "--at", "2026-01-01", "--from", "2026-01-01"], env)
    assert both.returncode == 2 and "--at" in both.stderr
    assert cli(["report", "-f", "pdf"], env).returncode == 2  # a PDF needs -o

    html_file = tmp / "report.html"
    assert cli(["report", "-o", str(html_file), *period], env).returncode == 0
    page = html_file.read_text()
    assert "164.316(b)(2)(iii)" in page and "<script" not in page.lower()
    if CHROMIUM is not None:  # the real report in a real browser: every section there, no broken image
        check, text = open_checked(page, tmp)
        assert check["broken"] == [] and check["images"] >= 2 and check["scripts"] == 1
        for citation in specs:
            assert f"§ {citation} " in text, citation
        for value in PHI_VALUES:
            assert value not in text


def test_attestation_shows_in_the_report_and_stops_standing_when_tampered(history):
    env = history["env"]
    evidence = history["tmp"] / "risk-analysis-2026.txt"
    evidence.write_text("Risk analysis approved by the board.")
    made = cli(
        [
            "attest",
            "164.308(a)(1)(ii)(A)",
            "--by",
            "Dana Reyes, Security Officer",
            "--statement",
            "The 2026 risk analysis is done.",
            "--evidence",
            str(evidence),
        ],
        env,
    )
    assert made.returncode == 0, made.stderr
    listed = json.loads(cli(["attestations", "--json"], env).stdout)
    assert [(a["section"], a["signature_valid"], a["standing"]) for a in listed] == [("164.308(a)(1)(ii)(A)", True, True)]
    data = json.loads(cli(["report", "-f", "json"], env).stdout)
    spec = next(s for p in data["parts"] for st in p["standards"] for s in st["specifications"] if s["citation"] == "164.308(a)(1)(ii)(A)")
    assert spec["status"] == "attested"
    assert spec["attestations"][0]["by"] == "Dana Reyes, Security Officer" and spec["attestations"][0]["signature_valid"] is True

    # edit the statement in the database: the signature no longer verifies, and the report says so
    import sqlalchemy as sa

    engine = sa.create_engine(history["db"])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE attestations SET statement = 'The risk analysis was skipped.'"))
    engine.dispose()
    data = json.loads(cli(["report", "-f", "json"], env).stdout)
    spec = next(s for p in data["parts"] for st in p["standards"] for s in st["specifications"] if s["citation"] == "164.308(a)(1)(ii)(A)")
    assert spec["status"] == "attestation_needed" and spec["attestations"][0]["signature_valid"] is False

    revoked = cli(["attestations", "--revoke", listed[0]["id"][:8], "--json"], env)
    assert revoked.returncode == 0, revoked.stderr
    (after,) = json.loads(revoked.stdout)
    assert after["standing"] is False and after["revoked_at"]
    assert cli(["attestations", "--revoke", listed[0]["id"]], env).returncode == 2  # already revoked

    assert cli(["attest", "164.999", "--by", "x", "--statement", "y"], env).returncode == 2
    assert cli(["attest", "164.308(a)(1)(ii)(A)", "--by", " ", "--statement", "y"], env).returncode == 2


def _unpacked_texts(folder: Path) -> dict[str, str]:
    texts = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".pdf":
            texts[rel] = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
        else:
            texts[rel] = path.read_bytes().decode("utf-8", "replace")
    return texts


@needs_poppler
def test_evidence_pack_verifies_names_a_changed_file_and_leaks_no_phi(history):
    env, tmp = history["env"], history["tmp"]
    pack = tmp / "q.zip"
    made = cli(
        [
            "evidence",
            "pack",
            "--from",
            T0.date().isoformat(),
            "--to",
            (T0 + 7 * DAY).isoformat(),
            "--policy",
            str(history["policy"]),
            "-o",
            str(pack),
        ],
        env,
    )
    assert made.returncode == 0, made.stderr
    ok = cli(["evidence", "verify", str(pack)], env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "signed by this machine's evidence key" in ok.stdout

    folder = tmp / "unpacked"
    with zipfile.ZipFile(pack) as z:
        names = set(z.namelist())
        z.extractall(folder)
    assert {"README.md", "report/report.pdf", "report/report.html", "manifest.json", "SHA256SUMS", "public_key.pem"} <= names
    assert any(n.startswith("resources/AWS-S3-Bucket/") for n in names)

    # the PHI bucket's history: the logging change on day 2 is in its timeline
    index = (folder / "resources/index.csv").read_text()
    bucket_file = next(line.split(",")[-1] for line in index.splitlines() if "claims-[masked]" in line)
    evidence = json.loads((folder / bucket_file).read_text())
    changed = [c for v in evidence["changes_in_period"] if isinstance(v["changes"], list) for c in v["changes"]]
    assert any("BucketLoggingConfiguration" in c["path"] for c in changed)
    item = evidence["configuration_item_at_end"]
    assert item["tags"]["PatientName"] == "[redacted]"

    # the independent check an auditor runs without phiwatch
    commands = [line for line in (folder / "README.md").read_text().splitlines() if line.startswith(("openssl ", "sha256sum "))]
    assert len(commands) == 2
    for command in commands:
        assert subprocess.run(command, shell=True, cwd=folder, capture_output=True).returncode == 0, command

    # nothing PHI-looking anywhere: reports (the PDF's text too), data, configuration items, the log
    for rel, text in _unpacked_texts(folder).items():
        for value in PHI_VALUES:
            assert value not in text, f"{value!r} in {rel}"

    # one changed byte in the PDF of an unpacked copy: verify names it and exits 1
    target = folder / "report/report.pdf"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    bad = cli(["evidence", "verify", str(folder), "--json"], env)
    assert bad.returncode == 1
    problems = json.loads(bad.stdout)["problems"]
    assert [(p["path"], p["kind"]) for p in problems] == [("report/report.pdf", "altered")]
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=folder, capture_output=True).returncode != 0

    # a pack must be signed by the key the auditor was given
    other = tmp / "other.pem"
    from phiwatch.evidence.signing import LocalSigner

    other.write_bytes(LocalSigner.generate().public_key_pem())
    untrusted = cli(["evidence", "verify", str(pack), "--public-key", str(other), "--json"], env)
    assert untrusted.returncode == 1
    assert "untrusted-key" in {p["kind"] for p in json.loads(untrusted.stdout)["problems"]}


def test_a_kms_key_that_cannot_sign_is_a_clear_error(history, aws_env):
    key = aws_env.client("kms").create_key(KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    env = dict(history["env"], AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    out = cli(
        [
            "evidence",
            "pack",
            "--at",
            (T0 + 3 * DAY).isoformat(),
            "-o",
            str(history["tmp"] / "kms.zip"),
            "--kms-key-id",
            key,
            "--endpoint-url",
            aws_env.endpoint,
        ],
        env,
    )
    assert out.returncode == 2, out.stderr
    assert "SIGN_VERIFY" in out.stderr and "Traceback" not in out.stderr
    assert not (history["tmp"] / "kms.zip").exists()
