"""Hashing, address checksums and signature recovery on the hot path.

Keccak comes from pycryptodome (the backend eth-hash[pycryptodome] installs, called directly:
eth-hash's automatic backend choice costs ~20 ms more on a cold start) and recovery from coincurve
(libsecp256k1), while eth_keys/eth_utils take ~170 ms, too much for a 0.3 s cold `decode`. The
EIP-55 checksum is five lines over keccak, so it is written here rather than importing eth_utils.
"""

from __future__ import annotations

from functools import lru_cache

from Crypto.Hash import keccak as _keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2
UINT256_MAX = 2**256 - 1


def keccak256(data: bytes) -> bytes:
    return _keccak.new(data=data, digest_bits=256).digest()


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


@lru_cache(maxsize=8192)  # batches see the same contracts and tokens over and over
def to_checksum_address(address: bytes) -> str:
    """EIP-55 checksum of a 20-byte address."""
    lower = address.hex()
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, digest[:40], strict=True)
    )


@lru_cache(maxsize=65536)  # an audit's history names tens of thousands of addresses
def checksum_hex(address: str) -> str:
    """EIP-55 form of a 20-byte address written in hex, "0x" optional (ValueError when it is not)."""
    digits = address[2:] if address[:2] in ("0x", "0X") else address
    raw = bytes.fromhex(digits) if len(digits) == 40 else b""
    if len(raw) != 20:
        raise ValueError(f"{address[:60]!r} is not a 20-byte address")
    return to_checksum_address(raw)


def signature_problem(r: int, s: int, parity: int) -> str | None:
    """Why (parity, r, s) is not a valid Ethereum signature (EIP-2 low-s rule included), or None."""
    if parity not in (0, 1):
        return f"y-parity {parity} is not 0 or 1"
    if not 0 < r < SECP256K1_N:
        return "signature r is outside 1..n-1 of secp256k1"
    if not 0 < s < SECP256K1_N:
        return "signature s is outside 1..n-1 of secp256k1"
    if s > SECP256K1_HALF_N:
        return "signature s is above n/2 (a high-s signature, invalid since EIP-2)"
    return None


def recover_address(message_hash: bytes, parity: int, r: int, s: int) -> bytes | None:
    """The 20-byte address that signed `message_hash`, or None when no public key recovers."""
    from coincurve import PublicKey

    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([parity])
    try:
        public_key = PublicKey.from_signature_and_message(signature, message_hash, hasher=None)
    except Exception:  # coincurve raises a bare Exception when libsecp256k1 rejects the signature
        return None
    return keccak256(public_key.format(compressed=False)[1:])[12:]
