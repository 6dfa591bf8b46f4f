"""Derive the IAM actions a full collection calls, for ``SCANNER_ACTIONS`` in remediate/iam_policy.py.

Starts the emulator, seeds the demo estate, collects every service with
:func:`~phiwatch.remediate.iam_policy.record_actions` and prints the actions, one tuple line
each. Run it after changing a collector::

    .venv/bin/python -m phiwatch.demo.scanner_actions
"""

from __future__ import annotations

from phiwatch.aws.session import AwsContext
from phiwatch.remediate.iam_policy import record_actions


def derive_scanner_actions(regions: list[str] | None = None) -> list[str]:
    """Start the emulator, seed the demo estate, collect every service, return the actions called."""
    import tempfile

    from phiwatch.collect.runner import collect
    from phiwatch.demo.estate import seed_estate
    from phiwatch.emulator import Emulator
    from phiwatch.store import Store

    regions = regions or ["us-east-1"]
    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        seed_estate(emu.session(regions[0]), emu.endpoint, regions[0])
        aws = AwsContext(endpoint_url=emu.endpoint, regions=regions, session=emu.session(regions[0]))
        store = Store(f"sqlite:///{tmp}/derive.db")
        try:
            with record_actions(aws) as recorder:
                aws.account_id()
                collect(aws, store)
        finally:
            store.close()
    return recorder.actions


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - maintenance helper
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    for action in derive_scanner_actions():
        print(f'    "{action}",')


if __name__ == "__main__":  # pragma: no cover
    main()
