"""`--rpc`: the context built from the user's own node (anvil with the fixture contracts), and the
review findings that only a node makes possible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chainhelpers import delegate_eoa, deploy, encode_call, transact, view
from policyhelpers import erc20_approve

from copilot.models import AccountKind
from copilot.policy import load_policy
from copilot.state.context import build_context

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parent.parent


def _setup(anvil: Any) -> tuple[str, str, str]:
    """A fresh token (unknown to the bundled list) with 1,000 TUSD for the user; returns (user, token, drainer)."""
    user = anvil.accounts[1][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    drainer = deploy(anvil, "Drainer")
    transact(anvil, token, "mint(address,uint256)", [user, 1_000 * 10**6])
    return user, token, drainer


def test_context_from_the_node(anvil: Any) -> None:
    user, token, drainer = _setup(anvil)
    spender = anvil.accounts[2][0]
    request = erc20_approve(token, spender, 2_000 * 10**6, chain_id=31337, sender=user)
    context = build_context(load_policy("default"), rpc=anvil.url, decoded=request)
    chain = context.chain
    assert chain.chain_id == 31337
    assert chain.base_fee is not None and chain.base_fee > 0
    assert chain.nonce == 0
    assert chain.account_kinds[spender] == AccountKind.EOA
    assert chain.account_kinds[token] == AccountKind.CONTRACT
    meta = chain.tokens[token]
    assert (meta.symbol, meta.decimals, meta.source) == ("TUSD", 6, "rpc")
    assert chain.balances[user][token] == 1_000 * 10**6  # less than the 2,000 approved
    assert chain.balances[user]["native"] > 0
    delegate_eoa(anvil, spender, drainer)
    chain = build_context(load_policy("default"), rpc=anvil.url, decoded=request).chain
    assert chain.account_kinds[spender] == AccountKind.DELEGATED_EOA
    assert chain.delegates[spender] == drainer


def _approve_request(token: str, spender: str, amount: int, user: str) -> str:
    data = encode_call("approve(address,uint256)", [spender, amount])
    return json.dumps(
        {"from": user, "to": token, "chainId": "0x7a69", "value": "0x0", "data": data, "nonce": "0x0"}
    )


def test_review_with_rpc_finds_what_offline_cannot(anvil: Any) -> None:
    from copilot.pipeline import ReviewOptions, review_input

    user, token, _ = _setup(anvil)
    spender = anvil.accounts[2][0]
    text = _approve_request(token, spender, 2_000 * 10**6, user)
    offline = {f.id for f in review_input(text, ReviewOptions(use_llm=False)).findings}
    online = review_input(text, ReviewOptions(rpc=anvil.url, use_llm=False))
    found = {f.id for f in online.findings}
    assert {"approval.exceeds_balance", "approval.spender_is_eoa"} <= found
    assert not {"approval.exceeds_balance", "approval.spender_is_eoa"} & offline
    assert online.verdict in ("confirm", "block")


def test_review_with_rpc_knows_a_contract_spender_is_not_an_eoa(anvil: Any) -> None:
    from copilot.pipeline import ReviewOptions, review_input

    user, token, drainer = _setup(anvil)
    text = _approve_request(token, drainer, 10 * 10**6, user)
    found = {f.id for f in review_input(text, ReviewOptions(rpc=anvil.url, use_llm=False)).findings}
    assert "approval.spender_is_eoa" not in found
    assert "approval.exceeds_balance" not in found


def test_unreachable_node_exits_4_with_one_line(tmp_path: Path) -> None:
    request = tmp_path / "tx.json"
    request.write_text(_approve_request("0x" + "11" * 20, "0x" + "22" * 20, 1, "0x" + "33" * 20))
    result = subprocess.run(
        [sys.executable, "-m", "copilot", "review", str(request), "--no-llm", "--rpc", "http://127.0.0.1:9"],
        capture_output=True, text=True, cwd=ROOT, env=os.environ.copy(), timeout=60,
    )  # fmt: skip
    assert result.returncode == 4
    assert result.stderr.startswith("error: cannot reach node at http://127.0.0.1:9")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


ZERO = "0x" + "00" * 20
EXEC = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"


def _safe_tx(safe: str, to: str, data: str, operation: int, nonce: int) -> dict[str, Any]:
    fields = [
        "to",
        "value",
        "data",
        "operation",
        "safeTxGas",
        "baseGas",
        "gasPrice",
        "gasToken",
        "refundReceiver",
        "nonce",
    ]
    types = [
        "address",
        "uint256",
        "bytes",
        "uint8",
        "uint256",
        "uint256",
        "uint256",
        "address",
        "address",
        "uint256",
    ]
    return {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeTx": [{"name": n, "type": t} for n, t in zip(fields, types, strict=True)],
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": 31337, "verifyingContract": safe},
        "message": {"to": to, "value": "0", "data": data, "operation": operation, "safeTxGas": "0", "baseGas": "0",
                    "gasPrice": "0", "gasToken": ZERO, "refundReceiver": ZERO, "nonce": str(nonce)},
    }  # fmt: skip


def test_safe_fixture_hashes_and_verifies_like_a_safe(anvil: Any) -> None:
    """The Safe-like fixture agrees with our EIP-712 hashing, and executes what an owner signed."""
    from eth_account import Account

    from copilot.decoding.typed_data import hash_typed_data

    owner_address, owner_key = anvil.accounts[1]
    safe = deploy(anvil, "SafeLike", [anvil.accounts[0][0], owner_address], 1)
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    mint = encode_call("mint(address,uint256)", [safe, 42])
    typed = _safe_tx(safe, token, mint, 0, 0)
    signing_hash = hash_typed_data(typed).signing_hash
    args = [token, 0, bytes.fromhex(mint[2:]), 0, 0, 0, 0, ZERO, ZERO]
    on_chain = view(
        anvil,
        safe,
        "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)",
        [*args, 0],
        "bytes32",
    )
    assert "0x" + on_chain.hex() == signing_hash
    signed = Account.unsafe_sign_hash(bytes.fromhex(signing_hash[2:]), owner_key)
    signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    transact(anvil, safe, EXEC, [*args, signature], sender=2)  # relayed by a non-owner: the signature authorises it
    assert view(anvil, token, "balanceOf(address)", [safe], "uint256") == 42
    assert view(anvil, safe, "nonce()", [], "uint256") == 1


def test_review_of_a_safe_delegatecall_to_the_drainer_blocks(anvil: Any) -> None:
    from copilot.pipeline import ReviewOptions, review_input

    owner = anvil.accounts[0][0]
    safe = deploy(anvil, "SafeLike", [owner], 1)
    drainer = deploy(anvil, "Drainer")
    approved_by_sender = bytes(12) + bytes.fromhex(owner[2:]) + bytes(32) + b"\x01"
    data = encode_call(
        EXEC,
        [drainer, 0, bytes.fromhex(encode_call("claim()")[2:]), 1, 0, 0, 0, ZERO, ZERO, approved_by_sender],
    )
    text = json.dumps(
        {"from": owner, "to": safe, "chainId": "0x7a69", "value": "0x0", "data": data, "nonce": "0x0"}
    )
    review = review_input(text, ReviewOptions(rpc=anvil.url, use_llm=False))
    assert review.verdict == "block"
    assert "safe.delegatecall_untrusted" in {f.id for f in review.findings}


def test_a_node_on_another_chain_is_not_asked_about_the_request(anvil: Any) -> None:
    """A chain-1 USDC approval to an address that is an EOA on anvil: anvil's state says nothing about
    chain 1, so no spender_is_eoa, and a finding says the on-chain checks were skipped."""
    from copilot.pipeline import ReviewOptions, review_input

    user = anvil.accounts[1][0]
    usdc = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    data = encode_call("approve(address,uint256)", [anvil.accounts[2][0], 100 * 10**6])
    text = json.dumps({"from": user, "to": usdc, "chainId": "0x1", "value": "0x0", "data": data})
    review = review_input(text, ReviewOptions(rpc=anvil.url, use_llm=False))
    found = {f.id: f for f in review.findings}
    assert "approval.spender_is_eoa" not in found
    assert "31337" in found["rpc.chain_mismatch"].evidence and "skipped" in found["rpc.chain_mismatch"].evidence
    assert review.verdict == "confirm"
    assert not review.decoded.transaction or review.decoded.transaction.chain_id == 1
    context = build_context(load_policy("default"), rpc=anvil.url, decoded=review.decoded)
    assert (context.chain.account_kinds, context.chain.balances, context.chain.nonce) == ({}, {}, None)


def test_nonce_ahead_or_behind_the_accounts_next_nonce(anvil: Any) -> None:
    from copilot.pipeline import ReviewOptions, review_input

    user, token, _ = _setup(anvil)
    transact(anvil, token, "approve(address,uint256)", [anvil.accounts[2][0], 0], sender=1)  # nonce 0 used
    friend = anvil.accounts[2][0]

    def findings(nonce: int) -> set[str]:
        text = json.dumps({"from": user, "to": friend, "chainId": "0x7a69", "value": "0x1", "nonce": hex(nonce)})
        return {f.id for f in review_input(text, ReviewOptions(rpc=anvil.url, use_llm=False)).findings}

    assert "tx.nonce_gap" in findings(3) and "tx.nonce_used" not in findings(3)
    assert "tx.nonce_used" in findings(0) and "tx.nonce_gap" not in findings(0)
    assert not {"tx.nonce_gap", "tx.nonce_used"} & findings(1)
