"""A fault-injecting HTTP proxy in front of an AWS endpoint (moto's server), for ``bench/faults.py``.

phiwatch reaches it through ``--endpoint-url``; it forwards every request to the upstream endpoint
and, per request, with a seeded RNG, answers instead with:

* **throttling**, shaped for the request's protocol so botocore classifies it as throttling (the
  codes in ``botocore/retries/standard.py`` ``ThrottledRetryableChecker`` and ``_retry.json``):

  ==================  ======================================================================
  kind                answer
  ==================  ======================================================================
  ThrottlingException  JSON protocols (``X-Amz-Target``), REST-JSON and RPCv2-CBOR: HTTP 400,
                       ``__type`` / ``x-amzn-ErrorType`` ``ThrottlingException``
  Throttling           query protocol (IAM, STS, SNS, RDS, ELB, ...): HTTP 400 XML
                       ``<ErrorResponse><Error><Code>Throttling``
  RequestLimitExceeded EC2: HTTP 503 ``<Response><Errors><Error><Code>RequestLimitExceeded``
  SlowDown             S3 (and S3 Control): HTTP 503 ``<Error><Code>SlowDown``
  http_429             JSON, REST-JSON, CBOR and query requests: HTTP 429 with the protocol's
                       throttling code (``TooManyRequestsException`` / ``Throttling``)
  ==================  ======================================================================

  (half of the throttles of JSON, REST-JSON, CBOR and query requests are ``http_429``);
* **http_500**: HTTP 500 ``InternalError`` / ``InternalFailure`` in the protocol's shape;
* **reset**: the connection is closed without an answer (RST), before the request is forwarded or,
  for one in two, after it reached the upstream (the call happened, its answer is lost);
* **delay**: the answer is delayed by ``delay_seconds`` (2 s by default).

**Latency** (``Rates.latency_seconds``, ``--latency-ms``) is not a fault: every signed request is
held that long before it is forwarded, so a loopback emulator answers with AWS-like round trips
(``bench/peers.py`` uses the proxy this way, with no faults). The proxy also keeps how many
requests were in flight at once (``max_in_flight``), the summed time requests spent in it
(``request_seconds``: divided by a run's wall time, the client's effective concurrency) and when
each service was first and last called (``spans``).

Every injected fault is counted by kind (``FaultProxy.injected``); every request by service,
operation and whether it reads or writes (``FaultProxy.requests``).

**Trips** stop a client at a known point: a :class:`Trip` names which requests it counts (reads,
writes, a service, an operation) and the Nth one to stop at. When the Nth matching request arrives,
the proxy calls the trip's callback (``bench/faults.py`` kills the phiwatch process with SIGKILL
there) while the client is blocked waiting for the answer, before forwarding the request or after
it reached the upstream, and then drops the connection. Only requests signed for AWS are counted or
faulted (moto's own ``/moto-api`` is passed through).

Standalone, for experiments by hand::

    .venv/bin/python bench/faultproxy.py --upstream http://127.0.0.1:5000 --throttle 0.05 --seed 7

Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: operations that only read, by name (JSON, query, EC2 and CBOR protocols)
READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "Search", "BatchGet", "Head", "Check", "Select", "Generate")
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
#: REST APIs that read with POST (OpenSearch/Elasticsearch DescribeDomains)
_REST_READ_POSTS = re.compile(r"/domain-info$")
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


@dataclass
class Rates:
    """Share of requests answered with each fault (0..1). Throttling covers all throttling kinds."""

    throttle: float = 0.0
    error500: float = 0.0
    reset: float = 0.0
    delay: float = 0.0
    delay_seconds: float = 2.0
    #: seconds added to every signed request (a round trip), independently of the faults
    latency_seconds: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.throttle or self.error500 or self.reset or self.delay)


@dataclass
class RequestInfo:
    """What the proxy knows about one request."""

    method: str
    path: str
    service: str
    region: str
    protocol: str  # json | query | ec2 | rest-xml | rest-json | cbor
    operation: str
    write: bool


@dataclass
class Trip:
    """Stop the client at the ``nth`` request that ``match`` accepts: call ``fire`` (which kills the
    client) ``before`` forwarding it, or ``after`` it reached the upstream, then drop the connection."""

    match: Callable[[RequestInfo], bool]
    nth: int
    fire: Callable[[RequestInfo], None]
    when: str = "before"  # before | after
    label: str = ""
    seen: int = 0
    fired: threading.Event = field(default_factory=threading.Event)
    fired_on: RequestInfo | None = None


# -- request classification -------------------------------------------------------------------
def classify(method: str, path: str, headers: Any, body: bytes) -> RequestInfo | None:
    """Service, protocol, operation and read/write of a signed AWS request; None when unsigned."""
    auth = headers.get("Authorization", "")
    m = _CREDENTIAL.search(auth)
    if not m:
        return None
    region, service = m.group(1), m.group(2)
    target = headers.get("X-Amz-Target")
    split = urlsplit(path)
    if target:
        protocol, operation = "json", target.rsplit(".", 1)[-1]
    elif headers.get("smithy-protocol", "").lower() == "rpc-v2-cbor":
        protocol, operation = "cbor", split.path.rsplit("/", 1)[-1]
    elif service == "s3":
        protocol, operation = "rest-xml", f"{method} {split.path.split('/')[1] if split.path.count('/') else ''}"
    else:
        params = parse_qs(split.query)
        ctype = headers.get("Content-Type", "")
        if "x-www-form-urlencoded" in ctype and body:
            params.update(parse_qs(body.decode("utf-8", "replace")))
        action = (params.get("Action") or [None])[0]
        if action:
            protocol, operation = ("ec2" if service == "ec2" else "query"), action
        else:
            protocol, operation = "rest-json", f"{method} {split.path}"
    if protocol in ("rest-xml", "rest-json"):
        write = method not in ("GET", "HEAD") and not _REST_READ_POSTS.search(split.path)
    else:
        write = not operation.startswith(READ_PREFIXES)
    return RequestInfo(method, path, service, region, protocol, operation, write)


# -- error bodies ---------------------------------------------------------------------------------
def _cbor_text(text: str) -> bytes:
    data = text.encode()
    if len(data) < 24:
        return bytes([0x60 | len(data)]) + data
    if len(data) < 256:
        return bytes([0x78, len(data)]) + data
    return bytes([0x79]) + struct.pack(">H", len(data)) + data


def _cbor_map(values: dict[str, str]) -> bytes:
    out = bytes([0xA0 | len(values)])
    for k, v in values.items():
        out += _cbor_text(k) + _cbor_text(v)
    return out


def error_response(info: RequestInfo, status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """An AWS error answer in the request's protocol."""
    rid = "f" * 8 + "-fault-injected"
    if info.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": rid}, body
    if info.protocol == "rest-json":
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": rid}, body
    if info.protocol == "cbor":
        return (
            status,
            {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": rid},
            _cbor_map({"__type": code, "message": message}),
        )
    if info.protocol == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>"
        )
        return status, {"Content-Type": "text/xml"}, body.encode()
    if info.protocol == "rest-xml":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{rid}</RequestId></Error>"
        )
        return status, {"Content-Type": "application/xml"}, body.encode()
    body = (
        f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, body.encode()


def throttle_response(info: RequestInfo, use_429: bool) -> tuple[str, tuple[int, dict[str, str], bytes]]:
    """(kind, answer) of a throttling error botocore retries as throttling."""
    if info.protocol == "ec2":
        return "RequestLimitExceeded", error_response(info, 503, "RequestLimitExceeded", "Request limit exceeded.")
    if info.protocol == "rest-xml":
        return "SlowDown", error_response(info, 503, "SlowDown", "Please reduce your request rate.")
    if info.protocol == "query":
        return ("http_429" if use_429 else "Throttling"), error_response(info, 429 if use_429 else 400, "Throttling", "Rate exceeded")
    if use_429:
        return "http_429", error_response(info, 429, "TooManyRequestsException", "Too many requests")
    return "ThrottlingException", error_response(info, 400, "ThrottlingException", "Rate exceeded")


def internal_error(info: RequestInfo) -> tuple[int, dict[str, str], bytes]:
    code = "InternalFailure" if info.protocol in ("json", "rest-json", "cbor") else "InternalError"
    return error_response(info, 500, code, "We encountered an internal error. Please try again.")


# -- the proxy ------------------------------------------------------------------------------------
class FaultProxy:
    """Forward to ``upstream``, inject faults at ``rates`` with a seeded RNG, count, fire trips."""

    def __init__(self, upstream: str, rates: Rates | None = None, seed: int = 0, port: int = 0) -> None:
        self.upstream = urlsplit(upstream)
        self.rates = rates or Rates()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.requests: Counter[tuple[str, str, bool]] = Counter()
        self.trips: list[Trip] = []
        self.order: list[bool] = []  # write flag of every signed request, in arrival order
        self.forwarded: Counter[tuple[str, str]] = Counter()  # write requests that reached the upstream
        self.in_flight = 0
        self.max_in_flight = 0
        self.request_seconds = 0.0  # time signed requests spent in the proxy, summed
        self.t0 = time.monotonic()
        #: service -> [first request's start, last request's end, requests], seconds since reset_counts
        self.spans: dict[str, list[float]] = {}
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # configuration between runs
    def configure(self, rates: Rates | None = None, seed: int | None = None) -> None:
        with self.lock:
            self.rates = rates or Rates()
            if seed is not None:
                self.rng = random.Random(seed)
            self.trips = []

    def add_trip(self, trip: Trip) -> Trip:
        with self.lock:
            self.trips.append(trip)
        return trip

    def reset_counts(self) -> None:
        with self.lock:
            self.injected.clear()
            self.requests.clear()
            self.order.clear()
            self.forwarded.clear()
            self.max_in_flight = self.in_flight
            self.request_seconds = 0.0
            self.t0 = time.monotonic()
            self.spans.clear()

    def reads_before_first_write(self) -> int:
        with self.lock:
            return self.order.index(True) if True in self.order else len(self.order)

    def forwarded_writes(self) -> Counter:
        with self.lock:
            return Counter(self.forwarded)

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = _QuietServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # decisions
    def decide(self, info: RequestInfo) -> tuple[str | None, Trip | None, bool]:
        """(fault kind or None, trip to fire or None, whether a 429 is used for a throttle)."""
        with self.lock:
            self.requests[(info.service, info.operation, info.write)] += 1
            self.order.append(info.write)
            for trip in self.trips:
                if trip.fired.is_set() or not trip.match(info):
                    continue
                trip.seen += 1
                if trip.seen == trip.nth:
                    trip.fired_on = info
                    return None, trip, False
            r = self.rng.random()
            use_429 = self.rng.random() < 0.5
            after = self.rng.random() < 0.5
            rates = self.rates
            edges = (("throttle", rates.throttle), ("http_500", rates.error500), ("reset", rates.reset), ("delay", rates.delay))
            acc = 0.0
            for kind, share in edges:
                acc += share
                if r < acc:
                    if kind == "reset":
                        return ("reset_after" if after else "reset_before"), None, use_429
                    return kind, None, use_429
            return None, None, use_429

    def count(self, kind: str) -> None:
        with self.lock:
            self.injected[kind] += 1

    def enter(self, info: RequestInfo) -> float:
        now = time.monotonic()
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.spans.setdefault(info.service, [now - self.t0, now - self.t0, 0])
        return now

    def leave(self, info: RequestInfo, started: float) -> None:
        now = time.monotonic()
        with self.lock:
            self.in_flight -= 1
            self.request_seconds += now - started
            span = self.spans.get(info.service)
            if span is not None:
                span[1] = now - self.t0
                span[2] += 1

    def forward(
        self, method: str, path: str, headers: Any, body: bytes, info: RequestInfo | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if info is not None and info.write:
            with self.lock:
                self.forwarded[(info.service, info.operation)] += 1
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=300)
        try:
            out_headers = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
            conn.request(method, path, body=body if body or method not in ("GET", "HEAD") else None, headers=out_headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_HEADERS], data
        finally:
            conn.close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:  # clients killed mid-request reset their connections
        pass


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # an answer is written as headers, then body: with Nagle's algorithm the body waits for the
        # client's delayed ACK of the headers, which added ~45 ms to every request (as much as the
        # latency the proxy is asked to add)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise ConnectionResetError("the client went away mid-request")  # killed while sending
        return body

    def _drop(self) -> None:
        """Close the connection without an answer (a reset: SO_LINGER 0 sends RST)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _send(self, status: int, headers: Any, body: bytes) -> None:
        try:
            self.send_response(status)
            items = headers.items() if isinstance(headers, dict) else headers
            for k, v in items:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _handle(self) -> None:
        proxy = self.owner
        try:
            body = self._read_body()
        except (OSError, ValueError):  # a client killed mid-request: never forward half a request
            self._drop()
            return
        info = classify(self.command, self.path, self.headers, body)
        if info is None:  # moto's own API, unsigned
            self._send(*proxy.forward(self.command, self.path, self.headers, body))
            return
        started = proxy.enter(info)
        try:
            self._handle_signed(proxy, info, body)
        finally:
            proxy.leave(info, started)

    def _handle_signed(self, proxy: FaultProxy, info: RequestInfo, body: bytes) -> None:
        kind, trip, use_429 = proxy.decide(info)
        if proxy.rates.latency_seconds:
            time.sleep(proxy.rates.latency_seconds)
        if trip is not None:
            if trip.when == "after":
                try:
                    proxy.forward(self.command, self.path, self.headers, body, info)
                except OSError:
                    pass
            trip.fire(info)
            trip.fired.set()
            self._drop()
            return
        if kind == "throttle":
            kind, answer = throttle_response(info, use_429)
            proxy.count(kind)
            self._send(*answer)
            return
        if kind == "http_500":
            proxy.count(kind)
            self._send(*internal_error(info))
            return
        if kind == "reset_before":
            proxy.count("reset")
            self._drop()
            return
        if kind == "delay":
            proxy.count("delay")
            time.sleep(proxy.rates.delay_seconds)
        try:
            answer = proxy.forward(self.command, self.path, self.headers, body, info)
        except OSError:
            self._drop()
            return
        if kind == "reset_after":
            proxy.count("reset")
            self._drop()
            return
        self._send(*answer)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fault-injecting HTTP proxy in front of an AWS endpoint (127.0.0.1 only).")
    parser.add_argument("--upstream", required=True, help="the endpoint to forward to, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = a free one)")
    parser.add_argument("--seed", type=int, default=0, help="RNG seed (default 0)")
    parser.add_argument("--throttle", type=float, default=0.05, help="share of requests throttled (default 0.05)")
    parser.add_argument("--error500", type=float, default=0.02, help="share answered HTTP 500 (default 0.02)")
    parser.add_argument("--reset", type=float, default=0.02, help="share of connections reset (default 0.02)")
    parser.add_argument("--delay", type=float, default=0.01, help="share delayed by --delay-seconds (default 0.01)")
    parser.add_argument("--delay-seconds", type=float, default=2.0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="hold every request this long before forwarding it (default 0)")
    args = parser.parse_args(argv)
    rates = Rates(args.throttle, args.error500, args.reset, args.delay, args.delay_seconds, args.latency_ms / 1000)
    proxy = FaultProxy(args.upstream, rates, seed=args.seed, port=args.port).start()
    print(f"fault proxy on {proxy.endpoint} -> {args.upstream} (Ctrl-C to stop and print the counts)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
        print(json.dumps({"injected": dict(proxy.injected), "requests": sum(proxy.requests.values())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
