"""Runs an audit: plan chunks, review them on every core (reusing cached chunks), then rebuild approvals,
find poisoning, plan revokes and assemble the report.

Resumability: each finished chunk's result is stored under the cache dir, keyed by the input's hash,
the policy and review context, the audited address and the code version. An interrupted run leaves
its finished chunks behind; the next run with the same inputs reads them instead of redoing them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from copilot.audit.approvals import ApprovalBook, Grant
from copilot.audit.attention import build_attention, is_risky
from copilot.audit.batch import DAY, AuditJob, init_worker, merge_first_dealings, run_chunk, run_first_pass
from copilot.audit.events import Event
from copilot.audit.history import Chunk, ChunkPlan, HistoryFormat, finish_spool, plan_chunks
from copilot.audit.report import (
    ApprovalItem,
    AuditReport,
    BadRowItem,
    ListedItem,
    PoisoningItem,
    RevokeItem,
    TimelinePoint,
    TxItem,
)
from copilot.audit.revoke import build_revoke_plan
from copilot.errors import InputError
from copilot.parsing import load_json
from copilot.risk.poisoning import find_poisoning

MIN_CHUNKS_FOR_PROCESSES = 2
KEPT_RUNS = 8  # cached audits kept (most recently used first); older ones are deleted
MAX_BAD_ROW_DETAILS = 1000


class Progress(Protocol):
    def start(self, total: int, description: str) -> None: ...
    def advance(self, amount: int = 1) -> None: ...
    def stop(self) -> None: ...


@dataclass
class AuditSettings:
    address: str
    policy: str | None = None
    chain_id: int | None = None  # assumed for rows that do not state one
    workers: int | None = None  # default: every core
    use_cache: bool = True
    rpc: str | None = None  # the user's own node: current allowances and balances
    now: int | None = None
    revoke: str = "risky"  # which open approvals go into the revoke plan: risky | all
    chunk_bytes: int | None = None
    llm: bool = False  # explain flagged transactions with the local model (one call per call shape)
    model: str | None = None  # GGUF path; None: the config's, else the bundled default
    llm_backend: dict[str, Any] | None = None  # copilot.llm's backend_override (tests: a fake model)
    llm_server: Any = None  # copilot.llm.server.ServerTarget: the user's own LLM server instead of the model

    def __post_init__(self) -> None:
        given = self.address.strip()
        text = given.lower()
        if len(text) != 42 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
            raise InputError(f"--address {self.address!r} is not a 20-byte 0x address", "pass the wallet's address")
        digits = given[2:]
        if digits != digits.lower() and digits != digits.upper():
            from copilot.policy.addresses import to_checksum

            if to_checksum(text) != "0x" + digits:
                raise InputError(
                    f"--address {given}: bad EIP-55 checksum (mixed case that does not match), likely a typo",
                    "copy the address again, or give it all in lowercase",
                )
        self.address = text


@dataclass
class _Source:
    description: str
    format: str
    plan: ChunkPlan
    path: Path | None  # None: rows already parsed (from the node)


# --------------------------------------------------------------------------- entry points


def audit_file(path: Path, settings: AuditSettings, progress: Progress | None = None) -> AuditReport:
    if not path.is_file():
        raise InputError(f"{path}: no such file", "pass --file with a history export")
    plan = plan_chunks(path, settings.chunk_bytes) if settings.chunk_bytes else plan_chunks(path)
    report = _audit(_Source(str(path), plan.format.value, plan, plan.read_path), settings, progress)
    finish_spool(plan)
    if report.rows and report.bad_rows == report.rows:  # nothing was audited: not an all-clear
        first = report.bad_row_details[0]
        raise InputError(
            f"no row of {path} could be read ({report.rows} bad; line {first.line}: {first.reason[:200]})",
            "give an export in a supported format (see `txcopilot audit --help`)",
        )
    if report.rows - report.bad_rows > 0 and report.rows_involving == 0:
        raise InputError(
            f"none of the {report.rows - report.bad_rows} rows in {path} involves {report.address}",
            "check --address and --file: an audit of the wrong wallet would report a false all-clear",
        )
    return report


def audit_rows(
    rows: list[Any], description: str, settings: AuditSettings, progress: Progress | None = None
) -> AuditReport:
    """Audit rows already parsed (HistoryTx / TokenTransfer), e.g. scanned from the node."""
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    size = 2_000
    chunks = [
        Chunk(number=n, first_line=rows[i].line if rows else 1, objects=[(r.line, r) for r in rows[i : i + size]])
        for n, i in enumerate(range(0, len(rows), size))
    ]
    plan = ChunkPlan(HistoryFormat.JSONL, digest, chunks)
    return _audit(_Source(description, "rpc", plan, None), settings, progress)


# --------------------------------------------------------------------------- the run


def _audit(source: _Source, settings: AuditSettings, progress: Progress | None) -> AuditReport:
    from copilot.audit.knowledge import Knowledge

    knowledge = Knowledge.load(settings.policy, settings.address, settings.chain_id)
    job = AuditJob(
        address=settings.address,
        policy=settings.policy,
        chain_id=settings.chain_id,
        path=source.path,
        format=source.plan.format,
        header=source.plan.header,
    )
    cache = ChunkCache(_run_key(source.plan, settings, knowledge.fingerprint)) if settings.use_cache else None
    chunks = source.plan.chunks
    if settings.llm or cache is None or any(not cache.has(c.number) for c in chunks):
        # The first pass: whom the wallet dealt with, and from when (its result is part of every review)
        first = _run_chunks(chunks, job, settings, cache, progress, run_first_pass, "first", "Reading history")
        job = replace(job, first_dealings=merge_first_dealings(part["first"] for _, part in first))
    results: dict[int, dict[str, Any]] = {}
    for chunk_result in _run_chunks(chunks, job, settings, cache, progress, run_chunk, "chunk", "Auditing (chunks)"):
        number, result = chunk_result
        results[number] = result
    report = _assemble(source, settings, knowledge, [results[n] for n in sorted(results)], cache)
    if not settings.llm:
        report.narrative_note = "no narrative: --no-llm"
    elif report.flagged:
        from copilot.audit.narrative import add_model_explanations, model_explainer

        explain = model_explainer(lambda tx: _review_with_model(source, job, settings, tx.line))
        model_id = settings.model or "default-model"
        if settings.llm_server is not None:  # a server's explanations are cached apart from the model's
            model_id = f"{settings.llm_server.url} {settings.llm_server.dialect} {settings.llm_server.model}"
        add_model_explanations(report, explain, model_id, progress)
    return report


def _review_with_model(source: _Source, job: AuditJob, settings: AuditSettings, line: int) -> Any:
    """Reads the row at `line` again and reviews it with the model (copilot.llm.explain.enrich_review)."""
    import bisect

    from copilot.audit.batch import Reviewer, rows_of
    from copilot.audit.history import HistoryTx
    from copilot.llm.explain import enrich_review
    from copilot.pipeline import ReviewOptions

    chunks = source.plan.chunks
    position = bisect.bisect_right([c.first_line for c in chunks], line) - 1
    row = next((r for r in rows_of(job, chunks[max(position, 0)]) if r.line == line), None)
    if not isinstance(row, HistoryTx):
        return None
    reviewer = Reviewer(job)
    review = reviewer.review(reviewer.decode(row), row.timestamp)
    options = ReviewOptions(
        policy=settings.policy, user=settings.address, use_llm=True, model=settings.model, llm_server=settings.llm_server
    )
    return enrich_review(review, options, backend_override=settings.llm_backend)


def _run_chunks(
    chunks: list[Chunk],
    job: AuditJob,
    settings: AuditSettings,
    cache: ChunkCache | None,
    progress: Progress | None,
    task: Callable[[Chunk], dict[str, Any]],
    kind: str,
    description: str,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Runs `task` on every chunk (on every core), reusing and storing results of that kind in the cache."""
    cached = {c.number: r for c in chunks if cache is not None and (r := cache.get(c.number, kind)) is not None}
    pending = [c for c in chunks if c.number not in cached]
    workers = min(settings.workers or _usable_cores(), len(pending))
    executor: ProcessPoolExecutor | None = None
    futures: dict[Future[dict[str, Any]], int] = {}
    if workers >= 2 and len(pending) >= MIN_CHUNKS_FOR_PROCESSES:
        import multiprocessing

        # fork: workers inherit the imported pipeline instead of importing it again. Everything is
        # submitted before the progress bar starts its refresh thread.
        executor = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork"), initializer=init_worker, initargs=(job,)
        )
        futures = {executor.submit(task, chunk): chunk.number for chunk in pending}
    if progress is not None:
        progress.start(len(chunks), description)
    try:
        for number, result in cached.items():
            if progress is not None:
                progress.advance()
            yield number, result
        if executor is None:
            init_worker(job)
            for chunk in pending:
                result = task(chunk)
                _store(cache, chunk.number, result, kind)
                if progress is not None:
                    progress.advance()
                yield chunk.number, result
        else:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    _store(cache, futures[future], result, kind)
                    if progress is not None:
                        progress.advance()
                    yield futures[future], result
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        if progress is not None:
            progress.stop()


