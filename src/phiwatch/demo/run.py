"""`phiwatch demo`: the whole loop on the embedded emulator, narrated."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from rich.table import Table

from phiwatch.cli_common import console


def run_demo(db: str | None = None, regions: list[str] | None = None) -> None:
    from phiwatch.aws import AwsContext
    from phiwatch.cli_scan import print_scan_table
    from phiwatch.demo.estate import OWNER_TAG, seed_estate
    from phiwatch.emulator import Emulator
    from phiwatch.engine import resolve_rules, run_scan
    from phiwatch.policy import NotificationRoute, Policy, RouteFilter
    from phiwatch.store import Store
    from phiwatch.ui import collection_progress, print_collect_summary

    regions = regions or ["us-east-1"]
    workdir = Path(tempfile.mkdtemp(prefix="phiwatch-demo-"))
    db = db or f"sqlite:///{workdir / 'demo.db'}"
    console.rule("[bold]phiwatch demo[/bold]")
    with Emulator() as emu:
        console.print(f"1. Embedded AWS emulator running at {emu.endpoint} (no AWS account used)")
        session = emu.session(regions[0])
        created = seed_estate(session, emu.endpoint, regions[0])
        console.print(f"2. Seeded a demo healthcare estate ({', '.join(sorted(created))})")
        alerts_topic, alerts_queue = subscribe_alerts_queue(session, emu.endpoint, regions[0])
        console.print(f"3. Collecting the inventory and evaluating the HIPAA rules into {db}")
        aws = AwsContext(endpoint_url=emu.endpoint, regions=regions, session=session)
        store = Store(db)
        policy = Policy(packs=["hipaa", "hipaa-extras"], notifications=[
            NotificationRoute(name="security-team", channel="sns", target=alerts_topic, when=RouteFilter(severity=["high", "critical"])),
        ])
        rules = resolve_rules(policy)
        with collection_progress() as progress:
            outcome = run_scan(aws, store, policy, progress=progress)
        print_collect_summary(outcome.collect_result)

        owners = Table(title=f"Who owns what (tag {OWNER_TAG})", show_edge=False)
        for col in ("Owner", "Type", "Resource"):
            owners.add_column(col)
        for row in store.inventory(tags={OWNER_TAG: "*"}):
            owners.add_row(row["tags"][OWNER_TAG], row["resource_type"], row["resource_name"] or row["resource_id"])
        console.print(owners)
        console.print("4. HIPAA scan")
        print_scan_table(outcome.scan, rules)
        opened = sum(1 for e in outcome.scan["events"] if e["event"] == "opened")
        console.print(f"   {len(outcome.scan['evaluations'])} evaluations, {opened} findings opened")
        print_alerts(store, policy, rules, aws, session, emu.endpoint, regions[0], alerts_topic, alerts_queue)
        show_remediation(aws, store, policy, outcome, db)
        console.print(
            "\nTry it yourself against the same store:\n"
            f"  phiwatch findings --db {db}\n"
            f"  phiwatch inventory --db {db} --tag PHI=Yes\n"
            f"  phiwatch history --db {db} phi-records-compliant\n"
            f"  phiwatch show --db {db} phi-imaging-noncompliant\n"
            f"  phiwatch rules show s3-bucket-logging-enabled\n"
            f"  phiwatch notifications --db {db}"
        )
        store.close()


def subscribe_alerts_queue(session, endpoint: str, region: str) -> tuple[str, str]:
    """The seeded alerts topic with an SQS queue subscribed, so the demo can show what arrives."""
    from phiwatch.aws.session import make_client

    sns, sqs = make_client(session, "sns", endpoint, region), make_client(session, "sqs", endpoint, region)
    topic = sns.create_topic(Name="hipaa-alerts-encrypted")["TopicArn"]  # idempotent: the seeded topic
    queue = sqs.create_queue(QueueName="phiwatch-demo-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue


def print_alerts(store, policy, rules, aws, session, endpoint: str, region: str, topic: str, queue: str) -> None:
    """Send the scan's alerts (route security-team: high and critical findings) and show them arriving."""
    import json

    from phiwatch.aws.session import make_client
    from phiwatch.notify.dispatcher import deliver

    console.print(f"5. Alerts: route security-team publishes high and critical findings to {topic}")
    result = deliver(store, policy, rules, aws=aws)
    if result is None or not result.routes:
        console.print("   no alerts to send")
        return
    console.print(f"   {result.summary()} in {result.seconds:.2f}s")
    sqs = make_client(session, "sqs", endpoint, region)
    arrived = []
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            break
        arrived += [json.loads(json.loads(m["Body"])["Message"]) for m in got]
        sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    shown = sorted(arrived, key=lambda a: (a["severity"] != "critical", a["rule_id"], a["resource_id"]))[:12]
    table = Table(title=f"{len(arrived)} alerts arrived on the SQS queue subscribed to the topic"
                  + (f" (first {len(shown)})" if len(shown) < len(arrived) else ""), show_edge=False)
    for col in ("Event", "Severity", "Rule", "Resource"):
        table.add_column(col, overflow="fold")
    for a in shown:
        table.add_row(a["event"], a["severity"], a["rule_id"], a["resource_id"])
    console.print(table)
    if arrived:
        console.print("   Each alert is the JSON message of the contract (ids, rule and reason only, no PHI), e.g.:")
        console.print_json(json.dumps(shown[0]))


