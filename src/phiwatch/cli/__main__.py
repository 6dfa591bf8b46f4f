"""`python -m phiwatch.cli`."""

from phiwatch.cli import main

main()
