"""What `scan`, `evaluate`, `findings` and `rules list|show` do (declared in phiwatch.cli.scan)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import typer
from rich import box
from rich.table import Table

from phiwatch.cli.common import console, err_console, print_json
from phiwatch.cli.run.common import aws_context, deliver_alerts, open_store, print_retries, print_slow_tasks, verbose
from phiwatch.errors import UsageError
from phiwatch.evaluation import summary_by_section
from phiwatch.model import isoformat, utcnow
from phiwatch.policy import load_policy
from phiwatch.report.formats import write_scan_csv, write_scan_json, write_scan_ocsf
from phiwatch.resources import service_for_type
from phiwatch.rules.active import resolve_rules
from phiwatch.scan import run_scan
from phiwatch.store import Store
from phiwatch.store.db import parse_point
from phiwatch.store.findings import list_findings
from phiwatch.store.timeline import findings_at
from phiwatch.ui import collection_progress, print_remediation_report

FORMATS = ("table", "json", "csv", "ocsf")


def _write_with(write: Callable[[TextIO], None], output: Path | None) -> None:
    """Write a report to ``output`` (a file is replaced at once when complete; a device or pipe such as
    ``/dev/null`` or ``/dev/stdout`` is written to as it is, never replaced) or stdout, piece by piece."""
    if output is None:
        write(sys.stdout)
        return
    try:
        if output.exists() and not output.is_file():
            with output.open("w") as fh:
                write(fh)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            tmp = output.with_suffix(output.suffix + ".tmp")
            with tmp.open("w") as fh:
                write(fh)
            tmp.replace(output)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    err_console.print(f"wrote {output}")


def print_scan_table(scan: dict, rules: dict) -> None:

    table = Table(title="HIPAA Security Rule: resources by section", show_edge=False)
    table.add_column("Section", no_wrap=True, min_width=20)
    for col in ("Rules", "Compliant", "Failing", "Excepted", "Unchecked"):
        table.add_column(col, justify="right")
    for s in summary_by_section(scan, rules):
        table.add_row(
            s["section"],
            str(s["rules"]),
            str(s["compliant"]),
            f"[red]{s['non_compliant']}[/red]" if s["non_compliant"] else "0",
            str(s["excepted"]),
            f"[yellow]{s['could_not_check']}[/yellow]" if s["could_not_check"] else "0",
        )
    console.print(table)
    console.print(
        "[dim]Resources per section: Failing = non-compliant with at least one rule of the section; "
        "Unchecked = could not check (an API was denied or failed).[/dim]"
    )
    excepted = {(x["rule_id"], x["resource_id"]) for x in scan.get("excepted", [])}
    failing = [e for e in scan["evaluations"] if e["compliance"] == "NON_COMPLIANT" and (e["rule_id"], e["resource_id"]) not in excepted]
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    failing.sort(key=lambda e: (order.get(e["severity"], 9), e["rule_id"], e["resource_id"]))
    if failing:
        t = Table(title=f"{len(failing)} non-compliant", show_edge=False)
        for col in ("Severity", "Rule", "Resource", "Region", "Why"):
            t.add_column(col, overflow="fold")
        for e in failing:
            t.add_row(e["severity"], e["rule_id"], e["resource_name"] or e["resource_id"], e["region"], e["annotation"])
        console.print(t)
    unknown = [e for e in scan["evaluations"] if e["compliance"] == "INSUFFICIENT_DATA"]
    if unknown:
        t = Table(title=f"{len(unknown)} could not check", show_edge=False)
        for col in ("Rule", "Resource", "Why"):
            t.add_column(col, overflow="fold")
        for e in unknown:
            t.add_row(e["rule_id"], e["resource_name"] or e["resource_id"], e["annotation"])
        console.print(t)
    if scan.get("excepted"):
        t = Table(title=f"{len(scan['excepted'])} excepted (not counted as compliant)", show_edge=False)
        for col in ("Rule", "Resource", "Owner", "Expires", "Justification"):
            t.add_column(col, overflow="fold")
        for x in scan["excepted"]:
            t.add_row(x["rule_id"], x["resource_id"], x["owner"] or "", x["expires"] or "", x["justification"] or "")
        console.print(t)
    reopened = [e for e in scan.get("events", []) if e["event"] == "exception_expired"]
    if reopened:
        console.print(f"[yellow]{len(reopened)} finding(s) reopened because their exception expired[/yellow]")


def print_not_run(not_run: list[dict], out: Any) -> None:
    """Say once which selected rules did not run for want of a parameter, and how to run them."""
    if not not_run:
        return
    shown = ", ".join(f"{r['rule_id']} ({', '.join(r['needs_parameters'])})" for r in not_run[:6])
    more = f" and {len(not_run) - 6} more (--format json: rules_not_run)" if len(not_run) > 6 else ""
    out.print(
        f"[yellow]{len(not_run)} rule(s) of the selected packs did not run: they need a parameter that has no default: "
        f"{shown}{more}. Give it under rules: {{ID: {{parameters: ...}}}} in the policy, or switch the rule off with enabled: false.[/yellow]"
    )


def _render(scan: dict, rules: dict, fmt: str, output: Path | None) -> None:

    writers = {"json": write_scan_json, "csv": write_scan_csv, "ocsf": write_scan_ocsf}
    if fmt in writers:
        _write_with(lambda out: writers[fmt](scan, out), output)
    else:
        print_scan_table(scan, rules)


def scan(
    policy: Path | None,
    fmt: str,
    output: Path | None,
    endpoint_url: str | None,
    profile: str | None,
    region: list[str] | None,
    all_regions: bool,
    db: str | None,
    service: list[str] | None,
    no_collect: bool,
    full: bool,
    fail_on_findings: bool,
    max_attempts: int,
    retry_budget: int,
    workers: int,
) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    pol = load_policy(policy)
    rules = resolve_rules(pol)
    aws = (
        None
        if no_collect
        else aws_context(endpoint_url, profile, region, all_regions, max_attempts=max_attempts, retry_budget=retry_budget, workers=workers)
    )
    store = open_store(db, create=not no_collect)  # --no-collect judges what an earlier collection stored
    with collection_progress(enabled=fmt == "table" or output is not None) as progress:
        # after the scan committed, its alerts are sent (failures stay queued, never fail the scan)
        outcome = run_scan(
            aws,
            store,
            pol,
            rules=rules,
            services=service,
            progress=progress,
            collect_first=not no_collect,
            full=full,
            deliver=lambda: deliver_alerts(store, pol, rules, aws=aws, endpoint_url=endpoint_url, profile=profile),
            stream=True,
        )
    assert outcome.scan is not None  # assembled (report=True)
    _render(outcome.scan, rules, fmt, output)
    if outcome.remediation is not None:  # the plan (dry-run, manual) or what was applied (auto); stderr for machine formats
        print_remediation_report(outcome.remediation, console if fmt == "table" else err_console)
    if fmt == "table" and outcome.collect_result is not None and outcome.collect_result.errors:
        console.print(
            f"[yellow]{len(outcome.collect_result.errors)} API call(s) failed during collection: see `phiwatch collect` output or --format json errors[/yellow]"
        )
    print_not_run(outcome.scan.get("rules_not_run", []), console if fmt == "table" else err_console)
    print_retries(aws, console if fmt == "table" else err_console)
    if verbose() and outcome.collect_result is not None:
        print_slow_tasks(outcome.collect_result.tasks, console if fmt == "table" else err_console)
    if fail_on_findings:
        excepted = {(x["rule_id"], x["resource_id"]) for x in outcome.scan.get("excepted", [])}
        if any(
            e["compliance"] == "NON_COMPLIANT" and (e["rule_id"], e["resource_id"]) not in excepted for e in outcome.scan["evaluations"]
        ):
            raise typer.Exit(1)


def evaluate(rule: list[str] | None, policy: Path | None, db: str | None, fmt: str) -> None:
    pol = load_policy(policy)
    rules = resolve_rules(pol)
    for r in rule or []:
        if r not in rules:
            raise UsageError(f"unknown rule id '{r}' (see `phiwatch rules list`)")
        if rules[r].fn is None:
            raise UsageError(f"rule '{r}' has no evaluation in phiwatch yet (see `phiwatch rules show {r}`)")
    store = open_store(db)
    # the pipeline without collection nor remediation (no AWS context): evaluate, then send the alerts
    outcome = run_scan(
        None,
        store,
        pol,
        rules=rules,
        collect_first=False,
        full=rule is None,
        only_rules=set(rule) if rule else None,
        remediate=False,
        deliver=lambda: deliver_alerts(store, pol, rules),
        stream=True,
    )
    assert outcome.scan is not None  # assembled (report=True)
    _render(outcome.scan, rules, fmt, None)


def findings(
    status: list[str] | None,
    rule: str | None,
    severity: list[str] | None,
    json_out: bool,
    db: str | None,
    at: str | None = None,
    limit: int = 200,
) -> None:
    wanted = status or ["open", "excepted"]
    for s in wanted:
        if s not in ("open", "excepted", "resolved", "remediated"):
            raise UsageError(f"--status must be open, excepted, resolved or remediated, got '{s}'")
    when = parse_point(at, utcnow()) if at else None
    store = open_store(db)
    rows = (
        list_findings(store, wanted, rule_id=rule, severities=severity)
        if when is None
        else _findings_then(store, when, wanted, rule, severity)
    )
    if json_out:
        print_json(
            [
                {
                    "finding_id": r["id"],
                    "rule_id": r["rule_id"],
                    "status": r["status"],
                    "severity": r["severity"],
                    "resource_type": r["resource_type"],
                    "resource_id": r["resource_id"],
                    "arn": r["arn"],
                    "account_id": r["account_id"],
                    "region": r["region"],
                    "annotation": r["annotation"],
                    "opened_at": str(r["opened_at"]),
                    "updated_at": str(r["updated_at"]),
                    "resolved_at": str(r["resolved_at"]) if r["resolved_at"] else None,
                    "exception_owner": r["exception_owner"],
                    "exception_expires": r["exception_expires"],
                }
                for r in rows
            ]
        )
        return
    then = f" at {isoformat(when)}" if when is not None else ""
    t = Table(title=f"{len(rows)} findings ({', '.join(wanted)}){then}", show_edge=False)
    for col in ("Id", "Status", "Severity", "Rule", "Resource", "Opened", "Why"):
        t.add_column(col, overflow="fold")
    shown = rows[:limit] if limit else rows
    for r in shown:
        t.add_row(
            r["id"][:12],
            r["status"],
            r["severity"],
            r["rule_id"],
            r["resource_name"] or r["resource_id"],
            str(r["opened_at"])[:19],
            r["annotation"],
        )
    console.print(t)
    if len(shown) < len(rows):
        console.print(
            f"... and {len(rows) - len(shown)} more (the oldest opened are shown): `--limit 0` shows all, `--json` lists them as data"
        )


def _findings_then(store: Store, when: dt.datetime, wanted: list[str], rule: str | None, severity: list[str] | None) -> list[dict]:
    """Findings as they stood at ``when`` (from their lifecycle events), in the shape of ``list_findings``'s rows."""
    rows = []
    for f in findings_at(store, when, statuses=wanted, rule_id=rule, severities=severity):
        exception = f.exception or {}
        rows.append(
            {
                "id": f.finding_id,
                "rule_id": f.rule_id,
                "status": f.status,
                "severity": f.severity,
                "annotation": f.annotation,
                "opened_at": f.opened_at,
                "updated_at": f.since,
                "resolved_at": None if f.active else f.since,
                "exception_owner": exception.get("owner"),
                "exception_expires": exception.get("expires"),
                **f.resource,
            }
        )
    return rows


