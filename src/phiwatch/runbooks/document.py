"""SSM Automation documents (schemaVersion "0.3"): load, validate, bind parameters.

A phiwatch runbook *is* an SSM Automation document: the files in ``runbooks/documents/`` deploy
unchanged with ``aws ssm create-document --document-type Automation --document-format YAML``,
and :mod:`phiwatch.remediate.executor` runs the same documents itself through boto3 (so they
work wherever boto3 reaches, the emulator included).

What is supported (anything else is refused by :func:`load_document` with a
:class:`RunbookError` naming the step and field, so a document never half-runs):

* top level: ``schemaVersion`` ("0.3"), ``description``, ``assumeRole`` (kept for SSM, ignored
  by phiwatch's executor), ``parameters``, ``mainSteps``, ``outputs`` ("Step.Output" names).
* parameters: ``type`` (String, StringList, Integer, Boolean, MapList, StringMap),
  ``description``, ``default`` (no default = required), ``allowedPattern`` (full match; for a
  StringList, each element), ``allowedValues``, ``minItems``/``maxItems``,
  ``minChars``/``maxChars``, ``displayType``.
* step fields: ``name`` (unique), ``action``, ``inputs``, ``outputs`` (Name, Selector —
  a JSONPath subset: ``$``, ``.key``, ``['key']``, ``[n]``, ``[*]``/``.*`` — and Type),
  ``timeoutSeconds``, ``maxAttempts`` (1..10), ``onFailure`` (Abort | Continue | step:NAME),
  ``onCancel``, ``isEnd``, ``nextStep``, ``isCritical`` (SSM's default: false when onFailure is
  Continue, else true), ``description``.
* actions: ``aws:executeAwsApi``, ``aws:assertAwsResourceProperty``,
  ``aws:waitForAwsResourceProperty`` (Service and Api must exist in botocore's model; API
  parameters must be members of the operation's input, required members present),
  ``aws:branch`` (Choices with Variable and StringEquals, EqualsIgnoreCase, StartsWith,
  EndsWith, Contains, NumericEquals, NumericGreater, NumericLesser, NumericGreaterOrEquals,
  NumericLesserOrEquals, BooleanEquals, or And / Or / Not; NextStep; Default), ``aws:sleep``
  (Duration ``PT#H#M#S`` or Timestamp), and ``aws:executeScript`` restricted to phiwatch's
  vetted handlers (:mod:`phiwatch.runbooks.scripts`: the Handler must be one of them and the
  inline Script exactly its source; Attachment is refused).
* interpolation ``{{ Name }}`` (a declared parameter), ``{{ Step.Output }}`` (an output declared
  by an EARLIER step in mainSteps order) and SSM's ``{{ global:ACCOUNT_ID }}``,
  ``global:REGION``, ``global:AWS_PARTITION``, ``global:AWS_URL_SUFFIX``, ``global:DATE``,
  ``global:DATE_TIME``, ``automation:EXECUTION_ID``, ``automation:DOCUMENT_NAME``.

Service names are boto3's (as in SSM: ``ec2``, ``s3``, ``iam``, ``logs``, ``s3control``...);
Api names are the PascalCase operation names (``PutBucketVersioning``; boto3's snake_case
method names are accepted and normalised).

This module is the entry point: :func:`load_document`, the built-in runbooks (:func:`builtin`,
:func:`builtin_ids`, ``RUNBOOK_DIR``) and the names the executor uses. The parts live in:

* :mod:`~phiwatch.runbooks.model`: the Document, Step, Output and ParamSpec classes.
* :mod:`~phiwatch.runbooks.validate`: :func:`load_document` and the field-by-field checks.
* :mod:`~phiwatch.runbooks.syntax`: supported actions, types, operators, globals; ``{{ }}`` references.
* :mod:`~phiwatch.runbooks.paths`: the JSONPath subset (:func:`parse_path`, :func:`select`).
* :mod:`~phiwatch.runbooks.values`: parameter type coercion, ISO 8601 durations and timestamps.
* :mod:`~phiwatch.runbooks.botocore_model`: service and operation names from botocore's model.
* :mod:`~phiwatch.runbooks.errors`: RunbookError.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from phiwatch.runbooks.botocore_model import is_write_api, service_model
from phiwatch.runbooks.errors import RunbookError
from phiwatch.runbooks.model import Document, ParamSpec, Step
from phiwatch.runbooks.paths import MISSING, parse_path, select
from phiwatch.runbooks.syntax import NUMERIC_OPS, REF
from phiwatch.runbooks.syntax import WHOLE_REF as _WHOLE_REF
from phiwatch.runbooks.validate import load_document
from phiwatch.runbooks.values import coerce_value, parse_duration, parse_timestamp

__all__ = [
    "MISSING",
    "NUMERIC_OPS",
    "REF",
    "RUNBOOK_DIR",
    "_WHOLE_REF",
    "Document",
    "ParamSpec",
    "RunbookError",
    "Step",
    "builtin",
    "builtin_ids",
    "coerce_value",
    "is_write_api",
    "load_document",
    "parse_duration",
    "parse_path",
    "parse_timestamp",
    "select",
    "service_model",
]

RUNBOOK_DIR = Path(__file__).parent / "documents"


@cache
def _builtin(runbook_id: str) -> Document:
    # phiwatch's own text, read with libyaml's parser (a tenth of the time of the strict reader of
    # users' files, which every built-in runbook also passes: tests/runbooks/test_runbooks.py)
    text = (RUNBOOK_DIR / f"{runbook_id}.yaml").read_text(encoding="utf-8")
    return load_document(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), doc_id=runbook_id)


def builtin_ids() -> list[str]:
    """Ids of the built-in runbooks (``runbooks/documents/<id>.yaml``)."""
    return sorted(p.name[: -len(".yaml")] for p in RUNBOOK_DIR.glob("*.yaml"))


def builtin(runbook_id: str) -> Document:
    """A built-in runbook, validated (RunbookError when unknown)."""
    if runbook_id not in builtin_ids():
        raise RunbookError(f"unknown runbook {runbook_id!r}: built-in runbooks are {', '.join(builtin_ids())}")
    return _builtin(runbook_id)
