"""Export the built-in runbooks as SSM Automation documents (``phiwatch export ssm DIR``).

The runbook files already are SSM documents: YAML export writes them as they are (after
validation), JSON export writes the same content as JSON. Deploy one with::

    aws ssm create-document --name phiwatch-EnableS3BucketVersioning --document-type Automation \\
        --document-format YAML --content file://DIR/phiwatch-EnableS3BucketVersioning.yaml

Runbooks with ``aws:executeScript`` steps carry phiwatch's vetted script inline (``Script``), so
SSM runs the very code phiwatch runs. Their ``assumeRole`` is ``{{ AutomationAssumeRole }}``: pass
a role holding the policy ``phiwatch iam-policy --runbook ID`` prints, or leave it empty to run
with the caller's permissions.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from phiwatch.errors import UsageError
from phiwatch.runbooks.document import RUNBOOK_DIR, builtin, builtin_ids

FORMATS = ("YAML", "JSON")


def write_ssm_documents(directory: str | Path, ids: list[str] | None = None, document_format: str = "YAML") -> list[Path]:
    """Write each built-in runbook (or only ``ids``) to ``directory`` as ``<id>.yaml`` / ``<id>.json``.

    Returns the written paths. RunbookError for an unknown id, UsageError for a bad format or
    a directory that cannot be written.
    """
    fmt = document_format.upper()
    if fmt not in FORMATS:
        raise UsageError(f"unknown document format {document_format!r}: use YAML or JSON")
    wanted = ids or builtin_ids()
    docs = [builtin(i) for i in wanted]  # validates (and refuses unknown ids) before writing anything
    out_dir = Path(directory)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    written: list[Path] = []
    for doc in docs:
        if fmt == "YAML":
            path = out_dir / f"{doc.id}.yaml"
            content = (RUNBOOK_DIR / f"{doc.id}.yaml").read_text(encoding="utf-8")
        else:
            path = out_dir / f"{doc.id}.json"
            content = json.dumps(doc.raw, indent=2) + "\n"
        try:
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written


def create_document_command(path: str | Path) -> str:
    """The ``aws ssm create-document`` command line that deploys an exported document."""
    path = Path(path)
    fmt = "JSON" if path.suffix.lower() == ".json" else "YAML"
    name = path.name.rsplit(".", 1)[0]
    return (
        f"aws ssm create-document --name {shlex.quote(name)} --document-type Automation "
        f"--document-format {fmt} --content {shlex.quote('file://' + str(path))}"
    )
