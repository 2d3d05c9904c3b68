"""Deterministic risk findings: `assess` runs every rule over a decoded request; `risk_score` turns
findings into a 0-100 score. The catalogue (`copilot.risk.catalogue.CATALOGUE`) documents each ID."""

from __future__ import annotations

from copilot.models import DecodedRequest, Finding, ReviewContext
from copilot.risk import (
    addresses,
    approvals,
    calls,
    control,
    listed,
    messages,
    node,
    orders,
    poisoning,
    typed,
)
from copilot.risk.facts import Facts
from copilot.risk.score import risk_score

__all__ = ["assess", "assess_facts", "risk_score"]

_REQUEST_RULES = (
    approvals.typed_data_findings,
    orders.order_findings,
    typed.typed_findings,
    messages.message_findings,
    calls.safe_tx_findings,
    calls.authorization_findings,
    control.control_findings,
    addresses.address_findings,
    poisoning.node_poisoning_findings,
    listed.listed_findings,
    node.node_findings,
)
_CALL_RULES = (approvals.call_findings, calls.call_findings)


def assess(decoded: DecodedRequest, context: ReviewContext) -> list[Finding]:
    """Every finding for this request, worst first: the decoder's warnings, then each rule's, with
    every nested call (batches, multicall, multiSend, Universal Router) checked like a top-level one."""
    return assess_facts(Facts.of(decoded, context))


def assess_facts(facts: Facts) -> list[Finding]:
    """`assess` for a caller that keeps the per-review `Facts` (the pipeline reuses it to explain)."""
    decoded = facts.decoded
    findings = list(decoded.warnings)
    for call in decoded.all_calls():
        for call_rule in _CALL_RULES:
            findings.extend(call_rule(call, facts))
    for rule in _REQUEST_RULES:
        findings.extend(rule(facts))
    unique = list({(f.id, f.location, f.evidence): f for f in findings}.values())
    unique.sort(key=lambda f: f.severity.rank, reverse=True)
    return unique
