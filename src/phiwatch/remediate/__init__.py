"""Remediation: SSM Automation runbooks that phiwatch runs itself (and exports for SSM).

The documents themselves live in :mod:`phiwatch.runbooks` (re-exported here).

* :mod:`~phiwatch.remediate.executor`: run or plan (dry run) a document through boto3; a plan
  answers the reads the finding's freshly collected item holds from it
  (:mod:`~phiwatch.remediate.item_reads`).
* :mod:`~phiwatch.remediate.export`: write the built-in runbooks as SSM documents.
* :mod:`~phiwatch.remediate.orchestrator`: the remediation pass of a scan and ``phiwatch remediate``
  (:class:`~phiwatch.remediate.orchestrator.Remediator`), built from :mod:`~phiwatch.remediate.modes`,
  :mod:`~phiwatch.remediate.parameters`, :mod:`~phiwatch.remediate.results`,
  :mod:`~phiwatch.remediate.recollection`, :mod:`~phiwatch.remediate.selection`,
  :mod:`~phiwatch.remediate.planning`, :mod:`~phiwatch.remediate.applying` and
  :mod:`~phiwatch.remediate.verifying`.
* :mod:`~phiwatch.remediate.audit`: the hash-chained audit log of every plan, approval and execution.

Plan, approve, apply and verify runbooks for open findings, as the policy says.

Modes (``remediation.mode`` in the policy, overridden per rule in ``remediation.rules``):

* ``off``: nothing.
* ``dry-run`` (default): the runbook runs in dry-run mode (no write call is sent) and the plan,
  every API call it would make with its parameters, is stored in ``remediations`` (status
  ``planned``), printed, audited and announced (``remediation_planned``).
* ``manual``: the same plan, waiting for a human: ``phiwatch remediate FINDING --approve``
  (:meth:`~phiwatch.remediate.orchestrator.Remediator.approve`) executes it.
* ``auto``: executed by the scan, within ``max_per_run`` and ``max_per_hour`` (executions
  counted in the store: every run that sent write calls, whether it fixed the finding or not;
  human approvals are not limited but are counted).

Whatever the mode: only *open* findings are touched (excepted ones never), the rule's scope
and the policy's exceptions are checked again on the current item, and a plan is made once per
(finding, configuration, parameters): scans repeat no plan and no alert while nothing changed.

Before acting, a resource whose evaluation is not fresh (older than ``fresh_seconds`` or of an
older configuration than the store's) is re-collected and re-evaluated: if it is compliant now
(or gone) nothing is done. After acting, the resource is re-collected (its service in its
region: the whole service listing is recorded, which costs one collection of that service and
region per remediation batch, not per finding) and the rule re-evaluated on the new item: the
finding becomes ``remediated`` only if the rule is now COMPLIANT; otherwise it stays open with a
``remediation_failed`` event giving the reason. A failed execution is not retried automatically
while the resource's configuration is unchanged (no retry storm); a human may retry with
``--approve``. Identical runs in one batch (same runbook, region and parameters, e.g. two rules
fixed by blocking a bucket's public access) execute once. A runbook that changes an account-global
setting (:data:`~phiwatch.remediate.modes.ACCOUNT_WIDE_RUNBOOKS`: the multi-Region trail, the IAM password policy, the
account's S3 public access block) executes once per account and batch whichever Regions' account
items asked for it (in the default Region when one of them is there); the other findings are
recorded as covered by that execution and verified on their own re-collected item. Its dry-run and
manual plans are made once per account the same way (the other findings' plans are "covered by
plan X", with no calls of their own), and approving any of these findings executes that one plan,
in the Region auto mode would use, for all of them.

A run whose runbook parameters are missing or invalid is refused before it starts: recorded as
failed with the message naming each parameter and where the policy gives it, no call sent, not
counted against ``max_per_run`` / ``max_per_hour``, and not recorded again while nothing changed.

Runbook parameters come from the finding's item and the rule's parameters (:func:`~phiwatch.remediate.parameters.runbook_parameters`),
then from ``remediation.rules.RULE.parameters`` in the policy (what no rule parameter gives, such as
a flow log's destination).
Events go to ``finding_events`` and, in the same transaction, the alert outbox. Every plan,
approval and execution is appended to the hash-chained audit log (:mod:`phiwatch.remediate.audit`).
"""

from phiwatch.remediate.execution import ApiCall, Execution, StepResult
from phiwatch.remediate.executor import execute
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
