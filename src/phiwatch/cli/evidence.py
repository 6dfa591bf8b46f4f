"""Declarations of `report`, `attest`, `attestations` and `evidence pack|verify` (their work is in phiwatch.cli.run.evidence)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from phiwatch.cli import run
from phiwatch.cli.common import DbOpt, EndpointOpt, ProfileOpt

commands = typer.Typer()

PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        "-p",
        envvar="PHIWATCH_POLICY",
        help="Policy file (packs, rule overrides, exceptions). Default: every HIPAA rule.",
        exists=True,
        dir_okay=False,
    ),
]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="A point in time (ISO 8601, UTC unless a zone is given; a date means its end, 23:59:59 UTC): compliance as it stood then. Not with --from/--to.",
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Start of the period (ISO 8601; a date means its start, 00:00 UTC). Default: 30 days before --to."),
]
ToOpt = Annotated[str | None, typer.Option("--to", help="End of the period (ISO 8601; a date means its end, 23:59:59 UTC). Default: now.")]
AccountOpt = Annotated[
    list[str] | None, typer.Option("--account", help="Only this AWS account (repeatable). Default: every account in the store.")
]
ScopeRegionOpt = Annotated[
    list[str] | None, typer.Option("--region", "-r", help="Only this Region (repeatable). Default: every Region in the store.")
]


@commands.command()
def report(
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="html | pdf | md | json. Default: from the -o file's extension, else md.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (required for pdf). Default: standard output.")
    ] = None,
    at: AtOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    section: Annotated[
        str | None,
        typer.Option(
            "--section",
            help="Only this part, standard or implementation specification, e.g. '164.312(b)' or 164.308 (quote parentheses in a shell).",
        ),
    ] = None,
    account: AccountOpt = None,
    region: ScopeRegionOpt = None,
    policy: PolicyOpt = None,
    db: DbOpt = None,
) -> None:
    """A HIPAA Security Rule report, organised by section, from the stored history (no new scan).

    For each standard and implementation specification of 45 CFR 164.308-164.316: what it asks, whether it is required or addressable, the rules that give evidence for it and their status, the failing resources with the reason, exceptions, remediations done in the period, and the attestations that stand for it. Sections no AWS data proves are shown as "attestation needed" (record one with `phiwatch attest`) or "covered by AWS".

    Examples: `phiwatch report -o q3.pdf --from 2026-07-01 --to 2026-09-30`, `phiwatch report --at 2026-09-30 --section '164.312(b)' -f md`."""
    run.evidence.report(
        fmt=fmt, output=output, at=at, from_=from_, to=to, section=section, account=account, region=region, policy=policy, db=db
    )


@commands.command()
def attest(
    section: Annotated[str, typer.Argument(help="The standard or implementation specification attested, e.g. 164.308(a)(1)(ii)(A).")],
    by: Annotated[str, typer.Option("--by", help="Who attests: name and role, e.g. 'Dana Reyes, Security Officer'.")],
    statement: Annotated[
        str, typer.Option("--statement", help="What is attested, e.g. 'The 2026 risk analysis was completed and approved on 2026-03-02.'")
    ],
    evidence: Annotated[
        Path | None,
        typer.Option("--evidence", help="A file backing the statement (kept in the store, carried into evidence packs).", dir_okay=False),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Date after which it no longer stands (YYYY-MM-DD), e.g. a year on for an annual review."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Record a signed attestation for a section that no AWS data can prove (risk analysis, training, contingency plan tests, BAAs...).

    It is signed with the local evidence key (created on first use in phiwatch's data directory), and the report shows it under its section until it expires."""
    run.evidence.attest(section=section, by=by, statement=statement, evidence=evidence, expires=expires, db=db)


@commands.command()
def attestations(
    revoke: Annotated[
        str | None,
        typer.Option(
            "--revoke",
            help="Withdraw this attestation (its id, or a unique start of it) from now on; reports of earlier times still show it.",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List the recorded attestations, with whether each signature still verifies and whether it stands (not expired, not revoked)."""
    run.evidence.attestations(json_out=json_out, db=db, revoke=revoke)


evidence_app = typer.Typer(help="Signed evidence packs for auditors: write one for a period, verify one.", no_args_is_help=True)
commands.add_typer(evidence_app, name="evidence")


@evidence_app.command("pack")
def evidence_pack(
    output: Annotated[Path, typer.Option("--output", "-o", help="pack.zip (a zip file) or a new directory.")],
    at: AtOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    account: AccountOpt = None,
    region: ScopeRegionOpt = None,
    policy: PolicyOpt = None,
    kms_key_id: Annotated[
        str | None,
        typer.Option(
            "--kms-key-id",
            help="Sign with this AWS KMS key (asymmetric, SIGN_VERIFY) instead of the local Ed25519 key: a key ARN (its Region is used) or an id or alias in AWS_REGION. Uses --profile.",
        ),
    ] = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    db: DbOpt = None,
) -> None:
    """Write the evidence pack of a period: the report (HTML, PDF, Markdown, JSON), evaluations, each resource's configuration and changes, the findings' lifecycle, the remediation audit log and its verification, exceptions, attestations, the policy and the rule catalogue, with a signed manifest of SHA-256 hashes.

    Example: `phiwatch evidence pack --from 2026-07-01 --to 2026-09-30 -o q3-evidence.zip`, then `phiwatch evidence verify q3-evidence.zip`."""
    run.evidence.pack(
        output=output,
        at=at,
        from_=from_,
        to=to,
        account=account,
        region=region,
        policy=policy,
        kms_key_id=kms_key_id,
        endpoint_url=endpoint_url,
        profile=profile,
        db=db,
    )


@evidence_app.command("verify")
def evidence_verify(
    pack: Annotated[Path, typer.Argument(help="The pack: a .zip file or a directory.", exists=True)],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The public key (PEM) the pack must be signed with. Default: this machine's evidence key, when it has one.",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check every file's SHA-256 and the signatures; name each file altered, missing or added. Exit status 1 when the pack does not verify."""
    run.evidence.verify(pack=pack, public_key=public_key, json_out=json_out)
