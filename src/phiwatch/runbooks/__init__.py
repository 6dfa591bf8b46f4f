"""Runbook documents: the built-in SSM Automation documents and the code that reads them.

* :mod:`~phiwatch.runbooks.document`: the entry point: load documents, built-in runbooks
  (``runbooks/documents/<id>.yaml``).
* :mod:`~phiwatch.runbooks.model`: the Document, Step, Output and ParamSpec classes.
* :mod:`~phiwatch.runbooks.validate` and :mod:`~phiwatch.runbooks.step_inputs`: loading and
  the field-by-field checks.
* :mod:`~phiwatch.runbooks.syntax`, :mod:`~phiwatch.runbooks.paths`,
  :mod:`~phiwatch.runbooks.values`, :mod:`~phiwatch.runbooks.botocore_model`,
  :mod:`~phiwatch.runbooks.errors`: supported vocabulary and ``{{ }}`` references, the JSONPath
  subset, parameter values and durations, botocore service/operation names, RunbookError.
* :mod:`~phiwatch.runbooks.scripts`: the vetted ``aws:executeScript`` handlers.

These depend only on low layers (errors, YAML reading, AWS API names), so the policy file can
check runbook parameters; running documents is :mod:`phiwatch.remediate`'s job.
"""
