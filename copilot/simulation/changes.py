"""Asset changes, grants and control changes from a simulated execution's logs.

Logs are decoded by the shared decoder (copilot.eth.logs, which the audit uses too) and summed per
holder and asset: native ETH (eth_simulateV1's traceTransfers pseudo-logs), ERC-20, ERC-721 and
ERC-1155 transfers, and WETH's Deposit/Withdrawal (WETH mints and burns without a Transfer event).
Assets are keyed by address (and token id), never by symbol.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from copilot.eth import logs as ev
from copilot.models import AssetChange, SimulatedEvent, SimulatedGrant

ZERO = "0x0000000000000000000000000000000000000000"
_STANDARD = {"raw": "erc20", "nft": "erc721", "erc1155": "erc1155"}
_GRANTS = {ev.APPROVE: "approve", ev.NFT_APPROVE: "nft_approve", ev.OPERATOR: "operator", ev.PERMIT2_GRANT: "permit2"}


def decode(call_logs: Iterable[list[dict[str, Any]]]) -> list[list[ev.LogEvent]]:
    """Each call's log events, in order."""
    return [
        [item for log in logs for item in ev.decode_log(str(log.get("address", "")), list(log.get("topics") or []),
                                                          str(log.get("data") or "0x"))]
        for logs in call_logs
    ]


def asset_changes(per_call: list[list[ev.LogEvent]]) -> list[AssetChange]:
    totals: dict[tuple[str, str, int | None], tuple[str, int]] = {}

    def add(holder: str, asset: str, standard: str, token_id: int | None, amount: int) -> None:
        if holder == ZERO or not amount:
            return  # mints and burns show on the other side
        key = (holder, asset, token_id)
        totals[key] = (standard, totals.get(key, (standard, 0))[1] + amount)

    for events in per_call:
        for item in events:
            if item.kind == ev.TRANSFER:
                standard = "native" if item.token == ev.NATIVE else _STANDARD[item.unit]
                amount = 1 if item.unit == "nft" else item.amount
                token_id = item.token_id if item.unit != "raw" else None
                add(item.owner, item.token, standard, token_id, -amount)
                add(item.counterparty, item.token, standard, token_id, amount)
            elif item.kind in (ev.DEPOSIT, ev.WITHDRAWAL):
                add(item.owner, item.token, "erc20", None, item.amount if item.kind == ev.DEPOSIT else -item.amount)
    return [
        AssetChange(holder=holder, asset=asset, standard=standard, token_id=token_id, amount=amount)
        for (holder, asset, token_id), (standard, amount) in totals.items()
        if amount
    ]


def grants(per_call: list[list[ev.LogEvent]]) -> list[SimulatedGrant]:
    """Approvals, operator grants and Permit2 allowances set. An ERC-20 Approval logged in the same
    call as a transfer out of the owner is the allowance a transferFrom leaves (OpenZeppelin before
    v5 logs it): that is a spend of an existing grant, not a new one."""
    out: list[SimulatedGrant] = []
    for events in per_call:
        spent = {(item.owner, item.token) for item in events if item.kind == ev.TRANSFER}
        for item in events:
            kind = _GRANTS.get(item.kind)
            if kind is None or (kind == "approve" and (item.owner, item.token) in spent):
                continue
            out.append(SimulatedGrant(
                kind=kind,
                owner=item.owner, token=item.token, spender=item.counterparty,
                amount=None if kind == "operator" else item.amount, approved=item.approved,
                expiration=item.expiration,
            ))
    return out


def control_events(per_call: list[list[ev.LogEvent]]) -> list[SimulatedEvent]:
    out: list[SimulatedEvent] = []
    for events in per_call:
        for item in events:
            if item.kind == ev.OWNERSHIP:
                out.append(SimulatedEvent(kind="ownership", contract=item.token, subject=item.counterparty,
                                          detail=f"ownership of {item.token} passes from {item.owner} to {item.counterparty}"))
            elif item.kind in (ev.SAFE_OWNER_ADDED, ev.SAFE_OWNER_REMOVED):
                verb = "added to" if item.kind == ev.SAFE_OWNER_ADDED else "removed from"
                out.append(SimulatedEvent(kind=item.kind, contract=item.owner, subject=item.counterparty,
                                          detail=f"{item.counterparty} is {verb} the owners of Safe {item.owner}"))
            elif item.kind == ev.SAFE_THRESHOLD:
                out.append(SimulatedEvent(kind="safe_threshold", contract=item.owner,
                                          detail=f"Safe {item.owner} now needs {item.amount} signature(s)"))
    return out
