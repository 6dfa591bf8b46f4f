"""Shared fixtures: moto's server (end-to-end), stores on SQLite and PostgreSQL.

* ``emulator``: one moto server for the session on a free loopback port; tests that
  use it get a reset estate through ``aws_env``.
* ``store``: a fresh store on SQLite, and on PostgreSQL too when ``PHIWATCH_TEST_PG_URL``
  is set (CI sets it), so every store test runs on both.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# Property tests: a fixed, bounded example count so the suite's time is predictable. "ci" (the
# default) is what `make test` and CI run; PHIWATCH_HYPOTHESIS=deep searches harder when run by
# hand. Examples are derandomized in CI so a failure there reproduces on any machine.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("PHIWATCH_HYPOTHESIS", "ci"))

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
# Never reach a real account from the tests.
for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(var, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_ENDPOINT_URL", None)

from phiwatch.aws.session import AwsContext, make_client  # noqa: E402
from phiwatch.emulator import Emulator  # noqa: E402
from phiwatch.store import Store  # noqa: E402

PG_URL = os.environ.get("PHIWATCH_TEST_PG_URL")


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator().start()
    yield emu
    emu.stop()


class AwsEnv:
    """A reset emulator plus helpers to make boto3 clients and a phiwatch AwsContext."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.endpoint = emu.endpoint
        self.session = emu.session("us-east-1")

    def client(self, service: str, region: str = "us-east-1"):
        return make_client(self.emu.session(region), service, self.endpoint, region)

    def context(self, regions: list[str] | None = None) -> AwsContext:
        return AwsContext(endpoint_url=self.endpoint, regions=regions or ["us-east-1"], session=self.emu.session("us-east-1"))


@pytest.fixture
def aws_env(emulator) -> AwsEnv:
    emulator.reset()
    return AwsEnv(emulator)


def _pg_store_url() -> str:
    """A fresh schema-isolated database for one test (CREATE DATABASE on the server)."""
    import sqlalchemy as sa

    name = f"phiwatch_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(PG_URL).set(database=name)
    return url.render_as_string(hide_password=False)


def _drop_pg(url: str) -> None:
    import sqlalchemy as sa

    name = sa.engine.make_url(url).database
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


STORE_KINDS = ["sqlite"] + (["postgres"] if PG_URL else [])


@pytest.fixture(params=STORE_KINDS)
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'phiwatch.db'}"
        return
    url = _pg_store_url()
    yield url
    _drop_pg(url)


@pytest.fixture
def store(store_url) -> Store:
    s = Store(store_url)
    yield s
    s.close()


@contextlib.contextmanager
def iam_enforcing_moto() -> Iterator[str]:
    """moto's server (with the read APIs the embedded emulator adds) in a child process whose
    requests are checked against IAM policies once POST /moto-api/reset-auth says so: moto counts
    requests and enforces IAM after ``INITIAL_NO_AUTH_ACTION_COUNT`` of them
    (moto/core/authorization.py). Yields the endpoint."""
    from phiwatch.emulator import free_port

    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="1000000", MOTO_EC2_LOAD_DEFAULT_AMIS="false")
    launch = "import sys; from phiwatch import emulator_apis; emulator_apis.install(); from moto.server import main; main(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", launch, "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("moto server with IAM enforcement did not start")
            time.sleep(0.1)
    try:
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def moto_api(endpoint: str, path: str, data: bytes = b"") -> None:
    """POST to moto's own API (``reset``, ``reset-auth`` ...)."""
    req = urllib.request.Request(f"{endpoint}/moto-api/{path}", data=data, method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req, timeout=30).read()
