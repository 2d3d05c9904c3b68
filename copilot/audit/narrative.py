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
from typing import TYPE_CHECKING, Any

from copilot.audit.report import AuditReport, TxItem

if TYPE_CHECKING:
    from copilot.audit.engine import Progress

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


def explain_flagged(
    report: AuditReport, explainer: Explainer, cache: ExplanationCache, on_call: Callable[[], None] | None = None
) -> int:
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
            if on_call is not None:
                on_call()
        memo[key] = text
        tx.explanation = text
    return calls


NO_NARRATIVE = (
    "no narrative summary: the LLM stage (copilot.llm) offers no narrative API yet; flagged transactions "
    "carry the model's explanations, one per call shape"
)


class ModelUnavailable(Exception):
    """The local model did not run (missing, turned off, failed): the reason is the message."""


def model_explainer(explain_review: Callable[[TxItem], Any]) -> Explainer:
    """An Explainer over the review pipeline's LLM stage: `explain_review(tx)` re-reviews the transaction
    with the model (copilot.llm.explain.enrich_review) and returns the Review."""

    def explain(tx: TxItem) -> str:
        review = explain_review(tx)
        if review is None:
            raise ModelUnavailable(f"transaction at line {tx.line} could not be read again")
        if review.explanation_source != "llm":
            raise ModelUnavailable(review.explanation_note or "the model did not answer")
        return str(review.explanation)

    return explain


def add_model_explanations(
    report: AuditReport, explainer: Explainer, model_id: str, progress: Progress | None = None
) -> None:
    """Per-transaction explanations from the model, deduplicated and cached; a note when there is none.
    `progress` follows the model calls, one per call shape not cached yet (each can take seconds)."""
    cache = ExplanationCache(model_id)
    if progress is not None:
        pending = {key for key in map(shape_key, report.flagged) if cache.get(key) is None}
        progress.start(len(pending), "Explaining (local model)")
    try:
        report.llm_calls = explain_flagged(report, explainer, cache, progress.advance if progress else None)
    except ModelUnavailable as exc:
        report.narrative_note = f"no model explanations: {exc}"
        for tx in report.flagged:
            tx.explanation = None
        return
    finally:
        if progress is not None:
            progress.stop()
    report.narrative_note = NO_NARRATIVE
