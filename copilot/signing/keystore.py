"""Local keystores: Web3 Secret Storage v3 files (the format geth, cast and ape write).

Stored as `<keystore dir>/<name>.json`, mode 0600, created exclusively (two `keys new NAME` at once:
one wins, the other fails). New keys and imported pbkdf2 keystores are encrypted with scrypt
(n=2**18, r=8, p=1: geth's "standard" parameters); an imported scrypt keystore is kept as it was
written. A decrypted key only ever lives in a bytearray handed to `unlocked()`.
Passwords are bytes, as geth and cast treat them: a password file is used byte for byte.

Every keystore read is checked against `check_keyfile_params` before any key derivation: a file can
ask scrypt for gigabytes and hours, so only what geth, cast, ape and the EF test vectors write passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.errors import EnvironmentProblem, InputError
from copilot.parsing import load_json
from copilot.signing.hygiene import disable_core_dumps, scrub
from copilot.state.atomic import create_exclusive_bytes
from copilot.state.dirs import keystore_dir

ADDRESS_PATTERN = re.compile(r"(0x)?[0-9a-fA-F]{40}")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX_VALUE = {ord(c): int(c, 16) for c in "0123456789abcdefABCDEF"}

# KDF bounds. scrypt: n up to 2**18 and r up to 8 (geth's standard n=2**18, r=8, p=1), p up to 8
# (the EF KeyStoreTests vector is n=2**18, r=1, p=8; geth's light setting is p=6), and the total work
# n*r*p at most geth's standard 2**21, so memory stays under 256 MiB and time near one second.
# pbkdf2: c up to 2**20 (eth-keyfile writes 1,000,000). Key length 32 and aes-128-ctr: all there is.
SCRYPT_MAX_N = 2**18
SCRYPT_MAX_R = 8
SCRYPT_MAX_P = 8
SCRYPT_MAX_WORK = 2**21
PBKDF2_MAX_C = 2**20
MAX_SALT_BYTES = 64


@dataclass(frozen=True)
class KeystoreEntry:
    name: str
    address: str
    path: Path
    kdf: str
    broken: None = None


@dataclass(frozen=True)
class BrokenKeystore:
    """A file in the keystore dir that is not a usable keystore: `keys list` shows it, `keys remove` deletes it."""

    name: str
    path: Path
    broken: str  # why
    address: None = None
    kdf: None = None


def foundry_keystore(name: str) -> Path:
    """Where `cast wallet import NAME` puts a keystore."""
    return Path.home() / ".foundry" / "keystores" / name


def looks_like_private_key(text: str) -> bool:
    return re.fullmatch(r"(0[xX])?[0-9a-fA-F]{64}", text.strip()) is not None


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InputError(
            f"invalid key name {name!r}",
            "use letters, digits, '.', '_' or '-' (up to 64 characters, not starting with a symbol)",
        )
    return name


def keystore_path(name: str) -> Path:
    return keystore_dir() / f"{check_name(name)}.json"


def list_keys() -> list[KeystoreEntry | BrokenKeystore]:
    """Every keystore file, a broken one too (with the reason), so that it can be seen and removed."""
    return [_listed(path.stem, path) for path in sorted(keystore_dir().glob("*.json"))]


def entry(name: str) -> KeystoreEntry:
    path = _existing(name)
    keyfile = _read_keyfile(path)
    return KeystoreEntry(name, _stated_address(keyfile, path), path, _kdf(keyfile))


def listed_entry(name: str) -> KeystoreEntry | BrokenKeystore:
    """Key NAME as `keys list` shows it: a broken file is an entry with its reason, not an error."""
    return _listed(name, _existing(name))


def remove_key(name: str) -> KeystoreEntry | BrokenKeystore:
    """Delete key NAME's file, whether or not it is still a usable keystore."""
    found = listed_entry(name)
    found.path.unlink()
    return found


def create_key(name: str, password: bytes) -> KeystoreEntry:
    import secrets

    _require_free(name)
    key = bytearray(32)
    while not 0 < int.from_bytes(key, "big") < SECP256K1_N:  # out of range: astronomically rare after the first draw
        drawn = secrets.token_bytes(32)
        key[:] = drawn
        scrub(drawn)
    try:
        return _store(name, key, password)
    finally:
        scrub(key)


def import_private_key(name: str, typed: str, password: bytes) -> KeystoreEntry:
    """Import a key typed at a hidden prompt. The typed text is wiped whatever happens."""
    _require_free(name)
    key = bytearray(32)
    try:
        stripped = typed.strip()
        digits = stripped.encode("ascii", "replace")
        if stripped is not typed:
            scrub(stripped)
        start = 2 if digits[:2].lower() == b"0x" else 0
        if len(digits) - start != 64 or any(c not in _HEX_VALUE for c in digits[start:]):
            raise InputError("that is not a hex private key", "type 64 hex characters, with or without 0x")
        for i in range(32):
            key[i] = _HEX_VALUE[digits[start + 2 * i]] * 16 + _HEX_VALUE[digits[start + 2 * i + 1]]
        scrub(digits)
        if not 0 < int.from_bytes(key, "big") < SECP256K1_N:
            raise InputError("that is not a valid secp256k1 private key", "type 64 hex characters, with or without 0x")
        return _store(name, key, password)
    finally:
        scrub(key)
        scrub(typed)


