"""Runbook documents: the built-in SSM Automation documents and the code that reads them.

* :mod:`~phiwatch.runbooks.document`: load and validate documents, built-in runbooks
  (``runbooks/documents/<id>.yaml``).
* :mod:`~phiwatch.runbooks.scripts`: the vetted ``aws:executeScript`` handlers.

These depend only on low layers (errors, YAML reading, AWS API names), so the policy file can
check runbook parameters; running documents is :mod:`phiwatch.remediate`'s job.
"""
