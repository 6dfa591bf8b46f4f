"""The HIPAA report laid out: HTML, PDF, Markdown and JSON, from one :class:`~phiwatch.evidence.model.Report`.

* :func:`render_html`: one self-contained HTML document (``templates/report.html.j2`` and
  ``templates/report.css``): charts inlined as ``data:`` SVG images, no fonts, scripts or URLs
  fetched, a Content-Security-Policy that forbids them. Every value is HTML-escaped (Jinja2
  autoescape). Its print stylesheet is what the PDF uses: US Letter pages, the period, scope and
  tool version in the margins of every page, "Page N of M", page numbers in the table of
  contents, each part starting a page.
* :func:`render_pdf`: that HTML laid out by WeasyPrint. The same report gives the same bytes
  (the creation date is the report's generation time, the file identifier a hash of the content).
* :func:`render_markdown`: the same content as GitHub-flavoured Markdown; the trend is a table
  of days instead of a chart. Text is escaped (Markdown punctuation, ``<``, table pipes) so no
  value can add markup; newlines in a table cell become ``<br>``.
* :func:`render_json`: the report as data, format ``phiwatch-hipaa-report/1``: an object whose
  first key is ``"format"``, then the fields of :class:`Report` in their declared order, nested
  the same way (``summary``, ``parts`` → ``standards`` → ``specifications`` → ``rules``,
  ``failing``, ``exceptions``, ``remediations``, ``attestations``). Tuples are arrays, datetimes
  ISO 8601 in UTC with a ``Z`` (``2026-11-30T23:59:59Z``), dates ``YYYY-MM-DD``, absent values
  ``null``; ``summary.sections`` (status → number of specifications) is ordered worst status
  first. Statuses are the model's identifiers (``failing``, ``could_not_check``, ...). A later
  version adds keys without changing these; a change that would break a reader gets ``/2``.
* :func:`write_report`: one of the four to a file.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from phiwatch.evidence import charts
from phiwatch.evidence.model import (
    STATUS_LABELS,
    STATUS_ORDER,
    Attestation,
    ExceptionEntry,
    Failing,
    Part,
    RemediationEntry,
    Report,
    ResourceRef,
    RuleStatus,
    Specification,
)
from phiwatch.model import as_utc, isoformat

FORMAT = "phiwatch-hipaa-report/1"
FORMATS = ("html", "pdf", "md", "json")

EVIDENCE_LABELS = {
    "aws-data": "AWS configuration data",
    "attestation": "Attestation",
    "aws-shared": "AWS shared responsibility",
}
SHARED_RESPONSIBILITY = (
    "Under the AWS shared responsibility model, AWS is responsible for security of the cloud: the physical "
    "facilities, hardware, media and the infrastructure that runs its services, which independent auditors "
    "assess in AWS's SOC 2 reports and which AWS accepts for protected health information in the AWS Business "
    "Associate Addendum (BAA). The customer stays responsible for security in the cloud: the configuration of its "
    "own AWS resources, which the rest of this report checks. The SOC 2 reports and the BAA are available in AWS Artifact."
)


# --- formatting shared by the renderers ------------------------------------------------------


def when(value: dt.datetime | None) -> str:
    """``2026-11-30 23:59 UTC`` (naive datetimes are taken as UTC); an em dash for None."""
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def day(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else "—"


def label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def evidence_label(kind: str) -> str:
    return EVIDENCE_LABELS.get(kind, kind)


def anchor(kind: str, citation: str) -> str:
    """An element id for a part, standard or specification: ``spec-164-308-a-1-ii-A``."""
    return f"{kind}-" + (re.sub(r"[^A-Za-z0-9]+", "-", citation).strip("-") or "x")


def period_text(report: Report) -> str:
    period = report.period
    if period.start is None:
        return f"Point in time: {when(period.end)}"
    return f"{when(period.start)} to {when(period.end)}"


def scope_text(report: Report, short: bool = False) -> str:
    accounts, regions = report.scope.accounts, report.scope.regions

    def listed(values: tuple[str, ...], noun: str, limit: int) -> str:
        if not values:
            return f"all {noun}s"
        if short and len(values) > limit:
            return f"{len(values)} {noun}s"
        return ", ".join(values)

    if short:
        return f"Accounts: {listed(accounts, 'account', 3)}; Regions: {listed(regions, 'Region', 4)}"
    return f"Accounts: {listed(accounts, 'account', 0)}. Regions: {listed(regions, 'Region', 0)}."


def mttr_text(hours: float | None) -> str:
    if hours is None:
        return "No finding was fixed in the period"
    if hours * 60 < 1:
        return "under a minute"
    if hours < 1:
        return f"{hours * 60:.0f} minutes"
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days ({hours:.0f} hours)"


def trend_note(report: Report) -> str:
    """The sentence shown instead of the trend chart (the chart needs two days or more)."""
    if report.period.start is None:
        return "This is a point-in-time report: it shows the estate at one instant, so there is no trend over time."
    n = len(report.summary.trend)
    return f"The period holds {n} day{'s' if n != 1 else ''} of history: at least two days are needed to chart a trend."


def part_counts(part: Part) -> list[tuple[str, int]]:
    """(status, number of specifications) for the statuses present in ``part``, worst first."""
    counts: dict[str, int] = {}
    for standard in part.standards:
        for spec in standard.specifications:
            counts[spec.status] = counts.get(spec.status, 0) + 1
    return _ordered_counts(counts)


def _ordered_counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    known = [(s, counts[s]) for s in STATUS_ORDER if counts.get(s)]
    return known + sorted((s, n) for s, n in counts.items() if n and s not in STATUS_ORDER)


def _expired(expires: dt.date | None, report: Report) -> bool:
    return expires is not None and expires < as_utc(report.period.end).date()


# --- HTML and PDF -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("phiwatch.evidence", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(when=when, day=day, label=label, evidence=evidence_label, mttr=mttr_text, iso=_json_value)
    env.globals.update(
        anchor=anchor,
        part_counts=part_counts,
        shared_responsibility=SHARED_RESPONSIBILITY,
        colours=charts.STATUS_COLOURS,
    )
    return env


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    return _html(report)


def _html(
    report: Report,
    *,
    piece: tuple[str, str, bool, bool] | None = None,
    toc_pages: dict[str, int | str] | None = None,
    first_page: int | None = None,
    chart_uris: tuple[str | None, str | None] | None = None,
) -> str:
    """The HTML document, or for the PDF one piece of it: ``piece`` None is the front matter (cover,
    summary, contents) alone when ``first_page`` is given, else the whole report; otherwise (part
    citation, standard citation, first standard of its part, last piece). ``toc_pages``: anchor ->
    page number printed in the contents; ``first_page``: the number of the document's first page."""
    from markupsafe import Markup

    trend_uri, parts_uri = (chart_uris or _chart_uris(report)) if piece is None else (None, None)
    front_only = piece is None and first_page is not None

    def href(name: str) -> Markup:
        # a PDF laid out in pieces cannot link from one piece to another: its contents give page numbers
        if piece is not None or first_page is not None:
            return Markup("")
        return Markup(' href="#{}"').format(name)

    def toc_page(name: str) -> Markup:
        if toc_pages is None:
            return Markup("")
        return Markup(' data-page="{}"').format(toc_pages.get(name, ""))

    return str(
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            summary=report.summary,
            period_text=period_text(report),
            scope_text=scope_text(report),
            scope_short=scope_text(report, short=True),
            trend_chart=trend_uri,
            trend_note=trend_note(report),
            parts_chart=parts_uri,
            sections=_ordered_counts(report.summary.sections),
            expired=lambda expires: _expired(expires, report),
            piece=piece if not front_only else ("", "", False, False),
            toc_pages=toc_pages,
            first_page=first_page,
            toc_page=toc_page,
            href=href,
            front=piece is None,
        )
    )


