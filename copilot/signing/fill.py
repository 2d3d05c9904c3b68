"""The signer's two calls to the user's own node: complete a transaction before review, broadcast after.

Filling happens before the review, so the nonce, gas and fees a user confirms are the ones signed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from copilot.errors import EnvironmentProblem, InputError
from copilot.models import RequestKind, SigningRequest

RECEIPT_TIMEOUT_SECONDS = 120.0
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei, when the node has no eth_maxPriorityFeePerGas


def rpc_call(url: str, method: str, params: list[Any]) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            reply = json.loads(response.read())
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
        raise EnvironmentProblem(f"node {url} did not answer {method} ({exc})", "check that your node is running and --rpc is right") from None
    if "error" in reply:
        message = reply["error"].get("message", reply["error"]) if isinstance(reply["error"], dict) else reply["error"]
        raise EnvironmentProblem(f"node {url} refused {method}: {message}")
    return reply.get("result")


def _quantity(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def fill_transaction(request: SigningRequest, url: str, address: str) -> SigningRequest:
    """A copy of a transaction request with sender, chain id, type, nonce, fees and gas set from the node."""
    if request.kind != RequestKind.TRANSACTION or request.transaction is None:
        return request
    tx = dict(request.transaction)
    node_chain = _quantity(rpc_call(url, "eth_chainId", []))
    stated_chain = tx.get("chainId", request.chain_id)
    if stated_chain is not None and int(stated_chain) != node_chain:
        raise InputError(f"the request is for chain {stated_chain} but the node at {url} is chain {node_chain}", "point --rpc at a node of that chain")
    tx.setdefault("from", address)
    tx["chainId"] = node_chain
    if tx.get("type") is None:
        if tx.get("gasPrice") is not None:
            tx["type"] = 1 if tx.get("accessList") else 0
        else:
            tx["type"] = 4 if tx.get("authorizationList") else 2
    tx_type = int(tx["type"])
    if tx.get("nonce") is None:
        tx["nonce"] = _quantity(rpc_call(url, "eth_getTransactionCount", [tx["from"], "pending"]))
    if tx_type in (0, 1):
        if tx.get("gasPrice") is None:
            tx["gasPrice"] = _quantity(rpc_call(url, "eth_gasPrice", []))
    else:
        if tx.get("maxPriorityFeePerGas") is None:
            try:
                tx["maxPriorityFeePerGas"] = _quantity(rpc_call(url, "eth_maxPriorityFeePerGas", []))
            except EnvironmentProblem:
                tx["maxPriorityFeePerGas"] = DEFAULT_PRIORITY_FEE
        if tx.get("maxFeePerGas") is None:
            block = rpc_call(url, "eth_getBlockByNumber", ["latest", False])
            base_fee = _quantity(block.get("baseFeePerGas") or 0)
            tx["maxFeePerGas"] = 2 * base_fee + int(tx["maxPriorityFeePerGas"])
    if tx.get("gas") is None:
        estimate = _quantity(rpc_call(url, "eth_estimateGas", [_rpc_form(tx)]))
        tx["gas"] = estimate if estimate == 21_000 else estimate * 6 // 5  # headroom for state changes
    return request.model_copy(update={"transaction": tx, "chain_id": node_chain, "sender": request.sender or tx["from"]})


def _rpc_form(tx: dict[str, Any]) -> dict[str, Any]:
    """The JSON-RPC form of a transaction object: quantities as hex."""
    out: dict[str, Any] = {}
    for key in ("from", "to", "data", "input"):
        if tx.get(key) is not None:
            out[key] = tx[key]
    for key in ("value", "nonce"):
        if tx.get(key) is not None:
            out[key] = hex(int(tx[key]))
    return out


def broadcast_transaction(url: str, raw_transaction: str) -> dict[str, Any]:
    """Send a signed transaction to the user's node and wait for its receipt."""
    tx_hash = rpc_call(url, "eth_sendRawTransaction", [raw_transaction])
    deadline = time.monotonic() + RECEIPT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        receipt = rpc_call(url, "eth_getTransactionReceipt", [tx_hash])
        if receipt:
            return {
                "transaction_hash": tx_hash,
                "status": "success" if _quantity(receipt.get("status", "0x0")) == 1 else "reverted",
                "block_number": _quantity(receipt["blockNumber"]),
                "gas_used": _quantity(receipt["gasUsed"]),
            }
        time.sleep(0.2)
    raise EnvironmentProblem(
        f"sent {tx_hash}, but no receipt within {RECEIPT_TIMEOUT_SECONDS:.0f} s",
        "it may still be mined: check it on your node",
    )
