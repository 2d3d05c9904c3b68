"""Fuzz every parser: whatever comes in, the only exception that may escape is InputError (one clear
line), never a crash that would show a traceback."""

from __future__ import annotations

import json
from typing import Any

import rlp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot.decoding import _rlp, decode
from copilot.decoding.transaction import decode_raw_transaction
from copilot.decoding.typed_data import hash_typed_data
from copilot.errors import InputError
from copilot.inputs import SUPPORTED_METHODS, parse_request
from tests.test_typed_data import typed_documents

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def survives(action: Any, *args: Any) -> None:
    try:
        result = action(*args)
    except InputError as exc:
        assert exc.one_line() and "\n" not in exc.one_line()
        return
    if result is not None and hasattr(result, "model_dump_json"):
        result.model_dump_json()  # what --json prints must serialise


def decode_text(text: str) -> Any:
    return decode(parse_request(text))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**300), 2**300)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
rlp_items = st.recursive(
    st.binary(max_size=40) | st.sampled_from([b"", b"\x00", b"\x01", b"\x80", bytes(20), b"\xff" * 33]),
    lambda children: st.lists(children, max_size=14),
    max_leaves=40,
)
hexish = st.text(alphabet="0123456789abcdefABCDEFx", max_size=80)


@FUZZ
@given(st.binary(max_size=300))
def test_raw_bytes_into_the_transaction_decoder(data: bytes) -> None:
    survives(decode_raw_transaction, data)


@FUZZ
@given(st.sampled_from([b"", b"\x01", b"\x02", b"\x03", b"\x04"]), rlp_items)
def test_well_formed_rlp_of_any_shape_into_the_transaction_decoder(prefix: bytes, item: Any) -> None:
    raw = prefix + rlp.encode(item)
    survives(decode_raw_transaction, raw)
    survives(decode_text, "0x" + raw.hex())


@FUZZ
@given(st.binary(max_size=200))
def test_rlp_reader_agrees_with_the_reference_or_refuses(data: bytes) -> None:
    try:
        ours = _rlp.decode(data)
    except _rlp.RLPError:
        return
    assert rlp.encode(ours) == data  # anything we accept is canonical


@FUZZ
@given(st.text(max_size=200) | hexish.map(lambda h: "0x" + h))
def test_any_text_into_parse_request_and_decode(text: str) -> None:
    survives(decode_text, text)


@FUZZ
@given(json_values)
def test_any_json_into_parse_request_and_decode(value: Any) -> None:
    survives(decode_text, json.dumps(value))


@FUZZ
@given(st.sampled_from([*SUPPORTED_METHODS, "eth_foo"]), st.lists(json_values | hexish, max_size=3))
def test_json_rpc_requests_with_any_params(method: str, params: list[Any]) -> None:
    survives(decode_text, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))


TX_FIELDS = [
    "from",
    "to",
    "value",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "nonce",
    "chainId",
    "data",
    "type",
    "accessList",
    "authorizationList",
    "blobVersionedHashes",
    "maxFeePerBlobGas",
]
tx_values = (
    st.integers(-5, 2**257)
    | hexish.map(lambda h: "0x" + h)
    | st.just("0x" + "11" * 20)
    | st.lists(
        st.dictionaries(
            st.sampled_from(["address", "storageKeys", "chainId", "nonce", "yParity", "r", "s"]),
            hexish.map(lambda h: "0x" + h) | st.integers(0, 3),
            max_size=7,
        ),
        max_size=2,
    )
)


@FUZZ
@given(st.dictionaries(st.sampled_from(TX_FIELDS), tx_values, min_size=1, max_size=10))
def test_transaction_objects_with_any_field_values(tx: dict[str, Any]) -> None:
    survives(decode_text, json.dumps(tx))


MAIL_TYPES = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
    "Person": [{"name": "wallet", "type": "address"}, {"name": "tags", "type": "bytes4[]"}],
    "Mail": [
        {"name": "from", "type": "Person"},
        {"name": "to", "type": "Person[2]"},
        {"name": "amount", "type": "int64"},
        {"name": "ok", "type": "bool"},
    ],
}


@FUZZ
@given(json_values, json_values, st.sampled_from(["Mail", "Person", "EIP712Domain", "Nope", 5]))
def test_typed_data_with_any_message_and_domain(message: Any, domain: Any, primary: Any) -> None:
    survives(
        hash_typed_data, {"types": MAIL_TYPES, "primaryType": primary, "domain": domain, "message": message}
    )
    survives(
        decode_text,
        json.dumps({"types": MAIL_TYPES, "primaryType": primary, "domain": domain, "message": message}),
    )


@FUZZ
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.lists(
            st.dictionaries(
                st.sampled_from(["name", "type"]),
                st.sampled_from(["uint256", "Mail", "Person[]", "bytes33", "int7", "string", "x"])
                | st.integers(),
            ),
            max_size=4,
        ),
        max_size=4,
    )
)
def test_typed_data_with_any_types(types: Any) -> None:
    survives(hash_typed_data, {"types": types, "primaryType": "Mail", "domain": {}, "message": {}})


@FUZZ
@given(typed_documents(), st.sampled_from(["eth_signTypedData_v4", "eth_signTypedData_v3", None]))
def test_valid_typed_data_decodes_end_to_end(td: dict[str, Any], method: str | None) -> None:
    request = td if method is None else {"method": method, "params": ["0x" + "ab" * 20, json.dumps(td)]}
    decoded = decode(parse_request(json.dumps(request)))
    assert decoded.typed_data is not None and decoded.payload_hash == decoded.typed_data.signing_hash
    decoded.model_dump_json()
