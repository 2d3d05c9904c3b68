"""The signer's uses of the user's own node: complete a transaction before review, report its receipt after.

Filling happens before the review, so the nonce, gas and fees a user sees are the ones signed.
"""

from __future__ import annotations

from typing import Any

from copilot.errors import EnvironmentProblem, InputError
from copilot.models import RequestKind, SigningRequest

DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei, when the node has no eth_maxPriorityFeePerGas


def fill_transaction(request: SigningRequest, url: str, address: str) -> SigningRequest:
    """A copy of a transaction request with sender, chain id, nonce, fees and gas set from the node."""
    from copilot.chain.node import NodeClient
    from copilot.decoding.transaction import infer_type

    if request.kind != RequestKind.TRANSACTION or request.transaction is None:
        return request
    node = NodeClient(url)
    tx = dict(request.transaction)
    node_chain = node.chain_id()
    stated_chain = tx.get("chainId", request.chain_id)
    if stated_chain is not None and int(stated_chain) != node_chain:
        raise InputError(
            f"the request is for chain {stated_chain} but the node at {url} is chain {node_chain}",
            "point --rpc at a node of that chain",
        )
    tx.setdefault("from", address)
    tx["chainId"] = node_chain
    if tx.get("nonce") is None:
        tx["nonce"] = node.nonce(tx["from"])
    if infer_type(tx) in (0, 1):
        if tx.get("gasPrice") is None:
            tx["gasPrice"] = node.gas_price()
    else:
        if tx.get("maxPriorityFeePerGas") is None:
            try:
                tx["maxPriorityFeePerGas"] = node.max_priority_fee()
            except EnvironmentProblem:
                tx["maxPriorityFeePerGas"] = DEFAULT_PRIORITY_FEE
        if tx.get("maxFeePerGas") is None:
            tx["maxFeePerGas"] = 2 * (node.base_fee() or 0) + int(tx["maxPriorityFeePerGas"])
    if tx.get("gas") is None:
        estimate = node.estimate_gas(_estimate_form(tx))
        tx["gas"] = estimate if estimate == 21_000 else estimate * 6 // 5  # headroom for state changes
    return request.model_copy(update={"transaction": tx, "chain_id": node_chain, "sender": request.sender or tx["from"]})


def _estimate_form(tx: dict[str, Any]) -> dict[str, Any]:
    """The fields eth_estimateGas needs; fees are left out so the estimate does not depend on the balance."""
    out: dict[str, Any] = {"from": tx["from"], "to": tx.get("to") or None, "value": int(tx.get("value", 0))}
    if tx.get("data") and tx["data"] != "0x":
        out["data"] = tx["data"]
    if tx.get("authorizationList"):
        out["authorizationList"] = tx["authorizationList"]
    return out


def receipt_summary(tx_hash: str, receipt: dict[str, Any]) -> dict[str, Any]:
    """What `sign --broadcast` reports and logs of a receipt."""
    return {
        "transaction_hash": tx_hash,
        "status": "success" if int(receipt.get("status", 0)) == 1 else "reverted",
        "block_number": int(receipt["blockNumber"]),
        "gas_used": int(receipt["gasUsed"]),
    }
