"""payload_hash binds a review to exactly what will be signed: the same payload in any spelling gives
the same hash, and any change to what is signed changes it."""

from __future__ import annotations

import json
from typing import Any

import rlp
from eth_account import Account

from copilot.decoding import decode
from copilot.inputs import parse_request

SENDER = Account.from_key("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
TX: dict[str, Any] = {
    "nonce": 4,
    "gas": 80_000,
    "to": USDC,
    "value": 0,
    "data": "0x095ea7b3" + "00" * 12 + "22" * 20 + "ff" * 32,
    "chainId": 1,
    "maxFeePerGas": 3 * 10**10,
    "maxPriorityFeePerGas": 10**9,
    "type": 2,
}


def payload_hash(request: object) -> str:
    text = request if isinstance(request, str) else json.dumps(request)
    return decode(parse_request(text)).payload_hash


def test_signed_unsigned_and_object_forms_share_the_payload_hash() -> None:
    signed = bytes(SENDER.sign_transaction(TX).raw_transaction)
    unsigned = b"\x02" + rlp.encode(rlp.decode(signed[1:])[:-3])
    as_object = {"from": SENDER.address, **{k: hex(v) if isinstance(v, int) else v for k, v in TX.items()}}
    hashes = {payload_hash("0x" + signed.hex()), payload_hash("0x" + unsigned.hex()), payload_hash(as_object)}
    assert len(hashes) == 1
    assert hashes == {decode(parse_request("0x" + signed.hex())).transaction.signing_hash}  # type: ignore[union-attr]


def test_incomplete_object_hash_ignores_spelling_but_not_content() -> None:
    base = {"from": SENDER.address, "to": USDC, "value": "0x10", "data": "0xABCD"}
    respelled = {"data": "0xabcd", "value": "16", "to": USDC.lower(), "from": SENDER.address.lower()}
    assert payload_hash(base) == payload_hash(respelled)
    assert payload_hash(base) != payload_hash({**base, "value": "0x11"})
    assert payload_hash(base) != payload_hash({**base, "to": SENDER.address})


def test_batch_hash_depends_on_calls_and_their_order() -> None:
    calls = [{"to": USDC, "data": "0x095ea7b3"}, {"to": SENDER.address, "value": "0x1"}]

    def batch(entries: list[dict[str, str]], chain: str = "0x1") -> dict[str, Any]:
        return {
            "method": "wallet_sendCalls",
            "params": [{"chainId": chain, "from": SENDER.address, "calls": entries}],
        }

    assert payload_hash(batch(calls)) == payload_hash(batch([dict(reversed(c.items())) for c in calls]))
    assert payload_hash(batch(calls)) != payload_hash(batch(list(reversed(calls))))
    assert payload_hash(batch(calls)) != payload_hash(batch(calls, chain="0x2105"))
