"""The user's address book: `<data dir>/addressbook.json`, checksum address -> label, or -> {"label":
..., "own": true} for the user's own accounts (a handover of control to one of them is not a risk).

Written atomically (copilot.state.atomic): a crash leaves the old book or the new one, never half.
"""

from __future__ import annotations

import json
from pathlib import Path

from copilot.errors import ConfigError, InputError
from copilot.parsing import load_json
from copilot.policy.addresses import is_address, to_checksum
from copilot.state.atomic import atomic_write_text

BOOK_FILE = "addressbook.json"


def book_path() -> Path:
    from copilot.state.dirs import data_dir

    return data_dir() / BOOK_FILE


def load_book(path: Path | None = None) -> dict[str, str]:
    """Checksum address -> label (empty when there is no book yet)."""
    return {address: label for address, (label, _) in _entries(path or book_path()).items()}


def own_addresses(path: Path | None = None) -> set[str]:
    """The entries marked as the user's own accounts (`book add --own`), checksummed."""
    return {address for address, (_, own) in _entries(path or book_path()).items() if own}


def _entries(path: Path) -> dict[str, tuple[str, bool]]:
    """Checksum address -> (label, the user's own). An entry is "label" or {"label": ..., "own": true}."""
    fix = f"fix it, or move it aside (mv {path} {path}.broken) to start a new book"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: address book is not UTF-8 JSON", fix) from None
    try:
        data = load_json(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: address book is not valid JSON ({exc.msg})", fix) from None
    if not isinstance(data, dict) or not all(is_address(k) and _entry(v) for k, v in data.items()):
        raise ConfigError(f"{path}: address book must map 0x addresses to labels", fix)
    return {to_checksum(k): _entry(v) or ("", False) for k, v in data.items()}


def _entry(value: object) -> tuple[str, bool] | None:
    if isinstance(value, str):
        return value, False
    if isinstance(value, dict) and isinstance(value.get("label"), str) and isinstance(value.get("own", False), bool):
        return value["label"], bool(value.get("own", False))
    return None


def _save(book: dict[str, tuple[str, bool]], path: Path) -> None:
    ordered = sorted(book.items(), key=lambda kv: kv[1][0].lower())
    document = {address: {"label": label, "own": True} if own else label for address, (label, own) in ordered}
    atomic_write_text(path, json.dumps(document, indent=2) + "\n")


def normalise_address(address: str) -> str:
    if not is_address(address):
        raise InputError(f"{address!r} is not an address", "write 0x followed by 40 hex characters")
    checksummed = to_checksum(address)
    body = address[2:]
    if body != body.lower() and body != body.upper() and address != checksummed:
        raise InputError(f"{address} has a wrong EIP-55 checksum", f"did you mean {checksummed}?")
    return checksummed


def add_entry(address: str, label: str, path: Path | None = None, *, own: bool = False) -> str:
    """Adds or relabels an address (`own`: one of the user's own accounts); returns its checksum form."""
    label = label.strip()
    if not label:
        raise InputError("the label is empty", 'give a short name, e.g. "cold wallet"')
    path = path or book_path()
    checksummed = normalise_address(address)
    book = _entries(path)
    book[checksummed] = (label, own)
    _save(book, path)
    return checksummed


def remove_entry(address_or_label: str, path: Path | None = None) -> str:
    """Removes an entry by address or exact label; returns the address removed."""
    path = path or book_path()
    book = _entries(path)
    if is_address(address_or_label):
        target = to_checksum(address_or_label)
        if target not in book:
            raise InputError(
                f"{target} is not in the address book", "`txcopilot book list` shows the entries"
            )
    else:
        matches = [a for a, (label, _) in book.items() if label == address_or_label]
        if len(matches) != 1:
            found = "no entry" if not matches else f"{len(matches)} entries"
            raise InputError(f"{found} labelled {address_or_label!r}", "remove it by address instead")
        target = matches[0]
    del book[target]
    _save(book, path)
    return target
