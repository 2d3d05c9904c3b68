"""EIP-712 hashing matches eth-account over the vendored ERC-7730 corpus and the EIP's own example, and
typed data whose message does not match its types is refused with one clear line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import _hash_eip191_message, encode_typed_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot.decoding import decode
from copilot.decoding.typed_data import embedded_calls, hash_typed_data
from copilot.errors import InputError
from copilot.inputs import parse_request

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "erc7730" / "tests"

# The example from EIP-712 itself, with its published hashes.
MAIL: dict[str, Any] = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
        "Mail": [
            {"name": "from", "type": "Person"},
            {"name": "to", "type": "Person"},
            {"name": "contents", "type": "string"},
        ],
    },
    "primaryType": "Mail",
    "domain": {
        "name": "Ether Mail",
        "version": "1",
        "chainId": 1,
        "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    "message": {
        "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
        "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
        "contents": "Hello, Bob!",
    },
}


def _reference(td: dict[str, Any]) -> str:
    return "0x" + _hash_eip191_message(encode_typed_data(full_message=td)).hex()


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(CORPUS.rglob("*.tests.json")):
        for index, test in enumerate(json.loads(path.read_text()).get("tests", [])):
            if isinstance(test.get("data"), dict):
                cases.append((f"{path.stem}[{index}]", test["data"]))
    return cases


CORPUS_CASES = _corpus()


def test_eip712_example_hashes() -> None:
    info = hash_typed_data(MAIL)
    assert info.domain_hash == "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
    assert info.message_hash == "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"
    assert info.signing_hash == "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
    assert info.primary_type == "Mail" and info.chain_id == 1
    assert info.verifying_contract == "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"


def test_corpus_is_vendored() -> None:
    assert len(CORPUS_CASES) >= 100


@pytest.mark.parametrize(("name", "td"), CORPUS_CASES, ids=[case[0] for case in CORPUS_CASES])
def test_signing_hash_matches_eth_account(name: str, td: dict[str, Any]) -> None:
    assert hash_typed_data(td).signing_hash == _reference(td)


def test_v4_arrays_nested_structs_and_signed_ints_match_eth_account() -> None:
    td = copy.deepcopy(MAIL)
    td["types"]["Mail"] = [
        {"name": "from", "type": "Person"},
        {"name": "to", "type": "Person[]"},
        {"name": "amounts", "type": "int24[2]"},
        {"name": "tag", "type": "bytes4"},
        {"name": "blob", "type": "bytes"},
        {"name": "ok", "type": "bool"},
    ]
    td["message"] = {
        "from": MAIL["message"]["from"],
        "to": [MAIL["message"]["to"], MAIL["message"]["from"]],
        "amounts": [-5, "123"],
        "tag": "0x12",  # short bytesN: wallets right-pad
        "blob": "0xdeadbeef",
        "ok": True,
    }
    assert hash_typed_data(td).signing_hash == _reference(td)


def test_domain_types_are_inferred_when_missing() -> None:
    td = copy.deepcopy(MAIL)
    del td["types"]["EIP712Domain"]
    assert hash_typed_data(td).signing_hash == _reference(td)


def _mutated(change: Any) -> dict[str, Any]:
    td = copy.deepcopy(MAIL)
    change(td)
    return td


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda td: td["message"].pop("contents"), r"message.contents \(string\) is missing"),
        (lambda td: td["message"]["from"].update(wallet="0x1234"), r"message.from.wallet must be a 20-byte"),
        (lambda td: td["message"].update(contents=5), "message.contents must be a string"),
        (lambda td: td["types"]["Mail"].append({"name": "x", "type": "Nope"}), "unknown type 'Nope'"),
        (lambda td: td.update(primaryType="Letter"), "primaryType 'Letter' is not declared"),
        (lambda td: td["domain"].update(chainId=-1), "domain.chainId must not be negative"),
        (
            lambda td: td["types"]["Person"].append({"name": "name", "type": "string"}),
            "declares field 'name' twice",
        ),
    ],
)
def test_typed_data_that_does_not_match_its_types_is_refused(change: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        hash_typed_data(_mutated(change))
    assert error.value.one_line().startswith("invalid typed data")


def _declared_order_hash(td: dict[str, Any]) -> str:
    """The hash eth-sig-util (MetaMask) computes: every struct, EIP712Domain included, over the fields its
    type declares, in the declared order (eth-account's own hash_struct does exactly that)."""
    from eth_account._utils.encode_typed_data.encoding_and_hashing import hash_struct
    from eth_utils import keccak

    domain = hash_struct("EIP712Domain", td["types"], td["domain"])
    message = hash_struct(td["primaryType"], td["types"], td["message"])
    return "0x" + keccak(b"\x19\x01" + domain + message).hex()


def test_undeclared_fields_are_listed_as_not_signed_and_hashed_as_wallets_do() -> None:
    td = _mutated(lambda td: td["message"].update(totalOriginalConsiderationItems=2))
    td["message"]["from"]["nickname"] = "cow"
    info = hash_typed_data(td)
    assert {(f.path, f.value) for f in info.unsigned} == {
        ("typed_data.message.totalOriginalConsiderationItems", 2),
        ("typed_data.message.from.nickname", "cow"),
    }
    assert info.signing_hash == _reference(td) == _reference(MAIL) == _declared_order_hash(td)
    assert "totalOriginalConsiderationItems" not in info.message and "nickname" not in info.message["from"]


def test_an_undeclared_domain_chain_id_is_not_signed_so_the_domain_names_no_chain() -> None:
    td = _mutated(lambda td: td["types"]["EIP712Domain"].pop(2))  # chainId stays in the domain, undeclared
    info = hash_typed_data(td)
    assert info.chain_id is None and "chainId" not in info.domain
    assert [f.path for f in info.unsigned] == ["typed_data.domain.chainId"]
    assert info.signing_hash == _declared_order_hash(td)


def test_a_domain_declared_in_a_non_canonical_order_hashes_in_the_declared_order() -> None:
    td = _mutated(lambda td: td["types"]["EIP712Domain"].reverse())
    info = hash_typed_data(td)
    assert info.signing_hash == _declared_order_hash(td)
    assert info.signing_hash != _reference(td)  # eth-account's encode_typed_data reorders the domain


def test_int_ranges_are_enforced() -> None:
    td = copy.deepcopy(MAIL)
    td["types"]["Mail"] = [{"name": "n", "type": "uint8"}, {"name": "i", "type": "int8"}]
    td["message"] = {"n": 255, "i": -128}
    hash_typed_data(td)
    td["message"] = {"n": 256, "i": 0}
    with pytest.raises(InputError, match=r"message\.n"):
        hash_typed_data(td)
    td["message"] = {"n": 1, "i": 128}
    with pytest.raises(InputError, match="does not fit int8"):
        hash_typed_data(td)


def test_safe_transaction_exposes_its_embedded_call() -> None:
    safe_tx = {
        "types": {
            "EIP712Domain": [
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "SafeTx": [
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "data", "type": "bytes"},
                {"name": "operation", "type": "uint8"},
                {"name": "safeTxGas", "type": "uint256"},
                {"name": "baseGas", "type": "uint256"},
                {"name": "gasPrice", "type": "uint256"},
                {"name": "gasToken", "type": "address"},
                {"name": "refundReceiver", "type": "address"},
                {"name": "nonce", "type": "uint256"},
            ],
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": 1, "verifyingContract": "0x" + "11" * 20},
        "message": {
            "to": "0x" + "22" * 20,
            "value": "5",
            "data": "0x095ea7b3",
            "operation": 1,
            "safeTxGas": 0,
            "baseGas": 0,
            "gasPrice": 0,
            "gasToken": "0x" + "00" * 20,
            "refundReceiver": "0x" + "00" * 20,
            "nonce": 3,
        },
    }
    assert hash_typed_data(safe_tx).signing_hash == _reference(safe_tx)
    decoded = decode(parse_request(json.dumps(safe_tx)))
    assert decoded.typed_data is not None
    [call] = decoded.typed_data.calls
    assert (call.path, call.operation, call.value) == ("typed_data.message", "delegatecall", 5)
    assert call in decoded.all_calls()  # risk rules see the embedded call like any other
    [(path, to, value, data, operation)] = embedded_calls(safe_tx)
    assert (path, to, value, data, operation) == (
        "typed_data.message",
        "0x2222222222222222222222222222222222222222",
        5,
        bytes.fromhex("095ea7b3"),
        "delegatecall",
    )


# --------------------------------------------------------------------------- differential fuzzing


ATOMIC = [
    "address",
    "bool",
    "string",
    "bytes",
    "uint8",
    "uint256",
    "int16",
    "int256",
    "bytes1",
    "bytes32",
    "uint40",
]


def _value(draw: Any, kind: str) -> Any:
    if kind == "address":
        return "0x" + draw(st.binary(min_size=20, max_size=20)).hex()
    if kind == "bool":
        return draw(st.booleans())
    if kind == "string":
        return draw(st.text(max_size=20))
    if kind == "bytes":
        return "0x" + draw(st.binary(max_size=40)).hex()
    if kind.startswith("bytes"):
        return "0x" + draw(st.binary(min_size=int(kind[5:]), max_size=int(kind[5:]))).hex()
    bits = int(kind.lstrip("uint"))
    if kind.startswith("u"):
        return draw(st.integers(0, 2**bits - 1))
    return draw(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))


@st.composite
def typed_documents(draw: Any) -> dict[str, Any]:
    inner_fields = [(f"i{n}", draw(st.sampled_from(ATOMIC))) for n in range(draw(st.integers(1, 3)))]
    kinds = [*ATOMIC, "Inner", "Inner[]", "uint256[2]", "address[]"]
    outer_fields = [(f"f{n}", draw(st.sampled_from(kinds))) for n in range(draw(st.integers(1, 5)))]

    def make(kind: str) -> Any:
        if kind == "Inner":
            return {name: _value(draw, k) for name, k in inner_fields}
        if kind.endswith("[]"):
            return [make(kind[:-2]) for _ in range(draw(st.integers(0, 3)))]
        if kind.endswith("[2]"):
            return [make(kind[:-3]) for _ in range(2)]
        return _value(draw, kind)

    types = {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
        "Outer": [{"name": name, "type": kind} for name, kind in outer_fields],
    }
    if any(kind.startswith("Inner") for _, kind in outer_fields):  # eth-account refuses unused types
        types["Inner"] = [{"name": name, "type": kind} for name, kind in inner_fields]
    return {
        "types": types,
        "primaryType": "Outer",
        "domain": {"name": draw(st.text(max_size=10)), "chainId": draw(st.integers(0, 2**64))},
        "message": {name: make(kind) for name, kind in outer_fields},
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_documents())
def test_random_typed_data_hashes_like_eth_account(td: dict[str, Any]) -> None:
    assert hash_typed_data(td).signing_hash == _reference(td)