def import_keyfile(name: str, source: Path, password: bytes) -> KeystoreEntry:
    """Import a geth/cast/ape keystore after checking the password opens it."""
    _require_free(name)
    keyfile = _read_keyfile(source)
    with _decrypted(keyfile, password, source) as key:
        address = _address_of(key)
        stated = keyfile.get("address")
        if stated and _normalise_address(stated) != address.lower():
            raise InputError(
                f"{source}: the keystore says it holds {stated} but its key is for {address}",
                "the file has been altered; do not use it",
            )
        if _kdf(keyfile) != "scrypt":
            return _store(name, key, password)
    keyfile = {**keyfile, "address": address[2:].lower()}
    return KeystoreEntry(name, address, _create_file(name, keyfile), "scrypt")


@contextmanager
def unlocked(name: str, password: bytes) -> Iterator[tuple[bytearray, str]]:
    """The decrypted key (a bytearray, zeroed on exit) and the address it derives, core dumps off."""
    found = entry(name)
    keyfile = _read_keyfile(found.path)
    with _decrypted(keyfile, password, found.path) as key:
        address = _address_of(key)
        if address.lower() != found.address.lower():
            raise EnvironmentProblem(
                f"keystore {name!r} says it holds {found.address} but its key is for {address}",
                "the file has been altered; re-import the key",
            )
        yield key, address


def address_of(key: bytearray) -> str:
    return _address_of(key)


# --------------------------------------------------------------------------- internals


def _require_free(name: str) -> None:
    """Fail early, before the password prompt and the slow KDF; `_create_file` is what guarantees it."""
    if keystore_path(name).exists():
        raise _name_taken(name)


def _name_taken(name: str) -> InputError:
    return InputError(f"a key named {name!r} already exists", "pick another name, or `txcopilot keys remove` it first")


def _create_file(name: str, keyfile: dict[str, Any]) -> Path:
    """Write the keystore only if no file of that name exists, atomically with the check (link(2))."""
    path = keystore_path(name)
    try:
        create_exclusive_bytes(path, json.dumps(keyfile).encode("utf-8"), mode=0o600)
    except FileExistsError:
        raise _name_taken(name) from None
    return path


def _existing(name: str) -> Path:
    path = keystore_path(name)
    if not path.exists():
        raise EnvironmentProblem(f"no key named {name!r}", "see `txcopilot keys list`, or add one with `txcopilot keys new`")
    return path


def _listed(name: str, path: Path) -> KeystoreEntry | BrokenKeystore:
    try:
        keyfile = _read_keyfile(path)
        return KeystoreEntry(name, _stated_address(keyfile, path), path, _kdf(keyfile))
    except InputError as exc:
        return BrokenKeystore(name, path, exc.message.removeprefix(f"{path}: "))


def _store(name: str, key: bytearray, password: bytes) -> KeystoreEntry:
    from eth_keyfile import create_keyfile_json

    raw = bytes(key)
    try:
        keyfile = create_keyfile_json(raw, password, kdf="scrypt")
    finally:
        scrub(raw)
    address = _address_of(key)
    keyfile["address"] = address[2:].lower()
    return KeystoreEntry(name, address, _create_file(name, keyfile), "scrypt")


@contextmanager
def _decrypted(keyfile: dict[str, Any], password: bytes, where: Path) -> Iterator[bytearray]:
    from eth_keyfile import decode_keyfile_json
    from eth_keyfile.exceptions import EthKeyfileValueError

    check_keyfile_params(keyfile, where)  # again: the bounds must hold for exactly what is decrypted
    disable_core_dumps()
    try:
        raw = decode_keyfile_json(keyfile, password)
    except EthKeyfileValueError:
        # Every field was checked above, so the one value error left is eth-keyfile's MAC check.
        raise EnvironmentProblem(f"{where}: wrong password", "try again, or check --password-file") from None
    key = bytearray(raw)
    scrub(raw)
    try:
        yield key
    finally:
        scrub(key)


def _address_of(key: bytearray) -> str:
    from eth_keys.datatypes import PrivateKey

    raw = bytes(key)
    try:
        return str(PrivateKey(raw).public_key.to_checksum_address())
    finally:
        scrub(raw)


