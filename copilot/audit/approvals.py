"""Outstanding approvals rebuilt from history, the way revoke.cash does it.

Events are replayed in chain order for the audited owner: a later approval overrides an earlier one,
approve(spender, 0) / setApprovalForAll(false) / Permit2 lockdown clear it, increase/decreaseAllowance
adjust it, and a token transfer pulled from the owner by the contract the owner called (seen in logs)
spends a finite allowance. What remains is what a spender can still take.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from copilot.audit.events import Event
from copilot.eth.logs import NATIVE, PERMIT2

UNLIMITED_ERC20 = 1 << 255  # wallets send 2**256-1; anything this large never runs out in practice
UNLIMITED_PERMIT2 = 1 << 159


@dataclass(slots=True)
class Grant:
    kind: str  # erc20 | permit2 | nft | nft_operator
    token: str
    spender: str  # spender, approved address, or operator
    amount: int  # allowance; the token id for kind "nft"; 1 for an operator
    tx: str | None
    timestamp: int | None
    block: int | None
    source: str  # log | calldata
    expiration: int | None = None  # Permit2 only

    @property
    def unlimited(self) -> bool:
        if self.kind == "erc20":
            return self.amount >= UNLIMITED_ERC20
        if self.kind == "permit2":
            return self.amount >= UNLIMITED_PERMIT2
        return self.kind == "nft_operator"  # an operator can move every token of the collection


@dataclass(slots=True)
class ApprovalBook:
    """Replays events for one owner. `replay` takes events already sorted by Event.order."""

    owner: str
    erc20: dict[tuple[str, str], Grant]
    permit2: dict[tuple[str, str], Grant]
    nft: dict[tuple[str, int], Grant]
    operators: dict[tuple[str, str], Grant]
    balances: dict[str, int]  # token -> net raw amount seen moving in and out (an estimate)

    @classmethod
    def empty(cls, owner: str) -> ApprovalBook:
        return cls(owner.lower(), {}, {}, {}, {}, {})

    def replay(self, events: Iterable[Event]) -> ApprovalBook:
        for event in events:
            self.apply(event)
        return self

    def apply(self, event: Event) -> None:
        if event.kind == "transfer":
            self._transfer(event)
            return
        if event.owner != self.owner:
            return
        key = (event.token, event.counterparty)
        amount = int(event.amount)
        if event.kind == "approve":
            self._set(self.erc20, key, "erc20", amount, event)
        elif event.kind == "increase":
            current = self.erc20.get(key)
            self._set(self.erc20, key, "erc20", (current.amount if current else 0) + amount, event)
        elif event.kind == "decrease":
            current = self.erc20.get(key)
            self._set(self.erc20, key, "erc20", max(0, (current.amount if current else 0) - amount), event)
        elif event.kind == "operator":
            self._set(self.operators, key, "nft_operator", 1 if event.approved else 0, event)
        elif event.kind == "nft_approve":
            nft_key = (event.token, amount)
            if int(event.counterparty, 16) == 0:
                self.nft.pop(nft_key, None)
            else:
                self.nft[nft_key] = _grant("nft", event.counterparty, amount, event)
        elif event.kind == "permit2":
            expiration = event.expiration if event.expiration else event.timestamp  # 0: this block only
            grant = _grant("permit2", event.counterparty, amount, event, expiration)
            self._store(self.permit2, key, grant)
        elif event.kind == "permit2_lockdown":
            self.permit2.pop(key, None)

    @staticmethod
    def _set(table: dict[tuple[str, str], Grant], key: tuple[str, str], kind: str, amount: int, event: Event) -> None:
        ApprovalBook._store(table, key, _grant(kind, key[1], amount, event))

    @staticmethod
    def _store(table: dict[tuple[str, str], Grant], key: tuple[str, str], grant: Grant) -> None:
        if grant.amount <= 0:
            table.pop(key, None)
        else:
            table[key] = grant

    def _transfer(self, event: Event) -> None:
        if event.unit == "nft":
            if event.owner == self.owner:  # an ERC-721 transfer clears the token's single approval
                self.nft.pop((event.token, int(event.amount)), None)
            return
        if event.unit != "raw" or event.token == NATIVE:
            return
        amount = int(event.amount)
        if event.counterparty == self.owner:
            self.balances[event.token] = self.balances.get(event.token, 0) + amount
        if event.owner != self.owner:
            return
        self.balances[event.token] = self.balances.get(event.token, 0) - amount
        if event.source != "log":
            return
        # Tokens left the owner in a transaction that called `via` (a router the owner used) or was sent
        # by `caller` (a spender calling transferFrom itself): that spender, directly or through Permit2,
        # used its allowance.
        for spender in dict.fromkeys(s for s in (event.via, event.caller) if s and s != self.owner):
            if self._spend(self.erc20, (event.token, spender), amount, UNLIMITED_ERC20):
                return
            if (event.token, spender) in self.permit2:
                self._spend(self.permit2, (event.token, spender), amount, UNLIMITED_PERMIT2)
                self._spend(self.erc20, (event.token, PERMIT2), amount, UNLIMITED_ERC20)
                return

    @staticmethod
    def _spend(table: dict[tuple[str, str], Grant], key: tuple[str, str], amount: int, unlimited: int) -> bool:
        grant = table.get(key)
        if grant is None:
            return False
        if grant.amount < unlimited:  # unlimited allowances are not decremented by the token
            grant.amount -= min(amount, grant.amount)
            if grant.amount == 0:
                del table[key]
        return True

    def outstanding(self, now: int) -> list[Grant]:
        """Every grant still open; Permit2 allowances past their expiry are closed."""
        live_permit2 = [g for g in self.permit2.values() if g.expiration is None or g.expiration > now]
        return [*self.erc20.values(), *live_permit2, *self.nft.values(), *self.operators.values()]


def _grant(kind: str, spender: str, amount: int, event: Event, expiration: int | None = None) -> Grant:
    return Grant(
        kind=kind,
        token=event.token,
        spender=spender,
        amount=amount,
        tx=event.tx,
        timestamp=event.timestamp,
        block=event.order[0] if event.order[0] >= 0 else None,
        source=event.source,
        expiration=expiration,
    )
