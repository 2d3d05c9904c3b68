"""What the user's own node (--rpc) adds beyond account kinds: is it on the request's chain, and
does the transaction's nonce follow the account's current one."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.models import Finding
from copilot.policy.extract import request_chain_id
from copilot.risk.catalogue import finding
from copilot.risk.facts import Facts, as_address, short

WHERE = "transaction"


def node_findings(facts: Facts) -> Iterator[Finding]:
    context = facts.context
    node_chain = context.chain.chain_id
    if node_chain is None:
        return
    wanted = request_chain_id(facts.decoded)
    what = "the request is for"
    if wanted is None:
        wanted, what = context.wallet_chain_id, "your wallet (--chain-id) is on"
    if wanted is not None and wanted != node_chain:
        yield finding(
            "rpc.chain_mismatch",
            f"your node (--rpc) is on chain {node_chain} but {what} chain {wanted}: its accounts, balances "
            f"and nonces belong to another chain, so the on-chain checks (spender is an EOA, approval "
            f"exceeds balance, nonce) were skipped; point --rpc at a chain-{wanted} node",
        )
        return
    yield from _nonce(facts)


def _nonce(facts: Facts) -> Iterator[Finding]:
    tx = facts.decoded.transaction
    current = facts.context.chain.nonce
    user = as_address(facts.context.user)
    if tx is None or tx.nonce is None or current is None or user is None:
        return
    if tx.sender is not None and tx.sender.lower() != user:
        return  # the node's nonce is the user's, not this sender's
    if tx.nonce > current:
        yield finding(
            "tx.nonce_gap",
            f"nonce {tx.nonce} but {short(user)}'s next nonce is {current}: the transaction waits until "
            f"nonces {current}…{tx.nonce - 1} are used, and whoever holds it can broadcast it then",
            WHERE,
        )
    elif tx.nonce < current:
        yield finding(
            "tx.nonce_used",
            f"nonce {tx.nonce} is already used ({short(user)}'s next nonce is {current}): this can only replace "
            "a pending transaction with that nonce, or it fails",
            WHERE,
        )
