"""`phiwatch demo`: the whole loop on the embedded emulator, narrated."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.table import Table

from phiwatch.cli_common import console


def run_demo(db: str | None = None, regions: list[str] | None = None) -> None:
    from phiwatch.aws import AwsContext
    from phiwatch.collect.runner import collect
    from phiwatch.demo.estate import OWNER_TAG, seed_estate
    from phiwatch.emulator import Emulator
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
        total = sum(len(v) for part in created.values() for v in part.values() if isinstance(v, list))
        console.print(f"2. Seeded a demo healthcare estate ({total} named resources across {len(created)} services)")
        console.print(f"3. Collecting into {db}")
        aws = AwsContext(endpoint_url=emu.endpoint, regions=regions, session=session)
        store = Store(db)
        with collection_progress() as progress:
            result = collect(aws, store, progress=progress)
        print_collect_summary(result)

        owners = Table(title=f"Who owns what (tag {OWNER_TAG})", show_edge=False)
        for col in ("Owner", "Type", "Resource"):
            owners.add_column(col)
        for row in store.inventory(tags={OWNER_TAG: "*"}):
            owners.add_row(row["tags"][OWNER_TAG], row["resource_type"], row["resource_name"] or row["resource_id"])
        console.print(owners)
        console.print(
            "\nTry it yourself against the same store:\n"
            f"  phiwatch inventory --db {db} --tag PHI=Yes\n"
            f"  phiwatch history --db {db} phi-records-compliant\n"
            f"  phiwatch show --db {db} phi-imaging-noncompliant"
        )
        store.close()
