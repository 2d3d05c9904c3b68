"""Model-written text for an audit: per-transaction explanations, deduplicated by call shape and cached
on disk, and an optional narrative summary.

Transactions of the same shape (same contract, same function, same finding IDs) get the same
explanation, so a 10,000-transaction history needs one model call per distinct shape (a few hundred
at most) and a re-run needs none. The explanation is advisory text: it never changes a verdict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from copilot.audit.report import AuditReport, TxItem

Explainer = Callable[[TxItem], str]


def shape_key(tx: TxItem) -> str:
    """(contract, function, finding IDs): what an explanation depends on, without amounts or dates."""
    contract = (tx.contract or tx.to or "-").lower()
    finding_ids = ",".join(sorted({f["id"] for f in tx.findings}))
    return f"{contract}|{tx.function or '-'}|{finding_ids}"


class ExplanationCache:
    """One small JSON file per shape under <cache dir>/audit-explanations/<model>/."""

    def __init__(self, model_id: str, directory: Path | None = None) -> None:
        if directory is None:
            from copilot.state.dirs import cache_dir

            directory = cache_dir() / "audit-explanations"
        self.directory = directory / hashlib.sha256(model_id.encode()).hexdigest()[:16]

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def get(self, key: str) -> str | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        text = entry.get("text") if isinstance(entry, dict) and entry.get("key") == key else None
        return text if isinstance(text, str) else None

    def put(self, key: str, text: str) -> None:
        from copilot.state.atomic import atomic_write_text

        atomic_write_text(self._path(key), json.dumps({"key": key, "text": text}))


def explain_flagged(report: AuditReport, explainer: Explainer, cache: ExplanationCache) -> int:
    """Fill `explanation` on every flagged transaction; returns how many model calls were made."""
    calls = 0
    memo: dict[str, str] = {}
    for tx in report.flagged:
        key = shape_key(tx)
        text = memo.get(key) or cache.get(key)
        if text is None:
            text = explainer(tx)
            calls += 1
            cache.put(key, text)
        memo[key] = text
        tx.explanation = text
    return calls


def add_llm_text(report: AuditReport, model: str | None) -> None:
    """Explanations and a narrative from the local model, when the LLM stage offers a narrative API;
    otherwise the report says why there is none. Never raises for a missing model."""
    try:
        from copilot.llm import explain as llm_explain
    except ImportError:
        report.narrative_note = "no narrative: the local LLM stage is not installed"
        return
    narrate = getattr(llm_explain, "narrate", None)
    explain_text = getattr(llm_explain, "explain_text", None)
    if narrate is None or explain_text is None:
        report.narrative_note = "no narrative: this build's LLM stage has no narrative API (deterministic report only)"
        return
    cache = ExplanationCache(model or "default")
    report.llm_calls = explain_flagged(report, lambda tx: str(explain_text(_tx_prompt(tx), model)), cache)
    report.narrative = str(narrate(_report_prompt(report), model))


def _tx_prompt(tx: TxItem) -> str:
    findings = "; ".join(f"{f['id']} ({f['severity']}): {f['title']}" for f in tx.findings)
    return f"Call {tx.function or 'unknown function'} on {tx.contract or tx.to}. Findings: {findings}."


def _report_prompt(report: AuditReport) -> str:
    from copilot.audit.render import headline

    risky = "; ".join(
        f"{a.amount_display} of {a.token_symbol or a.token} to {a.spender_label or a.spender}"
        for a in report.risky_approvals[:10]
    )
    return " ".join(headline(report)) + (f" Risky approvals: {risky}." if risky else "")
