"""The embedded local AWS: moto's server on a free loopback port.

The very same phiwatch code paths run against it and against a real account: only the
endpoint URL and the (fake) credentials differ.
"""

from __future__ import annotations

import os
import socket
import urllib.request
from typing import Any

# Keep moto's ~1,300 public AMIs and snapshots out of the estate (faster start, cleaner inventory).
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

import boto3  # noqa: E402

from phiwatch import emulator_apis  # noqa: E402
from phiwatch.aws.session import make_client  # noqa: E402
from phiwatch.errors import CannotRunError  # noqa: E402

EMULATOR_ACCOUNT = "123456789012"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class Emulator:
    """moto's ThreadedMotoServer bound to loopback (a free port unless one is given)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None

    def start(self) -> Emulator:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # pragma: no cover - moto[server] is a dependency
            raise CannotRunError("the embedded emulator needs moto[server]: pip install 'moto[server]'") from exc
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        emulator_apis.install()
        try:
            self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
            self._server.start()
        except OSError as exc:
            raise CannotRunError(f"cannot start the emulator on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        self.host, self.port = self._server.get_host_and_port()
        return self

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def session(self, region: str = "us-east-1") -> boto3.Session:
        """A boto3 session with the emulator's fake credentials."""
        return boto3.Session(region_name=region, **FAKE_CREDENTIALS)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return make_client(self.session(region), service, self.endpoint, region)

    def reset(self) -> None:
        """Forget every resource (moto's reset API)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
