"""The SSM Automation vocabulary phiwatch supports, and ``{{ reference }}`` interpolations.

The actions, parameter types, branch operators, script runtimes and interpolation globals a
document may use (:mod:`phiwatch.runbooks.validate` refuses anything else), the ``{{ Name }}``
reference patterns, and walkers that find the references in a document's values.
"""

from __future__ import annotations

import re
from typing import Any

API_ACTIONS = ("aws:executeAwsApi", "aws:assertAwsResourceProperty", "aws:waitForAwsResourceProperty")
SUPPORTED_ACTIONS = API_ACTIONS + ("aws:branch", "aws:sleep", "aws:executeScript")
TYPES = ("String", "StringList", "Integer", "Boolean", "MapList", "StringMap")
GLOBALS = (
    "global:ACCOUNT_ID",
    "global:REGION",
    "global:AWS_PARTITION",
    "global:AWS_URL_SUFFIX",
    "global:DATE",
    "global:DATE_TIME",
    "automation:EXECUTION_ID",
    "automation:DOCUMENT_NAME",
)
STRING_OPS = ("StringEquals", "EqualsIgnoreCase", "StartsWith", "EndsWith", "Contains")
NUMERIC_OPS = ("NumericEquals", "NumericGreater", "NumericLesser", "NumericGreaterOrEquals", "NumericLesserOrEquals")
OPERATORS = STRING_OPS + NUMERIC_OPS + ("BooleanEquals",)
PYTHON_RUNTIMES = ("python3.8", "python3.9", "python3.10", "python3.11")
MAX_ATTEMPTS = 10

REF = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
"""An interpolation anywhere in a string; group 1 is the reference."""
WHOLE_REF = re.compile(r"^\s*\{\{\s*([^{}\s]+)\s*\}\}\s*$")
"""A string that is exactly one interpolation (an aws:branch Variable)."""


def refs_in(value: Any) -> list[str]:
    """Every ``{{ reference }}`` in the strings of ``value`` (nested mappings and lists included)."""
    if isinstance(value, str):
        return REF.findall(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    return []


def strings_with_paths(value: Any, path: str) -> list[tuple[str, str]]:
    """(field path, text) for every string in ``value``, paths like ``inputs.Choices[0].Variable``."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in strings_with_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in strings_with_paths(v, f"{path}[{i}]")]
    return []
