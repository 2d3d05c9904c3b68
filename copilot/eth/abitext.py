"""A token's name or symbol as a view returns it: an ABI string, or a bytes32 (old tokens such as MKR).

Shared by the node client (token metadata) and the simulation (symbols read inside a simulated
block). Hand-written: two fixed layouts, and it must return None, never raise, on whatever bytes a
token returns; eth-abi's decode raises on malformed input and costs an import on the review path.
"""

from __future__ import annotations


def abi_text(data: bytes) -> str | None:
    """The text, or None when the bytes are neither layout."""
    if len(data) >= 64:
        offset = int.from_bytes(data[:32], "big")
        if offset == 32:
            length = int.from_bytes(data[32:64], "big")
            if 64 + length <= len(data):
                return data[64 : 64 + length].decode("utf-8", errors="replace")
    if len(data) == 32:
        text = data.rstrip(b"\0").decode("utf-8", errors="replace")
        return text or None
    return None
