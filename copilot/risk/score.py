"""The 0-100 risk score: set by the worst finding, nudged up by the others.

Monotone in severity: the worst severity picks a band, and more findings never lower the score
nor lift it into the next band, so a pile of medium findings never reads like one critical.
"""

from __future__ import annotations

from collections.abc import Iterable

from copilot.models import Finding, Severity

WEIGHT = {Severity.INFO: 2, Severity.LOW: 15, Severity.MEDIUM: 40, Severity.HIGH: 70, Severity.CRITICAL: 90}
BAND_TOP = {Severity.INFO: 14, Severity.LOW: 39, Severity.MEDIUM: 69, Severity.HIGH: 89, Severity.CRITICAL: 100}
OTHERS_SHARE = 0.15


def risk_score(findings: Iterable[Finding]) -> int:
    ranked = sorted((f.severity for f in findings), key=lambda s: s.rank, reverse=True)
    if not ranked:
        return 0
    worst = ranked[0]
    score = WEIGHT[worst] + OTHERS_SHARE * sum(WEIGHT[s] for s in ranked[1:])
    return min(BAND_TOP[worst], round(score))
