"""Deploy the fixture contracts (fixtures/contracts/compiled.json) on the `anvil` fixture and use them.

anvil's dev accounts are unlocked, so these helpers send with eth_sendTransaction (anvil signs) and
wait for the receipt (anvil mines at once). Typical use:

    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    transact(anvil, token, "mint(address,uint256)", [user, 1_000 * 10**6])
    transact(anvil, token, "approve(address,uint256)", [drainer, 2**256 - 1], sender=user)
    view(anvil, token, "balanceOf(address)", [user], "uint256")

Contracts: TestToken(name, symbol, decimals) ERC-20 with permit and open mint; TestNFT() ERC-721
with setApprovalForAll and open mint; SafeLike(owners, threshold) with Safe's execTransaction ABI
and SafeTx hash; Drainer() with payable claim()/SecurityUpdate() and sweep(token, victim).
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

from copilot.policy.addresses import selector_of, to_checksum
from copilot.resources import fixtures_dir

DELEGATION_PREFIX = "0xef0100"


@cache
def compiled() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures_dir() / "contracts" / "compiled.json").read_text())
    return data


def _types(signature: str) -> list[str]:
    from eth_abi.grammar import parse

    inner = signature[signature.index("(") :]
    return [t.to_type_str() for t in parse(inner).components] if inner != "()" else []


def encode_call(signature: str, args: list[Any] | None = None) -> str:
    """0x calldata for `signature` (e.g. "transfer(address,uint256)") with `args`."""
    from eth_abi import encode

    return selector_of(signature) + encode(_types(signature), args or []).hex()


def wait_receipt(anvil: Any, tx_hash: str, timeout: float = 10) -> dict[str, Any]:
    """The receipt once mined (anvil mines each transaction at once, but answers a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        receipt: dict[str, Any] | None = anvil.rpc("eth_getTransactionReceipt", [tx_hash])  # type: ignore[assignment]
        if receipt is not None:
            return receipt
        if time.monotonic() > deadline:
            raise AssertionError(f"transaction {tx_hash} not mined within {timeout} s")
        time.sleep(0.01)


def _send(anvil: Any, tx: dict[str, Any]) -> dict[str, Any]:
    receipt = wait_receipt(anvil, str(anvil.rpc("eth_sendTransaction", [tx])))
    if receipt.get("status") != "0x1":
        shown = {k: v for k, v in tx.items() if k != "data"}
        raise AssertionError(f"transaction reverted: {shown} selector {tx.get('data', '')[:10]}")
    return receipt


def deploy(anvil: Any, name: str, *args: Any, sender: int | str = 0) -> str:
    """Deploys a fixture contract with constructor `args`; returns its checksum address."""
    from eth_abi import encode

    contract = compiled()[name]
    constructor = next((item for item in contract["abi"] if item["type"] == "constructor"), None)
    types = [i["type"] for i in constructor["inputs"]] if constructor else []
    data = contract["bytecode"] + encode(types, list(args)).hex()
    receipt = _send(anvil, {"from": _account(anvil, sender), "data": data, "gas": hex(5_000_000)})
    return to_checksum(receipt["contractAddress"])


def transact(
    anvil: Any,
    to: str,
    signature: str | None = None,
    args: list[Any] | None = None,
    *,
    value: int = 0,
    sender: int | str = 0,
) -> dict[str, Any]:
    """Sends a call (or plain value when signature is None) from an anvil account; returns the receipt."""
    tx = {"from": _account(anvil, sender), "to": to, "value": hex(value), "gas": hex(1_000_000)}
    if signature:
        tx["data"] = encode_call(signature, args)
    return _send(anvil, tx)


def view(anvil: Any, to: str, signature: str, args: list[Any] | None, returns: str) -> Any:
    """eth_call of a view function, decoded as the single ABI type `returns`."""
    from eth_abi import decode

    result = anvil.rpc("eth_call", [{"to": to, "data": encode_call(signature, args)}, "latest"])
    return decode([returns], bytes.fromhex(str(result)[2:]))[0]


def delegate_eoa(anvil: Any, eoa: str, delegate: str) -> None:
    """Makes `eoa` an EIP-7702-delegated account (code 0xef0100 ‖ delegate) with anvil_setCode."""
    anvil.rpc("anvil_setCode", [eoa, DELEGATION_PREFIX + delegate[2:].lower()])


def _account(anvil: Any, sender: int | str) -> str:
    return anvil.accounts[sender][0] if isinstance(sender, int) else sender
