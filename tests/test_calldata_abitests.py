"""ethereum/tests ABITests (vendored in fixtures/ethereum-tests, MIT) through copilot.decoding.abicodec.

Each vector gives types, arguments and the expected encoding: abicodec must decode the encoding to the
arguments, consume all of it, and (abicodec has no encoder) eth_abi must write exactly those bytes for
the values abicodec read, i.e. the decoding is the canonical one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi import encode

from copilot.decoding import abicodec
from copilot.resources import fixtures_dir

VECTORS: dict[str, dict[str, Any]] = json.loads(
    (fixtures_dir() / "ethereum-tests" / "ABITests" / "basic_abi_tests.json").read_text()
)


def expected_value(abi_type: str, arg: Any) -> Any:
    """The fixture's argument in abicodec's shape: arrays as tuples, byte strings given as text as bytes."""
    if abi_type.endswith("]"):
        element = abi_type[: abi_type.rindex("[")]
        return tuple(expected_value(element, item) for item in arg)
    if abi_type.startswith("bytes") and isinstance(arg, str):
        return arg.encode()
    if abi_type == "address":
        return arg.lower()
    return arg


def test_every_vector_is_used() -> None:
    assert set(VECTORS) == {"GithubWikiTest", "SingleInteger", "IntegerAndAddress"}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_abicodec_decodes_each_vector_exactly_and_canonically(name: str) -> None:
    vector = VECTORS[name]
    types, encoded = vector["types"], bytes.fromhex(vector["result"])
    values, end = abicodec.decode(types, encoded)
    assert end == len(encoded)  # nothing left over
    assert values == tuple(expected_value(t, a) for t, a in zip(types, vector["args"], strict=True))
    assert encode(types, list(values)) == encoded


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_abicodec_rejects_each_vector_with_its_last_byte_flipped_or_cut(name: str) -> None:
    encoded = bytes.fromhex(VECTORS[name]["result"])
    with pytest.raises(abicodec.AbiDecodeError):
        abicodec.decode(VECTORS[name]["types"], encoded[:-1])
    flipped = encoded[:-1] + bytes([encoded[-1] ^ 0x01])
    types = VECTORS[name]["types"]
    try:
        values, _ = abicodec.decode(types, flipped)
    except abicodec.AbiDecodeError:
        return  # a padding byte changed: not canonical
    assert encode(types, list(values)) == flipped  # a value byte changed: a different, canonical value
