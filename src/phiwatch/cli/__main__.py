"""`python -m phiwatch.cli`."""

from phiwatch.cli import entry

entry()
