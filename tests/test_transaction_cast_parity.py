"""The transaction decoder agrees with Foundry's `cast decode-transaction` (the benchmark's peer) on
every type: signer, hash and every field. cast is one process per transaction, so the set is small."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from copilot.decoding.transaction import decode_raw_transaction
from copilot.models import TransactionInfo

ROOT = Path(__file__).resolve().parent.parent
CAST = ROOT / "node_modules" / ".bin" / "cast"
SENDER = Account.from_key("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
AUTHORITY = Account.from_key("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
BASE = {
    "nonce": 300,
    "gas": 120_000,
    "to": USDC,
    "value": 12345,
    "data": "0x095ea7b3" + "ab" * 64,
    "chainId": 10,
}
FEES = {"maxFeePerGas": 3 * 10**10, "maxPriorityFeePerGas": 2 * 10**9}
ACCESS = [{"address": USDC, "storageKeys": ["0x" + "00" * 31 + "07", "0x" + "11" * 32]}]


def _signed(tx: dict[str, Any]) -> str:
    return "0x" + bytes(SENDER.sign_transaction(tx).raw_transaction).hex()


def _cases() -> list[tuple[str, str]]:
    authorization = AUTHORITY.sign_authorization(
        {"chainId": 0, "address": "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B", "nonce": 9}
    )
    blob_hash = "0x01" + hashlib.sha256(b"commitment").hexdigest()[2:]
    cases = [
        ("legacy-eip155", _signed({**BASE, "gasPrice": 10**9})),
        ("eip2930", _signed({**BASE, "gasPrice": 10**9, "accessList": ACCESS, "type": 1})),
        ("eip1559", _signed({**BASE, **FEES, "accessList": ACCESS, "type": 2})),
        (
            "eip4844",
            _signed({**BASE, **FEES, "maxFeePerBlobGas": 7, "blobVersionedHashes": [blob_hash], "type": 3}),
        ),
        ("eip7702", _signed({**BASE, **FEES, "authorizationList": [authorization], "type": 4})),
    ]
    corpus = ROOT / "fixtures" / "erc7730" / "tests"
    registry = []
    for path in sorted(corpus.rglob("*.tests.json")):
        for test in json.loads(path.read_text()).get("tests", []):
            raw = test.get("rawTx")
            if isinstance(raw, str) and decode_raw_transaction(bytes.fromhex(raw[2:])).signed:
                registry.append((f"registry:{path.stem}", raw))
    return cases + registry[:3]


CASES = _cases()


def _cast(raw: str) -> dict[str, Any]:
    proc = subprocess.run([str(CAST), "decode-transaction", raw], capture_output=True, text=True, timeout=60)
    out = json.loads(proc.stdout)
    return json.loads(out) if isinstance(out, str) else out  # the npm wrapper prints a JSON string


def _hex(value: int | None) -> str | None:
    return None if value is None else hex(value)


def _ours(info: TransactionInfo) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "signer": info.sender,
        "type": hex(info.type),
        "chainId": _hex(info.chain_id),
        "nonce": _hex(info.nonce),
        "gas": _hex(info.gas),
        "gasPrice": _hex(info.gas_price),
        "maxFeePerGas": _hex(info.max_fee_per_gas),
        "maxPriorityFeePerGas": _hex(info.max_priority_fee_per_gas),
        "maxFeePerBlobGas": _hex(info.max_fee_per_blob_gas),
        "to": info.to,
        "value": hex(info.value),
        "input": info.data,
        "r": _hex(info.r),
        "s": _hex(info.s),
        "hash": info.hash,
    }
    if info.type:
        fields["accessList"] = info.access_list
    if info.blob_versioned_hashes:
        fields["blobVersionedHashes"] = info.blob_versioned_hashes
    if info.authorization_list:
        fields["authorizationList"] = [
            {"chainId": hex(a.chain_id), "address": a.address, "nonce": hex(a.nonce), "yParity": hex(a.y_parity),
             "r": hex(a.r), "s": hex(a.s)}
            for a in info.authorization_list
        ]  # fmt: skip
    return {key: value for key, value in fields.items() if value is not None}


def _lower(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return [_lower(item) for item in value]
    if isinstance(value, dict):
        return {key: _lower(item) for key, item in value.items()}
    return value


@pytest.mark.skipif(not CAST.exists(), reason="cast not installed: run the README's set-up (npm install)")
@pytest.mark.parametrize(("name", "raw"), CASES, ids=[case[0] for case in CASES])
def test_decoder_agrees_with_cast(name: str, raw: str) -> None:
    theirs = _cast(raw)
    ours = _ours(decode_raw_transaction(bytes.fromhex(raw[2:])))
    assert theirs["signer"].lower() == ours["signer"].lower()
    for key, value in ours.items():
        assert _lower(theirs.get(key)) == _lower(value), key
