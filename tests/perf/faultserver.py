"""An emulator endpoint that answers chosen operations with errors: moto's WSGI app, in this process
(so it shares the ``emulator`` fixture's state), behind a middleware, on its own loopback port.

A :class:`Fault` names an operation (botocore's name), an answer (:data:`NOT_IMPLEMENTED`: HTTP 501;
:data:`SERVER_ERROR`: HTTP 500; :data:`THROTTLE`: the throttling answer of the request's protocol),
optionally a part of the request that must match (a bucket name) and how many matching requests it
answers before letting the rest through to moto. Errors are shaped like AWS's for the request's
protocol, so botocore parses and classifies them as it would AWS's:

==========  ============================  ==============================  ===================================
protocol    501                           500                             throttling
==========  ============================  ==============================  ===================================
json        ``NotImplemented`` (JSON)     ``InternalFailure``             400 ``ThrottlingException``
rest-json   ``NotImplemented`` (JSON)     ``InternalFailure``             400 ``ThrottlingException``
query       ``NotImplemented`` (XML)      ``InternalError``               400 ``Throttling``
ec2         ``NotImplemented`` (XML)      ``InternalError``               503 ``RequestLimitExceeded``
rest-xml    ``NotImplemented`` (XML)      ``InternalError``               503 ``SlowDown``
==========  ============================  ==============================  ===================================

Every signed request is counted per (signing service, operation) in :attr:`FaultServer.requests`,
whether answered by a fault or by moto: the server's own count of attempts. The operation of a REST
request (S3, EFS, Lambda) is found from botocore's model of the service (method, URI template and
query keys), else it is ``"<METHOD> <path>"``.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

NOT_IMPLEMENTED, SERVER_ERROR, THROTTLE = "not-implemented", "server-error", "throttle"
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
#: signing name -> botocore service of the REST services whose operations are named from the model
REST_SERVICES = {"s3": "s3", "elasticfilesystem": "efs", "lambda": "lambda"}


@dataclass
class Fault:
    """Answer ``operation`` with ``answer`` for the first ``times`` requests (None: every one) whose
    path, query or body contains ``where``; later requests reach moto."""

    operation: str
    answer: str
    times: int | None = None
    where: str = ""
    answered: int = 0


@dataclass(frozen=True)
class Request:
    service: str  # the signing name of the credential scope
    protocol: str  # json | rest-json | query | ec2 | rest-xml
    operation: str
    text: str  # path, query and body, for Fault.where


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    query: tuple[tuple[str, str | None], ...]  # keys the URI template requires, with their value if it fixes one
    literal: int  # characters of the template outside {...}: the more specific route wins


@cache
def _routes(service: str) -> tuple[_Route, ...]:
    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        template, _, query = http["requestUri"].partition("?")
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        required = []
        for part in filter(None, query.split("&")):
            key, equals, value = part.partition("=")
            required.append((key, value if equals else None))
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        routes.append(_Route(name, http["method"], re.compile(pattern.rstrip("/") + "/?"), tuple(required), literal))
    return tuple(routes)


def _rest_operation(service: str, method: str, path: str, query: str) -> str:
    params = parse_qs(query, keep_blank_values=True)
    matches = [
        r
        for r in _routes(REST_SERVICES[service])
        if r.method == method and r.path.fullmatch(unquote(path)) and all(k in params and (v is None or v in params[k]) for k, v in r.query)
    ]
    if not matches:
        return f"{method} {path}"
    return max(matches, key=lambda r: (len(r.query), r.literal)).operation


def _request(environ: dict[str, Any], body: bytes) -> Request | None:
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None  # moto's own API (/moto-api/reset ...)
    service = match.group(2)
    method, path, query = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")
    text = f"{path}?{query}\n{body.decode('utf-8', 'replace')}"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return Request(service, "json", target.rsplit(".", 1)[-1], text)
    action = (parse_qs(query).get("Action") or parse_qs(body.decode("utf-8", "replace")).get("Action") or [None])[0]
    if action:
        return Request(service, "ec2" if service == "ec2" else "query", action, text)
    protocol = "rest-xml" if service == "s3" else "rest-json"
    operation = _rest_operation(service, method, path, query) if service in REST_SERVICES else f"{method} {path}"
    return Request(service, protocol, operation, text)


def _error(request: Request, answer: str) -> tuple[int, dict[str, str], bytes]:
    if answer == NOT_IMPLEMENTED:
        status, code = 501, "NotImplemented"
    elif answer == SERVER_ERROR:
        status, code = 500, "InternalFailure" if request.protocol in ("json", "rest-json") else "InternalError"
    elif request.protocol == "ec2":
        status, code = 503, "RequestLimitExceeded"
    elif request.protocol == "rest-xml":
        status, code = 503, "SlowDown"
    else:
        status, code = 400, "Throttling" if request.protocol == "query" else "ThrottlingException"
    message = f"answered by tests/perf/faultserver.py ({answer})"
    if request.protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, body
    if request.protocol == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>f</RequestID></Response>"
        )
    elif request.protocol == "rest-xml":
        xml = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>f</RequestId></Error>"
    else:
        kind = "Sender" if status < 500 else "Receiver"
        xml = f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>f</RequestId></ErrorResponse>"
    return status, {"Content-Type": "text/xml"}, b'<?xml version="1.0" encoding="UTF-8"?>' + xml.encode()


class FaultServer:
    """moto's app behind the fault middleware on a free loopback port; :attr:`endpoint` once started."""

    def __init__(self, *faults: Fault) -> None:
        self.faults = list(faults)
        self.requests: Counter[tuple[str, str]] = Counter()
        self._app = DomainDispatcherApplication(create_backend_app)
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def attempts(self, operation: str) -> int:
        """Requests of ``operation`` that arrived (answered by a fault or by moto), whatever the service."""
        with self._lock:
            return sum(n for (_, op), n in self.requests.items() if op == operation)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request = _request(environ, body)
        if request is not None:
            with self._lock:
                self.requests[(request.service, request.operation)] += 1
                fault = next(
                    (
                        f
                        for f in self.faults
                        if f.operation == request.operation and f.where in request.text and (f.times is None or f.answered < f.times)
                    ),
                    None,
                )
                if fault is not None:
                    fault.answered += 1
            if fault is not None:
                status, headers, payload = _error(request, fault.answer)
                headers["Content-Length"] = str(len(payload))
                start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
                return [payload]
        return self._app(environ, start_response)

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultServer:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
