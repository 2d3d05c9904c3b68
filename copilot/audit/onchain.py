"""The user's own node (--rpc, through copilot.chain.node.NodeClient): scan a block range for the
wallet's history, and check rebuilt approvals against the chain now (allowance(), isApprovedForAll(),
getApproved(), Permit2 allowance(), balanceOf())."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from copilot.audit.approvals import Grant
from copilot.audit.history import HistoryTx, parse_tx_object
from copilot.errors import InputError
from copilot.eth.logs import (
    PERMIT2,
    TOPIC_APPROVAL,
    TOPIC_APPROVAL_FOR_ALL,
    TOPIC_PERMIT2_APPROVAL,
    TOPIC_PERMIT2_LOCKDOWN,
    TOPIC_PERMIT2_PERMIT,
    TOPIC_TRANSFER,
)

if TYPE_CHECKING:
    from copilot.chain.node import NodeClient

SEL_GET_APPROVED = "081812fc"  # getApproved(uint256)
SEL_PERMIT2_ALLOWANCE = "927da105"  # allowance(address owner, address token, address spender)


def _word(address: str) -> str:
    return address.lower().removeprefix("0x").rjust(64, "0")


def _as_int(result: bytes, word: int = 0) -> int | None:
    if len(result) < 32 * (word + 1):
        return None
    return int.from_bytes(result[32 * word : 32 * (word + 1)], "big")


def check_on_chain(url: str, owner: str, grants: list[Grant]) -> dict[int, tuple[int, int | None] | None]:
    """id(grant) -> (current allowance, or 1/0 for NFT approvals; the owner's token balance), None if unknown."""
    from copilot.chain.node import NodeClient

    node = NodeClient(url)
    balances: dict[str, int | None] = {}
    now = int(time.time())

    def balance(token: str) -> int | None:
        if token not in balances:
            balances[token] = node.erc20_balance(token, owner)
        return balances[token]

    out: dict[int, tuple[int, int | None] | None] = {}
    for grant in grants:
        current: int | None
        if grant.kind == "erc20":
            current = node.erc20_allowance(grant.token, owner, grant.spender)
        elif grant.kind == "permit2":
            result = node.call(PERMIT2, "0x" + SEL_PERMIT2_ALLOWANCE + _word(owner) + _word(grant.token) + _word(grant.spender))
            amount, expiration = _as_int(result, 0), _as_int(result, 1)
            expired = expiration is not None and expiration < now
            current = None if amount is None else (0 if expired else amount)
        elif grant.kind == "nft_operator":
            approved = node.is_approved_for_all(grant.token, owner, grant.spender)
            current = None if approved is None else int(approved)
        else:  # a single NFT approval holds while getApproved(id) still names the same address
            holder = _as_int(node.call(grant.token, "0x" + SEL_GET_APPROVED + format(grant.amount, "064x")))
            current = None if holder is None else int(holder == int(grant.spender, 16))
        if current is None:
            out[id(grant)] = None
        else:
            out[id(grant)] = (current, balance(grant.token) if grant.kind in ("erc20", "permit2") else None)
    return out


def scan_history(url: str, address: str, from_block: int, to_block: int | None) -> tuple[list[HistoryTx], int]:
    """The wallet's transactions (with receipts) in the range, plus transactions by others whose logs
    move the wallet's tokens or approvals (poisoning transfers, spends). Returns (rows, chain id)."""
    from copilot.chain.node import NodeClient

    node = NodeClient(url)
    chain_id = node.chain_id()
    latest = node.block_number()
    last = latest if to_block is None else min(to_block, latest)
    if from_block > last:
        raise InputError(f"--from-block {from_block} is past the chain's latest block {latest}")
    rows: list[HistoryTx] = []
    seen: set[str] = set()
    for tx in node.transactions_of(address, from_block, last):
        rows.append(_row(tx, node.get_receipt(tx["hash"]), len(rows) + 1))
        seen.add(str(tx["hash"]).lower())
    for tx_hash in sorted(_foreign_log_txs(node, address, from_block, last) - seen):
        tx = node.get_transaction(tx_hash)
        rows.append(_row(tx, node.get_receipt(tx_hash), len(rows) + 1))
    rows.sort(key=lambda r: (r.block or 0, r.index or 0))
    return rows, chain_id


def _foreign_log_txs(node: NodeClient, owner: str, from_block: int, to_block: int) -> set[str]:
    """Transactions with a token or Permit2 log naming the owner as first or second indexed address."""
    topic = "0x" + _word(owner)
    queries: list[tuple[str | None, list[str | list[str] | None]]] = [
        (None, [[TOPIC_TRANSFER, TOPIC_APPROVAL, TOPIC_APPROVAL_FOR_ALL], topic]),
        (None, [TOPIC_TRANSFER, None, topic]),
        (PERMIT2, [[TOPIC_PERMIT2_APPROVAL, TOPIC_PERMIT2_PERMIT, TOPIC_PERMIT2_LOCKDOWN], topic]),
    ]
    hashes: set[str] = set()
    for address, topics in queries:
        for log in node.get_logs(from_block, to_block, address=address, topics=topics):
            hashes.add(str(log["transactionHash"]).lower())
    return hashes


def _row(tx: dict[str, Any], receipt: dict[str, Any] | None, line: int) -> HistoryTx:
    obj = dict(tx)
    if receipt is not None:
        obj["receipt"] = receipt
    if "timestamp" not in obj and receipt is not None and "blockTimestamp" in receipt:
        obj["timestamp"] = receipt["blockTimestamp"]
    return parse_tx_object(obj, line)


def enrich_from_node(url: str, knowledge: Any, grants: list[Grant]) -> None:
    """Teaches `knowledge` what only the node knows: which spenders are plain accounts (no code), and the
    symbol and decimals of tokens no registry lists."""
    from copilot.chain.node import NodeClient
    from copilot.models import AccountKind

    node = NodeClient(url)
    for spender in {g.spender for g in grants}:
        kind, _ = node.account_kind(spender)
        if kind is AccountKind.EOA:
            knowledge.eoa_spenders.add(spender)
    for token in {g.token for g in grants}:
        if knowledge.token(token) is None:
            meta = node.erc20_metadata(token)
            if meta is not None:
                knowledge.remember_token(meta)
