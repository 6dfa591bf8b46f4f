"""`phiwatch demo`: the whole loop on the embedded emulator, narrated."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from phiwatch import __version__
from phiwatch.aws import AwsContext
from phiwatch.aws.session import make_client
from phiwatch.demo.estate import OWNER_TAG, seed_estate
from phiwatch.emulator import Emulator
from phiwatch.evaluation import summary_by_section
from phiwatch.evidence.assemble import pack_files
from phiwatch.evidence.build import ReportRequest
from phiwatch.evidence.pack import write_pack
from phiwatch.evidence.signing import LocalSigner
from phiwatch.evidence.verify import verify_pack
from phiwatch.model import utcnow
from phiwatch.notify.dispatcher import deliver
from phiwatch.policy import NotificationRoute, Policy, Remediation, RouteFilter, RuleRemediation
from phiwatch.remediate.audit import verify
from phiwatch.rules.active import resolve_rules
from phiwatch.scan import run_scan
from phiwatch.store import Store
from phiwatch.store.timeline import history_starts
from phiwatch.ui import collection_progress, console, err_console


def run_demo(db: str | None = None, regions: list[str] | None = None) -> None:
    regions = regions or ["us-east-1"]
    workdir = Path(tempfile.mkdtemp(prefix="phiwatch-demo-"))
    db = db or f"sqlite:///{workdir / 'demo.db'}"
    console.rule("[bold]phiwatch demo[/bold]")
    started = utcnow().replace(microsecond=0)
    with Emulator() as emu:
        # the emulator lacks a few APIs (see `phiwatch emulator`); phiwatch handles those calls itself
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        console.print(f"1. Embedded AWS emulator running at {emu.endpoint} (no AWS account used)")
        session = emu.session(regions[0])
        created = seed_estate(session, emu.endpoint, regions[0])
        console.print(f"2. Seeded a demo healthcare estate ({', '.join(sorted(created))})")
        alerts_topic, alerts_queue = subscribe_alerts_queue(session, emu.endpoint, regions[0])
        aws = AwsContext(endpoint_url=emu.endpoint, regions=regions, session=session)
        store = Store(db)
        policy = Policy(
            packs=["hipaa", "hipaa-extras"],
            notifications=[
                NotificationRoute(
                    name="security-team", channel="sns", target=alerts_topic, when=RouteFilter(severity=["high", "critical"])
                ),
            ],
        )
        rules = resolve_rules(policy)
        alerts = AlertInbox(session, emu.endpoint, regions[0], alerts_topic, alerts_queue)
        with collection_progress(enabled=err_console.is_terminal) as progress:  # its alerts are shown at step 5
            outcome = run_scan(aws, store, policy, rules=rules, progress=progress, deliver=lambda: deliver(store, policy, rules, aws=aws))
        c = outcome.collect_result
        # run_scan collects first and assembles the report unless told otherwise
        assert c is not None and outcome.scan is not None
        console.print(
            f"3. Collected {c.seen} items of {len(c.types_seen)} resource types (account {c.account_id}, "
            f"{', '.join(c.regions)}) in {c.seconds:.1f}s, {c.requests} requests, into {db}"
        )
        print_owners(store)
        print_sections(outcome.scan, rules)
        print_findings(outcome.scan, db)
        console.print(
            f"5. Alerts: route security-team sends high and critical findings to SNS topic "
            f"{alerts_topic.rsplit(':', 1)[-1]}; an SQS queue subscribed to it shows what arrives"
        )
        alerts.show(outcome.delivery, store)
        show_remediation(aws, store, policy, outcome, db, alerts, rules)
        pack = show_evidence(store, policy, workdir, started)
        console.print(try_it_yourself(db, pack), soft_wrap=True, highlight=False)
        store.close()


def phiwatch_command() -> str:
    """How to run phiwatch from the user's shell: plain `phiwatch` when that is the program found
    on PATH, else the path of this installation's script (e.g. `.venv/bin/phiwatch` after `make demo`)."""
    script = Path(sys.executable).with_name("phiwatch")
    on_path = shutil.which("phiwatch")
    if on_path and (not script.exists() or Path(on_path).resolve() == script.resolve()):
        return "phiwatch"
    if not script.exists():
        return f"{sys.executable} -m phiwatch.cli"
    try:
        relative = script.relative_to(Path.cwd())
    except ValueError:
        return str(script)
    return str(relative) if relative.parts and relative.parts[0] != ".." else os.fspath(script)


