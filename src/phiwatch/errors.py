"""Errors the command line turns into one clear line and an exit status."""

from __future__ import annotations


class PhiwatchError(Exception):
    """Base class: `str(error)` is the line shown to the user."""

    exit_code = 3


class UsageError(PhiwatchError):
    """Bad input from the user (exit status 2)."""

    exit_code = 2


class CannotRunError(PhiwatchError):
    """Credentials, endpoint or store trouble (exit status 3)."""

    exit_code = 3


class StoreNotFoundError(CannotRunError):
    """A command that only reads was pointed at a store that does not exist (exit status 3)."""
