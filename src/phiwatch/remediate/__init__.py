"""Remediation: SSM Automation runbooks that phiwatch runs itself (and exports for SSM).

* :mod:`~phiwatch.remediate.document`: load and validate documents, built-in runbooks.
* :mod:`~phiwatch.remediate.executor`: run or plan (dry run) a document through boto3.
* :mod:`~phiwatch.remediate.scripts`: the vetted ``aws:executeScript`` handlers.
* :mod:`~phiwatch.remediate.export`: write the built-in runbooks as SSM documents.
"""

from phiwatch.remediate.document import Document, ParamSpec, RunbookError, Step, builtin, builtin_ids, load_document
from phiwatch.remediate.executor import ApiCall, Execution, StepResult, execute

__all__ = [
    "ApiCall",
    "Document",
    "Execution",
    "ParamSpec",
    "RunbookError",
    "Step",
    "StepResult",
    "builtin",
    "builtin_ids",
    "execute",
    "load_document",
]
