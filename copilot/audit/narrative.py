"""Model-written text for an audit: per-transaction explanations, deduplicated by call shape and cached
on disk, and an optional narrative summary of the whole audit (one model call, grounded).

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

from copilot.audit.report import AuditReport, NarrativeInfo, TxItem
from copilot.llm.facts import sanitise
from copilot.parsing import load_json
from copilot.state.prices import dated

if TYPE_CHECKING:
    from copilot.audit.engine import AuditSettings, Progress
    from copilot.llm.narrate import NarrativeFacts

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
            entry = load_json(self._path(key).read_text(encoding="utf-8"))
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


EXPLAINED = "flagged transactions carry the model's explanations, one per call shape (advisory)"


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
        report.explanation_note = f"no model explanations: {exc}"
        for tx in report.flagged:
            tx.explanation = None
        return
    finally:
        if progress is not None:
            progress.stop()
    report.explanation_note = EXPLAINED


# --------------------------------------------------------------------------- the narrative

TOP_APPROVALS = 5
TOP_POISONING = 3
TOP_FLAGGED = 5


def audit_facts(report: AuditReport) -> NarrativeFacts:
    """What the narrative may say: counts, the top exposures, poisoning hits and risky interactions.
    Token symbols and amounts shown with them come from the history (a token's creator chose them):
    fenced as untrusted."""
    from copilot.llm.narrate import NarrativeFacts

    facts = NarrativeFacts()
    facts.add(f"- wallet: {report.address}")
    facts.add(
        f"- history: {report.transactions} transactions ({report.reviewed} reviewed), "
        f"{report.token_transfers} token transfers, {report.bad_rows} unreadable rows skipped"
    )
    risky = report.risky_approvals
    facts.add(f"- open approvals: {len(report.approvals)}, of which risky: {len(risky)}")
    for index, a in enumerate(report.approvals[:TOP_APPROVALS], start=1):
        symbol = facts.fenced(f"token symbol of approval {index}", a.token_symbol) if a.token_symbol else "token"
        spender = f"{a.spender} ({sanitise(a.spender_label)})" if a.spender_label else a.spender
        line = (
            f"  - approval {index}{' (risky)' if a.risky else ''}: {a.kind} approval of {symbol} {a.token} to "
            f"spender {spender}, amount {facts.fenced(f'amount of approval {index}', a.amount_display)}"
        )
        if a.exposure_display:
            line += f", exposed now {facts.fenced(f'exposure of approval {index}', a.exposure_display)}"
        if a.exposure_usd is not None:
            line += f" (about {a.exposure_usd:.2f} USD{dated(a.exposure_usd_as_of)})"
        if a.reasons:
            line += f"; why risky: {sanitise('; '.join(a.reasons))}"
        facts.add(line)
    facts.add(f"- revoke transactions planned: {len(report.revoke_plan)}")
    dust = [p for p in report.poisoning if p.kind == "dust"]
    paid = [p for p in report.poisoning if p.kind == "payment"]
    facts.add(
        f"- address poisoning: {len(dust)} planted transfers from lookalike addresses received, "
        f"{len(paid)} payments sent to a lookalike"
    )
    for p in (paid + dust)[:TOP_POISONING]:
        what = "payment sent to" if p.kind == "payment" else "transfer received from"
        facts.add(
            f"  - {what} lookalike {p.lookalike}, which imitates {p.resembles}: "
            f"{facts.fenced('poisoning amount', f'{p.amount} {p.unit}')}"
        )
    facts.add(
        f"- transactions the policy {sanitise(report.policy)} would not allow: {len(report.flagged)} "
        f"({len(report.policy_breaches)} decided by a policy rule)"
    )
    shapes: dict[str, list[TxItem]] = {}
    for tx in report.flagged:
        shapes.setdefault(shape_key(tx), []).append(tx)
    for same in list(shapes.values())[:TOP_FLAGGED]:
        tx = same[0]
        ids = ", ".join(sorted({f["id"] for f in tx.findings})) or "none"
        target = tx.contract or tx.to or "a new contract"
        times = f" ({len(same)} times)" if len(same) > 1 else ""
        facts.add(
            f"  - {tx.verdict}, risk {tx.risk_score}: {sanitise(tx.function or 'plain transfer')} on "
            f"{sanitise(target)}{times}; findings {ids}"
        )
    return facts


def add_narrative(report: AuditReport, settings: AuditSettings) -> None:
    """One model call per audit, after the batch: `narrative`, or `narrative_note` saying why none."""
    if not settings.llm:
        report.narrative_note = "no narrative: --no-llm"
        return
    from copilot.errors import CopilotError
    from copilot.llm.narrate import narrate_audit

    try:
        narrative = narrate_audit(
            audit_facts(report), model=settings.model, backend_override=settings.llm_backend, server=settings.llm_server
        )
    except CopilotError as exc:
        report.narrative_note = f"no narrative: {exc.one_line()}"
        return
    report.narrative_info = NarrativeInfo(
        model=narrative.model,
        external=settings.llm_server is not None,
        sentences_checked=narrative.grounding.checked,
        sentences_dropped=narrative.grounding.dropped,
        grounding_rate=round(narrative.grounding.rate, 3),
        dropped_sentences=narrative.grounding.dropped_sentences,
        injections=narrative.injections,
        notes=narrative.notes,
    )
    if narrative.text:
        report.narrative = narrative.text
        report.narrative_note = None
    else:
        report.narrative_note = (
            f"no narrative: all {narrative.grounding.dropped} sentences the model wrote named facts that are not "
            "in the audit"
        )
