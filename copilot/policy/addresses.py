"""Address and selector helpers shared by policy and state (keccak imported only when needed)."""

from __future__ import annotations

import re
from functools import lru_cache

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def keccak256(data: bytes) -> bytes:
    from Crypto.Hash import keccak

    return keccak.new(digest_bits=256, data=data).digest()


def is_address(value: object) -> bool:
    return isinstance(value, str) and _ADDRESS.match(value) is not None


@lru_cache(maxsize=65536)
def to_checksum(address: str) -> str:
    """EIP-55 form of a 0x-prefixed 40-hex address."""
    body = address[2:].lower()
    digest = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(body, digest[:40], strict=True))


def selector_of(signature: str) -> str:
    """0x + the first 4 bytes of keccak(signature)."""
    return "0x" + keccak256(signature.encode("ascii"))[:4].hex()