def pdf_pieces(report: Report) -> list[tuple[str, str, bool, bool]]:
    """The pieces the PDF is laid out in, one per standard: (part, standard, first of its part, last)."""
    pieces = [(part.citation, standard.citation, i == 0, False) for part in report.parts for i, standard in enumerate(part.standards)]
    if pieces:
        pieces[-1] = (*pieces[-1][:3], True)
    return pieces


def render_pdf(report: Report, out: Path | None = None) -> bytes:
    """The HTML report laid out by WeasyPrint; also written to ``out`` when given.

    WeasyPrint keeps every laid-out page in memory until the document is written (about 2 MiB a
    page of tables), so the report is laid out a standard at a time and the pieces joined
    (pypdf): the front matter first with placeholder page numbers to learn its length, then each
    standard numbered on from the pages before it (the anchors each one holds give the contents'
    page numbers), then the front matter again with the real numbers. Memory is bounded by the
    largest standard instead of the whole report. Pages say "Page N"; the total is the PDF's own.
    """
    import weasyprint
    from pypdf import PdfReader, PdfWriter

    fetcher = _url_fetcher(weasyprint)

    def lay_out(html: str) -> Any:
        return weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).render()

    placeholder: dict[str, int | str] = {a: "000" for a in _anchors(report)}
    uris = _chart_uris(report)  # drawn once for both layouts of the front matter
    front_pages = len(lay_out(_html(report, toc_pages=placeholder, first_page=1, chart_uris=uris)).pages)
    pages: dict[str, int | str] = {"summary": 1}
    pieces: list[bytes] = []
    next_page = front_pages + 1
    for piece in pdf_pieces(report):
        document = lay_out(_html(report, piece=piece, first_page=next_page))
        for number, page in enumerate(document.pages, start=next_page):
            for name in page.anchors:
                pages.setdefault(name, number)
        next_page += len(document.pages)
        pieces.append(document.write_pdf())
        del document
    front = lay_out(_html(report, toc_pages=pages, first_page=1, chart_uris=uris))
    writer = PdfWriter()
    for data in [front.write_pdf(), *pieces]:
        writer.append(PdfReader(io.BytesIO(data)))
    writer.add_metadata(
        {
            "/Title": report.title,
            "/Creator": f"phiwatch {report.tool_version}",
            "/Producer": "phiwatch",
            "/CreationDate": _pdf_date(report.generated_at),
        }
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    if out is not None:
        Path(out).write_bytes(data)
    return data


def _pdf_date(value: dt.datetime) -> str:
    return "D:" + value.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S") + "Z"


def _chart_uris(report: Report) -> tuple[str | None, str | None]:
    """The trend and per-part charts as data: URIs (None where there is nothing to chart)."""
    trend = charts.trend_svg(report.summary.trend)
    parts_chart = charts.parts_svg(report.parts) if report.parts else None
    return (_data_uri(trend) if trend else None, _data_uri(parts_chart) if parts_chart else None)


def _anchors(report: Report) -> list[str]:
    return (
        ["summary"]
        + [anchor("part", p.citation) for p in report.parts]
        + [anchor("std", s.citation) for p in report.parts for s in p.standards]
    )


def _url_fetcher(weasyprint: Any) -> Any:
    """Everything is inline: fetch ``data:`` URLs only, and stop on any failure (no broken image)."""
    fetcher = getattr(weasyprint, "URLFetcher", None)
    if fetcher is not None:  # recent WeasyPrint; older releases take a function
        return fetcher(allowed_protocols=("data",), fail_on_errors=True)

    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        if not url.startswith("data:"):
            raise ValueError(f"the report fetches no URL ({url[:60]})")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)

    return fetch


