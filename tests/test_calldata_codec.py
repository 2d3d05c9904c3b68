"""The strict ABI decoder agrees with eth_abi and accepts exactly what eth_abi's encoder writes."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import decode as eth_decode
from eth_abi import encode as eth_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.decoding.abicodec import AbiDecodeError, decode, parse_type

_BASES = [
    "uint8",
    "uint160",
    "uint256",
    "int8",
    "int256",
    "address",
    "bool",
    "bytes1",
    "bytes32",
    "bytes",
    "string",
]


def _types(depth: int = 2) -> st.SearchStrategy[str]:
    base = st.sampled_from(_BASES)
    if depth == 0:
        return base
    inner = _types(depth - 1)
    return st.one_of(
        base,
        inner.map(lambda t: f"{t}[]"),
        st.tuples(inner, st.integers(1, 3)).map(lambda p: f"{p[0]}[{p[1]}]"),
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: "(" + ",".join(ts) + ")"),
    )


def _values(type_text: str) -> st.SearchStrategy[Any]:
    plan = parse_type(type_text)
    if plan.kind == "array":
        element = type_text[: type_text.rindex("[")]
        size = st.integers(0, 3) if plan.length is None else st.just(plan.length)
        return size.flatmap(lambda n: st.lists(_values(element), min_size=n, max_size=n).map(tuple))
    if plan.kind == "tuple":
        from copilot.decoding.abicodec import split_top_level

        return st.tuples(*[_values(part) for part in split_top_level(type_text[1:-1])])
    if plan.kind == "uint":
        return st.integers(0, 2**plan.bits - 1)
    if plan.kind == "int":
        return st.integers(-(2 ** (plan.bits - 1)), 2 ** (plan.bits - 1) - 1)
    if plan.kind == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if plan.kind == "bool":
        return st.booleans()
    if plan.kind == "fixedbytes":
        return st.binary(min_size=plan.bits, max_size=plan.bits)
    if plan.kind == "bytes":
        return st.binary(max_size=70)
    return st.text(max_size=40)


signatures = st.lists(_types(), min_size=1, max_size=4).flatmap(
    lambda ts: st.tuples(st.just(ts), st.tuples(*[_values(t) for t in ts]))
)


@settings(max_examples=300, deadline=None)
@given(signatures)
def test_decodes_whatever_eth_abi_encodes_to_the_same_values(case: tuple[list[str], tuple[Any, ...]]) -> None:
    types, values = case
    encoded = eth_encode(types, values)
    decoded, end = decode(types, encoded)
    assert end == len(encoded)
    assert decoded == eth_decode(types, encoded)


@settings(max_examples=300, deadline=None)
@given(signatures, st.data())
def test_accepts_a_mutated_encoding_only_if_it_is_canonical(
    case: tuple[list[str], tuple[Any, ...]], data: st.DataObject
) -> None:
    types, values = case
    encoded = bytearray(eth_encode(types, values))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] = data.draw(st.integers(0, 255))
    mutated = bytes(encoded)
    try:
        decoded, end = decode(types, mutated)
    except AbiDecodeError:
        ours = None
    else:
        ours = decoded if end == len(mutated) else None
    try:
        theirs = eth_decode(types, mutated)
        canonical = eth_encode(types, theirs) == mutated
    except Exception:  # eth_abi raises several types; any of them means "not decodable"
        canonical = False
    assert (ours is not None) == canonical
    if ours is not None:
        assert ours == theirs


def test_rejects_what_a_strict_reader_must() -> None:
    word = (1).to_bytes(32, "big")
    with pytest.raises(AbiDecodeError, match="neither 0 nor 1"):
        decode(["bool"], (2).to_bytes(32, "big"))
    with pytest.raises(AbiDecodeError, match="padding"):
        decode(["address"], b"\x01" + b"\x00" * 31)
    with pytest.raises(AbiDecodeError, match="out of range"):
        decode(["uint8"], (256).to_bytes(32, "big"))
    with pytest.raises(AbiDecodeError, match="does not point"):
        decode(["bytes"], (64).to_bytes(32, "big") + b"\x00" * 64)
    with pytest.raises(AbiDecodeError, match="exceeds the data"):
        decode(["uint256[]"], (32).to_bytes(32, "big") + (2**200).to_bytes(32, "big"))
    with pytest.raises(AbiDecodeError, match="UTF-8"):
        decode(["string"], (32).to_bytes(32, "big") + word + b"\xff" + b"\x00" * 31)
    values, end = decode(["uint256"], word + b"\xab")
    assert values == (1,) and end == 32