# rules the demo lets phiwatch fix on its own (mode auto); the others stay planned (dry-run)
DEMO_AUTO_RULES = (
    "ec2-ebs-encryption-by-default", "s3-bucket-versioning-enabled", "s3-bucket-server-side-encryption-enabled",
    "s3-bucket-public-read-prohibited", "s3-bucket-public-write-prohibited", "s3-account-level-public-access-blocks-periodic",
    "restricted-ssh", "restricted-common-ports", "ec2-imdsv2-check", "ebs-snapshot-public-restorable-check", "iam-password-policy",
)


def show_remediation(aws, store, policy, outcome, db: str) -> None:
    """The first scan planned every runbook (dry-run, the default): show the plan, then apply the
    auto-mode rules' runbooks in a second scan, which re-collects, re-evaluates and audits."""
    from phiwatch.engine import run_scan
    from phiwatch.policy import Remediation, RuleRemediation
    from phiwatch.remediate.audit import verify

    report = outcome.remediation
    planned = report.by_status("planned") if report else []
    console.print(f"6. Remediation plan (mode dry-run, the default): {len(planned)} findings have a runbook; nothing was changed")
    table = Table(show_edge=False)
    for col in ("Rule", "Resource", "Runbook", "Would call"):
        table.add_column(col, overflow="fold")
    for o in planned[:10]:
        writes = [c for c in o.plan if c.get("write")]
        call = f"{writes[0]['service']}:{writes[0]['api']} {json.dumps(writes[0]['params'], sort_keys=True)[:70]}" if writes else "-"
        table.add_row(o.rule_id, o.resource_id, o.runbook_id, call)
    console.print(table)
    if len(planned) > 10:
        console.print(f"   ... and {len(planned) - 10} more (`phiwatch remediate --db {db}`)")
    auto = policy.model_copy(update={"remediation": Remediation(
        mode="dry-run", max_per_run=50, rules={r: RuleRemediation(mode="auto") for r in DEMO_AUTO_RULES})})
    auto.source = "demo policy with remediation auto for some rules"
    before = _failing(outcome.scan)
    console.print(f"7. Scanning again with mode auto for {len(DEMO_AUTO_RULES)} rules: apply, re-collect, re-evaluate")
    second = run_scan(aws, store, auto, progress=None)
    done = second.remediation.outcomes if second.remediation else []
    result = Table(show_edge=False)
    for col in ("Result", "Rule", "Resource", "Why"):
        result.add_column(col, overflow="fold")
    for o in done:
        if o.mode == "auto" and o.new:
            style = {"applied": "green", "failed": "red"}.get(o.status, "yellow")
            result.add_row(f"[{style}]{o.status}[/{style}]", o.rule_id, o.resource_id, o.reason or "now compliant")
    console.print(result)
    after = _failing(second.scan)
    applied = sum(1 for o in done if o.status == "applied")
    console.print(f"8. Re-scan: {len(before)} non-compliant evaluations before, {len(after)} after; {applied} findings remediated")
    with store.engine.connect() as conn:
        check = verify(conn)
    console.print(f"   audit log: {check.entries} entries, hash chain {'intact' if check.ok else 'BROKEN'} (`phiwatch audit verify --db {db}`)")


def _failing(scan: dict) -> list:
    excepted = {(x["rule_id"], x["resource_id"]) for x in scan.get("excepted", [])}
    return [e for e in scan["evaluations"] if e["compliance"] == "NON_COMPLIANT" and (e["rule_id"], e["resource_id"]) not in excepted]
