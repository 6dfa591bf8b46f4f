"""The HIPAA report's renderers: HTML in a real browser, the PDF's text and pages, Markdown, JSON, charts.

Chromium (the HTML tests) and poppler-utils (pdftotext, pdftoppm: the PDF tests) are system
packages; a test that needs one skips, saying which, when it is missing (CI installs both). The
sample PDF is rendered once for the module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import logging
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_samples import HOSTILE, all_statuses, citations, point_in_time_report, sample_report

from browser import dump_dom, needs_chromium, open_checked
from phiwatch.evidence import charts, render
from phiwatch.evidence.model import STATUS_LABELS, STATUS_ORDER, Day, Period, Report

PDFTOTEXT = shutil.which("pdftotext")
PDFTOPPM = shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(
    PDFTOTEXT is None or PDFTOPPM is None, reason="poppler-utils is not installed (apt-get install poppler-utils)"
)

PERIOD_TEXT = "2026-11-01 00:00 UTC to 2026-11-30 23:59 UTC"
PART_TITLES = {
    "164.308": "Administrative safeguards",
    "164.310": "Physical safeguards",
    "164.312": "Technical safeguards",
    "164.314": "Organizational requirements",
    "164.316": "Policies and procedures and documentation requirements",
}


@pytest.fixture(scope="module")
def report() -> Report:
    return sample_report()


@pytest.fixture(scope="module")
def html_text(report: Report) -> str:
    return render.render_html(report)


def words(text: str) -> str:
    return " ".join(text.split())


# --- HTML -------------------------------------------------------------------------------------


def test_sample_covers_every_status_and_part(report: Report) -> None:
    assert all_statuses(report) == set(STATUS_ORDER)
    assert [p.citation for p in report.parts] == list(PART_TITLES)


def test_html_escapes_every_value(html_text: str) -> None:
    assert "<script" not in html_text.lower()  # the hostile values, escaped, and no script of ours
    assert html.escape(HOSTILE, quote=False) in html_text
    assert "Legal &lt;counsel&gt; &amp; Co" in html_text
    assert "policies_v3 | final &lt;b&gt;.docx" in html_text
    # self-contained: nothing to fetch, and a policy that forbids fetching anyway
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in html_text
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html_text)
    assert "url(" not in html_text


def test_html_layout_order_and_content(report: Report, html_text: str) -> None:
    text = words(re.sub(r"<[^>]+>", " ", html_text))
    summary, contents = text.index("Overall posture"), text.index("Contents")
    first_part = text.index("§ 164.308 Administrative safeguards Failing", contents)
    assert summary < text.index("Top risks") < contents < first_part
    for label in (
        "Period",
        PERIOD_TEXT,
        "123456789012, 210987654321",
        "us-east-1, us-east-2, us-west-2",
        "Generated 2026-12-01 06:00 UTC",
        "phiwatch 0.1.0",
    ):
        assert label in text[:summary]
    assert "Mean time to remediate: 37.2 hours" in text
    assert "Attestation needed: record one with phiwatch attest '164.308(a)(1)(ii)(B)' --by NAME --statement TEXT" in text
    assert "Covered by AWS (SOC 2 / BAA). Under the AWS shared responsibility model" in text
    assert "Invalid" in text and "Valid" in text  # signatures
    assert "expired" in text  # the lapsed exception and attestation
    assert "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" in text
    assert "Remediations in the period" in text and "AWS-EnableS3BucketEncryption" in text
    for status in STATUS_ORDER:
        assert f'class="badge s-{status}">{html.escape(STATUS_LABELS[status])}<' in html_text
    # every specification's id is unique and linked from the contents (parts and standards)
    ids = re.findall(r'id="([^"]+)"', html_text)
    assert len(ids) == len(set(ids))
    for part in report.parts:
        assert f'href="#{render.anchor("part", part.citation)}"' in html_text
        for standard in part.standards:
            assert f'href="#{render.anchor("std", standard.citation)}"' in html_text


def test_html_is_deterministic(report: Report, html_text: str) -> None:
    assert render.render_html(report) == html_text


def test_point_in_time_html_says_there_is_no_trend() -> None:
    text = words(re.sub(r"<[^>]+>", " ", render.render_html(point_in_time_report())))
    assert "Point in time 2026-11-30 23:59 UTC" in text
    assert "This is a point-in-time report: it shows the estate at one instant, so there is no trend over time." in text
    assert "Mean time to remediate: not measured at a point in time (it needs a period)." in text
    assert "opened / fixed in the period" not in text


@needs_chromium
def test_html_in_chromium_has_every_section_and_no_broken_image(report: Report, html_text: str, tmp_path: Path) -> None:
    check, text = open_checked(html_text, tmp_path)
    assert check == {"images": 2, "broken": [], "scripts": 1}  # both charts decoded, no hostile script became one
    for part in report.parts:
        assert f"§ {part.citation} {part.title}" in text
        for standard in part.standards:
            assert f"§ {standard.citation} {standard.title}" in text
            for spec in standard.specifications:
                assert f"§ {spec.citation} {spec.title}" in text
    assert HOSTILE in text  # shown as text


@needs_chromium
def test_unmodified_html_opens_in_chromium(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    render.write_report(point_in_time_report(), "html", path)
    dom = dump_dom(path.as_uri(), tmp_path)
    text = words(html.unescape(re.sub(r"<[^>]+>", " ", dom)))
    assert "Overall posture" in text and "§ 164.316 Policies and procedures and documentation requirements" in text
    assert "<script" not in dom


# --- PDF --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf(report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    started = time.perf_counter()
    data = render.render_pdf(report, out)
    print(f"sample report to PDF: {time.perf_counter() - started:.2f}s, {len(data)} bytes")
    assert out.read_bytes() == data
    return out


@pytest.fixture(scope="module")
def pdf_pages(pdf: Path) -> list[str]:
    if PDFTOTEXT is None:
        pytest.skip("poppler-utils is not installed (apt-get install poppler-utils)")
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


@needs_poppler
def test_pdf_is_a_letter_pdf_with_the_reports_metadata(pdf: Path) -> None:
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pdfinfo = shutil.which("pdfinfo")
    assert pdfinfo is not None
    info = subprocess.run([pdfinfo, "-isodates", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    fields = dict(re.findall(r"^([^:]+):\s*(.*)$", info, re.M))
    assert fields["Title"] == "HIPAA Security Rule compliance report"
    assert fields["Creator"] == "phiwatch 0.1.0"
    assert fields["CreationDate"].startswith("2026-12-01T06:00:12")  # the report's time, not the clock's
    assert fields["Page size"].startswith("612 x 792 pts")  # US Letter


@needs_poppler
def test_pdf_every_page_carries_period_scope_version_and_number(pdf_pages: list[str]) -> None:
    total = len(pdf_pages)
    assert total > 5
    for n, page in enumerate(pdf_pages, start=1):
        # numbered on across the pieces the PDF is laid out in (pdf_pieces): no gap, no repeat
        assert re.search(rf"\bPage {n}\s*$", page, re.M), (n, page[-300:])
        assert "phiwatch 0.1.0" in page
        assert PERIOD_TEXT in page
        assert "Accounts: 123456789012, 210987654321; Regions: us-east-1, us-east-2, us-west-2" in page
    first = words(pdf_pages[0])
    for text in ("HIPAA Security Rule compliance report", "Overall posture Failing", "Generated 2026-12-01 06:00 UTC", "Status by part"):
        assert text in first


@needs_poppler
def test_pdf_holds_every_part_standard_and_specification(report: Report, pdf_pages: list[str]) -> None:
    text = words(" ".join(pdf_pages))
    for heading in ("Implementation specifications by status", "Trend over the period", "Top risks", "Contents"):
        assert heading in text
    for citation, title in PART_TITLES.items():
        assert f"§ {citation} {title}" in text
    for citation in citations(report):
        assert f"§ {citation} " in text
    assert HOSTILE in text  # escaped in the HTML, so shown as text
    assert "Attestation needed: record one with phiwatch attest '164.314(a)(2)(i)' --by NAME --statement TEXT" in text


@needs_poppler
def test_pdf_contents_give_each_parts_page(report: Report, pdf_pages: list[str]) -> None:
    contents = next(n for n, page in enumerate(pdf_pages) if re.search(r"^\s*Contents\s*$", page, re.M))
    toc = pdf_pages[contents]
    for part in report.parts:
        found = re.search(rf"§ {re.escape(part.citation)} {re.escape(part.title)}\s*\.{{3,}}\s*(\d+)", words(toc))
        assert found, f"no contents line for {part.citation}"
        page = pdf_pages[int(found.group(1)) - 1]
        body = words(page.split("phiwatch 0.1.0", 1)[1])  # after the running header
        assert body.startswith(f"§ {part.citation} {part.title}"), body[:80]  # each part starts a page
        for standard in part.standards:
            assert re.search(rf"§ {re.escape(standard.citation)} .*?\.{{3,}}\s*\d+", words(toc))


@needs_poppler
def test_pdf_first_page_image(pdf: Path, tmp_path: Path) -> None:
    from PIL import Image

    assert PDFTOPPM is not None
    subprocess.run(
        [PDFTOPPM, "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(tmp_path / "page1")], check=True, timeout=60
    )
    png = tmp_path / "page1.png"
    assert png.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.size == (425, 550)  # US Letter at 50 dpi
        colours = image.convert("RGB").getcolors(1 << 20) or []
    assert len(colours) > 200  # text, badges and rules, not a blank page


def test_pdf_is_deterministic() -> None:
    small = dataclasses.replace(sample_report(days=3), parts=sample_report().parts[1:2], sections_filter="164.310")
    first = render.render_pdf(small)
    assert render.render_pdf(small) == first


def test_pdf_fetches_data_urls_only() -> None:
    import weasyprint

    fetcher = render._url_fetcher(weasyprint)
    for url in ("file:///etc/hostname", "http://169.254.169.254/latest/meta-data/", "https://example.com/x.png"):
        with pytest.raises(ValueError):
            fetcher(url)
    assert fetcher("data:text/plain;base64,aGk=") is not None


# --- Markdown ---------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_structure_and_escaping(report: Report) -> None:
    text = render.render_markdown(report)
    lines = text.splitlines()
    assert lines[0] == "# HIPAA Security Rule compliance report"
    assert f"- **Period:** {render.md(PERIOD_TEXT)}" in lines
    assert "## Summary" in lines and "## Contents" in lines and "### Trend" in lines
    for citation, title in PART_TITLES.items():
        assert f"## {citation} {title}" in lines
    for citation in citations(report):
        assert any(line.startswith(("## ", "### ", "#### ")) and f" {render.md(citation)} " in f" {line} " for line in lines), citation
    # contents link to GitHub's heading anchors
    assert "- [164.308 Administrative safeguards](#164308-administrative-safeguards)" in lines
    assert "  - [164.308(a)(1) Security management process](#164308a1-security-management-process)" in lines
    # no raw HTML from a value, no broken table: every row has its header's number of cells
    assert not re.search(r"(?<!\\)<script", text) and "\\<script\\>alert(1)\\</script\\>" in text
    assert re.sub(r"<br>", "", text).count("<") == text.count("\\<")
    header = None
    for line in lines:
        if line.startswith("|"):
            if header is None:
                header = len(_cells(line))
            assert len(_cells(line)) == header, line
        else:
            header = None
    # a newline in a value stays inside its cell
    assert "Console password without MFA<br>\\| injected \\| table \\|" in text
    # the trend is a table of the period's days
    assert "| 2026-11-30 | 13 | 3 | 3 |" in lines
    assert "**Attestation needed:** record one with `phiwatch attest '164.308(a)(1)(ii)(B)' --by NAME --statement TEXT`" in lines


def test_markdown_point_in_time() -> None:
    text = render.render_markdown(point_in_time_report())
    assert "- **Point in time:** 2026\\-11\\-30 23:59 UTC" not in text  # hyphens stay plain
    assert "- **Point in time:** 2026-11-30 23:59 UTC" in text
    assert "This is a point-in-time report" in text
    assert "| Day |" not in text


def test_markdown_escape_helpers() -> None:
    assert render.md("a|b\nc") == "a\\|b<br>c"
    assert render.md("*x* _y_ [z](u) <b> `c` ~s~ $m$ &amp;") == "\\*x\\* \\_y\\_ \\[z\\](u) \\<b\\> \\`c\\` \\~s\\~ \\$m\\$ \\&amp;"
    assert render.md("# title", block=True) == "\\# title"
    assert render.md("1. item", block=True) == "1\\. item"
    assert render.md("- item", block=True) == "\\- item"
    assert render.md("- item") == "- item"
    assert render.code("a`b") == "``a`b``"
    assert render.code("a|b", table=True) == "`a\\|b`"


# --- JSON -------------------------------------------------------------------------------------


def test_json_round_trips_with_its_format(report: Report) -> None:
    text = render.render_json(report)
    data = json.loads(text)
    assert next(iter(data)) == "format" and data["format"] == "phiwatch-hipaa-report/1"
    assert list(data)[1:] == [f.name for f in dataclasses.fields(Report)]
    assert data["generated_at"] == "2026-12-01T06:00:12Z"
    assert data["period"] == {"end": "2026-11-30T23:59:59Z", "start": "2026-11-01T00:00:00Z"}
    assert data["summary"]["trend"][0] == {"day": "2026-11-01", "failing": 18, "opened": 0, "fixed": 1}
    assert list(data["summary"]["sections"]) == [s for s in STATUS_ORDER if s in report.summary.sections]
    assert [p["citation"] for p in data["parts"]] == list(PART_TITLES)
    spec = data["parts"][2]["standards"][0]["specifications"][1]
    assert spec["citation"] == "164.312(a)(2)(iv)"
    assert spec["failing"][0]["reason"] == f"Default encryption is SSE-S3, not SSE-KMS {HOSTILE}"
    assert spec["exceptions"][0]["expires"] == "2026-11-15"
    assert spec["remediations"][0]["finished_at"] is None
    assert render.render_json(report) == text


def test_json_naive_and_offset_datetimes_become_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    moved = dataclasses.replace(
        point_in_time_report(),
        generated_at=dt.datetime(2026, 12, 1, 8, 0, tzinfo=plus_two),
        period=Period(end=dt.datetime(2026, 11, 30, 12, 0)),
    )
    data = json.loads(render.render_json(moved))
    assert data["generated_at"] == "2026-12-01T06:00:00Z"
    assert data["period"] == {"end": "2026-11-30T12:00:00Z", "start": None}


# --- files ------------------------------------------------------------------------------------


def test_write_report_text_formats(tmp_path: Path) -> None:
    small = point_in_time_report()
    for fmt, start in (("html", "<!DOCTYPE html>"), ("md", "# "), ("json", "{")):
        out = tmp_path / f"report.{fmt}"
        render.write_report(small, fmt, out)
        assert out.read_text(encoding="utf-8").startswith(start)
    with pytest.raises(ValueError, match="html, pdf, md, json"):
        render.write_report(small, "docx", tmp_path / "report.docx")


def test_render_module_imports_light() -> None:
    probe = "import sys, phiwatch.evidence.render; print(sorted(m for m in ('matplotlib', 'weasyprint') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"


# --- charts -----------------------------------------------------------------------------------


def test_trend_chart_is_valid_deterministic_svg(report: Report) -> None:
    svg = charts.trend_svg(report.summary.trend)
    assert svg is not None
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert charts.trend_svg(report.summary.trend) == svg
    assert "<dc:date>" not in svg and "<text" not in svg  # no date; glyphs drawn as paths


def test_trend_chart_needs_two_days() -> None:
    assert charts.trend_svg(()) is None
    assert charts.trend_svg((Day(day=dt.date(2026, 11, 30), failing=3, opened=1, fixed=0),)) is None
    two = charts.trend_svg((Day(dt.date(2026, 11, 29), 0, 0, 0), Day(dt.date(2026, 11, 30), 0, 0, 0)))
    assert two is not None and ET.fromstring(two) is not None  # all zero: still a chart


def test_one_day_report_says_so() -> None:
    page = render.render_html(sample_report(days=1))
    text = words(re.sub(r"<[^>]+>", " ", page))
    assert "The period holds 1 day of history: at least two days are needed to chart a trend." in text
    assert page.count("data:image/svg+xml") == 1  # the parts chart only


def test_parts_chart(report: Report) -> None:
    svg = charts.parts_svg(report.parts)
    assert ET.fromstring(svg) is not None and charts.parts_svg(report.parts) == svg
    empty = charts.parts_svg(())
    assert ET.fromstring(empty) is not None


def test_long_period_shows_weeks() -> None:
    start = dt.date(2026, 1, 1)
    days = [Day(start + dt.timedelta(days=n), failing=n % 9, opened=1, fixed=n % 2) for n in range(100)]
    svg = charts.trend_svg(days)
    assert svg is not None and ET.fromstring(svg) is not None
    weeks = charts._weekly(days)
    assert len(weeks) == 15 and weeks[0] == (3.0, 7, 3) and weeks[-1] == (98.5, 2, 1)  # the last week holds days 98 and 99


def test_empty_part_and_standard_are_said_not_omitted() -> None:
    base = point_in_time_report()
    technical = base.parts[2]
    hollow = dataclasses.replace(technical.standards[0], specifications=())
    parts = (dataclasses.replace(base.parts[0], standards=()), dataclasses.replace(technical, standards=(hollow,)))
    report = dataclasses.replace(base, parts=parts)
    text = words(re.sub(r"<[^>]+>", " ", render.render_html(report)))
    assert "No standard of this part is in the report." in text
    assert "No implementation specification of this standard is in the report." in text
    markdown = render.render_markdown(report)
    assert "No standard of this part is in the report." in markdown
    assert "No implementation specification of this standard is in the report." in markdown
    nothing = dataclasses.replace(base, parts=())
    assert "No part of the Security Rule is in this report." in words(re.sub(r"<[^>]+>", " ", render.render_html(nothing)))
    assert "No part of the Security Rule is in this report." in render.render_markdown(nothing)


def test_pdf_in_pieces_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    # the contents of a PDF laid out in pieces must not link to anchors of other pieces
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        render.render_pdf(sample_report())
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint") and r.levelno >= logging.ERROR] == []
