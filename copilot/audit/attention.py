"""What needs your attention: the audit's risky findings grouped by problem, one line per risky spender,
operator, payee or contract, ranked, however long the history is.

Risky means: a transaction with a finding of high severity or above (or blocked), an open approval a
spender could drain, address poisoning, an interaction with an address on a scam list. A transaction that
only needed your confirmation under the policy (a large payment, a new payee above a limit) is counted
apart and never listed here: it is how the policy works, not a problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from copilot.audit.report import ApprovalItem, AttentionItem, ListedItem, Occurrence, PoisoningItem, TxItem
from copilot.models import Severity

RISKY_SEVERITIES = frozenset({Severity.HIGH.value, Severity.CRITICAL.value})
_RANK = {Severity.MEDIUM.value: 0, Severity.HIGH.value: 1, Severity.CRITICAL.value: 2}


def is_risky(tx: TxItem) -> bool:
    """Blocked, or a finding of high severity or above; else it only needed the user's confirmation."""
    return tx.verdict == "block" or any(f["severity"] in RISKY_SEVERITIES for f in tx.findings)


@dataclass
class _Group:
    address: str | None
    role: str
    severity: str = Severity.MEDIUM.value
    problems: list[tuple[int, str]] = field(default_factory=list)  # (rank, text)
    occurrences: dict[str, Occurrence] = field(default_factory=dict)  # by tx (an approval and its tx: once)
    open_approvals: int = 0

    def add(self, severity: str, problem: str, occurrence: Occurrence) -> None:
        if _RANK[severity] > _RANK[self.severity]:
            self.severity = severity
        if problem not in (text for _, text in self.problems):
            self.problems.append((_RANK[severity], problem))
        self.occurrences.setdefault(occurrence.tx or f"line {occurrence.line}", occurrence)


def _key(occurrence: Occurrence) -> tuple[int, int, int]:
    return (occurrence.timestamp or 0, occurrence.block if occurrence.block is not None else -1, occurrence.line)


def build_attention(
    flagged: Iterable[TxItem],
    approvals: Iterable[ApprovalItem],
    poisoning: Iterable[PoisoningItem],
    listed: Iterable[ListedItem],
    checksum: Callable[[str], str],
) -> list[AttentionItem]:
    groups: dict[str, _Group] = {}

    def group(address: str, role: str) -> _Group:
        return groups.setdefault(address.lower(), _Group(checksum(address), role))

    for tx in flagged:
        if not is_risky(tx) or not tx.subject:
            continue
        worst = max(tx.findings, key=lambda f: Severity(f["severity"]).rank)
        severity = Severity.CRITICAL.value if tx.verdict == "block" else worst["severity"]
        if severity not in _RANK:
            severity = Severity.HIGH.value
        occurrence = Occurrence(line=tx.line, tx=tx.hash, block=tx.block, timestamp=tx.timestamp)
        group(tx.subject, tx.subject_role or "contract").add(severity, worst["title"], occurrence)
    for a in approvals:
        if not a.risky:
            continue
        entry = group(a.spender, "operator" if a.kind == "nft_operator" else "spender")
        what = a.exposure_display or f"{a.amount_display} {a.token_symbol or a.token}"
        entry.add(Severity.HIGH.value, f"open approval: {what}",
                  Occurrence(line=0, tx=a.granted_tx, block=a.granted_block, timestamp=a.granted_at))
        entry.open_approvals += 1
    planted: list[PoisoningItem] = []
    paid = {p.lookalike.lower() for p in poisoning if p.kind == "payment"}
    for p in poisoning:
        occurrence = Occurrence(line=p.line, tx=p.tx, timestamp=p.timestamp)
        if p.lookalike.lower() in paid:
            group(p.lookalike, "payee").add(Severity.CRITICAL.value, f"paid a look-alike of {p.resembles}", occurrence)
        else:
            planted.append(p)
    for listing in listed:
        group(listing.address, listing.role).add(
            Severity.CRITICAL.value, f"on a scam list ({listing.evidence})",
            Occurrence(line=listing.line, tx=listing.tx, timestamp=listing.timestamp),
        )
    items = [_item(g) for g in groups.values()]
    if planted:  # dust from look-alikes: one line, however many poisoners wrote to the wallet
        lookalikes = {p.lookalike.lower() for p in planted}
        entry = _Group(None, "look-alike senders", Severity.HIGH.value)
        for p in planted:
            entry.add(Severity.HIGH.value, f"{len(planted)} planted transfers from {len(lookalikes)} look-alikes of "
                      "addresses you deal with: never copy an address from your history",
                      Occurrence(line=p.line, tx=p.tx, timestamp=p.timestamp))
        items.append(_item(entry))
    items.sort(key=lambda i: (-_RANK[i.severity], -i.open_approvals, -_key(i.last)[0], -i.count))
    for rank, item in enumerate(items, start=1):
        item.rank = rank
    return items


def _item(entry: _Group) -> AttentionItem:
    ordered = sorted(entry.occurrences.values(), key=_key)
    problems = [text for _, text in sorted(entry.problems, key=lambda p: -p[0])]
    return AttentionItem(
        rank=0,
        severity=entry.severity,
        role=entry.role,
        address=entry.address,
        problem="; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else ""),
        count=len(ordered),
        first=ordered[0],
        last=ordered[-1],
        open_approvals=entry.open_approvals,
    )
