"""Addresses the user has interacted with: `<data dir>/history.sqlite3`.

It makes "first interaction with this address" and address-poisoning checks work offline. Only
what the user actually signed or sent belongs here: `sign` records after signing and `audit` records
a wallet's real history; a mere review records nothing (a poisoned address must stay unknown).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from copilot.errors import EnvironmentProblem
from copilot.models import DecodedRequest
from copilot.policy.extract import named_addresses, request_sender

if TYPE_CHECKING:
    import sqlite3

HISTORY_FILE = "history.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    address TEXT PRIMARY KEY,      -- EIP-55 checksum form
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    count INTEGER NOT NULL
);
"""


def history_path() -> Path:
    from copilot.state.dirs import data_dir

    return data_dir() / HISTORY_FILE


def _connect(path: Path) -> sqlite3.Connection:
    import sqlite3  # only when there is history to read or write: a cold review without any skips it

    new = not path.exists()
    conn = sqlite3.connect(path, timeout=30)
    if new:
        path.chmod(0o600)
    try:
        conn.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise EnvironmentProblem(*_broken(path, exc)) from None
    return conn


def _broken(path: Path, exc: Exception) -> tuple[str, str]:
    return (
        f"the interaction history {path} is unreadable ({exc})",
        f"move it aside (mv {path} {path}.broken); a new one starts with the next signed request",
    )


def counterparties(decoded: DecodedRequest) -> set[str]:
    """The addresses a request interacts with (targets, recipients, spenders, delegates), not the sender."""
    from copilot.policy.addresses import to_checksum

    sender = (request_sender(decoded) or "").lower()
    return {to_checksum(address) for address, _ in named_addresses(decoded) if address.lower() != sender}


def record_interactions(
    decoded: DecodedRequest, *, when: float | None = None, path: Path | None = None
) -> set[str]:
    """Remembers every counterparty of a signed or sent request; returns them."""
    addresses = counterparties(decoded)
    record_addresses(addresses, when=when, path=path)
    return addresses


def record_addresses(
    addresses: Iterable[str], *, when: float | None = None, path: Path | None = None
) -> None:
    """Remembers checksum addresses in one SQLite transaction (audits record thousands at once)."""
    now = time.time() if when is None else when
    rows = [(address, now, now) for address in addresses]
    if not rows:
        return
    with closing(_connect(path or history_path())) as conn, conn:
        conn.executemany(
            "INSERT INTO interactions (address, first_seen, last_seen, count) VALUES (?, ?, ?, 1) "
            "ON CONFLICT(address) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), "
            "first_seen = min(first_seen, excluded.first_seen), count = count + 1",
            rows,
        )


_cache: dict[str, tuple[tuple[int, int], frozenset[str]]] = {}


def known_addresses(path: Path | None = None) -> frozenset[str]:
    """Every address the user has interacted with (empty when there is no history yet, or when the
    file is broken: then with a warning on stderr). Re-read only when the database file changed: batch callers build many contexts.
    """
    path = path or history_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return frozenset()
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(str(path))
    if cached and cached[0] == version:
        return cached[1]
    import sqlite3

    try:
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            addresses = frozenset(row[0] for row in conn.execute("SELECT address FROM interactions"))
    except sqlite3.DatabaseError as exc:
        # A broken cache must not block a review: go on without history (first-interaction and
        # poisoning checks then know less), and say so once per broken file version.
        message, hint = _broken(path, exc)
        print(f"warning: {message}; reviewing without it: {hint}", file=sys.stderr)
        addresses = frozenset()
    _cache[str(path)] = (version, addresses)
    return addresses