# --- Markdown ---------------------------------------------------------------------------------

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&$])")
_MD_LINE_START = re.compile(r"^([#+=-]|\d+(?=[.)]))")


def md(value: object, block: bool = False) -> str:
    """Inline Markdown text: every character Markdown could read as markup is backslash-escaped
    (``<`` included, so no HTML gets through) and newlines become ``<br>``, so one value stays on
    one line and in one table cell. ``block``: the value starts a paragraph, so a leading ``#``,
    ``-``, ``+``, ``=`` or ``1.`` is escaped too (and leading blanks dropped)."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    escaped = "<br>".join(_MD_INLINE.sub(r"\\\1", line) for line in text.split("\n"))
    if not block:
        return escaped
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), escaped.lstrip())


def code(value: object, table: bool = False) -> str:
    """A code span around ``value`` (fenced by more backticks than it holds; pipes escaped in tables)."""
    text = " ".join(str(value).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if table else span


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    """A GFM table; cells are already escaped Markdown (so a pipe in them is ``\\|``)."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


class _Slugs:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, heading: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = self.seen.get(slug, 0)
        self.seen[slug] = n + 1
        return slug if n == 0 else f"{slug}-{n}"


def _md_resource(resource: ResourceRef) -> str:
    text = f"{code(resource.resource_id, table=True)}"
    if resource.name and resource.name != resource.resource_id:
        text = f"{md(resource.name)}<br>{text}"
    return f"{text}<br>{md(resource.resource_type)} · {md(resource.account_id)} · {md(resource.region)}"


def _md_rules(rules: tuple[RuleStatus, ...]) -> list[str]:
    if not rules:
        return ["No rule maps to this specification.", ""]
    return _table(
        ["Rule", "Checks", "Severity", "Compliant", "Non-compliant", "Excepted", "Could not check", "Status"],
        (
            [
                code(r.rule_id, True),
                md(r.description),
                md(r.severity),
                str(r.compliant),
                str(r.non_compliant),
                str(r.excepted),
                str(r.could_not_check),
                md(label(r.status)),
            ]
            for r in rules
        ),
    )


