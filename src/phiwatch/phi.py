"""Patterns of identifiers that are PHI when they appear in resource names, ids or tags.

Used by the ``no-phi-in-resource-names`` rule to find them, and by alert messages to mask them:
a resource named after a patient must not carry that name into a Slack channel or an email.
"""

from __future__ import annotations

import re

PHI_PATTERNS: dict[str, re.Pattern[str]] = {
    "US social security number": re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"),
    "medical record number": re.compile(r"(?i)\bmrn[-_ :#]?\d{4,}"),
    "date of birth": re.compile(r"(?i)\b(dob|birth(date)?)[-_ :]?(19|20)\d{2}[-_/]?\d{2}[-_/]?\d{2}"),
    "Medicare beneficiary identifier": re.compile(
        r"\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d{2}\b"
    ),
}

MASK = "[masked]"


def phi_patterns_in(text: str) -> list[str]:
    """The kinds of PHI-looking identifiers in ``text``."""
    return [name for name, pattern in PHI_PATTERNS.items() if pattern.search(text or "")]


def mask_phi(text: str | None) -> str | None:
    """``text`` with every PHI-looking identifier replaced by ``[masked]``."""
    if not text:
        return text
    for pattern in PHI_PATTERNS.values():
        text = pattern.sub(MASK, text)
    return text
