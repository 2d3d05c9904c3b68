"""Decoding: turn a SigningRequest into a DecodedRequest (transactions, calls, typed data, messages).

`payload_hash` binds the review to what will be signed (the signer refuses if it changes):
- transactions: keccak of the unsigned signing payload, i.e. the signing hash; for an object that still
  lacks nonce, gas, fees or chain id, keccak of its canonical JSON;
- typed data: the EIP-712 signing hash; personal_sign: the EIP-191 hash; eth_sign: a labelled keccak
  of the hash (`eth_sign_payload_hash`: the 32 bytes may be a pasted private key, and are never stored);
- wallet_sendCalls: keccak of the canonical JSON of chain id, sender and calls.
Canonical JSON: keys sorted, no whitespace, ASCII, integers as decimal strings (README, "Decoding").
"""

from __future__ import annotations

import json
from typing import Any

from copilot.errors import InputError
from copilot.models import (
    DecodedCall,
    DecodedRequest,
    RequestKind,
    SigningRequest,
    TransactionInfo,
    ints_as_strings,
)

__all__ = ["canonical_json", "decode"]


def decode(request: SigningRequest) -> DecodedRequest:
    """Decode any request kind; raises InputError for structurally invalid input."""
    if request.kind in (RequestKind.RAW_TRANSACTION, RequestKind.TRANSACTION):
        return _decode_transaction(request)
    if request.kind == RequestKind.TYPED_DATA:
        return _decode_typed_data(request)
    if request.kind == RequestKind.CALL_BATCH:
        return _decode_batch(request)
    return _decode_message(request)


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, ASCII only, ints as decimal strings."""
    return json.dumps(
        ints_as_strings(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode()


def _keccak_hex(data: bytes) -> str:
    from copilot.decoding._crypto import hex0x, keccak256

    return hex0x(keccak256(data))


def _decode_transaction(request: SigningRequest) -> DecodedRequest:
    from copilot.decoding.transaction import (
        consensus_warnings,
        decode_raw_transaction,
        transaction_from_object,
    )

    if request.kind == RequestKind.RAW_TRANSACTION:
        assert request.raw is not None
        raw = bytes.fromhex(request.raw[2:])
        info = decode_raw_transaction(raw)
        if request.method == "eth_sendRawTransaction" and not info.signed:
            raise InputError(
                "eth_sendRawTransaction carries an unsigned transaction",
                "only signed transactions can be broadcast; decode the payload on its own to review it",
            )
        payload_hash = info.signing_hash or _keccak_hex(raw)
    else:
        assert request.transaction is not None
        info = transaction_from_object(request.transaction)
        payload_hash = info.signing_hash or _keccak_hex(
            canonical_json({"kind": "transaction", "transaction": request.transaction})
        )
    _label_delegates(info)
    from copilot.decoding.calldata import decode_call  # after the strict decode: bad input fails fast

    call = decode_call(info.to, info.value, bytes.fromhex(info.data[2:]), info.chain_id, path="call")
    return DecodedRequest(
        request=request,
        transaction=info,
        call=call,
        warnings=consensus_warnings(info),
        payload_hash=payload_hash,
    )


def _label_delegates(info: TransactionInfo) -> None:
    if not info.authorization_list:
        return
    from copilot.decoding.registry import known_contract

    for auth in info.authorization_list:
        known = known_contract(auth.address, auth.chain_id or info.chain_id)
        auth.delegate_label = known.label if known else None


def _decode_typed_data(request: SigningRequest) -> DecodedRequest:
    from copilot.decoding.calldata import decode_call
    from copilot.decoding.erc7730 import describes_eip712_contract, render_typed_data
    from copilot.decoding.orders import decode_orders
    from copilot.decoding.registry import known_contract
    from copilot.decoding.typed_data import (
        embedded_calls,
        hash_typed_data,
        read_types,
        recognised_standard,
        signed_typed_data,
    )

    assert request.typed_data is not None
    info = hash_typed_data(request.typed_data)
    if info.verifying_contract:
        known = known_contract(info.verifying_contract, info.chain_id)
        info.verifying_contract_label = known.label if known else None
    clear = render_typed_data(signed_typed_data(request.typed_data, info))
    if clear is not None:
        info.intent, info.fields = clear.intent, list(clear.fields)
    types = read_types(request.typed_data["types"])
    info.orders = decode_orders(types, info.primary_type, info.message, info.chain_id, request.sender)
    info.standard = "order" if info.orders else recognised_standard(types, info.primary_type)
    info.described = clear is not None or describes_eip712_contract(info.chain_id, info.verifying_contract)
    info.calls = [
        decode_call(to, value, data, info.chain_id, path=path, operation=operation)
        for path, to, value, data, operation in embedded_calls(request.typed_data)
    ]
    return DecodedRequest(request=request, typed_data=info, payload_hash=info.signing_hash)


def _decode_batch(request: SigningRequest) -> DecodedRequest:
    from copilot.decoding.calldata import decode_call

    assert request.calls is not None
    calls: list[DecodedCall] = [
        decode_call(
            call["to"], call["value"], bytes.fromhex(call["data"][2:]), request.chain_id, path=f"calls[{i}]"
        )
        for i, call in enumerate(request.calls)
    ]
    payload = {"chainId": request.chain_id, "from": request.sender, "calls": request.calls}
    return DecodedRequest(request=request, calls=calls, payload_hash=_keccak_hex(canonical_json(payload)))


def _decode_message(request: SigningRequest) -> DecodedRequest:
    from copilot.decoding.message import eth_sign_payload_hash, hash_info, personal_message_info

    if request.kind == RequestKind.HASH:
        assert request.hash is not None
        raw = bytes.fromhex(request.hash[2:])
        return DecodedRequest(request=request, message=hash_info(raw), payload_hash=eth_sign_payload_hash(raw))
    assert request.message is not None
    info = personal_message_info(bytes.fromhex(request.message[2:]))
    return DecodedRequest(request=request, message=info, payload_hash=info.signing_hash)