def rules_list(pack: str | None, policy: Path | None, json_out: bool, service: str | None = None, section: str | None = None) -> None:
    rules = resolve_rules(load_policy(policy))
    packs = {p for r in rules.values() for p in r.packs}
    if pack is not None and pack not in packs:
        raise UsageError(f"unknown pack '{pack}' (known: {', '.join(sorted(packs))})")
    selected = [
        r
        for r in sorted(rules.values(), key=lambda r: (r.pack or "~", r.id))
        if (pack is None or pack in r.packs) and _of_service(r, service) and _of_section(r, section)
    ]
    if json_out:
        print_json([_rule_dict(r) for r in selected])
        return
    title = f"{len(selected)} rules ({sum(1 for r in selected if r.implemented)} evaluated by phiwatch)"
    width = console.width
    t = Table(title=title, show_edge=False, pad_edge=False, box=None if width < 100 else box.SIMPLE_HEAD)
    # an id is never wrapped: the Rule column is as wide as the longest id; narrower terminals get fewer columns
    t.add_column("Rule", no_wrap=True, min_width=max((len(r.id) for r in selected), default=4))
    t.add_column("Severity", no_wrap=True)
    wide = width >= 140
    if width >= 100:
        t.add_column("Packs", overflow="fold")
    if wide:
        t.add_column("Resource types", overflow="fold")
        t.add_column("HIPAA sections", overflow="fold")
    for r in selected:
        row = [r.id, r.severity]
        if width >= 100:
            row.append(", ".join(r.packs) or "[dim]none: enable it[/dim]")
        if wide:
            row += [", ".join(r.resource_types), ", ".join(r.hipaa_sections)]
        t.add_row(*row)
    console.print(t)
    if width < 140:
        console.print(
            "[dim]A wider terminal shows packs, resource types and HIPAA sections; `phiwatch rules show ID` shows everything about one rule.[/dim]"
        )


