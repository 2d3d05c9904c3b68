"""Strict RLP reader and a minimal writer.

Why not the `rlp` package: importing it pulls in eth_utils (~170 ms), more than half the 0.3 s budget of a
cold `txcopilot decode`, and a reviewer must reject every non-canonical encoding with a message that names
the problem and where it is. The reader is checked against ethereum-tests RLPTests
(tests/test_transaction_rlp.py).
"""

from __future__ import annotations

from typing import Any, TypeAlias

Item: TypeAlias = "bytes | list[Item]"

MAX_DEPTH = 32  # transactions nest at most 4 deep; bounding depth keeps hostile input off the C stack


class RLPError(ValueError):
    """The bytes are not canonical RLP. The message names the problem and its byte offset."""


def decode(data: bytes) -> Item:
    """Decode exactly one RLP item spanning all of `data`."""
    item, end = _decode_at(data, 0, len(data), 0)
    if end != len(data):
        raise RLPError(f"{len(data) - end} trailing byte(s) after the RLP item at offset {end}")
    return item


def decode_list_with_spans(data: bytes, start: int = 0) -> tuple[list[Item], list[tuple[int, int]]]:
    """Decode a list that spans data[start:], returning its elements and each element's raw byte span.

    The spans let callers hash a prefix of the list (the unsigned fields of a transaction) from the
    original bytes instead of re-encoding them.
    """
    is_list, body, end = _header(data, start, len(data))
    if not is_list:
        raise RLPError(f"expected an RLP list at offset {start}, found a byte string")
    if end != len(data):
        raise RLPError(f"{len(data) - end} trailing byte(s) after the RLP list at offset {end}")
    items: list[Item] = []
    spans: list[tuple[int, int]] = []
    pos = body
    while pos < end:
        item, nxt = _decode_at(data, pos, end, 1)
        items.append(item)
        spans.append((pos, nxt))
        pos = nxt
    return items, spans


def _header(data: bytes, pos: int, limit: int) -> tuple[bool, int, int]:
    """Parse the prefix at `pos`: (is_list, payload start, payload end). Single bytes < 0x80 have none."""
    if pos >= limit:
        raise RLPError(f"input ends at offset {pos} where an RLP item was expected")
    prefix = data[pos]
    if prefix < 0x80:
        return False, pos, pos + 1
    if prefix <= 0xB7:
        length, start = prefix - 0x80, pos + 1
        if length == 1 and start < limit and data[start] < 0x80:
            raise RLPError(f"non-canonical RLP at offset {pos}: a single byte below 0x80 must encode itself")
        is_list = False
    elif prefix <= 0xBF:
        length, start = _long_length(data, pos, prefix - 0xB7, limit)
        is_list = False
    elif prefix <= 0xF7:
        length, start = prefix - 0xC0, pos + 1
        is_list = True
    else:
        length, start = _long_length(data, pos, prefix - 0xF7, limit)
        is_list = True
    end = start + length
    if end > limit:
        raise RLPError(
            f"RLP item at offset {pos} declares {length} byte(s) but only {max(limit - start, 0)} remain"
        )
    return is_list, start, end


def _long_length(data: bytes, pos: int, size: int, limit: int) -> tuple[int, int]:
    start = pos + 1 + size
    if start > limit:
        raise RLPError(f"RLP length prefix at offset {pos} runs past the end of the input")
    raw = data[pos + 1 : start]
    if raw[0] == 0:
        raise RLPError(f"non-canonical RLP at offset {pos}: the length has leading zero bytes")
    length = int.from_bytes(raw, "big")
    if length <= 55:
        raise RLPError(f"non-canonical RLP at offset {pos}: long form used for a length of {length}")
    return length, start


def _decode_at(data: bytes, pos: int, limit: int, depth: int) -> tuple[Item, int]:
    if depth > MAX_DEPTH:
        raise RLPError(f"RLP nested more than {MAX_DEPTH} levels deep at offset {pos}")
    is_list, start, end = _header(data, pos, limit)
    if not is_list:
        return data[start:end], end
    items: list[Item] = []
    cursor = start
    while cursor < end:
        item, cursor = _decode_at(data, cursor, end, depth + 1)
        items.append(item)
    return items, end


def encode(item: bytes | int | list[Any]) -> bytes:
    """Encode bytes, non-negative ints (minimal big-endian) and nested lists of them."""
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP cannot encode a negative integer")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big")
    if isinstance(item, bytes | bytearray):
        if len(item) == 1 and item[0] < 0x80:
            return bytes(item)
        return _length_prefix(len(item), 0x80) + bytes(item)
    payload = b"".join(encode(element) for element in item)
    return _length_prefix(len(payload), 0xC0) + payload


def list_prefix(payload_length: int) -> bytes:
    """The header of a list whose encoded elements are `payload_length` bytes long."""
    return _length_prefix(payload_length, 0xC0)


def _length_prefix(length: int, offset: int) -> bytes:
    if length <= 55:
        return bytes([offset + length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(raw)]) + raw
