"""`phiwatch demo`: the whole loop on the embedded emulator, narrated."""

from __future__ import annotations

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
    from phiwatch.policy import Policy
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
        console.print(f"3. Collecting the inventory and evaluating the HIPAA rules into {db}")
        aws = AwsContext(endpoint_url=emu.endpoint, regions=regions, session=session)
        store = Store(db)
        policy = Policy(packs=["hipaa", "hipaa-extras"])
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
        console.print(
            "\nTry it yourself against the same store:\n"
            f"  phiwatch findings --db {db}\n"
            f"  phiwatch inventory --db {db} --tag PHI=Yes\n"
            f"  phiwatch history --db {db} phi-records-compliant\n"
            f"  phiwatch show --db {db} phi-imaging-noncompliant\n"
            f"  phiwatch rules show s3-bucket-logging-enabled"
        )
        store.close()
