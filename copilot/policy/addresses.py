"""Address and selector helpers for policy and state, over the decoder's keccak (imported when needed)."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")  # \Z: "$" would also match before a trailing newline


def keccak256(data: bytes) -> bytes:
    from copilot.decoding._crypto import keccak256 as keccak

    return keccak(data)


def is_address(value: object) -> bool:
    return isinstance(value, str) and _ADDRESS.match(value) is not None


def to_checksum(address: str) -> str:
    """EIP-55 form of a 0x-prefixed 40-hex address (ValueError when it is not one)."""
    from copilot.decoding._crypto import checksum_hex

    return checksum_hex(address)


def selector_of(signature: str) -> str:
    """0x + the first 4 bytes of keccak(signature)."""
    return "0x" + keccak256(signature.encode("ascii"))[:4].hex()