def _md_failing(items: tuple[Failing, ...]) -> list[str]:
    return _table(
        ["Resource", "Rule", "Severity", "Reason", "Open since"],
        ([_md_resource(f.resource), code(f.rule_id, True), md(f.severity), md(f.reason), md(when(f.opened_at))] for f in items),
    )


def _md_exceptions(items: tuple[ExceptionEntry, ...], report: Report) -> list[str]:
    return _table(
        ["Resource", "Rule", "Owner", "Justification", "Expires"],
        (
            [
                _md_resource(e.resource),
                code(e.rule_id, True),
                md(e.owner),
                md(e.justification),
                md(day(e.expires) + (" (expired)" if _expired(e.expires, report) else "")),
            ]
            for e in items
        ),
    )


def _md_remediations(items: tuple[RemediationEntry, ...]) -> list[str]:
    return _table(
        ["Remediation", "Rule and runbook", "Resource", "Mode", "Status", "Finished", "Approved by"],
        (
            [
                code(r.remediation_id, True),
                f"{code(r.rule_id, True)}<br>{code(r.runbook_id, True)}",
                _md_resource(r.resource),
                md(r.mode),
                md(r.status),
                md(when(r.finished_at)),
                md(r.approved_by or "—"),
            ]
            for r in items
        ),
    )


def _md_attestations(items: tuple[Attestation, ...], report: Report) -> list[str]:
    def evidence(a: Attestation) -> str:
        if not a.evidence_name:
            return "—"
        digest = f"<br>sha256 {code(a.evidence_sha256, True)}" if a.evidence_sha256 else ""
        return md(a.evidence_name) + digest

    return _table(
        ["By", "When", "Statement", "Evidence", "Expires", "Signature"],
        (
            [
                md(a.by),
                md(when(a.attested_at)),
                md(a.statement),
                evidence(a),
                md(day(a.expires) + (" (expired)" if _expired(a.expires, report) else "")),
                ("valid" if a.signature_valid else "**INVALID**") + f"<br>key {code(a.key_fingerprint, True)}",
            ]
            for a in items
        ),
    )


