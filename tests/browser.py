"""Opening an HTML report in real headless Chromium (Debian's package; CI installs it).

:func:`open_checked` loads the page with a small script added (its hash allowed by the page's own
Content-Security-Policy, nothing else loosened) that reports, once the page has loaded, how many
images it has, which did not decode, and how many scripts it holds; it returns that report and
the page's text as Chromium rendered it."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

REPORT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

# Run in the page after load: which images did not decode, how many scripts the page holds.
CHECK = """
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.alt || img.src.slice(0, 40));
  const out = document.createElement("pre");
  out.id = "render-check";
  out.textContent = JSON.stringify({images: images.length, broken: broken, scripts: document.scripts.length});
  document.body.appendChild(out);
});
"""


def dump_dom(url: str, tmp_path: Path) -> str:
    """The DOM of ``url`` after Chromium loaded it (headless, no network, a fresh profile)."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        url,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def open_checked(html_text: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """(the load check's report, the rendered page's text with whitespace collapsed)."""
    digest = base64.b64encode(hashlib.sha256(CHECK.encode()).digest()).decode()
    page = html_text.replace(REPORT_POLICY, f"{REPORT_POLICY}; script-src 'sha256-{digest}'", 1).replace(
        "</body>", f"<script>{CHECK}</script></body>", 1
    )
    assert page.count("sha256-") == 1 and CHECK in page, "the report's Content-Security-Policy is not the expected one"
    path = tmp_path / "report-checked.html"
    path.write_text(page, encoding="utf-8")
    dom = dump_dom(path.as_uri(), tmp_path)
    found = re.search(r'<pre id="render-check">(.*?)</pre>', dom)
    assert found, "the check did not run: " + dom[-500:]
    return json.loads(html.unescape(found.group(1))), words(html.unescape(re.sub(r"<[^>]+>", " ", dom)))