def show_evidence(store: Store, policy: Policy, workdir: Path, started: dt.datetime) -> Path:
    """Step 10: the evidence pack of the demo's history, signed with a key of the demo's own (the
    user's evidence key in phiwatch's data directory is left alone), then verified."""
    first = history_starts(store) or started
    # from just before the first scan, so its findings count as opened in the period
    request = ReportRequest(start=first - dt.timedelta(microseconds=1), end=utcnow())
    signer = LocalSigner.load_or_create(workdir)
    out = workdir / "evidence-pack.zip"
    files = list(pack_files(store, policy, request, algorithm=signer.algorithm))
    summary = write_pack(files, out, signer, created_at=utcnow().replace(microsecond=0), tool_version=__version__, meta={"demo": True})
    check = verify_pack(out, trusted_public_key_pem=signer.public_key_pem())
    console.print(
        f"10. Evidence for the auditor: {out} ({summary.files} files: the HIPAA report as PDF, HTML, Markdown and JSON, "
        f"evaluations, each resource's configuration and changes, findings, the audit log, the rule catalogue), "
        f"signed {summary.algorithm}; verified: {'every hash and signature checks out' if check.ok else 'FAILED'}",
        soft_wrap=True,
        highlight=False,
    )
    return out


def try_it_yourself(db: str, pack: Path | None = None) -> str:
    """Commands that run as printed, against the demo's store."""
    cmd = phiwatch_command()
    lines = [
        "",
        "Try it yourself against the same store:",
        f"  {cmd} findings --db {db}",
        f"  {cmd} notifications --db {db}",
        f"  {cmd} history --db {db} phi-records-compliant",
        f"  {cmd} show --db {db} phi-imaging-noncompliant",
        f"  {cmd} rules show s3-bucket-logging-enabled",
        f"  {cmd} report --db {db} --section '164.312(b)'",
    ]
    if pack is not None:
        lines.append(f"  {cmd} evidence verify {pack}")
    if cmd != "phiwatch":
        venv_bin = Path(cmd).parent
        if (venv_bin / "activate").exists():
            lines.append(f"(or `source {venv_bin / 'activate'}` first, then type `phiwatch ...`)")
    return "\n".join(lines)


def line(text: str) -> None:
    """One line, cut at the terminal's width (lists stay one row per item)."""
    console.print(text, no_wrap=True, overflow="ellipsis", highlight=False)


def print_owners(store) -> None:
    """Owner tags: email routes can reach each resource's owner (``owner_tag``)."""
    owners = Counter(row["tags"][OWNER_TAG] for row in store.inventory(tags={OWNER_TAG: "*"}))
    top = ", ".join(f"{owner} ({n})" for owner, n in owners.most_common(4))
    console.print(
        f"   {sum(owners.values())} resources name their owner in tag {OWNER_TAG} ({len(owners)} owners): {top}, ...", highlight=False
    )


SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def print_sections(scan: dict, rules: dict) -> None:
    """The scan summary by HIPAA Security Rule section, as `phiwatch scan` prints it."""
    table = Table(title="HIPAA scan: resources by Security Rule section", show_edge=False, title_justify="left")
    table.add_column("Section", no_wrap=True)
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


def print_findings(scan: dict, db: str, shown: int = 8) -> None:
    """Counts by severity and the most severe findings, one line each."""
    failing = sorted(_failing(scan), key=lambda e: (SEVERITY_ORDER.get(e["severity"], 9), e["rule_id"], e["resource_id"]))
    unchecked = sum(1 for e in scan["evaluations"] if e["compliance"] == "INSUFFICIENT_DATA")
    counts = Counter(e["severity"] for e in failing)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in SEVERITY_ORDER if counts[s])
    console.print(
        f"4. HIPAA scan: {len(scan['evaluations'])} evaluations, {len(failing)} non-compliant ({by_severity}), "
        f"{unchecked} could not check. The most severe:",
        highlight=False,
    )
    for e in failing[:shown]:
        line(f"   [bold]{e['severity']:<8}[/bold] {e['rule_id']}  {e['resource_name'] or e['resource_id']}: {e['annotation']}")
    if len(failing) > shown:
        console.print(f"   ... and {len(failing) - shown} more: `{phiwatch_command()} findings --db {db}`", highlight=False, soft_wrap=True)


