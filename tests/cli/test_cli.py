"""The command line end to end: real `phiwatch` processes against moto's server.

Exit status contract (see phiwatch.cli): 0 done, 2 bad usage or input, 3 could not run
(credentials, endpoint, store). Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phiwatch.emulator import free_port
from phiwatch.store import Store

BUCKET = "AWS::S3::Bucket"
_SCRIPT = Path(sys.executable).with_name("phiwatch")
# the installed console script (what users run), else the same entry point through -c
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A clean environment: fake credentials, no profile, no ~/.aws, no PHIWATCH_DB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PHIWATCH_"))}
    empty = tmp / "empty-aws-file"
    empty.touch()
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )
    env.update(extra)
    return env


def phiwatch(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*PHIWATCH, *args], env=env, capture_output=True, text=True, timeout=timeout)


def stderr_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def assert_one_line_error(proc: subprocess.CompletedProcess, status: int, *fragments: str) -> None:
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = stderr_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# -- the normal path --------------------------------------------------------------------------


def test_collect_inventory_history_show(aws_env, tmp_path):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-phi-prod")
    s3.put_bucket_tagging(
        Bucket="bucket-phi-prod",
        Tagging={"TagSet": [{"Key": "PHI", "Value": "Yes"}, {"Key": "Environment", "Value": "PROD"}]},
    )
    s3.create_bucket(Bucket="bucket-public-site")
    s3.put_bucket_tagging(Bucket="bucket-public-site", Tagging={"TagSet": [{"Key": "PHI", "Value": "No"}]})
    env = cli_env(tmp_path)
    db = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    where = ["--endpoint-url", aws_env.endpoint, "--region", "us-east-1", "--service", "s3"]

    first = phiwatch("collect", *where, *db, "--json", env=env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["account_id"] == "123456789012"
    assert summary["types"][BUCKET] == 2
    assert summary["errors"] == []
    assert summary["created"] == summary["seen"] >= 3  # two buckets and the account item

    inventory = phiwatch("inventory", "--type", BUCKET, "--tag", "PHI=Yes", "--json", *db, env=env)
    assert inventory.returncode == 0, inventory.stderr
    rows = json.loads(inventory.stdout)
    assert [r["resource_id"] for r in rows] == ["bucket-phi-prod"]
    assert rows[0]["arn"] == "arn:aws:s3:::bucket-phi-prod"
    assert rows[0]["tags"] == {"PHI": "Yes", "Environment": "PROD"}
    assert rows[0]["status"] == "OK" and rows[0]["version"] == 1
    any_phi = json.loads(phiwatch("inventory", "--type", BUCKET, "--tag", "PHI=*", "--json", *db, env=env).stdout)
    assert sorted(r["resource_id"] for r in any_phi) == ["bucket-phi-prod", "bucket-public-site"]

    s3.put_bucket_versioning(Bucket="bucket-phi-prod", VersioningConfiguration={"Status": "Enabled"})
    second = phiwatch("collect", *where, *db, env=env)  # human output this time
    assert second.returncode == 0, second.stderr
    assert "1 changed" in second.stdout

    history = phiwatch("history", "bucket-phi-prod", *db, env=env)
    assert history.returncode == 0, history.stderr
    lines = [line.strip() for line in history.stdout.splitlines()]
    assert lines[0] == "AWS::S3::Bucket arn:aws:s3:::bucket-phi-prod (us-east-1)"
    assert any(line.startswith("v1 ") and " created " in line for line in lines)
    assert any(line.startswith("v2 ") and " changed " in line for line in lines)
    # the diff is one line whatever the width of the (non-)terminal
    assert "supplementaryConfiguration.BucketVersioningConfiguration.status: Off -> Enabled" in lines

    timeline = json.loads(phiwatch("history", "bucket-phi-prod", "--json", *db, env=env).stdout)
    v1, v2 = timeline["versions"]
    assert v2["changes"][0]["path"] == "supplementaryConfiguration.BucketVersioningConfiguration.status"

    # as it was at v1's capture time, and at v2's
    then = phiwatch("show", "bucket-phi-prod", "--at", v1["capture_time"], *db, env=env)
    assert then.returncode == 0, then.stderr
    item = json.loads(then.stdout)
    assert item["resourceType"] == BUCKET and item["resourceId"] == "bucket-phi-prod"
    assert item["configurationStateId"] == v1["configurationStateId"]
    assert item["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"] == "Off"
    now = json.loads(phiwatch("show", "arn:aws:s3:::bucket-phi-prod", "--at", v2["capture_time"], *db, env=env).stdout)
    assert now["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"] == "Enabled"
    latest = json.loads(phiwatch("show", "bucket-phi-prod", *db, env=env).stdout)
    assert latest["configurationStateId"] == v2["configurationStateId"]

    # before the first version: a clear message, exit 2
    before = phiwatch("show", "bucket-phi-prod", "--at", "2000-01-01T00:00:00Z", *db, env=env)
    assert_one_line_error(before, 2, "was not yet recorded", "phiwatch history bucket-phi-prod")
    assert before.stdout == ""


def _commands() -> list[list[str]]:
    """Every command and sub-command path of the CLI (including ones other modules register)."""
    import typer.main

    from phiwatch.cli import app

    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def test_help_of_every_command_exits_0(tmp_path):
    commands = _commands()
    assert {"collect", "inventory", "history", "show", "demo", "emulator"} <= {c[0] for c in commands if c}
    env = cli_env(tmp_path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda path: (path, phiwatch(*path, "--help", env=env)), commands))
    for path, proc in results:
        assert proc.returncode == 0, (path, proc.stderr)
        assert "Usage:" in proc.stdout, path
        assert proc.stderr == "", (path, proc.stderr)
    version = phiwatch("--version", env=env)
    assert version.returncode == 0 and version.stdout.startswith("phiwatch ")


# -- bad input and faults -------------------------------------------------------------------------


class _NotAws(http.server.BaseHTTPRequestHandler):
    """A web server that is not AWS: 404 with an empty body to everything."""

    def _answer(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *_: Any) -> None:
        pass


@dataclass
class Case:
    args: list[str]
    status: int
    fragments: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    one_line: bool = True  # click's own usage errors print a usage block
    max_seconds: float = 60


def _closed_port() -> int:
    port = free_port()
    with socket.socket() as s:  # nothing listens there: connect() is refused at once
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return port


@pytest.fixture(scope="module")
def fault_runs(emulator, tmp_path_factory) -> dict[str, tuple[Case, subprocess.CompletedProcess, float]]:
    """Run every bad-input case at once (separate processes) and keep their outcomes."""
    tmp = tmp_path_factory.mktemp("cli-faults")
    env = cli_env(tmp)
    endpoint = ["--endpoint-url", emulator.endpoint, "--region", "us-east-1", "--service", "s3"]
    good_db = f"sqlite:///{tmp / 'good.db'}"
    Store(good_db).close()  # an existing, empty store (read commands never create one)

    # no credentials anywhere: empty env, empty config files, no instance metadata
    bare = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    bare.update(
        AWS_CONFIG_FILE=env["AWS_CONFIG_FILE"],
        AWS_SHARED_CREDENTIALS_FILE=env["AWS_SHARED_CREDENTIALS_FILE"],
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
        HOME=str(tmp),
    )
    (tmp / "a-file").write_text("not a directory")
    (tmp / "a-directory.db").mkdir()
    (tmp / "garbage.db").write_bytes(b"this is not a SQLite database, just text " * 4)
    newer = tmp / "newer.db"
    Store(f"sqlite:///{newer}").close()
    with sqlite3.connect(newer) as con:
        con.execute("update alembic_version set version_num = '9999_from_the_future'")

    not_aws = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAws)
    threading.Thread(target=not_aws.serve_forever, daemon=True).start()

    cases = {
        "no-credentials": Case(["collect", "--region", "us-east-1", "--db", good_db], 3, ("no AWS credentials found",), env=bare),
        "unreachable-endpoint": Case(
            ["collect", "--endpoint-url", f"http://127.0.0.1:{_closed_port()}", "--region", "us-east-1", "--db", good_db],
            3,
            ("cannot reach endpoint http://127.0.0.1:",),
            max_seconds=40,
        ),
        "endpoint-not-aws": Case(
            ["collect", "--endpoint-url", f"http://127.0.0.1:{not_aws.server_address[1]}", "--region", "us-east-1", "--db", good_db],
            3,
            ("did not answer like AWS",),
            max_seconds=40,
        ),
        "unknown-region": Case(["collect", *endpoint[:2], "--region", "mars-1", "--db", good_db], 2, ("unknown region 'mars-1'",)),
        "unknown-service": Case(["collect", *endpoint[:4], "--service", "nope", "--db", good_db], 2, ("unknown service 'nope'", "s3")),
        "store-in-proc": Case(["collect", *endpoint, "--db", "sqlite:////proc/nope/x.db"], 3, ("cannot open the store",)),
        "store-under-a-file": Case(["collect", *endpoint, "--db", f"sqlite:///{tmp / 'a-file' / 'x.db'}"], 3, ("cannot open the store",)),
        "store-is-a-directory": Case(["collect", *endpoint, "--db", f"sqlite:///{tmp / 'a-directory.db'}"], 3, ("cannot open the store",)),
        "store-not-a-database": Case(["inventory", "--db", f"sqlite:///{tmp / 'garbage.db'}"], 3, ("file is not a database",)),
        "store-from-newer-phiwatch": Case(["inventory", "--db", f"sqlite:///{newer}"], 3, ("newer phiwatch",)),
        "store-url-malformed": Case(["inventory", "--db", "not a url"], 2, ("not a store URL",)),
        "store-url-unknown-kind": Case(["inventory", "--db", "nosuchdb://host/x"], 2, ("not a store URL nosuchdb://host/x",)),
        "store-password-hidden": Case(
            ["inventory", "--db", f"postgresql+psycopg://phi:s3cr3t-pw@127.0.0.1:{_closed_port()}/phiwatch"],
            3,
            ("cannot open the store", "***"),
        ),
        "bad-tag": Case(["inventory", "--tag", "PHI", "--db", good_db], 2, ("--tag takes KEY=VALUE",)),
        "bad-tag-empty-key": Case(["inventory", "--tag", "=Yes", "--db", good_db], 2, ("--tag takes KEY=VALUE",)),
        "history-unknown": Case(["history", "no-such-bucket", "--db", good_db], 2, ("no resource 'no-such-bucket'",)),
        "show-unknown": Case(["show", "no-such-bucket", "--db", good_db], 2, ("no resource 'no-such-bucket'",)),
        "show-bad-time": Case(["show", "x", "--at", "yesterday-ish", "--db", good_db], 2, ("not a time: 'yesterday-ish'",)),
        "unknown-option": Case(["collect", "--no-such-option"], 2, one_line=False),
        "bad-workers": Case(["collect", "--workers", "0", "--db", good_db], 2, one_line=False),
    }

    def run(case: Case) -> tuple[subprocess.CompletedProcess, float]:
        t0 = time.monotonic()
        proc = subprocess.run([*PHIWATCH, *case.args], env=case.env or env, capture_output=True, text=True, timeout=120)
        return proc, time.monotonic() - t0

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            outcomes = dict(zip(cases, pool.map(run, cases.values())))
    finally:
        not_aws.shutdown()
    return {name: (cases[name], *outcomes[name]) for name in cases}


FAULT_CASES = [
    "no-credentials",
    "unreachable-endpoint",
    "endpoint-not-aws",
    "unknown-region",
    "unknown-service",
    "store-in-proc",
    "store-under-a-file",
    "store-is-a-directory",
    "store-not-a-database",
    "store-from-newer-phiwatch",
    "store-url-malformed",
    "store-url-unknown-kind",
    "store-password-hidden",
    "bad-tag",
    "bad-tag-empty-key",
    "history-unknown",
    "show-unknown",
    "show-bad-time",
    "unknown-option",
    "bad-workers",
]


@pytest.mark.parametrize("name", FAULT_CASES)
def test_bad_input_and_faults_exit_with_one_clear_line(fault_runs, name):
    case, proc, seconds = fault_runs[name]
    if case.one_line:
        assert_one_line_error(proc, case.status, *case.fragments)
    else:
        assert proc.returncode == case.status, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "Usage:" in proc.stderr
    assert seconds < case.max_seconds, f"{name} took {seconds:.1f}s"
    assert "s3cr3t-pw" not in proc.stderr + proc.stdout


def test_fault_cases_are_all_checked(fault_runs):
    assert sorted(fault_runs) == sorted(FAULT_CASES)


def test_store_failing_after_it_opened_is_one_line_exit_3(tmp_path, monkeypatch, capsys):
    """A database error in the middle of a command (locked, disk full, connection lost)."""
    from sqlalchemy.exc import OperationalError

    from phiwatch import cli
    from phiwatch.store.db import Store

    def locked(*_: Any, **__: Any) -> Any:
        raise OperationalError("SELECT resources", {}, Exception("database is locked\nsecond line"))

    Store(f"sqlite:///{tmp_path / 'x.db'}").close()
    monkeypatch.setattr(Store, "inventory", locked)
    monkeypatch.setattr(sys, "argv", ["phiwatch", "inventory", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["error: the store failed: OperationalError: (builtins.Exception) database is locked"]


# -- read commands never create a store ---------------------------------------------------------

READ_COMMANDS = [
    ["inventory"],
    ["findings"],
    ["history", "x"],
    ["show", "x"],
    ["notifications"],
    ["remediate"],
    ["audit", "verify"],
    ["audit", "show"],
    ["evaluate"],
    ["scan", "--no-collect"],
    ["notify", "send"],
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: "-".join(a))
def test_read_command_on_a_missing_store_says_so_and_creates_nothing(tmp_path, args):
    typo = tmp_path / "no-such-dir" / "typo.db"
    proc = phiwatch(*args, "--db", f"sqlite:///{typo}", env=cli_env(tmp_path))
    assert_one_line_error(proc, 3, f"no store at {typo}", "phiwatch scan")
    assert "0 findings" not in proc.stdout and proc.stdout.strip() == ""
    assert not typo.exists() and not typo.parent.exists()


def test_read_command_on_a_database_without_phiwatch_tables_says_so(tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a SQLite file, but nothing phiwatch wrote
    proc = phiwatch("findings", "--db", f"sqlite:///{empty}", env=cli_env(tmp_path))
    assert_one_line_error(proc, 3, "holds no phiwatch store")
    with sqlite3.connect(empty) as con:  # and it was left as it was: no tables created
        assert con.execute("select count(*) from sqlite_master").fetchone()[0] == 0


def test_default_store_missing_is_an_error_for_reads_and_created_by_writes(tmp_path, emulator):
    env = cli_env(tmp_path, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    proc = phiwatch("findings", env=env)
    assert_one_line_error(proc, 3, "no store at", "phiwatch scan")
    assert not (tmp_path / "data").exists()
    collect = phiwatch("collect", "--endpoint-url", emulator.endpoint, "--region", "us-east-1", "--service", "kms", "--json", env=env)
    assert collect.returncode == 0, collect.stderr
    assert (tmp_path / "data" / "phiwatch" / "phiwatch.db").is_file()
    assert phiwatch("findings", env=env).returncode == 0


def test_watch_setup_takes_the_store_like_every_command(aws_env, tmp_path):
    env = cli_env(tmp_path)
    db = tmp_path / "watch.db"
    plan = phiwatch("watch", "setup", "--endpoint-url", aws_env.endpoint, "--db", f"sqlite:///{db}", "--dry-run", env=env)
    assert plan.returncode == 0, plan.stderr
    assert not db.exists()  # a dry run creates nothing, the store included
    done = phiwatch("watch", "setup", "--endpoint-url", aws_env.endpoint, "--db", f"sqlite:///{db}", env=env)
    assert done.returncode == 0, done.stderr
    assert db.exists() and f"store: sqlite:///{db}" in done.stdout.replace("\n", "")
    assert "phiwatch watch --db URL --queue-url" in done.stdout.replace("\n", " ")
    Store(f"sqlite:///{db}", create=False).close()  # a real store, ready for `phiwatch watch`
    bad = phiwatch("watch", "setup", "--endpoint-url", aws_env.endpoint, "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", env=env)
    assert_one_line_error(bad, 3, "cannot open the store")


def test_collect_reports_retries_and_takes_the_retry_options(aws_env, tmp_path):
    env = cli_env(tmp_path)
    aws_env.client("s3").create_bucket(Bucket="retry-options")
    db = f"sqlite:///{tmp_path / 'retries.db'}"
    done = phiwatch(
        "collect",
        "--endpoint-url",
        aws_env.endpoint,
        "--db",
        db,
        "-s",
        "s3",
        "--json",
        "--max-attempts",
        "2",
        "--retry-budget",
        "7",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    retries = json.loads(done.stdout)["retries"]
    assert retries["budget"] == 7 and retries["budget_left"] == 7 and retries["retries"] == 0 and retries["apis"] == []
    bad = phiwatch("collect", "--endpoint-url", aws_env.endpoint, "--db", db, "--retry-budget", "-1", env=env)
    assert bad.returncode == 2 and "--retry-budget" in bad.stderr


def test_workers_bound_requests_in_flight_and_verbose_names_the_slowest_tasks(aws_env, tmp_path):
    env = cli_env(tmp_path)
    aws_env.client("s3").create_bucket(Bucket="workers-bucket")
    db = ["--db", f"sqlite:///{tmp_path / 'w.db'}"]
    where = ["--endpoint-url", aws_env.endpoint, "--region", "us-east-1"]
    collected = phiwatch("collect", *where, *db, "--service", "s3", "--service", "sns", "--workers", "3", "--json", env=env)
    assert collected.returncode == 0, collected.stderr
    data = json.loads(collected.stdout)
    assert data["workers"] == 3
    assert {(t["service"], t["region"]) for t in data["tasks"]} == {("s3", "global"), ("sns", "us-east-1")}
    assert sum(t["requests"] for t in data["tasks"]) == data["requests"]
    scanned = phiwatch("--verbose", "scan", *where, *db, "-s", "s3", "--workers", "2", env=env)
    assert scanned.returncode == 0, scanned.stderr
    assert "slowest tasks: s3 global" in scanned.stdout.replace("\n", " ")
    assert phiwatch("collect", *where, *db, "--workers", "0", env=env).returncode == 2
