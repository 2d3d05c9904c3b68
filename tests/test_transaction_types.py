"""Every transaction type, signed by eth-account (an independent implementation), decodes to the same
fields, sender, hash and signing hash; unsigned payloads and transaction objects bind to the same hash."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot.decoding.transaction import (
    consensus_warnings,
    decode_raw_transaction,
    transaction_from_object,
)
from copilot.errors import InputError
from copilot.inputs.detect import normalise_transaction

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ACCOUNT = Account.from_key(KEY)
DELEGATE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
TRANSFER = "0xa9059cbb" + "00" * 12 + "11" * 20 + f"{5_000_000:064x}"

COMMON: dict[str, Any] = {
    "nonce": 7,
    "gas": 90_000,
    "to": USDC,
    "value": 10**15,
    "data": TRANSFER,
    "chainId": 1,
}
ACCESS = [{"address": USDC, "storageKeys": ["0x" + "00" * 31 + "03"]}]
TYPES: dict[str, dict[str, Any]] = {
    "legacy-eip155": {**COMMON, "gasPrice": 30 * 10**9},
    "eip2930": {**COMMON, "gasPrice": 30 * 10**9, "accessList": ACCESS, "type": 1},
    "eip1559": {
        **COMMON,
        "maxFeePerGas": 40 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "accessList": ACCESS,
        "type": 2,
    },
    "eip4844": {
        **COMMON,
        "maxFeePerGas": 40 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "maxFeePerBlobGas": 10**9,
        "blobVersionedHashes": ["0x01" + "ab" * 31],
        "type": 3,
    },
}


def _authorization(chain_id: int = 1, nonce: int = 3) -> Any:
    delegate = "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B"
    return Account.from_key(DELEGATE_KEY).sign_authorization(
        {"chainId": chain_id, "address": delegate, "nonce": nonce}
    )


def _sign(tx: dict[str, Any]) -> Any:
    return ACCOUNT.sign_transaction(tx)


@pytest.mark.parametrize("name", sorted(TYPES))
def test_signed_transactions_of_every_type(name: str) -> None:
    tx = TYPES[name]
    signed = _sign(tx)
    info = decode_raw_transaction(bytes(signed.raw_transaction))
    assert info.signed and info.sender == ACCOUNT.address
    assert info.hash == "0x" + bytes(signed.hash).hex()
    assert info.type == tx.get("type", 0)
    assert (info.chain_id, info.nonce, info.gas, info.to, info.value) == (1, 7, 90_000, USDC, 10**15)
    assert info.data == TRANSFER
    assert info.r == signed.r and info.s == signed.s
    if "accessList" in tx:
        assert info.access_list == ACCESS
    if name == "eip4844":
        assert info.blob_versioned_hashes == tx["blobVersionedHashes"]
        assert info.max_fee_per_blob_gas == 10**9
    assert consensus_warnings(info) == []


def test_eip7702_authorizations_recover_each_authority() -> None:
    auth = _authorization()
    mainnet_any_chain = _authorization(chain_id=0, nonce=4)
    tx = {
        **COMMON,
        "maxFeePerGas": 40 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "authorizationList": [auth, mainnet_any_chain],
        "type": 4,
    }
    signed = _sign(tx)
    info = decode_raw_transaction(bytes(signed.raw_transaction))
    assert info.type == 4 and info.sender == ACCOUNT.address
    assert info.hash == "0x" + bytes(signed.hash).hex()
    delegate_signer = Account.from_key(DELEGATE_KEY).address
    assert [a.authority for a in info.authorization_list] == [delegate_signer, delegate_signer]
    assert [a.chain_id for a in info.authorization_list] == [1, 0]
    assert [a.nonce for a in info.authorization_list] == [3, 4]
    assert info.authorization_list[0].address == "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B"


def test_an_authorization_for_another_chain_is_flagged() -> None:
    tx = {**COMMON, "gas": 200_000, "maxFeePerGas": 2, "maxPriorityFeePerGas": 1, "type": 4}
    tx["authorizationList"] = [
        _authorization(chain_id=10),
        _authorization(chain_id=0),
        _authorization(chain_id=1),
    ]
    info = decode_raw_transaction(bytes(_sign(tx).raw_transaction))
    warnings = consensus_warnings(info)
    assert [(w.id, w.location) for w in warnings] == [("tx.authorization_invalid", "authorization[0]")]
    assert "chain id 10" in warnings[0].evidence


def test_a_tampered_authorization_has_no_authority_and_a_warning() -> None:
    auth = _authorization()
    tx = {**COMMON, "maxFeePerGas": 2, "maxPriorityFeePerGas": 1, "authorizationList": [auth], "type": 4}
    fields = rlp.decode(bytes(_sign(tx).raw_transaction)[1:])
    high_s = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 - auth.s
    fields[9][0][5] = high_s.to_bytes(32, "big")  # the malleable twin: invalid since EIP-2
    raw = b"\x04" + rlp.encode(fields[:10])  # unsigned: only the authorization is checked
    info = decode_raw_transaction(raw)
    assert info.authorization_list[0].authority is None
    warnings = consensus_warnings(info)
    assert [(w.id, w.location) for w in warnings] == [("tx.authorization_invalid", "authorization[0]")]


def test_unsigned_payload_has_the_signing_hash_the_signer_uses() -> None:
    for name, tx in TYPES.items():
        if name == "legacy-eip155":
            continue  # legacy unsigned payloads: see the pre-EIP-155 test below
        raw = bytes(_sign(tx).raw_transaction)
        signed = decode_raw_transaction(raw)
        fields = rlp.decode(raw[1:])
        unsigned = bytes([tx["type"]]) + rlp.encode(fields[:-3])
        info = decode_raw_transaction(unsigned)
        assert not info.signed and info.sender is None and info.hash is None
        assert info.signing_hash == signed.signing_hash, name


def test_pre_eip155_unsigned_legacy_form_decodes() -> None:
    raw = rlp.encode([7, 10**9, 21_000, bytes.fromhex(USDC[2:]), 1, b""])
    info = decode_raw_transaction(raw)
    assert info.type == 0 and not info.signed and info.chain_id is None
    assert info.signing_hash == "0x" + keccak(raw).hex()


@pytest.mark.parametrize("name", sorted(TYPES))
def test_transaction_object_binds_to_the_same_signing_hash(name: str) -> None:
    tx = TYPES[name]
    signed = decode_raw_transaction(bytes(_sign(tx).raw_transaction))
    as_json = {key: hex(value) if isinstance(value, int) else value for key, value in tx.items()}
    info = transaction_from_object(normalise_transaction({"from": ACCOUNT.address, **as_json}))
    assert info.signing_hash == signed.signing_hash
    assert info.sender == ACCOUNT.address and not info.signed


def test_transaction_object_without_nonce_has_no_signing_hash_yet() -> None:
    info = transaction_from_object(normalise_transaction({"to": USDC, "data": TRANSFER, "value": "0"}))
    assert info.type == 2 and info.signing_hash is None and info.to == USDC


def test_blob_network_wrapper_decodes_to_the_canonical_transaction() -> None:
    commitment = b"\xc0" + bytes(47)
    versioned = "0x01" + hashlib.sha256(commitment).hexdigest()[2:]
    tx = {**TYPES["eip4844"], "blobVersionedHashes": [versioned]}
    signed = _sign(tx)
    body = rlp.decode(bytes(signed.raw_transaction)[1:])
    blob = bytes(131_072)
    wrapped = b"\x03" + rlp.encode([body, [blob], [commitment], [bytes(48)]])
    info = decode_raw_transaction(wrapped)
    assert info.hash == "0x" + bytes(signed.hash).hex()
    assert info.sender == ACCOUNT.address
    wrong = b"\x03" + rlp.encode([body, [blob], [b"\x01" * 48], [bytes(48)]])
    with pytest.raises(InputError, match="does not match blob_versioned_hashes"):
        decode_raw_transaction(wrong)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: [*f[:5], b"", *f[6:]], "cannot create a contract"),  # type 3 with no `to`
        (lambda f: [*f[:10], [], *f[11:]], "at least one blob"),
        (lambda f: [*f[:10], [b"\x02" + bytes(31)], *f[11:]], "version 0x02"),
    ],
)
def test_blob_transaction_structure_is_enforced(mutate: Any, message: str) -> None:
    fields = rlp.decode(bytes(_sign(TYPES["eip4844"]).raw_transaction)[1:])
    with pytest.raises(InputError, match=message):
        decode_raw_transaction(b"\x03" + rlp.encode(mutate(fields)))


def test_consensus_warnings_name_the_rule() -> None:
    low_gas = {**TYPES["eip1559"], "gas": 21_000}
    info = decode_raw_transaction(bytes(_sign(low_gas).raw_transaction))
    assert [w.id for w in consensus_warnings(info)] == ["tx.intrinsic_gas"]
    inverted = {**TYPES["eip1559"], "maxFeePerGas": 1, "maxPriorityFeePerGas": 2}
    info = decode_raw_transaction(bytes(_sign(inverted).raw_transaction))
    assert [w.id for w in consensus_warnings(info)] == ["tx.fee_ordering"]
    base = consensus_warnings(
        decode_raw_transaction(bytes(_sign({**TYPES["eip1559"], "chainId": 8453}).raw_transaction))
    )
    assert [(w.id, w.severity.value) for w in base] == [("tx.other_chain", "info")]
    creation = {**TYPES["eip1559"], "to": None, "data": "0x" + "60" * 50_000, "gas": 3_000_000}
    creation.pop("to")
    info = decode_raw_transaction(bytes(_sign(creation).raw_transaction))
    assert info.to is None
    assert "tx.initcode_size" in [w.id for w in consensus_warnings(info)]


def test_calldata_above_one_mebibyte_is_refused_and_says_so() -> None:
    raw = rlp.encode([0, 1, 21_000, b"", 0, bytes((1 << 20) + 1)])
    with pytest.raises(InputError, match="1 MiB"):
        decode_raw_transaction(raw)


def test_unsigned_eip155_legacy_payload_decodes_as_unsigned_for_its_chain() -> None:
    tx = {**TYPES["legacy-eip155"], "chainId": 56}
    signed_raw = bytes(_sign(tx).raw_transaction)
    fields = rlp.decode(signed_raw)
    unsigned = rlp.encode([*fields[:6], 56, b"", b""])  # what a hardware wallet is asked to sign
    info = decode_raw_transaction(unsigned)
    assert not info.signed and info.sender is None and info.chain_id == 56
    assert info.signing_hash == decode_raw_transaction(signed_raw).signing_hash


def test_send_raw_transaction_must_carry_a_signed_transaction() -> None:
    from copilot.decoding import decode
    from copilot.inputs import parse_request

    unsigned = "0x" + rlp.encode([7, 1, 21_000, bytes(20), 0, b"", 1, b"", b""]).hex()
    request = f'{{"method": "eth_sendRawTransaction", "params": ["{unsigned}"]}}'
    with pytest.raises(InputError, match="unsigned transaction"):
        decode(parse_request(request))


def test_blob_network_wrapper_with_eip7594_cell_proofs() -> None:
    commitment = b"\xc0" + bytes(47)
    versioned = "0x01" + hashlib.sha256(commitment).hexdigest()[2:]
    signed = _sign({**TYPES["eip4844"], "blobVersionedHashes": [versioned]})
    body = rlp.decode(bytes(signed.raw_transaction)[1:])
    cell_proofs = [bytes(48)] * 128
    wrapped = b"\x03" + rlp.encode([body, 1, [bytes(131_072)], [commitment], cell_proofs])
    info = decode_raw_transaction(wrapped)
    assert info.hash == "0x" + bytes(signed.hash).hex() and info.sender == ACCOUNT.address


@st.composite
def random_transactions(draw: Any) -> dict[str, Any]:
    tx_type = draw(st.sampled_from([0, 1, 2, 4]))
    tx: dict[str, Any] = {
        "nonce": draw(st.integers(0, 2**64 - 2)),
        "gas": draw(st.integers(0, 2**32)),
        "value": draw(st.integers(0, 2**256 - 1)),
        "data": "0x" + draw(st.binary(max_size=64)).hex(),
        "chainId": draw(st.integers(1, 2**32)),
        "to": draw(st.sampled_from([USDC, "0x" + "00" * 20, "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B"])),
    }
    if tx_type < 2:
        tx["gasPrice"] = draw(st.integers(0, 2**64))
        tx["type"] = tx_type if tx_type else None
    else:
        tx["maxFeePerGas"] = draw(st.integers(0, 2**64))
        tx["maxPriorityFeePerGas"] = draw(st.integers(0, 2**64))
        tx["type"] = tx_type
    if tx_type:
        tx["accessList"] = draw(st.sampled_from([[], ACCESS]))
    if tx_type == 4:
        tx["authorizationList"] = [
            _authorization(chain_id=draw(st.integers(0, 2**32)), nonce=draw(st.integers(0, 9)))
        ]
    return {key: value for key, value in tx.items() if value is not None}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_transactions())
def test_random_signed_transactions_decode_like_eth_account(tx: dict[str, Any]) -> None:
    signed = _sign(tx)
    info = decode_raw_transaction(bytes(signed.raw_transaction))
    assert info.sender == ACCOUNT.address and info.hash == "0x" + bytes(signed.hash).hex()
    assert (info.nonce, info.gas, info.value, info.data, info.chain_id) == (
        tx["nonce"], tx["gas"], tx["value"], tx["data"], tx["chainId"]
    )  # fmt: skip