def subscribe_alerts_queue(session, endpoint: str, region: str) -> tuple[str, str]:
    """The seeded alerts topic with an SQS queue subscribed, so the demo can show what arrives."""
    sns, sqs = make_client(session, "sns", endpoint, region), make_client(session, "sqs", endpoint, region)
    topic = sns.create_topic(Name="hipaa-alerts-encrypted")["TopicArn"]  # idempotent: the seeded topic
    queue = sqs.create_queue(QueueName="phiwatch-demo-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue


class AlertInbox:
    """Shows what a scan delivered through the policy's routes, read back from the queue."""

    def __init__(self, session, endpoint: str, region: str, topic: str, queue: str) -> None:

        self.sqs = make_client(session, "sqs", endpoint, region)
        self.topic, self.queue = topic, queue
        self.example_shown = False

    def receive(self) -> list[dict]:
        arrived: list[dict] = []
        for _ in range(100):
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            arrived += [json.loads(json.loads(m["Body"])["Message"]) for m in got]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
            )
        return arrived

    def show(self, result, store, shown: int = 6) -> None:
        """``result``: the scan's delivery (:attr:`phiwatch.scan.ScanOutcome.delivery`)."""

        if result is None or not result.routes:
            console.print("   no alerts to send")
            return
        console.print(f"   {result.summary()} in {result.seconds:.2f}s", highlight=False)
        arrived = self.receive()
        counts = Counter(a["event"] for a in arrived)
        console.print(f"   {len(arrived)} arrived on the queue: " + ", ".join(f"{n} {e}" for e, n in counts.most_common()), highlight=False)
        order = sorted(arrived, key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9), a["rule_id"], a["resource_id"], a["event"]))
        for a in order[:shown]:
            line(f"   {a['event']:<20} {a['severity']:<8} {a['rule_id']}  {a['resource_id']}")
        if len(arrived) > shown:
            console.print(
                f"   ... and {len(arrived) - shown} more (the delivery log: `{phiwatch_command()} notifications --db {store.url}`)",
                highlight=False,
                soft_wrap=True,
            )
        if arrived and not self.example_shown:
            self.example_shown = True
            console.print("   Each alert is one JSON object: ids, rule and reason only, never configuration values or PHI:")
            console.print(json.dumps(order[0], separators=(", ", ": ")), highlight=False, soft_wrap=False)


# rules the demo lets phiwatch fix on its own (mode auto); the others stay planned (dry-run)
DEMO_AUTO_RULES = (
    "ec2-ebs-encryption-by-default",
    "s3-bucket-versioning-enabled",
    "s3-bucket-server-side-encryption-enabled",
    "s3-bucket-public-read-prohibited",
    "s3-bucket-public-write-prohibited",
    "s3-account-level-public-access-blocks-periodic",
    "restricted-ssh",
    "restricted-common-ports",
    "ec2-imdsv2-check",
    "ebs-snapshot-public-restorable-check",
    "iam-password-policy",
)


