"""The HIPAA Security Rule (45 CFR Part 164 Subpart C) as data: its parts, standards and
implementation specifications, and how rule packs' citations map onto them."""

from phiwatch.hipaa.security_rule import (
    ADDRESSABLE,
    EVIDENCE_KINDS,
    PARTS,
    REQUIRED,
    Evidence,
    Part,
    Specification,
    Standard,
    covers,
    parts,
    resolve,
    sort_key,
    specification,
    standard_of,
)

__all__ = [
    "ADDRESSABLE",
    "EVIDENCE_KINDS",
    "PARTS",
    "REQUIRED",
    "Evidence",
    "Part",
    "Specification",
    "Standard",
    "covers",
    "parts",
    "resolve",
    "sort_key",
    "specification",
    "standard_of",
]