def _of_service(rule: Any, service: str | None) -> bool:
    """Whether ``rule`` is about ``service``: its AWS service name or a collector's (s3, ec2, ...)."""
    if service is None:
        return True
    wanted = service.lower()
    if wanted in rule.service.lower():
        return True
    return any(service_for_type(t) == wanted for t in rule.resource_types)


def _of_section(rule: Any, section: str | None) -> bool:
    """Whether ``rule`` maps to HIPAA ``section`` or one under it (164.312 takes 164.312(b))."""
    if section is None:
        return True
    return any(s == section or s.startswith(section + "(") for s in rule.hipaa_sections)


def _rule_dict(r) -> dict:  # noqa: ANN001
    return {
        "id": r.id,
        "pack": r.pack,
        "packs": list(r.packs),
        "service": r.service,
        "aws_identifier": r.aws_identifier,
        "resource_types": list(r.resource_types),
        "trigger": r.trigger,
        "severity": r.severity,
        "hipaa_sections": list(r.hipaa_sections),
        "sections_source": r.sections_source,
        "parameters": {n: {"type": p.type, "default": p.default, "required": p.required} for n, p in r.parameters.items()},
        "compliant_when": r.compliant_when,
        "remediation": r.remediation,
        "aws_runbook": r.aws_runbook,
        "evaluated": r.implemented,
        "reads": r.reads,
    }


