"""Regenerate ``tests/perf/request_counts.json``: the HTTP requests per (service, operation) of a full
collection of the demo estate in two regions, which ``test_request_counts.py`` asserts exactly.

Starts the embedded emulator, seeds the demo estate, collects it and writes the counts. Run it on
purpose after a change that adds, removes or moves requests (a collector, a resource spec, the demo
estate), then read the diff it prints and say why in the commit::

    .venv/bin/python tests/perf/snapshot.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)

from counting import SNAPSHOT, count_diff, load_snapshot, measure, snapshot_of  # noqa: E402

from phiwatch.emulator import Emulator  # noqa: E402


def main() -> int:
    before = load_snapshot()["requests"] if SNAPSHOT.exists() else {}
    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        measured = measure(emu, f"sqlite:///{tmp}/counts.db")
    if measured.retries["retries"] or measured.retries["give_ups"]:
        print(f"not written: the collection retried or gave up, so its counts are not the estate's: {measured.retries}")
        return 1
    repeated = measured.log.repeated()
    SNAPSHOT.write_text(json.dumps(snapshot_of(measured), indent=1, sort_keys=True) + "\n")
    diff = count_diff(before, measured.requests)
    print(f"{measured.total} requests in {SNAPSHOT}" + (":" if diff else " (unchanged)"))
    print("\n".join(diff))
    if repeated:
        print(f"{len(repeated)} calls made more than once with the same parameters (test_request_counts.py fails on them):")
        for call, n in sorted(repeated.items(), key=lambda kv: (kv[0].service, kv[0].operation, kv[0].params)):
            print(f"  {n}x {call.service} {call.operation} in {call.region}: {call.params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
