"""Remediation: SSM Automation runbooks that phiwatch runs itself (and exports for SSM).

The documents themselves live in :mod:`phiwatch.runbooks` (re-exported here).

* :mod:`~phiwatch.remediate.executor`: run or plan (dry run) a document through boto3.
* :mod:`~phiwatch.remediate.export`: write the built-in runbooks as SSM documents.
"""

from phiwatch.remediate.executor import ApiCall, Execution, StepResult, execute
from phiwatch.runbooks.document import Document, ParamSpec, RunbookError, Step, builtin, builtin_ids, load_document

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
