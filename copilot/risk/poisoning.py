"""Address poisoning across a history.

A poisoner creates an address that shares the leading and trailing hex characters of someone the
victim really pays, then plants it in the victim's history: a zero-value transferFrom "from" the
victim, a dust transfer, or a fake token with the same symbol. The victim later copies the wrong
address from the history. Both the planted transfers and any payment to a lookalike are reported:
by the audit over a whole history, and by review for the payee of a request against the user's
recent transfers read from their own node (`node_poisoning_findings`). It lives in the risk stage,
below both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, Protocol

from copilot.eth.logs import NATIVE
from copilot.models import Finding
from copilot.risk.addresses import counterparties
from copilot.risk.catalogue import finding
from copilot.risk.facts import Facts, checksum, lookalike_key


class Event(Protocol):
    """A movement of value in a history (the audit's `copilot.audit.events.Event` is one)."""

    @property
    def kind(self) -> str: ...  # only "transfer" counts here
    @property
    def tx(self) -> str | None: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def owner(self) -> str: ...  # sender, lowercase
    @property
    def token(self) -> str: ...  # token contract, or NATIVE
    @property
    def counterparty(self) -> str: ...  # recipient, lowercase
    @property
    def amount(self) -> str: ...  # decimal string; raw units unless unit == "units"
    @property
    def unit(self) -> str: ...  # raw | units | nft
    @property
    def line(self) -> int: ...


NATIVE_DUST = 10**15  # 0.001 ETH
TOKEN_DUST_UNITS = Decimal("0.01")


@dataclass(slots=True)
class PoisoningHit:
    kind: str  # "dust" (planted transfer) | "payment" (the user paid a lookalike)
    tx: str | None
    timestamp: int | None
    line: int
    lookalike: str
    resembles: str  # the genuine counterparty it imitates
    token: str
    amount: str
    unit: str


def find_poisoning(
    events: Iterable[Event],
    owner: str,
    token_decimals: Callable[[str], int | None],
    trusted: Iterable[str] = (),
) -> list[PoisoningHit]:
    """`events` in chain order. `token_decimals` says whether a token is known (None: unknown/fake);
    `trusted` (address book, allow list) are genuine counterparties even before the first payment."""
    owner = owner.lower()
    ordered = list(events)
    paid_first: dict[str, int] = {}  # counterparty -> position of the first real payment
    planted_by: dict[str, int] = {}  # address -> position of its first suspicious incoming transfer
    for position, event in enumerate(ordered):
        if event.kind != "transfer":
            continue
        if event.owner == owner and event.counterparty != owner and _is_payment(event):
            paid_first.setdefault(event.counterparty, position)
        elif _is_suspicious(event, owner, token_decimals):
            planted_by.setdefault(_planter(event, owner), position)
    genuine_by_key: dict[str, str] = {lookalike_key(a): a.lower() for a in trusted}
    for address, _ in sorted(paid_first.items(), key=lambda item: item[1]):
        if address in planted_by:
            continue  # an address that first showed up as a planted transfer is never the genuine one
        genuine_by_key.setdefault(lookalike_key(address), address)

    hits: list[PoisoningHit] = []
    for event in ordered:
        if event.kind != "transfer":
            continue
        if event.owner == owner and event.counterparty != owner and _is_payment(event):
            genuine = genuine_by_key.get(lookalike_key(event.counterparty))
            if genuine and genuine != event.counterparty:
                hits.append(_hit("payment", event, event.counterparty, genuine))
        elif _is_suspicious(event, owner, token_decimals):
            planter = _planter(event, owner)
            genuine = genuine_by_key.get(lookalike_key(planter))
            if genuine and genuine != planter:
                hits.append(_hit("dust", event, planter, genuine))
    return hits


def _is_payment(event: Event) -> bool:
    return event.unit != "nft" and not _is_zero(event.amount)


def _is_zero(amount: str) -> bool:
    """'0', '0.00': amounts are non-negative decimal strings (cheaper than Decimal on 100k events)."""
    return not amount.strip("0.")


def _planter(event: Event, owner: str) -> str:
    # A zero-value transferFrom "from" the victim names the lookalike as recipient.
    return event.counterparty if event.owner == owner else event.owner


def _is_suspicious(event: Event, owner: str, token_decimals: Callable[[str], int | None]) -> bool:
    """An incoming transfer of nothing, of dust or of an unknown token; or a zero transfer 'from' us."""
    if event.owner == owner:
        return event.unit != "nft" and _is_zero(event.amount)
    if event.counterparty != owner or event.unit == "nft":
        return False
    if _is_zero(event.amount):
        return True
    amount = Decimal(event.amount)
    if event.token == NATIVE:
        return amount < NATIVE_DUST
    if event.unit == "units":
        return amount < TOKEN_DUST_UNITS or token_decimals(event.token) is None
    decimals = token_decimals(event.token)
    return decimals is None or amount < TOKEN_DUST_UNITS * 10**decimals


def _hit(kind: str, event: Event, lookalike: str, genuine: str) -> PoisoningHit:
    return PoisoningHit(kind, event.tx, event.timestamp, event.line, lookalike, genuine, event.token,
                        event.amount, event.unit)


class _Transfer(NamedTuple):
    """A transfer the user's node reported, or the payment a request proposes, as an `Event`."""

    kind: str
    tx: str | None
    timestamp: int | None
    owner: str
    token: str
    counterparty: str
    amount: str
    unit: str
    line: int


PROPOSED = "this request"


def node_poisoning_findings(facts: Facts) -> Iterator[Finding]:
    """With --rpc: a payee, spender or contract of the request that imitates someone the user really
    transacted with in recent blocks (read from their own node); above all one that planted a
    zero-value or dust transfer in the user's history. The audit's rule, on the node's history plus
    the payment this request proposes."""
    chain = facts.context.chain
    user = facts.user
    if not chain.recent_transfers or user is None:
        return
    history = [
        _Transfer("transfer", t.tx, None, t.sender, t.token, t.recipient, str(t.amount), "raw", t.block)
        for t in chain.recent_transfers
    ]
    trusted = set(facts.index.book) | facts.index.trusted
    blocks = f"blocks {chain.recent_blocks[0]}-{chain.recent_blocks[1]}" if chain.recent_blocks else "recent blocks"

    def decimals(token: str) -> int | None:
        meta = facts.token(token)
        return meta.decimals if meta else None

    for address, role, where in counterparties(facts):
        if facts.is_known(address) or facts.lookalikes(address):
            continue  # known, or already flagged against the book and local history (address.poisoning)
        proposed = _Transfer("transfer", None, None, user, PROPOSED, address, "1", "raw", -1)
        hits = find_poisoning([*history, proposed], user, decimals, trusted)
        paid = next((h for h in hits if h.kind == "payment" and h.token == PROPOSED), None)
        if paid is None:
            continue
        genuine = f"{checksum(paid.resembles)}, whom you transacted with (per your node, {blocks})"
        planted = next((h for h in hits if h.kind == "dust" and h.lookalike == address), None)
        if planted is None:
            yield finding("address.poisoning", f"{role} {checksum(address)} looks like {genuine}, but is a different address", where)
            continue
        what = "zero-value" if not planted.amount.strip("0.") else "dust"
        yield finding(
            "address.poisoning_planted",
            f"{role} {checksum(address)} imitates {genuine}, and put a {what} transfer in your history "
            f"(tx {planted.tx}, block {planted.line}): the poisoner's calling card, so that you copy it from there",
            where,
        )