def _usable_cores() -> int:
    """The cores this process may run on (affinity and container limits), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _store(cache: ChunkCache | None, number: int, result: dict[str, Any], kind: str) -> None:
    if cache is not None:
        cache.put(number, result, kind)


# --------------------------------------------------------------------------- resume cache


# What a chunk's result depends on: the audit itself, the review pipeline and the bundled ABIs/tokens.
_RESULT_SOURCES = ("audit", "decoding", "inputs", "intel", "risk", "policy", "state", "models.py", "pipeline.py")


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the code and data that decide a chunk's result: upgrading them invalidates cached chunks."""
    import copilot
    from copilot.resources import abis_dir

    root = Path(copilot.__file__).parent
    files: list[Path] = []
    for name in _RESULT_SOURCES:
        files += sorted((root / name).rglob("*.py")) if (root / name).is_dir() else [root / name]
    files += sorted(abis_dir().rglob("*.json"))
    digest = hashlib.sha256(copilot.__version__.encode())
    for source in files:
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _run_key(plan: ChunkPlan, settings: AuditSettings, fingerprint: str) -> str:
    parts = [
        plan.file_hash,
        [[c.number, c.start, c.end, len(c.objects)] for c in plan.chunks],
        fingerprint,
        code_version(),
        settings.address,
        settings.chain_id,
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


class ChunkCache:
    def __init__(self, run_key: str) -> None:
        from copilot.state.dirs import cache_dir

        self.directory = cache_dir() / "audit" / run_key[:40]
        self.reused = 0
        self._prune()

    def _prune(self) -> None:
        """Keeps the KEPT_RUNS most recently used audits' chunks (this one included)."""
        import shutil

        self.directory.mkdir(parents=True, exist_ok=True)
        os.utime(self.directory)
        runs = sorted(self.directory.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in runs[KEPT_RUNS:]:
            shutil.rmtree(stale, ignore_errors=True)

    def has(self, number: int, kind: str = "chunk") -> bool:
        return (self.directory / f"{kind}-{number:06d}.json").is_file()

    def get(self, number: int, kind: str = "chunk") -> dict[str, Any] | None:
        path = self.directory / f"{kind}-{number:06d}.json"
        try:
            result: dict[str, Any] = load_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if kind == "chunk":
            self.reused += 1
        return result

    def put(self, number: int, result: dict[str, Any], kind: str = "chunk") -> None:
        # Write-then-rename without fsync: a cache entry lost in a crash is recomputed, never half-read.
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{kind}-{number:06d}.json"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(result, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)


# --------------------------------------------------------------------------- assembling the report


@dataclass
class _Totals:
    counts: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    days: dict[int, list[int]] = field(default_factory=dict)

    def add(self, result: dict[str, Any]) -> None:
        for target, values in ((self.counts, result["counts"]), (self.verdicts, result["verdicts"]),
                               (self.findings, result["findings"])):
            for key, value in values.items():
                target[key] = target.get(key, 0) + value
        for day_text, values in result["days"].items():
            day = self.days.setdefault(int(day_text), [0, 0, 0, 0])
            day[0] += values[0]
            day[1] += values[1]
            day[2] = max(day[2], values[2])
            day[3] += values[3]


def _assemble(
    source: _Source, settings: AuditSettings, knowledge: Any, results: list[dict[str, Any]], cache: ChunkCache | None
) -> AuditReport:
    totals = _Totals()
    bad: list[BadRowItem] = []
    bad_count = 0
    flagged: list[TxItem] = []
    events: list[Event] = []
    listed: list[ListedItem] = []
    for result in results:
        totals.add(result)
        bad_count += len(result["bad"])
        bad.extend(BadRowItem(line=line, reason=reason) for line, reason in result["bad"][: MAX_BAD_ROW_DETAILS - len(bad)])
        flagged.extend(_tx_item(outcome) for outcome in result["flagged"])
        events.extend(map(Event._make, result["events"]))
        listed += [ListedItem(line=i[0], tx=i[1], timestamp=i[2], address=knowledge.checksum(i[3]), role=i[4],
                              evidence=i[5]) for i in result.get("listed", [])]
    events.sort(key=lambda e: tuple(e.order))  # fresh results carry tuples, cached ones lists
    now = settings.now or int(time.time())

    book = ApprovalBook.empty(settings.address)
    open_by_day = _replay_by_day(book, events, knowledge)
    grants = book.outstanding(now)
    if settings.rpc:
        from copilot.audit.onchain import check_on_chain, enrich_from_node

        enrich_from_node(settings.rpc, knowledge, grants)
        grants_state = check_on_chain(settings.rpc, settings.address, grants)
    else:
        grants_state = {id(g): None for g in grants}
    approvals = [
        item for g in grants if (item := _approval_item(g, grants_state.get(id(g)), book, knowledge)) is not None
    ]
    approvals.sort(key=_exposure_rank)

    hits = find_poisoning(events, settings.address, knowledge.token_decimals, knowledge.book.keys() | knowledge.trusted)
    poisoning = [PoisoningItem(**{name: getattr(h, name) for name in PoisoningItem.model_fields}) for h in hits]

    chosen = approvals if settings.revoke == "all" else [a for a in approvals if a.risky]
    plan = build_revoke_plan(knowledge.checksum(settings.address), chosen, knowledge.chain_id)

    flagged.sort(key=lambda t: (not t.risky, -t.risk_score, t.line))  # risky first
    attention = build_attention(flagged, approvals, poisoning, listed, knowledge.checksum)
    risky_transactions = sum(1 for t in flagged if t.risky)
    counts = totals.counts
    notes = _notes(counts, source, settings)
    good_rows = counts.get("transactions", 0) + counts.get("token_transfers", 0)
    involving = counts.get("involving", 0)
    warnings = [
        f"{good_rows - involving} of {good_rows} rows do not involve {knowledge.checksum(settings.address)} "
        "(neither sent by nor to it): is this the right wallet's history?"
    ] if involving < good_rows else []
    return AuditReport(
        address=knowledge.checksum(settings.address),
        source=source.description,
        format=source.format,
        policy=knowledge.policy_name,
        chain_id=knowledge.chain_id,
        generated_at=now,
        rows=counts.get("transactions", 0) + counts.get("token_transfers", 0) + bad_count,
        transactions=counts.get("transactions", 0),
        reviewed=counts.get("reviewed", 0),
        token_transfers=counts.get("token_transfers", 0),
        bad_rows=bad_count,
        bad_row_details=sorted(bad, key=lambda b: b.line),
        verdicts=totals.verdicts,
        finding_counts=dict(sorted(totals.findings.items(), key=lambda kv: -kv[1])),
        approvals=approvals,
        poisoning=poisoning,
        listed=listed,
        flagged=flagged,
        attention=attention,
        risky_transactions=risky_transactions,
        confirmations=len(flagged) - risky_transactions,
        revoke_plan=[RevokeItem(**entry) for entry in plan],
        timeline=_timeline(totals.days, open_by_day),
        notes=notes,
        warnings=warnings,
        rows_involving=involving,
        chunks=len(results),
        chunks_reused=cache.reused if cache else 0,
    )


def _replay_by_day(book: ApprovalBook, events: list[Event], knowledge: Any) -> dict[int, tuple[int, int]]:
    """Replays every event; returns day -> (open approvals, risky open approvals) at the day's end."""
    by_day: dict[int, tuple[int, int]] = {}
    current_day: int | None = None

    def snapshot(day: int) -> None:
        grants = book.outstanding(day * DAY + DAY)
        by_day[day] = (len(grants), sum(1 for g in grants if knowledge.risk_reasons(g)))

    for event in events:
        day = event.timestamp // DAY if event.timestamp is not None else None
        if current_day is not None and day != current_day:
            snapshot(current_day)
        book.apply(event)
        current_day = day
    if current_day is not None:
        snapshot(current_day)
    return by_day


def _timeline(days: dict[int, list[int]], open_by_day: dict[int, tuple[int, int]]) -> list[TimelinePoint]:
    points: list[TimelinePoint] = []
    last_open = (0, 0)
    for day in sorted(set(days) | set(open_by_day)):
        last_open = open_by_day.get(day, last_open)
        values = days.get(day, [0, 0, 0, 0])
        points.append(
            TimelinePoint(
                day=datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d"),
                transactions=values[0],
                flagged=values[1],
                max_risk=values[2],
                open_approvals=last_open[0],
                risky_approvals=last_open[1],
            )
        )
    return points


def _notes(counts: dict[str, int], source: _Source, settings: AuditSettings) -> list[str]:
    notes: list[str] = []
    if counts.get("no_calldata"):
        notes.append(
            f"{counts['no_calldata']} rows carry no calldata (CSV export without the Input column): their "
            "approvals cannot be rebuilt; export with input data, add the token-approval rows, or use --rpc"
        )
    if counts.get("other_senders"):
        notes.append(f"{counts['other_senders']} raw transactions were sent by other accounts: not reviewed")
    if not settings.rpc:
        notes.append("offline: allowances are as rebuilt from the history; --rpc checks them against the chain now")
    return notes


def _tx_item(outcome: dict[str, Any]) -> TxItem:
    findings = [{"id": i, "severity": s, "title": t, "evidence": e} for i, s, t, e in outcome["findings"]]
    subject, role = outcome["subject"]
    item = TxItem(
        **{k: outcome[k] for k in ("line", "hash", "block", "timestamp", "to", "contract", "function", "verdict",
                                   "risk_score", "decided_by")},
        policy_breach=str(outcome["decided_by"]).startswith("policy:"),
        findings=findings,
        subject=subject,
        subject_role=role,
    )
    item.risky = is_risky(item)
    return item


def _exposure_rank(item: ApprovalItem) -> tuple[bool, bool, bool, float, bool, Decimal]:
    """Sort key: risky first; then unbounded exposure (unlimited, balance unknown: worse than any
    priced amount, now that the bundled prices price most tokens); then by USD where a price is known;
    then by amount in token units. Raw units of different tokens are never compared (1 DAI is 1e18
    units, 1,000,000 USDC 1e12): tokens of unknown decimals come last."""
    unbounded = item.exposure is None and item.unlimited
    decimals_known = item.token_decimals is not None
    units = Decimal(item.exposure or 0).scaleb(-(item.token_decimals or 0))
    usd = item.exposure_usd
    return (not item.risky, not unbounded, usd is None, -(usd or 0.0), not decimals_known, -units)


def _approval_item(grant: Grant, on_chain: Any, book: ApprovalBook, knowledge: Any) -> ApprovalItem | None:
    token = knowledge.token(grant.token)
    balance: int | None = None
    balance_source: str | None = None
    current: int | None = None
    if on_chain is not None:
        current, balance = on_chain
        balance_source = "rpc" if balance is not None else None
        if current == 0:
            return None  # closed on chain since (spent, revoked elsewhere, or expired)
    elif grant.kind in ("erc20", "permit2") and book.balances.get(grant.token, 0) > 0:
        # Net of the transfers the history shows; zero or less means the history is incomplete: unknown.
        balance, balance_source = book.balances[grant.token], "history"
    amount = grant.amount if grant.kind in ("erc20", "permit2") else None
    if amount is not None and current is not None:
        amount = current
    unlimited = grant.unlimited if current is None else (
        grant.kind == "nft_operator" or knowledge.is_unlimited(current, grant.kind)
    )
    exposure: int | None = None
    if amount is not None:
        exposure = min(amount, balance) if balance is not None else (None if unlimited else amount)
    symbol = token.symbol if token else None
    usd = knowledge.usd(grant.token, symbol, exposure, token.decimals if token else None)
    return ApprovalItem(
        kind=grant.kind,
        token=knowledge.checksum(grant.token),
        token_symbol=symbol,
        token_decimals=token.decimals if token else None,
        spender=knowledge.checksum(grant.spender),
        spender_label=knowledge.label(grant.spender),
        amount=amount,
        amount_display=_amount_display(grant, amount, unlimited, knowledge),
        unlimited=unlimited,
        token_id=grant.amount if grant.kind == "nft" else None,
        expiration=grant.expiration,
        granted_tx=grant.tx,
        granted_at=grant.timestamp,
        granted_block=grant.block,
        source=grant.source,
        on_chain=current,
        balance=balance,
        balance_source=balance_source,
        exposure=exposure,
        exposure_display=_exposure_display(grant, exposure, balance, unlimited, knowledge),
        exposure_usd=float(usd[0]) if usd is not None else None,
        exposure_usd_as_of=usd[1] if usd is not None else None,
        risky=bool(knowledge.risk_reasons(grant)),
        reasons=knowledge.risk_reasons(grant),
    )


def _exposure_display(
    grant: Grant, exposure: int | None, balance: int | None, unlimited: bool, knowledge: Any
) -> str | None:
    """Without a known balance the allowance is only an upper bound, finite or not: both say so."""
    if grant.kind not in ("erc20", "permit2"):
        return None
    if balance is not None and exposure is not None:
        return knowledge.format_amount(exposure, grant.token)
    if unlimited:
        return knowledge.format_amount(0, grant.token, unlimited=True) + " (balance unknown)"
    return f"up to {knowledge.format_amount(exposure or 0, grant.token)} (balance unknown)"


def _amount_display(grant: Grant, amount: int | None, unlimited: bool, knowledge: Any) -> str:
    if grant.kind == "nft_operator":
        return "all tokens of the collection"
    if grant.kind == "nft":
        return f"token #{grant.amount}"
    return knowledge.format_amount(amount or 0, grant.token, unlimited=unlimited)