def _md_specification(spec: Specification, report: Report, heading: str) -> list[str]:
    lines = [
        heading,
        "",
        f"**{md(label(spec.status))}** · {'Required' if spec.required else 'Addressable'} · Evidence: {md(evidence_label(spec.evidence))}",
        "",
        md(spec.explanation, block=True),
        "",
    ]
    if spec.evidence == "aws-shared":
        lines += [f"**{md(label('covered_by_aws'))}.** {md(SHARED_RESPONSIBILITY)}", ""]
    if spec.evidence == "attestation" and not spec.attestations:
        command = f"phiwatch attest '{spec.citation}' --by NAME --statement TEXT"
        lines += [f"**Attestation needed:** record one with {code(command)}", ""]
    if spec.evidence == "aws-data" or spec.rules:
        lines += ["Rules:", "", *_md_rules(spec.rules)]
    for title, items, render in (
        ("Failing resources", spec.failing, lambda: _md_failing(spec.failing)),
        ("Exceptions", spec.exceptions, lambda: _md_exceptions(spec.exceptions, report)),
        ("Remediations in the period", spec.remediations, lambda: _md_remediations(spec.remediations)),
        ("Attestations", spec.attestations, lambda: _md_attestations(spec.attestations, report)),
    ):
        if items:
            lines += [f"{title}:", "", *render()]
            more = {
                "Failing resources": spec.more_failing,
                "Exceptions": spec.more_exceptions,
                "Remediations in the period": spec.more_remediations,
            }.get(title, 0)
            if more:
                lines += [f"… and {more} more (the evidence pack's CSV and JSON files hold them all).", ""]
        elif spec.evidence == "aws-data" and title != "Attestations":
            lines += [f"{title}: none.", ""]
    return lines


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown (no charts: the trend is a table of days)."""
    s = report.summary
    slugs = _Slugs()
    slugs(report.title)
    out = [
        f"# {md(report.title)}",
        "",
        f"- **{'Point in time' if report.period.start is None else 'Period'}:** {md(period_text(report).removeprefix('Point in time: '))}",
        f"- **Scope:** {md(scope_text(report))}",
    ]
    if report.sections_filter:
        out.append(f"- **Sections:** {md(report.sections_filter)} only")
    out += [f"- **Generated:** {md(when(report.generated_at))}", f"- **Tool:** phiwatch {md(report.tool_version)}", ""]
    out += ["## Summary", "", f"Overall posture: **{md(label(s.posture))}**", ""]
    out += _table(
        ["Measure", "Value"],
        [
            ["Resources evaluated", str(s.resources)],
            ["Rules run", str(s.rules_run)],
            ["Failing findings (open at the end)", str(s.failing)],
            ["Excepted", str(s.excepted)],
            ["Could not check", str(s.could_not_check)],
        ]
        + (
            [
                ["Findings opened in the period", str(s.opened_in_period)],
                ["Findings fixed in the period", str(s.fixed_in_period)],
                ["Mean time to remediate", md(mttr_text(s.mean_time_to_remediate_hours))],
            ]
            if report.period.start is not None or s.mean_time_to_remediate_hours is not None
            else [["Mean time to remediate", "not measured at a point in time (it needs a period)"]]
        ),
    )
    for note in report.notes:
        out += [f"> {md(note, block=True)}", ""]
    slugs("Summary")
    out += ["### Implementation specifications by status", ""]
    slugs("Implementation specifications by status")
    sections = _ordered_counts(s.sections)
    out += _table(["Status", "Specifications"], ([md(label(st)), str(n)] for st, n in sections)) if sections else ["No specifications.", ""]
    out += ["### Parts", ""]
    slugs("Parts")
    out += _table(
        ["Part", "Title", "Status", "Specifications"],
        (
            [
                md(p.citation),
                md(p.title),
                f"**{md(label(p.status))}**",
                md(", ".join(f"{n} {label(st)}" for st, n in part_counts(p)) or "none"),
            ]
            for p in report.parts
        ),
    )
    out += ["### Trend", ""]
    slugs("Trend")
    if len(s.trend) >= 2:
        out += _table(["Day", "Failing", "Opened", "Fixed"], ([day(d.day), str(d.failing), str(d.opened), str(d.fixed)] for d in s.trend))
    else:
        out += [md(trend_note(report), block=True), ""]
    out += ["### Top risks", ""]
    slugs("Top risks")
    out += _md_failing(s.top_risks) if s.top_risks else ["No failing resource.", ""]

    # headings first, so the contents can link to them with GitHub's anchors
    body: list[str] = []
    toc = ["## Contents", ""]
    slugs("Contents")
    if not report.parts:
        body += ["No part of the Security Rule is in this report.", ""]
    for p in report.parts:
        heading = f"{p.citation} {p.title}"
        toc.append(f"- [{md(heading)}](#{slugs(heading)})")
        body += [f"## {md(heading)}", "", f"Status: **{md(label(p.status))}**", ""]
        if not p.standards:
            body += ["No standard of this part is in the report.", ""]
        for st in p.standards:
            heading = f"{st.citation} {st.title}"
            toc.append(f"  - [{md(heading)}](#{slugs(heading)})")
            body += [f"### {md(heading)}", "", f"Status: **{md(label(st.status))}**", "", md(st.explanation, block=True), ""]
            if not st.specifications:
                body += ["No implementation specification of this standard is in the report.", ""]
            for spec in st.specifications:
                heading = f"{spec.citation} {spec.title}"
                slugs(heading)
                body += _md_specification(spec, report, f"#### {md(heading)}")
    out += toc + [""] + body
    return "\n".join(out).rstrip("\n") + "\n"


# --- JSON -------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return isoformat(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def report_data(report: Report) -> dict[str, Any]:
    """The report as the JSON object of :func:`render_json` (before serialising)."""
    data: dict[str, Any] = {"format": FORMAT}
    data.update(_json_value(dataclasses.asdict(report)))
    data["summary"]["sections"] = dict(_ordered_counts(report.summary.sections))
    return data


def render_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n"


# --- files ------------------------------------------------------------------------------------

_TEXT: dict[str, Callable[[Report], str]] = {"html": render_html, "md": render_markdown, "json": render_json}


def write_report(report: Report, fmt: str, out: Path) -> None:
    """Write the report to ``out`` as ``fmt``: html, pdf, md or json."""
    if fmt == "pdf":
        render_pdf(report, Path(out))
        return
    if fmt not in _TEXT:
        raise ValueError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")
    Path(out).write_text(_TEXT[fmt](report), encoding="utf-8")


__all__ = ["FORMAT", "FORMATS", "render_html", "render_json", "render_markdown", "render_pdf", "report_data", "write_report"]