def rules_show(rule_id: str, policy: Path | None, json_out: bool) -> None:
    rules = resolve_rules(load_policy(policy))
    r = rules.get(rule_id)
    if r is None:
        raise UsageError(f"unknown rule id '{rule_id}' (see `phiwatch rules list`)")
    d = _rule_dict(r)
    if json_out:
        print_json(d)
        return
    packs = f"packs {', '.join(r.packs)}" if len(r.packs) > 1 else f"{r.packs[0]} pack" if r.packs else "no pack: enable it in the policy"
    console.print(f"[bold]{r.id}[/bold]  ({packs}, severity {r.severity}, trigger {r.trigger})")
    console.print(f"  Compliant when: {r.compliant_when or r.rationale}")
    console.print(f"  Resource types: {', '.join(r.resource_types)}")
    console.print(f"  HIPAA sections: {', '.join(r.hipaa_sections) or '-'}")
    console.print(f"  Source of sections: {r.sections_source or '-'}")
    if r.parameters:
        console.print("  Parameters:")
        for n, p in r.parameters.items():
            console.print(
                f"    {n} ({p.type}) " + ("required: the rule does not run without it" if p.required else f"default {p.default!r}")
            )
    console.print(f"  Remediation runbook: {r.remediation or '-'}" + (f" (AWS: {r.aws_runbook})" if r.aws_runbook else ""))
    console.print(f"  Evaluated by phiwatch: {'yes' if r.implemented else 'no (no collector for its resource type yet)'}")
    if r.reads:
        console.print("  Reads: " + ", ".join(f"{k} ({v})" for k, v in r.reads.items()))
