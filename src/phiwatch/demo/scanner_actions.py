"""List the IAM actions each collector calls on the demo estate, to check the ``iam`` tuples of
``phiwatch/resources/<service>.py``.

Starts the emulator, seeds the demo estate, collects each service on its own with
:func:`~phiwatch.remediate.iam_policy.record_actions` and prints, per service, the actions
called and whether its module declares them. Run it after changing a collector::

    .venv/bin/python -m phiwatch.demo.scanner_actions
"""

from __future__ import annotations

import tempfile

from phiwatch.aws.session import AwsContext
from phiwatch.collect.runner import collect
from phiwatch.demo.estate import seed_estate
from phiwatch.emulator import Emulator
from phiwatch.remediate.iam_policy import record_actions
from phiwatch.resources import services
from phiwatch.store import Store


def derive_scanner_actions(region: str = "us-east-1") -> dict[str, list[str]]:
    """Start the emulator, seed the demo estate, collect each service; service -> the actions it called."""
    out: dict[str, list[str]] = {}
    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        seed_estate(emu.session(region), emu.endpoint, region)
        store = Store(f"sqlite:///{tmp}/derive.db")
        try:
            for name in services():
                aws = AwsContext(endpoint_url=emu.endpoint, regions=[region], session=emu.session(region))
                with record_actions(aws) as recorder:
                    collect(aws, store, services=[name])
                out[name] = sorted(set(recorder.actions) - {"sts:GetCallerIdentity"})
        finally:
            store.close()
    return out


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - maintenance helper
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    for name, actions in derive_scanner_actions().items():
        declared = set(services()[name].iam)
        print(f"{name}:")
        for action in actions:
            print(f'    "{action}",' + ("" if action in declared else "  # NOT DECLARED"))


if __name__ == "__main__":  # pragma: no cover
    main()
