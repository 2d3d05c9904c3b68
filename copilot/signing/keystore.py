"""Local keystores: Web3 Secret Storage v3 files (the format geth, cast and ape write).

Stored as `<keystore dir>/<name>.json`, mode 0600. New keys and imported pbkdf2 keystores are
encrypted with scrypt (n=2**18, r=8, p=1: geth's "standard" parameters); an imported scrypt keystore
is kept as it was written. A decrypted key only ever lives in a bytearray handed to `unlocked()`.
Passwords are bytes, as geth and cast treat them: a password file is used byte for byte.
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
from copilot.signing.hygiene import disable_core_dumps, scrub
from copilot.state.atomic import atomic_write_text
from copilot.state.dirs import keystore_dir

ADDRESS_PATTERN = re.compile(r"(0x)?[0-9a-fA-F]{40}")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX_VALUE = {ord(c): int(c, 16) for c in "0123456789abcdefABCDEF"}


@dataclass(frozen=True)
class KeystoreEntry:
    name: str
    address: str
    path: Path
    kdf: str


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


def list_keys() -> list[KeystoreEntry]:
    entries = []
    for path in sorted(keystore_dir().glob("*.json")):
        try:
            keyfile = _read_keyfile(path)
        except InputError:
            continue  # not ours to judge here; `keys address NAME` reports it
        entries.append(KeystoreEntry(path.stem, _stated_address(keyfile, path), path, _kdf(keyfile)))
    return entries


def entry(name: str) -> KeystoreEntry:
    path = keystore_path(name)
    if not path.exists():
        raise EnvironmentProblem(f"no key named {name!r}", "see `txcopilot keys list`, or add one with `txcopilot keys new`")
    keyfile = _read_keyfile(path)
    return KeystoreEntry(name, _stated_address(keyfile, path), path, _kdf(keyfile))


def remove_key(name: str) -> KeystoreEntry:
    found = entry(name)
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
    path = keystore_path(name)
    atomic_write_text(path, json.dumps(keyfile), mode=0o600)
    return KeystoreEntry(name, address, path, "scrypt")


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
    if keystore_path(name).exists():
        raise InputError(f"a key named {name!r} already exists", "pick another name, or `txcopilot keys remove` it first")


def _store(name: str, key: bytearray, password: bytes) -> KeystoreEntry:
    from eth_keyfile import create_keyfile_json

    raw = bytes(key)
    try:
        keyfile = create_keyfile_json(raw, password, kdf="scrypt")
    finally:
        scrub(raw)
    address = _address_of(key)
    keyfile["address"] = address[2:].lower()
    path = keystore_path(name)
    atomic_write_text(path, json.dumps(keyfile), mode=0o600)
    return KeystoreEntry(name, address, path, "scrypt")


@contextmanager
def _decrypted(keyfile: dict[str, Any], password: bytes, where: Path) -> Iterator[bytearray]:
    from eth_keyfile import decode_keyfile_json

    disable_core_dumps()
    try:
        raw = decode_keyfile_json(keyfile, password)
    except ValueError as exc:
        # eth-keyfile's messages ("MAC mismatch", unsupported kdf) never contain key material.
        if "MAC mismatch" in str(exc):
            raise EnvironmentProblem(f"{where}: wrong password", "try again, or check --password-file") from None
        raise InputError(f"{where}: unusable keystore ({exc})", "expected a Web3 Secret Storage v3 file") from None
    except (KeyError, TypeError) as exc:
        raise InputError(f"{where}: malformed keystore (missing {exc})", "expected a Web3 Secret Storage v3 file") from None
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
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", "give the path of a keystore JSON file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a keystore ({exc})", "expected a Web3 Secret Storage v3 JSON file") from None
    if not isinstance(data, dict) or data.get("version") != 3 or not isinstance(data.get("crypto") or data.get("Crypto"), dict):
        raise InputError(f"{path}: not a version 3 keystore", "expected a Web3 Secret Storage v3 JSON file (geth, cast, ape)")
    stated = data.get("address")
    if stated is not None and not (isinstance(stated, str) and ADDRESS_PATTERN.fullmatch(stated)):
        raise InputError(f"{path}: the keystore's address field is not an address", "the file has been altered; do not use it")
    return data


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
