"""The strict RLP reader and writer against ethereum-tests RLPTests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copilot.decoding import _rlp

RLP_TESTS = Path(__file__).resolve().parent.parent / "fixtures" / "ethereum-tests" / "RLPTests"


def _load(name: str) -> list[tuple[str, Any, str]]:
    cases = json.loads((RLP_TESTS / name).read_text())
    return [(case_name, case["in"], case["out"]) for case_name, case in cases.items()]


def _as_bytes_tree(value: Any) -> Any:
    """RLPTests 'in' values: strings are bytes, ints (or '#bigint' strings) are big-endian integers."""
    if isinstance(value, list):
        return [_as_bytes_tree(item) for item in value]
    if isinstance(value, int):
        return value.to_bytes((value.bit_length() + 7) // 8, "big")
    if value.startswith("#"):
        number = int(value[1:])
        return number.to_bytes((number.bit_length() + 7) // 8, "big")
    return value.encode("latin-1")


VALID = _load("rlptest.json")
INVALID = _load("invalidRLPTest.json")


@pytest.mark.parametrize(("name", "given", "encoded"), VALID, ids=[case[0] for case in VALID])
def test_valid_rlp_decodes_and_reencodes(name: str, given: Any, encoded: str) -> None:
    raw = bytes.fromhex(encoded[2:])
    expected = _as_bytes_tree(given)
    assert _rlp.decode(raw) == expected
    assert _rlp.encode(expected) == raw


@pytest.mark.parametrize(("name", "given", "encoded"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_rlp_is_rejected_with_a_reason(name: str, given: Any, encoded: str) -> None:
    with pytest.raises(_rlp.RLPError) as error:
        _rlp.decode(bytes.fromhex(encoded.removeprefix("0x")))
    assert str(error.value)  # says what is wrong


def test_random_valid_rlp_example_decodes() -> None:
    for _, given, encoded in _load("RandomRLPTests/example.json"):
        assert given == "VALID"
        raw = bytes.fromhex(encoded[2:])
        assert _rlp.encode(_rlp.decode(raw)) == raw


def test_hostile_nesting_is_refused_not_a_crash() -> None:
    def nest(depth: int) -> bytes:
        item: list[Any] = []
        for _ in range(depth):
            item = [item]
        return _rlp.encode(item)

    assert _rlp.decode(nest(10))  # modest nesting is fine
    with pytest.raises(_rlp.RLPError, match="nested"):
        _rlp.decode(nest(_rlp.MAX_DEPTH + 5))


def test_spans_point_at_each_element() -> None:
    raw = _rlp.encode([b"dog", [b"cat"], 1024])
    items, spans = _rlp.decode_list_with_spans(raw)
    assert items == [b"dog", [b"cat"], b"\x04\x00"]
    assert [raw[start:end] for start, end in spans] == [
        _rlp.encode(b"dog"),
        _rlp.encode([b"cat"]),
        _rlp.encode(1024),
    ]
