"""What `report`, `attest`, `attestations` and `evidence pack|verify` do (declared in phiwatch.cli.evidence)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import time
from pathlib import Path

import typer
from rich.table import Table

from phiwatch import __version__
from phiwatch.cli.common import console, err_console, print_json
from phiwatch.cli.run.common import aws_context, open_store
from phiwatch.errors import UsageError
from phiwatch.evidence.assemble import pack_files
from phiwatch.evidence.attest import check_section, key_fingerprint, record_attestation, signature_valid
from phiwatch.evidence.build import ReportRequest, build_report
from phiwatch.evidence.pack import write_pack
from phiwatch.evidence.render import FORMATS, render_html, render_json, render_markdown, write_report
from phiwatch.evidence.signing import KmsSigner, LocalSigner, Signer, default_data_dir, fingerprint_of, key_path
from phiwatch.evidence.verify import iter_problems, verify_pack
from phiwatch.model import isoformat, utcnow
from phiwatch.policy import load_policy
from phiwatch.store.attestations import list_attestations, revoke_attestation, valid_at
from phiwatch.store.db import parse_point, parse_time

DEFAULT_DAYS = 30
SUFFIXES = {".html": "html", ".htm": "html", ".pdf": "pdf", ".md": "md", ".markdown": "md", ".json": "json"}


def _is_date(text: str) -> bool:
    return len(text.strip()) == 10


def period(at: str | None, from_: str | None, to: str | None) -> tuple[dt.datetime | None, dt.datetime]:
    """(start, end) of the options: ``--at`` alone is a point in time; otherwise a period, by default the last 30 days."""
    now = utcnow()
    if at is not None:
        if from_ is not None or to is not None:
            raise UsageError("--at is a point in time; --from/--to a period: give one or the other")
        return None, parse_point(at, now)
    end = parse_time(to) if to is not None else now
    if to is not None and _is_date(to):
        end = end + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    end = min(end, now)
    start = parse_time(from_) if from_ is not None else end - dt.timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise UsageError(f"--from {from_} is not before --to {to or 'now'}")
    return start, end


def _request(
    at: str | None, from_: str | None, to: str | None, section: str | None, account: list[str] | None, region: list[str] | None
) -> ReportRequest:
    start, end = period(at, from_, to)
    if section is not None:
        section = section.strip()
        if not section.startswith("164.3"):
            raise UsageError(f"--section {section}: give a part, standard or specification of 164.308-164.316, e.g. 164.312(b)")
        if section not in ("164.308", "164.310", "164.312", "164.314", "164.316"):
            check_section(section)
    return ReportRequest(end=end, start=start, section=section, accounts=tuple(account or ()), regions=tuple(region or ()))


def report(
    fmt: str | None,
    output: Path | None,
    at: str | None,
    from_: str | None,
    to: str | None,
    section: str | None,
    account: list[str] | None,
    region: list[str] | None,
    policy: Path | None,
    db: str | None,
) -> None:
    if fmt is None:
        fmt = SUFFIXES.get(output.suffix.lower(), "md") if output is not None else "md"
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    if fmt == "pdf" and output is None:
        raise UsageError("a PDF report needs -o FILE.pdf")
    request = _request(at, from_, to, section, account, region)
    store = open_store(db)
    built = build_report(store, load_policy(policy), request)
    if output is None:
        sys.stdout.write(render_markdown(built) if fmt == "md" else render_json(built) if fmt == "json" else render_html(built))
        return
    started = time.monotonic()
    write_report(built, fmt, output)
    err_console.print(f"wrote {output} ({fmt}, {output.stat().st_size:,} bytes, {time.monotonic() - started:.1f} s)")


def _signer(kms_key_id: str | None, endpoint_url: str | None, profile: str | None) -> Signer:
    if kms_key_id is None:
        return LocalSigner.load_or_create(default_data_dir())
    # a key ARN names its Region (arn:aws:kms:REGION:ACCOUNT:key/ID); an id or alias is in the default Region
    parts = kms_key_id.split(":")
    region = [parts[3]] if kms_key_id.startswith("arn:") and len(parts) > 4 and parts[3] else None
    aws = aws_context(endpoint_url, profile, region, check=False)
    return KmsSigner(aws.client("kms"), kms_key_id)


def attest(section: str, by: str, statement: str, evidence: Path | None, expires: str | None, db: str | None) -> None:
    until = None
    if expires is not None:
        try:
            until = dt.date.fromisoformat(expires.strip())
        except ValueError as exc:
            raise UsageError(f"--expires must be a date (YYYY-MM-DD), got '{expires}'") from exc
    check_section(section)
    store = open_store(db, create=True)
    signer = LocalSigner.load_or_create(default_data_dir())
    row = record_attestation(store, signer, section=section, by=by, statement=statement, evidence=evidence, expires=until)
    console.print(
        f"attestation {row['id'][:12]} for {row['section']} recorded, signed by {signer.fingerprint()[:23]}…"
        + (f", expires {row['expires']}" if row["expires"] else "")
    )


def attestations(json_out: bool, db: str | None, revoke: str | None = None) -> None:
    store = open_store(db)
    now = utcnow()
    if revoke is not None:
        revoked = revoke_attestation(store, revoke, now)
        err_console.print(f"attestation {revoked[:12]} revoked from {isoformat(now)}: it no longer stands for its section")
    rows = list_attestations(store, with_evidence=True)
    out = [
        {
            "id": r["id"],
            "section": r["section"],
            "attested_by": r["attested_by"],
            "statement": r["statement"],
            "attested_at": isoformat(r["attested_at"]),
            "expires": r["expires"],
            "evidence_name": r["evidence_name"],
            "evidence_sha256": r["evidence_sha256"],
            "key_fingerprint": key_fingerprint(r),
            "signature_valid": signature_valid(r),
            "standing": valid_at(r, now),
            "revoked_at": isoformat(r["revoked_at"]) if r["revoked_at"] else None,
        }
        for r in rows
    ]
    if json_out:
        print_json(out)
        return
    t = Table(title=f"{len(out)} attestations", show_edge=False)
    for col in ("Id", "Section", "By", "When", "Expires", "Signature", "Statement"):
        t.add_column(col, overflow="fold")
    for r in out:
        t.add_row(
            r["id"][:12],
            r["section"],
            r["attested_by"],
            r["attested_at"][:10],
            (r["expires"] or "never") + (" (revoked)" if r["revoked_at"] else "" if r["standing"] else " (expired)"),
            "valid" if r["signature_valid"] else "[red]INVALID[/red]",
            r["statement"],
        )
    console.print(t)


def pack(
    output: Path,
    at: str | None,
    from_: str | None,
    to: str | None,
    account: list[str] | None,
    region: list[str] | None,
    policy: Path | None,
    kms_key_id: str | None,
    endpoint_url: str | None,
    profile: str | None,
    db: str | None,
) -> None:
    request = _request(at, from_, to, None, account, region)
    store = open_store(db)
    loaded = load_policy(policy)
    signer = _signer(kms_key_id, endpoint_url, profile)
    started = time.monotonic()
    with err_console.status("building the report and collecting the evidence…"):
        files = list(pack_files(store, loaded, request, algorithm=signer.algorithm, policy_file=policy))
    meta = {
        "period": {"from": isoformat(request.start) if request.start else None, "to": isoformat(request.end)},
        "scope": {"accounts": list(request.accounts), "regions": list(request.regions)},
        "store": store.safe_url(),
        "policy": loaded.source,
    }
    summary = write_pack(files, output, signer, created_at=utcnow().replace(microsecond=0), tool_version=__version__, meta=meta)
    err_console.print(
        f"wrote {summary.path}: {summary.files} files, {summary.total_bytes:,} bytes, signed {summary.algorithm} "
        f"by {summary.key_fingerprint} ({time.monotonic() - started:.1f} s). Check it with `phiwatch evidence verify {output}`."
    )


def verify(pack: Path, public_key: Path | None, json_out: bool) -> None:
    trusted = public_key.read_bytes() if public_key is not None else None
    if trusted is not None:
        try:
            fingerprint_of(trusted)
        except ValueError as exc:
            raise UsageError(f"--public-key {public_key}: not a PEM public key") from exc
    result = verify_pack(pack, trusted_public_key_pem=trusted)
    local = key_path(default_data_dir())
    local_fingerprint = None
    if local.is_file():
        local_fingerprint = LocalSigner.load_or_create(default_data_dir()).fingerprint()
    if json_out:
        data = {k: v for k, v in dataclasses.asdict(result).items() if k != "manifest"}
        data["signed_by_this_machine"] = local_fingerprint is not None and local_fingerprint == result.key_fingerprint
        print_json(data)
    else:
        for line in iter_problems(result):
            console.print(f"[red]✗[/red] {line}", highlight=False, soft_wrap=True)
        if result.ok:
            console.print(
                f"[green]✓[/green] {pack}: {result.files_checked} files match the signed manifest ({result.algorithm}, key {result.key_fingerprint})",
                highlight=False,
                soft_wrap=True,
            )
            if trusted is not None:
                console.print("  signed by the --public-key given")
            elif local_fingerprint == result.key_fingerprint:
                console.print("  signed by this machine's evidence key")
            else:
                console.print(
                    "  the key is the pack's own: compare its fingerprint with the one the signer published, or pass --public-key",
                    highlight=False,
                )
        else:
            console.print(f"[red]✗[/red] {pack} does not verify: {len(result.problems)} problem(s)", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


__all__ = ["attest", "attestations", "pack", "period", "report", "verify"]
