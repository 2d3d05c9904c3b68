"""Approval and transfer events extracted from one history row.

Logs are the truth when a row carries its receipt: they show what the chain did, including approvals
made by a router on the user's behalf (Permit2 permits) and reverted calls (no logs). Without logs the
audit falls back to the top-level calldata the wallet itself sent (approve, increaseAllowance, permit,
setApprovalForAll, Permit2 approve/lockdown, transfer). Events are small tuples so that worker
processes can ship them back and the chunk cache can store them as JSON.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, NamedTuple

from copilot.audit.history import HistoryTx, TokenTransfer
from copilot.eth import logs
from copilot.eth.logs import NATIVE, PERMIT2

# selectors (first 4 bytes of keccak of the signature; checked in tests)
SEL_APPROVE = "095ea7b3"  # approve(address,uint256): ERC-20 allowance or ERC-721 single approval
SEL_INCREASE = "39509351"  # increaseAllowance(address,uint256)
SEL_DECREASE = "a457c2d7"  # decreaseAllowance(address,uint256)
SEL_SET_APPROVAL_FOR_ALL = "a22cb465"  # setApprovalForAll(address,bool)
SEL_PERMIT = "d505accf"  # EIP-2612 permit(address,address,uint256,uint256,uint8,bytes32,bytes32)
SEL_DAI_PERMIT = "8fcbaf0c"  # permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)
SEL_TRANSFER = "a9059cbb"  # transfer(address,uint256)
SEL_TRANSFER_FROM = "23b872dd"  # transferFrom(address,address,uint256)
SEL_PERMIT2_APPROVE = "87517c45"  # Permit2.approve(address,address,uint160,uint48)
SEL_PERMIT2_LOCKDOWN = "cc53287f"  # Permit2.lockdown((address,address)[])
SEL_PERMIT2_PERMIT_SINGLE = "2b67b570"  # Permit2.permit(owner, PermitSingle, bytes)

MAX_UINT160 = (1 << 160) - 1


class Event(NamedTuple):
    """One change to approvals or one movement of value, in chain order."""

    kind: str  # approve | increase | decrease | nft_approve | operator | permit2 | permit2_lockdown | transfer
    order: tuple[int, int, int, int]  # (block, tx index, log index, line): sort key
    tx: str | None
    timestamp: int | None
    owner: str  # approver, or the sender of a transfer
    token: str  # token contract, or "native"
    counterparty: str  # spender / operator / recipient
    amount: str  # decimal string; raw units unless unit == "units"
    unit: str = "raw"  # raw (smallest unit), units (already divided by decimals, CSV), nft (a token id)
    expiration: int | None = None  # Permit2 expiry
    approved: bool = True  # operator approvals: granted or revoked
    source: str = "calldata"  # calldata | log | csv
    via: str | None = None  # the contract the transaction called (who may have pulled the tokens)
    line: int = 0
    caller: str | None = None  # the transaction's sender (a spender calling transferFrom itself)


Order = tuple[int, int, int, int]


def row_order(row: HistoryTx | TokenTransfer) -> Order:
    """Where a row sits in chain order: block, then position in the block (then the file's line); the
    transaction itself before its logs."""
    return _order(row, -1)


def _order(tx: HistoryTx | TokenTransfer, sub: int) -> Order:
    block = tx.block if tx.block is not None else -1
    index = getattr(tx, "index", None)
    return (block, index if index is not None else -1, sub, tx.line)


def _word(data: str, position: int) -> str:
    """The 32-byte ABI word at `position` of the arguments (data without selector, no 0x)."""
    return data[position * 64 : (position + 1) * 64]


def _word_address(data: str, position: int) -> str:
    word = _word(data, position)
    if len(word) != 64:
        raise ValueError("calldata too short")
    return "0x" + word[24:]


def _word_int(data: str, position: int) -> int:
    word = _word(data, position)
    if len(word) != 64:
        raise ValueError("calldata too short")
    return int(word, 16)


def events_from_tx(tx: HistoryTx) -> list[Event]:
    """Events of one transaction: from its logs when it carries them, else from its own calldata."""
    if tx.status == 0:
        return []  # reverted: nothing happened
    out: list[Event] = []
    plain_transfer = tx.has_input and tx.input == "0x"  # a 0 ETH plain transfer is a poisoning vector too
    if tx.sender and tx.to and (tx.value or plain_transfer):
        out.append(
            Event("transfer", _order(tx, -1), tx.hash, tx.timestamp, tx.sender, NATIVE, tx.to, str(tx.value),
                  line=tx.line)
        )
    if tx.logs is not None:
        logged = [e for log in tx.logs for e in _events_from_log(tx, log.address, log.topics, log.data, log.index)]
        # Tokens that log the allowance they leave after a transferFrom (OpenZeppelin before v5) have
        # already said what remains: the transfer must not be counted as a spend a second time.
        reported = {(e.owner, e.token, e.counterparty) for e in logged if e.kind == "approve"}
        out += [
            e._replace(via=None, caller=None)
            if e.kind == "transfer" and {(e.owner, e.token, e.via), (e.owner, e.token, e.caller)} & reported
            else e
            for e in logged
        ]
        return out
    with suppress(ValueError):  # a malformed call: the review reports it; no approval to rebuild
        out.extend(_events_from_calldata(tx))
    return out


# The kinds the audit keeps: its approval book and transfer counts know these. ERC-1155 amounts, WETH
# wraps and ownership changes are the simulation's concern (copilot.eth.logs decodes them for both).
_AUDIT_KINDS = frozenset({logs.TRANSFER, logs.APPROVE, logs.NFT_APPROVE, logs.OPERATOR, logs.PERMIT2_GRANT,
                          logs.PERMIT2_LOCKDOWN})


def _events_from_log(tx: HistoryTx, address: str, topics: list[str], data: str, index: int) -> list[Event]:
    """The audit's Events for one receipt log, decoded by the shared decoder (copilot.eth.logs)."""
    return [
        Event(item.kind, _order(tx, index), tx.hash, tx.timestamp, item.owner, item.token, item.counterparty,
              str(item.amount), unit=item.unit, expiration=item.expiration, approved=item.approved, source="log",
              via=tx.to, line=tx.line, caller=tx.sender)
        for item in logs.decode_log(address, topics, data)
        if item.kind in _AUDIT_KINDS and item.unit != "erc1155"
    ]


def _events_from_calldata(tx: HistoryTx) -> list[Event]:
    if not tx.has_input or tx.to is None or tx.sender is None or len(tx.input) < 10:
        return []
    if tx.to == PERMIT2 and tx.input[2:10] == SEL_PERMIT2_LOCKDOWN:
        return _lockdown_events(tx, tx.input[10:])
    event = _event_from_calldata(tx, tx.sender, tx.to)
    return [event] if event else []


def _event_from_calldata(tx: HistoryTx, owner: str, target: str) -> Event | None:
    selector, args = tx.input[2:10], tx.input[10:]
    order = _order(tx, 0)
    common: dict[str, Any] = {"tx": tx.hash, "timestamp": tx.timestamp, "via": tx.to, "line": tx.line}
    if selector in (SEL_APPROVE, SEL_INCREASE, SEL_DECREASE):
        kind = {SEL_APPROVE: "approve", SEL_INCREASE: "increase", SEL_DECREASE: "decrease"}[selector]
        return Event(kind, order, owner=owner, token=target, counterparty=_word_address(args, 0),
                     amount=str(_word_int(args, 1)), **common)
    if selector == SEL_SET_APPROVAL_FOR_ALL:
        return Event("operator", order, owner=owner, token=target, counterparty=_word_address(args, 0),
                     amount="0", approved=bool(_word_int(args, 1)), **common)
    if selector == SEL_PERMIT:  # anyone may submit the owner's permit; the owner is the first argument
        return Event("approve", order, owner=_word_address(args, 0), token=target,
                     counterparty=_word_address(args, 1), amount=str(_word_int(args, 2)), **common)
    if selector == SEL_DAI_PERMIT:
        allowed = bool(_word_int(args, 4))
        return Event("approve", order, owner=_word_address(args, 0), token=target,
                     counterparty=_word_address(args, 1), amount=str((1 << 256) - 1 if allowed else 0), **common)
    if selector == SEL_TRANSFER:
        return Event("transfer", order, owner=owner, token=target, counterparty=_word_address(args, 0),
                     amount=str(_word_int(args, 1)), **common)
    if selector == SEL_TRANSFER_FROM:
        return Event("transfer", order, owner=_word_address(args, 0), token=target,
                     counterparty=_word_address(args, 1), amount=str(_word_int(args, 2)), **common)
    if target == PERMIT2 and selector == SEL_PERMIT2_APPROVE:
        return Event("permit2", order, owner=owner, token=_word_address(args, 0),
                     counterparty=_word_address(args, 1), amount=str(_word_int(args, 2)),
                     expiration=_word_int(args, 3), **common)
    if target == PERMIT2 and selector == SEL_PERMIT2_PERMIT_SINGLE:
        # permit(owner, ((token, amount, expiration, nonce), spender, sigDeadline), signature)
        return Event("permit2", order, owner=_word_address(args, 0), token=_word_address(args, 1),
                     counterparty=_word_address(args, 5), amount=str(_word_int(args, 2)),
                     expiration=_word_int(args, 3), **common)
    return None


def _lockdown_events(tx: HistoryTx, args: str) -> list[Event]:
    """lockdown((token, spender)[]): an offset, a length, then the pairs; one event per pair."""
    offset = _word_int(args, 0) // 32
    count = _word_int(args, offset)
    return [
        Event("permit2_lockdown", _order(tx, i), tx.hash, tx.timestamp, tx.sender or "",
              _word_address(args, offset + 1 + 2 * i), _word_address(args, offset + 2 + 2 * i), "0",
              via=tx.to, line=tx.line)
        for i in range(min(count, len(args) // 128))
    ]


def events_from_token_row(row: TokenTransfer) -> list[Event]:
    return [
        Event("transfer", _order(row, 0), row.hash, row.timestamp, row.sender, row.token, row.to,
              format(row.amount, "f"), unit="units", source="csv", line=row.line)
    ]