def _read_keyfile(path: Path) -> dict[str, Any]:
    try:
        data = load_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", "give the path of a keystore JSON file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a keystore ({exc})", "expected a Web3 Secret Storage v3 JSON file") from None
    if not isinstance(data, dict) or data.get("version") != 3 or not isinstance(data.get("crypto") or data.get("Crypto"), dict):
        raise InputError(f"{path}: not a version 3 keystore", "expected a Web3 Secret Storage v3 JSON file (geth, cast, ape)")
    stated = data.get("address")
    if stated is not None and not (isinstance(stated, str) and ADDRESS_PATTERN.fullmatch(stated)):
        raise InputError(f"{path}: the keystore's address field is not an address", "the file has been altered; do not use it")
    check_keyfile_params(data, path)
    return data


def check_keyfile_params(keyfile: dict[str, Any], where: Path) -> None:
    """Refuse, before any key derivation, a v3 keystore outside the bounds at the top of this module.

    Also checks the length of every hex field, so that once this passes, the only way eth-keyfile can
    fail is a MAC mismatch: a wrong password.
    """
    crypto = keyfile.get("crypto") or keyfile.get("Crypto")
    if not isinstance(crypto, dict):
        raise _unusable(where, "no crypto section")
    if crypto.get("cipher") != "aes-128-ctr":
        raise _unusable(where, f"cipher {str(crypto.get('cipher'))[:40]!r} (only aes-128-ctr is accepted)")
    cipherparams = crypto.get("cipherparams")
    _hex_field(cipherparams.get("iv") if isinstance(cipherparams, dict) else None, "cipherparams.iv", 16, 16, where)
    _hex_field(crypto.get("ciphertext"), "ciphertext", 32, 32, where)
    _hex_field(crypto.get("mac"), "mac", 32, 32, where)
    params = crypto.get("kdfparams")
    if not isinstance(params, dict):
        raise _unusable(where, "kdfparams is not an object")
    _hex_field(params.get("salt"), "kdfparams.salt", 1, MAX_SALT_BYTES, where)
    if _param(params, "dklen", where) != 32:
        raise _unusable(where, "kdfparams.dklen must be 32")
    kdf = crypto.get("kdf")
    if kdf == "scrypt":
        n, r, p = (_param(params, name, where) for name in ("n", "r", "p"))
        if not (2 <= n <= SCRYPT_MAX_N and n & (n - 1) == 0):
            raise _unusable(where, f"scrypt n={n} (a power of two up to 2^18 is accepted)")
        if not (1 <= r <= SCRYPT_MAX_R and 1 <= p <= SCRYPT_MAX_P and n * r * p <= SCRYPT_MAX_WORK):
            raise _unusable(where, f"scrypt r={r}, p={p} at n={n} (r up to 8, p up to 8, n*r*p up to 2^21 are accepted)")
    elif kdf == "pbkdf2":
        if params.get("prf") != "hmac-sha256":
            raise _unusable(where, "pbkdf2 prf must be hmac-sha256")
        c = _param(params, "c", where)
        if not 1 <= c <= PBKDF2_MAX_C:
            raise _unusable(where, f"pbkdf2 c={c} (up to 2^20 is accepted)")
    else:
        raise _unusable(where, f"kdf {str(kdf)[:40]!r} (only scrypt and pbkdf2 are accepted)")


def _unusable(where: Path, why: str) -> InputError:
    return InputError(f"{where}: unusable keystore: {why}", "nothing was derived; expected what geth, cast or ape write")


def _param(params: dict[str, Any], name: str, where: Path) -> int:
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _unusable(where, f"kdfparams.{name} is not an integer")
    return value


def _hex_field(value: object, name: str, min_bytes: int, max_bytes: int, where: Path) -> None:
    digits = value.removeprefix("0x") if isinstance(value, str) else ""
    if not (
        min_bytes * 2 <= len(digits) <= max_bytes * 2
        and len(digits) % 2 == 0
        and all(ord(c) in _HEX_VALUE for c in digits)
    ):
        size = f"{min_bytes}" if min_bytes == max_bytes else f"{min_bytes} to {max_bytes}"
        raise _unusable(where, f"{name} is not {size} bytes of hex")


def _kdf(keyfile: dict[str, Any]) -> str:
    crypto = keyfile.get("crypto") or keyfile.get("Crypto") or {}
    return str(crypto.get("kdf", "unknown"))


def _normalise_address(value: str) -> str:
    value = value.lower()
    return value if value.startswith("0x") else "0x" + value


def _stated_address(keyfile: dict[str, Any], path: Path) -> str:
    stated = keyfile.get("address")
    if not isinstance(stated, str) or not ADDRESS_PATTERN.fullmatch(stated):
        raise InputError(f"{path}: keystore has no address field", "re-import it with `txcopilot keys import`")
    from eth_utils import to_checksum_address

    return str(to_checksum_address(_normalise_address(stated)))
