"""Strict readers for the JSON values wallets send: hex bytes, quantities, addresses.

Each raises InputError naming the field (`what`) and the problem, so a bad request gets one clear line.
"""

from __future__ import annotations

import re
import string
from typing import Any

from copilot.decoding._crypto import UINT256_MAX, to_checksum_address
from copilot.errors import InputError

MAX_DATA_BYTES = 1 << 20  # calldata, messages and typed-data byte fields: 1 MiB
_HEX_DIGITS = frozenset(string.hexdigits)
_HEX = re.compile(r"[0-9a-fA-F]*")


def input_error(message: str, hint: str | None = None) -> InputError:
    """An InputError whose text stays one printable line even when it quotes user-supplied names."""
    return InputError(printable(message), printable(hint) if hint else None)


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice: readers disagree on which value counts."""

    def __init__(self, key: str) -> None:
        super().__init__(f"JSON object has the key {printable(key)[:80]!r} twice")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json.loads that refuses duplicate keys.

    `{"to": A, "to": B}` reads as B in Python but as A in some wallets and parsers: what is reviewed
    would not be what is signed, so no reader in txcopilot picks a winner.
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def printable(text: str) -> str:
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def strip_0x(text: str) -> str:
    return text[2:] if text[:2] in ("0x", "0X") else text


def is_hex(text: str) -> bool:
    body = strip_0x(text)
    return len(body) % 2 == 0 and _HEX.fullmatch(body) is not None


def parse_hex(value: Any, what: str, *, max_bytes: int = MAX_DATA_BYTES) -> bytes:
    """0x-prefixed (or bare) even-length hex -> bytes."""
    if not isinstance(value, str):
        raise input_error(f"{what} must be a hex string, got {_describe(value)}")
    body = strip_0x(value.strip())
    if len(body) % 2 == 0 and len(body) // 2 <= max_bytes and _HEX.fullmatch(body):
        return bytes.fromhex(body)
    for index, char in enumerate(body):
        if char not in _HEX_DIGITS:
            raise input_error(
                f"{what} is not hex: unexpected {char!r} at position {index + len(value) - len(body)}",
                "hex strings contain only 0-9 and a-f, optionally after 0x",
            )
    if len(body) % 2:
        raise input_error(
            f"{what} has an odd number of hex digits ({len(body)})", "each byte needs two hex digits"
        )
    raise input_error(
        f"{what} is {len(body) // 2:,} bytes; txcopilot caps it at {max_bytes:,} bytes ({max_bytes / 1048576:g} MiB)"
    )


def parse_quantity(value: Any, what: str, *, maximum: int = UINT256_MAX) -> int:
    """A JSON-RPC quantity: 0x hex, decimal string or JSON integer, in 0..maximum."""
    if isinstance(value, bool) or value is None:
        raise input_error(f"{what} must be a number, got {_describe(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if text[:2] in ("0x", "0X"):
                if len(text) == 2:
                    raise ValueError
                number = int(text[2:], 16)
            elif text.isdigit() and text.isascii():
                number = int(text)
            else:
                raise ValueError
        except ValueError:
            raise input_error(f"{what} must be 0x hex or a decimal integer, got {value[:80]!r}") from None
    else:
        raise input_error(f"{what} must be a number, got {_describe(value)}")
    if number < 0:
        raise input_error(f"{what} must not be negative, got {number}")
    if number > maximum:
        raise input_error(f"{what} is {number}, above its maximum {maximum}")
    return number


def parse_address(value: Any, what: str, *, check_case: bool = True) -> str:
    """A 20-byte address -> EIP-55 checksum form. Mixed-case input must carry a valid checksum unless
    `check_case` is off (EIP-712 values: wallets hash the bytes whatever the case, so refusing a
    mis-cased address would only stop the review of what the wallet signs anyway)."""
    raw = parse_hex(value, what)
    if len(raw) != 20:
        raise input_error(f"{what} must be a 20-byte address, got {len(raw)} bytes")
    checksummed = to_checksum_address(raw)
    body = strip_0x(value.strip())
    if check_case and body != body.lower() and body != body.upper() and body != checksummed[2:]:
        raise input_error(
            f"{what} {value} has an invalid EIP-55 checksum",
            f"a mistyped address? the checksummed form of these bytes is {checksummed}",
        )
    return checksummed


def is_address(value: Any) -> bool:
    return isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) == 42 and is_hex(value)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return f"{type(value).__name__} {value!r}"
