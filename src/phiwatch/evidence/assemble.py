"""The evidence pack's contents: what an auditor gets for a period, laid out by :data:`LAYOUT`.

:func:`pack_files` yields (path in the pack, bytes) pairs; :func:`phiwatch.evidence.pack.write_pack`
hashes, signs and writes them. Everything comes from the store's history at the period's end
(and the changes within it), never from a new scan, and goes through the same masking and
redaction as the report (:mod:`phiwatch.evidence.redact`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from phiwatch import __version__
from phiwatch.evidence.attest import key_fingerprint, signature_valid
from phiwatch.evidence.build import ReportRequest, build_report, hipaa_rules
from phiwatch.evidence.model import Report
from phiwatch.evidence.pack import openssl_commands
from phiwatch.evidence.redact import REDACTED, redact_item
from phiwatch.evidence.render import render_html, render_json, render_markdown, render_pdf
from phiwatch.model import isoformat
from phiwatch.phi import mask_phi
from phiwatch.policy import Policy
from phiwatch.remediate.audit import show_entries, verify_store
from phiwatch.rules.active import resolve_rules
from phiwatch.store import Store
from phiwatch.store import timeline as tl
from phiwatch.store.attestations import list_attestations, valid_at
from phiwatch.store.diff import diff_items

#: Where each kind of evidence goes in the pack (the auditor's README lists the same).
LAYOUT = {
    "README.md": "How this pack is laid out and how to check it, for the auditor.",
    "report/report.html": "The HIPAA Security Rule report (opens in any browser; the charts are inline).",
    "report/report.pdf": "The same report laid out for print, with page numbers and a table of contents.",
    "report/report.md": "The same report as Markdown.",
    "report/report.json": "The same report as data (format phiwatch-hipaa-report/1).",
    "evaluations/evaluations.json": "Every rule's evaluation of every resource in scope as it stood at the period's end.",
    "evaluations/evaluations.csv": "The same, as CSV.",
    "findings/lifecycle.json": "Every finding open at some time in the period: its events (opened, excepted, resolved, remediated) and state at the end.",
    "findings/findings.csv": "Findings' state at the period's end, as CSV.",
    "resources/index.csv": "Every resource in scope at the period's end, and the file holding its evidence.",
    "resources/<type>/<id>.json": "A resource's configuration item at the period's end and its timeline of changes in the period (who changed what, when).",
    "remediation/audit-log.json": "The remediation audit log (hash-chained), every entry up to the period's end.",
    "remediation/audit-verification.json": "The result of verifying the audit log's hash chain when the pack was made.",
    "remediation/remediations.json": "Remediations that changed AWS in the period, with their result.",
    "exceptions/register.json": "The exception register: each exception of the policy, and the findings it covered at the period's end.",
    "attestations/attestations.json": "Signed attestations standing at the period's end, with their signatures and public keys.",
    "attestations/<id>/<file>": "The evidence file attached to an attestation.",
    "policy/policy.json": "The policy in force (notification targets redacted), with the SHA-256 of the policy file.",
    "rules/catalogue.json": "Every HIPAA rule: what it checks, its sections and where the mapping comes from.",
}


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, default=_default, ensure_ascii=False) + "\n").encode()


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return isoformat(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    raise TypeError(f"not JSON: {type(value).__name__}")


def _csv(fields: list[str], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (isoformat(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()})
    return out.getvalue().encode()


def _where(row: Any) -> dict[str, Any]:
    """A resource's type, id (masked), account and Region, as every file of the pack names it."""
    return {
        "resource_type": row["resource_type"],
        "resource_id": mask_phi(row["resource_id"]),
        "account_id": row["account_id"],
        "region": row["region"],
    }


