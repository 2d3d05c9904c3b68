"""The work done per chunk, in a worker process: parse rows, review the wallet's own transactions with
the same pipeline as `txcopilot review` (no LLM), and extract approval/transfer events.

A chunk's result is plain JSON-ready data: it crosses the process boundary and is stored in the
resume cache as is. Only transactions whose verdict is not "allow" are kept in full; the rest are
counted, so memory stays flat however long the history is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.audit.events import Event, Order, events_from_token_row, events_from_tx, row_order
from copilot.audit.history import BadRow, Chunk, HistoryFormat, HistoryTx, Row, TokenTransfer, read_chunk
from copilot.errors import CopilotError
from copilot.eth.logs import NATIVE

if TYPE_CHECKING:
    from copilot.intel import ThreatIndex

DAY = 86_400


@dataclass(frozen=True, slots=True)
class AuditJob:
    """What every worker needs to know; sent once per process."""

    address: str  # lowercase
    policy: str | None
    chain_id: int | None  # assumed for rows that do not state one
    path: Path | None
    format: HistoryFormat
    header: str | None
    # the first pass's result: address -> order of the wallet's first own dealing with it in this history
    first_dealings: dict[str, Order] = field(default_factory=dict)


@dataclass(slots=True)
class _WorkerState:
    job: AuditJob
    reviewer: Any = None  # Reviewer, built on the first chunk to review (the first pass needs none)


_state: _WorkerState | None = None


def init_worker(job: AuditJob) -> None:
    global _state
    _state = _WorkerState(job)


def run_chunk(chunk: Chunk) -> dict[str, Any]:
    """Entry point in a worker process (after init_worker): the review pass."""
    assert _state is not None, "init_worker was not called"
    if _state.reviewer is None:
        _state.reviewer = Reviewer(_state.job)
    return process_rows(rows_of(_state.job, chunk), _state.job, _state.reviewer)


def run_first_pass(chunk: Chunk) -> dict[str, Any]:
    """Entry point in a worker process (after init_worker): the first pass over one chunk."""
    assert _state is not None, "init_worker was not called"
    return {"first": first_dealings(rows_of(_state.job, chunk), _state.job.address)}


# Transfers out of the wallet, approvals and operator grants it signed: its own dealings.
_DEALING_KINDS = frozenset({"transfer", "approve", "increase", "permit2", "nft_approve", "operator"})


def first_dealings(rows: Iterable[Row], address: str) -> dict[str, Order]:
    """The cheap first pass: for each counterparty, where in chain order (block, position in the block,
    line) the wallet first dealt with it: sent it a transaction, paid it (a non-zero transfer in a
    transaction the wallet sent), or approved it. What others send the wallet never counts, nor a
    transfer out of it that someone else's transaction made (a zero-value transferFrom): an address
    that only ever sent dust or planted transfers never becomes known by that. Token-transfer export
    rows say nothing of who sent the transaction: a non-zero transfer of a bundled token counts (a
    fake token's made-up Transfer does not)."""
    first: dict[str, Order] = {}

    def deal(counterparty: str | None, order: Order) -> None:
        if counterparty and counterparty != address and (counterparty not in first or order < first[counterparty]):
            first[counterparty] = order

    for row in rows:
        if isinstance(row, TokenTransfer):
            if row.sender == address and row.amount > 0 and _bundled_token(row.token):
                deal(row.to, row_order(row))
            continue
        if isinstance(row, BadRow) or row.sender != address or row.status == 0:
            continue
        order = row_order(row)
        deal(row.to, order)
        for event in events_from_tx(row):
            if event.owner == address and event.kind in _DEALING_KINDS and (event.kind != "transfer" or _nonzero(event)):
                deal(event.counterparty, order)
    return first


def merge_first_dealings(parts: Iterable[dict[str, Any]]) -> dict[str, Order]:
    """Chunks' first passes merged: the earliest dealing wins (cached parts carry lists, not tuples)."""
    merged: dict[str, Order] = {}
    for part in parts:
        for counterparty, value in part.items():
            order = tuple(value)
            if counterparty not in merged or order < merged[counterparty]:
                merged[counterparty] = order
    return merged


def _nonzero(event: Event) -> bool:
    try:
        return Decimal(event.amount) > 0
    except ArithmeticError:
        return False


def _bundled_token(token: str) -> bool:
    from copilot.decoding.tokens import lookup_token

    return lookup_token(token, None) is not None


def rows_of(job: AuditJob, chunk: Chunk) -> Iterator[Row]:
    """The parsed rows of one chunk."""
    if job.path is None:  # rows fetched from the node arrive already parsed
        return (obj for _, obj in chunk.objects)
    return read_chunk(job.path, job.format, job.header, chunk)


class Reviewer:
    """Reviews one transaction with the review pipeline: decode, rules, policy; no model."""

    def __init__(self, job: AuditJob) -> None:
        from copilot.pipeline import ReviewOptions
        from copilot.policy import load_policy
        from copilot.state.context import build_context

        self.job = job
        self.options = ReviewOptions(policy=job.policy, rpc=None, user=job.address, use_llm=False, model=None)
        self.policy = load_policy(job.policy)
        self.context = build_context(self.policy, rpc=None, user=_checksum(job.address), decoded=None)
        # The audited history is history too: whom the wallet dealt with before each transaction.
        self.context.history_first_dealt = job.first_dealings
        self.started = self.context.now

    def decode(self, tx: HistoryTx) -> Any:
        from copilot.decoding import decode
        from copilot.models import RequestKind, SigningRequest

        if tx.raw is not None:
            decoded = decode(SigningRequest(kind=RequestKind.RAW_TRANSACTION, raw=tx.raw))
            _fill_from_raw(tx, decoded.transaction)
            return decoded
        from copilot.inputs.detect import normalise_transaction

        # Rows were validated when parsed: only the access/authorization lists still need normalising.
        chain_id = tx.chain_id if tx.chain_id is not None else self.job.chain_id
        dynamic_fee = tx.max_fee_per_gas is not None
        fields: dict[str, Any] = {
            "from": _checksum(tx.sender) if tx.sender else None,
            "to": _checksum(tx.to) if tx.to else None,
            "value": tx.value,
            "data": tx.input,
            "nonce": tx.nonce,
            "gas": tx.gas,
            # a mined EIP-1559 tx also reports its effective gasPrice; the signed payload had only the caps
            "gasPrice": None if dynamic_fee else tx.gas_price,
            "maxFeePerGas": tx.max_fee_per_gas,
            "maxPriorityFeePerGas": tx.max_priority_fee_per_gas,
            "chainId": chain_id,
            "type": tx.type,
        }
        transaction = {k: v for k, v in fields.items() if v is not None}
        if tx.lists:
            transaction.update(normalise_transaction(tx.lists))
        request = SigningRequest(
            kind=RequestKind.TRANSACTION,
            method="eth_sendTransaction",
            transaction=transaction,
            chain_id=chain_id,
            sender=transaction.get("from"),
        )
        return decode(request)

    def review(self, decoded: Any, timestamp: int | None, position: Order | None = None) -> Any:
        from copilot.pipeline import review_decoded

        # Judge each transaction at its own time (permit expiries) and place in the history (who was
        # dealt with before it); the context object stays the same one so the rules' per-context index
        # is built once per worker.
        self.context.now = timestamp if timestamp is not None else self.started
        self.context.history_position = position
        return review_decoded(decoded, self.policy, self.context, self.options)


def _fill_from_raw(tx: HistoryTx, info: Any) -> None:
    if info is None:
        return
    tx.sender = info.sender.lower() if info.sender else None
    tx.to = info.to.lower() if info.to else None
    tx.value = int(info.value)
    tx.input = info.data
    tx.chain_id = info.chain_id
    tx.nonce = info.nonce
    tx.hash = tx.hash or info.hash


def _checksum(address: str) -> str:
    from copilot.policy.addresses import to_checksum

    return to_checksum(address)


def process_rows(rows: Iterable[Row], job: AuditJob, reviewer: Any) -> dict[str, Any]:
    """Review and extract events from rows; returns the chunk result (JSON-ready)."""
    from copilot.intel import load_index

    threats = load_index()  # once per chunk: each load stats the data dir and the list files
    bad: list[list[Any]] = []
    flagged: list[dict[str, Any]] = []
    events: list[Event] = []
    verdicts: Counter[str] = Counter()
    finding_counts: Counter[str] = Counter()
    days: dict[int, list[int]] = {}  # day -> [transactions, flagged, max risk, risk sum]
    counts = Counter[str]()
    listed: list[list[Any]] = []
    for row in rows:
        if isinstance(row, BadRow):
            bad.append([row.line, row.reason])
            continue
        if isinstance(row, TokenTransfer):
            counts["token_transfers"] += 1
            row_events = events_from_token_row(row)
            counts["involving"] += _involves(job.address, row.sender, row.to, row_events)
            events.extend(row_events)
            listed += listed_interactions(row, row_events, job, threats)
            continue
        counts["transactions"] += 1
        outcome: dict[str, Any] | None = None
        if row.raw is not None or row.sender == job.address:
            try:  # one row that cannot be decoded or judged never stops the audit
                decoded = reviewer.decode(row)
                review = reviewer.review(decoded, row.timestamp, row_order(row)) if row.sender == job.address else None
            except (CopilotError, ValueError) as exc:
                bad.append([row.line, _reason(exc)])
                continue
            if review is None:
                counts["other_senders"] += 1  # a raw tx signed by someone else: not the wallet's decision
            else:
                counts["reviewed"] += 1
                verdicts[review.verdict] += 1
                for finding in review.findings:
                    finding_counts[finding.id] += 1
                if review.verdict != "allow":
                    # its events are read below too: flagged rows are few, the second read costs little
                    outcome = _outcome(row, decoded, review, _subject(row, events_from_tx(row), job.address))
                    flagged.append(outcome)
        if not row.has_input:
            counts["no_calldata"] += 1
        row_events = events_from_tx(row)  # after decoding: a raw row's sender and calldata come from it
        counts["involving"] += _involves(job.address, row.sender, row.to, row_events)
        events.extend(row_events)
        listed += listed_interactions(row, row_events, job, threats)
        if row.timestamp is not None:
            day = days.setdefault(row.timestamp // DAY, [0, 0, 0, 0])
            day[0] += 1
            if outcome is not None:
                day[1] += 1
                day[2] = max(day[2], outcome["risk_score"])
                day[3] += outcome["risk_score"]
    return {
        "counts": dict(counts),
        "bad": bad,
        "flagged": flagged,
        "events": [list(e) for e in events],
        "verdicts": dict(verdicts),
        "findings": dict(finding_counts),
        "days": {str(k): v for k, v in days.items()},
        "listed": listed,
    }


def listed_interactions(
    row: HistoryTx | TokenTransfer, row_events: list[Event], job: AuditJob, threats: ThreatIndex
) -> list[list[Any]]:
    """[line, tx, timestamp, address, role, evidence] for each address of the row on a threat list:
    its sender, its recipient, and the spenders, operators and counterparties of its logs. Contracts
    of the bundled registry are never flagged (public lists sometimes name the token a phishing site
    called), nor is the audited wallet itself."""
    from copilot.decoding.registry import known_contract

    parties = [(row.sender, "sender"), (row.to, "recipient")]
    parties += [(event.counterparty, _ROLES.get(event.kind, "counterparty")) for event in row_events]
    parties += [(event.owner, "sender") for event in row_events]
    found: list[list[Any]] = []
    seen = {job.address}
    for address, role in parties:
        if not address or address in seen:
            continue
        seen.add(address)
        listings = threats.address(address)
        if listings and known_contract(address, job.chain_id) is None:
            evidence = "; ".join(listing.evidence(None) for listing in listings)
            found.append([row.line, row.hash, row.timestamp, address, role, evidence])
    return found


_ROLES = {"approve": "spender", "increase": "spender", "decrease": "spender", "permit2": "spender",
          "nft_approve": "approved address", "operator": "operator", "transfer": "recipient"}


def _involves(address: str, sender: str | None, to: str | None, events: list[Event]) -> bool:
    """Whether a row concerns the audited wallet: sent by or to it, or one of its logs names it."""
    return address in (sender, to) or any(address in (e.owner, e.counterparty) for e in events)


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"cannot review: {message.splitlines()[0][:200]}"


_GRANTS = frozenset({"approve", "increase", "permit2", "nft_approve", "operator"})


def _subject(tx: HistoryTx, row_events: list[Event], address: str) -> list[str | None]:
    """[address, role]: whom the wallet's transaction dealt with. The spender or operator it approved,
    else the payee of its token transfer, else the payee (no calldata) or contract it called."""
    own = [e for e in row_events if e.owner == address]
    granted = next((e for e in own if e.kind in _GRANTS), None)
    if granted is not None:
        return [granted.counterparty, _ROLES[granted.kind]]
    paid = next((e for e in own if e.kind == "transfer" and e.token != NATIVE), None)
    if paid is not None:
        return [paid.counterparty, "payee"]
    return [tx.to, "payee" if tx.input in ("0x", "") else "contract"]


def _outcome(tx: HistoryTx, decoded: Any, review: Any, subject: list[str | None]) -> dict[str, Any]:
    call = decoded.call
    return {
        "line": tx.line,
        "hash": tx.hash,
        "block": tx.block,
        "timestamp": tx.timestamp,
        "to": tx.to,
        "contract": call.contract if call else None,
        "function": (call.function or call.selector) if call else None,
        "verdict": review.verdict,
        "risk_score": review.risk_score,
        "decided_by": review.decided_by,
        "findings": [[f.id, str(f.severity), f.title, f.evidence] for f in review.findings],
        "subject": subject,
    }
