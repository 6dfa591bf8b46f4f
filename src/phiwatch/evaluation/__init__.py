"""Evaluation: the store's items against the active rules -> evaluations and findings.

* :mod:`~phiwatch.evaluation.evaluator`: the incremental evaluator;
* :mod:`~phiwatch.evaluation.results`: current evaluations and excepted findings as report rows;
* :mod:`~phiwatch.evaluation.sections`: the HIPAA section summary.

Rule resolution (which rules a policy runs, one rule on one item) is :mod:`phiwatch.rules.active`;
the SQL is in :mod:`phiwatch.store.evaluations`. The scan pipeline is :mod:`phiwatch.scan`.
"""

from __future__ import annotations

from phiwatch.evaluation.evaluator import CHUNK, EvaluationSummary, Evaluator, fingerprint
from phiwatch.evaluation.results import StoredEvaluations, current_evaluations, excepted_findings, iter_evaluations
from phiwatch.evaluation.sections import summary_by_section

__all__ = [
    "CHUNK",
    "EvaluationSummary",
    "Evaluator",
    "StoredEvaluations",
    "current_evaluations",
    "excepted_findings",
    "fingerprint",
    "iter_evaluations",
    "summary_by_section",
]