def show_remediation(aws, store, policy, outcome, db: str, alerts: AlertInbox, rules) -> None:
    """The first scan planned every runbook (dry-run, the default): show the plan, then apply the
    auto-mode rules' runbooks in a second scan, which re-collects, re-evaluates and audits; the
    alerts it raises (remediation applied, finding resolved) arrive on the queue."""
    report = outcome.remediation
    planned = report.by_status("planned") if report else []
    console.print(f"6. Remediation plan (mode dry-run, the default): {len(planned)} findings have a runbook; nothing was changed")
    for o in planned[:6]:
        writes = [c for c in o.plan if c.get("write")]
        call = f"{writes[0]['service']}:{writes[0]['api']}" if writes else "-"
        line(f"   {o.rule_id}  {o.resource_id}  -> {call}")
    if len(planned) > 6:
        console.print(f"   ... and {len(planned) - 6} more (`{phiwatch_command()} remediate --db {db}`)", highlight=False, soft_wrap=True)
    auto = policy.model_copy(
        update={
            "remediation": Remediation(mode="dry-run", max_per_run=50, rules={r: RuleRemediation(mode="auto") for r in DEMO_AUTO_RULES})
        }
    )
    auto.source = "demo policy with remediation auto for some rules"
    before = _failing(outcome.scan)
    console.print(f"7. Scanning again with mode auto for {len(DEMO_AUTO_RULES)} rules: apply, re-collect, re-evaluate")
    second = run_scan(aws, store, auto, progress=None, deliver=lambda: deliver(store, auto, rules, aws=aws))  # shown at step 9
    done = [o for o in (second.remediation.outcomes if second.remediation else []) if o.mode == "auto" and o.new]
    for o in done[:8]:
        style = {"applied": "green", "failed": "red"}.get(o.status, "yellow")
        line(f"   [{style}]{o.status:<8}[/{style}] {o.rule_id}  {o.resource_id}" + (f": {o.reason}" if o.reason else ""))
    if len(done) > 8:
        console.print(f"   ... and {len(done) - 8} more")
    assert second.scan is not None  # reported, as by default
    after = _failing(second.scan)
    applied = [o for o in done if o.status == "applied"]
    console.print(f"8. Re-scan: {len(before)} non-compliant evaluations before, {len(after)} after", highlight=False)
    rescan = Rescan.of(before, after, applied)
    for text in rescan.lines():
        console.print(f"   {text}", highlight=False, soft_wrap=True)
    with store.engine.connect() as conn:
        check = verify(conn)
    console.print(
        f"   audit log: {check.entries} entries, hash chain {'intact' if check.ok else 'BROKEN'} (`{phiwatch_command()} audit verify --db {db}`)",
        soft_wrap=True,
    )
    console.print("9. Alerts of the second scan (sent once: nothing is re-sent for findings that did not change)")
    routed = policy.notifications[0].when.severity if policy.notifications and policy.notifications[0].when else None
    if routed:
        quiet = [o for o in applied if rules[o.rule_id].severity not in routed]
        side_routed = sum(1 for rule_id, _ in rescan.side_effect if rules[rule_id].severity in routed)
        console.print(
            f"   route security-team takes {' and '.join(routed)} findings only: expect {len(applied) - len(quiet)} "
            f"remediation_applied ({len(quiet)} of the {len(applied)} remediations are of lower severity) "
            f"and {side_routed} resolved (the side-effect fixes of step 8 at that severity)",
            highlight=False,
            soft_wrap=True,
        )
    alerts.show(second.delivery, store)


@dataclass(frozen=True)
class Rescan:
    """How the non-compliant (rule, resource) pairs moved between two scans: fixed by a runbook,
    fixed as a side effect of another runbook, newly non-compliant (a rule that starts to apply
    to a changed resource)."""

    by_runbook: frozenset[tuple[str, str]]
    side_effect: frozenset[tuple[str, str]]
    new: frozenset[tuple[str, str]]
    applied: int

    @classmethod
    def of(cls, before: list[dict], after: list[dict], applied: list) -> Rescan:
        was = {(e["rule_id"], e["resource_id"]) for e in before}
        now = {(e["rule_id"], e["resource_id"]) for e in after}
        remediated = {(o.rule_id, o.resource_id) for o in applied}
        fixed = was - now
        return cls(frozenset(fixed & remediated), frozenset(fixed - remediated), frozenset(now - was), len(applied))

    def lines(self) -> list[str]:
        def rules_of(keys: frozenset[tuple[str, str]]) -> str:
            return ", ".join(f"{rule} x{n}" for rule, n in Counter(r for r, _ in keys).most_common())

        lines = [f"{len(self.by_runbook)} fixed by their runbook ({self.applied} applied, each verified compliant by re-collection)"]
        if self.side_effect:
            lines.append(f"{len(self.side_effect)} fixed as a side effect of those changes ({rules_of(self.side_effect)})")
        if self.new:
            lines.append(f"{len(self.new)} newly non-compliant: a changed resource now falls under another rule ({rules_of(self.new)})")
        return lines


def _failing(scan: dict) -> list:
    excepted = {(x["rule_id"], x["resource_id"]) for x in scan.get("excepted", [])}
    return [e for e in scan["evaluations"] if e["compliance"] == "NON_COMPLIANT" and (e["rule_id"], e["resource_id"]) not in excepted]