def _slug(text: str, limit: int = 100) -> str:
    """A file name from a (masked) id: safe characters only, and short."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:limit] or "resource"


def pack_files(
    store: Store,
    policy: Policy,
    request: ReportRequest,
    *,
    algorithm: str,
    policy_file: Path | None = None,
    report: Report | None = None,
) -> Iterator[tuple[str, bytes]]:
    """The pack's files for ``request``'s period and scope, in the order they are made."""
    report = report or build_report(store, policy, request)
    end = request.end
    accounts, regions = request.accounts or None, request.regions or None
    rules = hipaa_rules(policy)

    yield "README.md", readme(report, algorithm).encode()
    yield "report/report.html", render_html(report).encode()
    yield "report/report.pdf", render_pdf(report)
    yield "report/report.md", render_markdown(report).encode()
    yield "report/report.json", render_json(report).encode()

    yield from _evaluations(store, end, rules, accounts, regions)

    yield from _findings(store, request)
    yield from _resources(store, request)
    yield from _remediation(store, request)
    yield "exceptions/register.json", _json(_exceptions(store, policy, request))
    yield from _attestations(store, end)
    yield "policy/policy.json", _json(_policy(policy, policy_file))
    yield "rules/catalogue.json", _json(_catalogue(policy))


EVALUATION_FIELDS = [
    "rule_id",
    "compliance",
    "since",
    "resource_type",
    "resource_id",
    "account_id",
    "region",
    "annotation",
    "hipaa_sections",
]


def _evaluations(
    store: Store, end: dt.datetime, rules: dict[str, Any], accounts: Sequence[str] | None, regions: Sequence[str] | None
) -> Iterator[tuple[str, bytes]]:
    """evaluations.json and .csv, written row by row as the rows are read (no list of every row:
    tens of thousands of dicts would outweigh the files themselves)."""
    as_json = io.StringIO()
    as_csv = io.StringIO()
    writer = csv.DictWriter(as_csv, fieldnames=EVALUATION_FIELDS, lineterminator="\n")
    writer.writeheader()
    as_json.write('{\n  "at": ' + json.dumps(isoformat(end)) + ',\n  "evaluations": [')
    first = True
    for e in tl.evaluations_at(store, end, accounts=accounts, regions=regions):
        row = {
            "rule_id": e["rule_id"],
            "compliance": e["compliance"],
            "since": isoformat(e["valid_from"]),
            **_where(e),
            "annotation": mask_phi(e["annotation"]),
            "hipaa_sections": ";".join(rules[e["rule_id"]].hipaa_sections) if e["rule_id"] in rules else "",
        }
        as_json.write(("\n    " if first else ",\n    ") + json.dumps(row, ensure_ascii=False))
        writer.writerow(row)
        first = False
    as_json.write("\n  ]\n}\n" if not first else "]\n}\n")
    yield "evaluations/evaluations.json", as_json.getvalue().encode()
    yield "evaluations/evaluations.csv", as_csv.getvalue().encode()


def _findings(store: Store, request: ReportRequest) -> Iterator[tuple[str, bytes]]:
    end = request.end
    accounts, regions = request.accounts or None, request.regions or None
    states = {f.finding_id: f for f in tl.findings_at(store, end, accounts=accounts, regions=regions)}
    in_period = {t.finding_id for t in tl.transitions(store, request.start or dt.datetime.min.replace(tzinfo=dt.UTC), end)}
    if request.start is not None:
        in_period |= {
            f.finding_id for f in tl.findings_at(store, request.start, statuses=list(tl.ACTIVE), accounts=accounts, regions=regions)
        }
    else:
        in_period |= set(states)
    events = tl.finding_events_of(store, sorted(in_period & set(states)), request.start, end)
    lifecycle = []
    for fid in sorted(in_period & set(states)):
        f = states[fid]
        lifecycle.append(
            {
                "finding_id": fid,
                "rule_id": f.rule_id,
                "severity": f.severity,
                **_where(f.resource),
                "status_at_end": f.status,
                "opened_at": f.opened_at,
                "events": [
                    {"event": e["event"], "time": e["time"], "annotation": mask_phi(e["annotation"]), "exception": _masked(e["detail"])}
                    for e in events.get(fid, [])
                ],
            }
        )
    yield "findings/lifecycle.json", _json({"from": request.start, "to": end, "findings": lifecycle})
    rows = [
        {
            "finding_id": f.finding_id,
            "rule_id": f.rule_id,
            "status": f.status,
            "severity": f.severity,
            **_where(f.resource),
            "opened_at": f.opened_at,
            "since": f.since,
            "annotation": mask_phi(f.annotation),
        }
        for f in states.values()
    ]
    fields = [
        "finding_id",
        "rule_id",
        "status",
        "severity",
        "resource_type",
        "resource_id",
        "account_id",
        "region",
        "opened_at",
        "since",
        "annotation",
    ]
    yield "findings/findings.csv", _csv(fields, rows)


def _resources(store: Store, request: ReportRequest) -> Iterator[tuple[str, bytes]]:
    end = request.end
    in_scope = tl.resources_at(store, end, accounts=request.accounts or None, regions=request.regions or None)
    index = []
    for start in range(0, len(in_scope), 500):
        part = in_scope[start : start + 500]
        versions = tl.versions_between(store, [r["id"] for r in part], request.start, end)
        for r in part:
            rows = versions.get(r["id"], [])
            if not rows:
                continue
            path = f"resources/{re.sub(r'[^A-Za-z0-9]+', '-', r['resource_type']).strip('-')}/{_slug(mask_phi(r['resource_id']) or '')}-{r['id']}.json"
            items = [redact_item(v["item"]) for v in rows]
            timeline = []
            for i, v in enumerate(rows):
                if request.start is not None and v["capture_time"] <= request.start:
                    continue  # the state the period started from
                before = items[i - 1] if i > 0 else None
                timeline.append(
                    {
                        "version": v["version"],
                        "captured_at": v["capture_time"],
                        "status": v["status"],
                        "changed_by": mask_phi(v["changed_by"]),
                        "changes": [c.to_dict() for c in diff_items(before, items[i])] if before is not None else "first recorded",
                    }
                )
            index.append(
                {
                    **_where(r),
                    "version_at_end": rows[-1]["version"],
                    "changes_in_period": len(timeline),
                    "file": path,
                }
            )
            yield path, _json({"configuration_item_at_end": items[-1], "changes_in_period": timeline})
    yield (
        "resources/index.csv",
        _csv(["resource_type", "resource_id", "account_id", "region", "version_at_end", "changes_in_period", "file"], index),
    )


def _remediation(store: Store, request: ReportRequest) -> Iterator[tuple[str, bytes]]:
    end = request.end
    entries = []
    for e in show_entries(store):
        if e["time"] > isoformat(end):
            continue
        shown = _masked(e)
        # an entry whose ids held a PHI-looking value is shown masked: its hash no longer recomputes
        # from what is shown, so it says so; the chain was verified on the stored entries below
        entries.append({**shown, "masked": True} if shown != e else e)
    yield "remediation/audit-log.json", _json({"entries": entries})
    check = verify_store(store)
    yield (
        "remediation/audit-verification.json",
        _json(
            {
                "verified_at_pack_creation": True,
                "ok": check.ok,
                "entries": check.entries,
                "head_hash": check.head,
                "first_bad_entry": check.bad_id,
                "reason": check.reason,
                "how": "each entry's hash is sha256(previous hash + canonical JSON of the entry); the first entry follows the genesis hash",
            }
        ),
    )
    remediations = tl.remediations_between(store, request.start, end, accounts=request.accounts or None, regions=request.regions or None)
    for r in remediations:
        r["resource_id"] = mask_phi(r["resource_id"])
        r["resource_name"] = mask_phi(r["resource_name"])
        r["arn"] = mask_phi(r["arn"])
    yield "remediation/remediations.json", _json({"from": request.start, "to": end, "remediations": remediations})


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str):
        return mask_phi(value)
    return value


def _exceptions(store: Store, policy: Policy, request: ReportRequest) -> dict[str, Any]:
    excepted = tl.findings_at(store, request.end, statuses=["excepted"], accounts=request.accounts or None, regions=request.regions or None)
    return {
        "at": request.end,
        "policy_exceptions": [_masked(e.model_dump(mode="json")) for e in policy.exceptions],
        "excepted_findings": [
            {
                "finding_id": f.finding_id,
                "rule_id": f.rule_id,
                **_where(f.resource),
                "excepted_since": f.since,
                "owner": mask_phi((f.exception or {}).get("owner")),
                "justification": mask_phi((f.exception or {}).get("justification")),
                "expires": (f.exception or {}).get("expires"),
            }
            for f in excepted
        ],
    }


def _attestations(store: Store, end: dt.datetime) -> Iterator[tuple[str, bytes]]:
    listed = []
    for a in list_attestations(store, with_evidence=True):
        if not valid_at(a, end):
            continue
        evidence = a.pop("evidence", None)
        file = None
        if evidence is not None and a.get("evidence_name"):
            file = f"attestations/{a['id']}/{_slug(mask_phi(a['evidence_name']) or '', 80)}"
            yield file, evidence
        listed.append(
            {
                **{k: v for k, v in a.items() if k != "revoked_at"},
                "statement": mask_phi(a["statement"]),
                "attested_by": mask_phi(a["attested_by"]),
                "evidence_file": file,
                "key_fingerprint": key_fingerprint(a),
                "signature_valid": signature_valid({**a, "evidence": evidence}),
                "signed_fields": "canonical JSON (sorted keys, no spaces) of id, section, attested_by, statement, attested_at, expires, evidence_name, evidence_sha256, actor",
            }
        )
    yield "attestations/attestations.json", _json({"at": end, "attestations": listed})


# what a notification route may show: where alerts go (targets, addresses, secrets, SMTP settings) is redacted
NOTIFICATION_KEEP = {"name", "channel", "when", "digest", "reminder_hours", "owner_tag"}


def _policy(policy: Policy, policy_file: Path | None) -> dict[str, Any]:
    data = policy.model_dump(mode="json")
    data["notifications"] = [
        {k: (v if k in NOTIFICATION_KEEP else REDACTED) for k, v in route.items()} for route in data.get("notifications", [])
    ]
    return {
        "source": policy.source,
        "file_sha256": hashlib.sha256(policy_file.read_bytes()).hexdigest() if policy_file is not None and policy_file.is_file() else None,
        "note": "notification targets (URLs, addresses, credentials) are redacted; compare file_sha256 with the policy file you keep",
        "policy": data,
    }


def _catalogue(policy: Policy) -> dict[str, Any]:
    rules = resolve_rules(policy)
    return {
        "rules": [
            {
                "id": r.id,
                "aws_identifier": r.aws_identifier,
                "packs": list(r.packs),
                "severity": r.severity,
                "resource_types": list(r.resource_types),
                "checks": r.compliant_when,
                "hipaa_sections": list(r.hipaa_sections),
                "sections_source": r.sections_source,
                "remediation": r.remediation,
            }
            for r in sorted(rules.values(), key=lambda r: r.id)
            if r.hipaa_sections
        ]
    }


def readme(report: Report, algorithm: str) -> str:
    period = (
        f"from {isoformat(report.period.start)} to {isoformat(report.period.end)}"
        if report.period.start
        else f"at {isoformat(report.period.end)}"
    )
    lines = [
        "# HIPAA evidence pack",
        "",
        f"Made by phiwatch {__version__} from its stored history, {period}.",
        f"Scope: accounts {', '.join(report.scope.accounts) or '(none)'}; Regions {', '.join(report.scope.regions) or '(none)'}.",
        "",
        "Start with `report/report.pdf` (or `report/report.html`): it is organised by section of the HIPAA Security Rule",
        "(45 CFR 164.308 to 164.316) and says, for each standard and implementation specification, which rules give",
        "evidence, what failed and why, which exceptions applied, what was remediated, and which sections need a",
        "person's attestation or are covered by AWS under the shared responsibility model. The other files are the",
        "evidence behind it.",
        "",
        "## Layout",
        "",
        "| Path | What it holds |",
        "|---|---|",
        *[f"| `{path}` | {what} |" for path, what in LAYOUT.items()],
        "",
        "Resource ids, names and reasons that look like PHI (SSNs, medical record numbers, dates of birth, Medicare ids)",
        "are masked as `[masked]`; values that can hold PHI or secrets (tag values named like personal data, environment",
        "variables, user data, parameter and secret values) are replaced by `[redacted]`, keeping their keys.",
        "",
        "## Checking the pack",
        "",
        "`manifest.json` lists every file with its SHA-256 and size and is signed (`manifest.json.sig`); `SHA256SUMS`",
        "holds the same hashes in `sha256sum`'s format and is signed too (`SHA256SUMS.sig`); `public_key.pem` is the",
        "signing key. With phiwatch: `phiwatch evidence verify <pack>` names any file altered, missing or added.",
        f"Without phiwatch, in the unpacked folder (this pack is signed with {algorithm}):",
        "",
        "```",
        *openssl_commands(algorithm),
        "```",
        "",
        "The first proves `SHA256SUMS` was signed by the key in `public_key.pem`; the second that every file matches it.",
        "Compare the key's fingerprint (`openssl pkey -pubin -in public_key.pem -outform DER | sha256sum`) with the",
        "one the organisation gave you: a signature only proves who signed if you know whose key it is.",
        "",
    ]
    return "\n".join(lines)
