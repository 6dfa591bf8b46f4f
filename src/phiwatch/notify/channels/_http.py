"""One HTTP session per route and run (Slack, webhooks): pooled connections, timeouts, error texts.

Error texts name the host and port only, never the URL path (a Slack webhook path is a secret).
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

from phiwatch import __version__
from phiwatch.notify.channels.base import DeliveryError

USER_AGENT = f"phiwatch/{__version__}"


def where(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, without the URL requests puts in its text."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    best: str | None = None
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLError):
            return f"TLS error: {e.reason or type(e).__name__}"
        if isinstance(e, OSError) and e.strerror:
            best = e.strerror
        for nxt in (getattr(e, "reason", None), e.__cause__, e.__context__, *[a for a in e.args if isinstance(a, BaseException)]):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return best or type(exc).__name__


class HttpSession:
    """A requests session for one route: connections reused across messages, no redirects."""

    def __init__(self, timeout: float) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)  # retries are the dispatcher's
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Any:
        import requests

        try:
            response = self.session.post(url, data=body, headers=headers, timeout=(self.timeout, self.timeout), allow_redirects=False)
        except requests.exceptions.ConnectTimeout as exc:
            raise DeliveryError(f"connecting to {where(url)} timed out after {self.timeout:g}s", stop_batch=True) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise DeliveryError(f"no response from {where(url)} within {self.timeout:g}s", stop_batch=True) from exc
        except requests.exceptions.SSLError as exc:
            raise DeliveryError(f"{where(url)}: {_reason(exc)}", retryable=False, stop_batch=True) from exc
        except requests.exceptions.ConnectionError as exc:
            raise DeliveryError(f"cannot connect to {where(url)}: {_reason(exc)}", stop_batch=True) from exc
        except requests.exceptions.RequestException as exc:
            raise DeliveryError(f"request to {where(url)} failed: {_reason(exc)}", retryable=False) from exc
        return response

    def close(self) -> None:
        self.session.close()


def check_response(response: Any, url: str) -> None:
    """2xx is success; 408/429/5xx are retried (honouring Retry-After); other codes are not retried now."""
    status = response.status_code
    if 200 <= status < 300:
        return
    text = (response.text or "").strip().replace("\n", " ")[:120]
    detail = f"HTTP {status} from {where(url)}" + (f": {text}" if text else "")
    retry_after = None
    header = response.headers.get("Retry-After")
    if header:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None
    if status in (408, 429) or status >= 500:
        raise DeliveryError(detail, retryable=True, stop_batch=True, retry_after=retry_after)
    if 300 <= status < 400:
        raise DeliveryError(detail + " (redirects are not followed: use the final URL)", retryable=False, stop_batch=True)
    if status in (401, 403, 404, 410):  # wrong URL or credentials: every message would fail the same way
        raise DeliveryError(detail, retryable=False, stop_batch=True)
    raise DeliveryError(detail, retryable=False)
