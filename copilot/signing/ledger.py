"""The spend ledger: what each account signed, in SQLite at `<data dir>/ledger.sqlite3`.

A signature goes through two transactions:
1. `reserve`: BEGIN IMMEDIATE takes the database's write lock, so the sum of what was spent in the
   last 24 hours, the limit check and the new `pending` row happen as one step: a second `sign`
   process waits for the lock and then sees the first one's reservation.
2. `mark_signed` (before the signature is printed or broadcast) or `mark_aborted` (nothing signed).

A crash between the two leaves a `pending` row. It keeps counting against the limits, because the
ledger cannot prove the signature never left; this errs on the side of spending less.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from copilot.state.dirs import data_dir

WINDOW_SECONDS = 24 * 60 * 60  # "daily" limits are a rolling 24 hours: no doubling up across midnight
BUSY_TIMEOUT_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    account TEXT NOT NULL,
    chain_id INTEGER,
    kind TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    amounts TEXT NOT NULL,            -- JSON: asset -> amount in base units, as a decimal string
    state TEXT NOT NULL CHECK (state IN ('pending', 'signed', 'aborted')),
    result TEXT,                      -- the signed transaction hash or the signature's hash
    reason TEXT,                      -- why a reservation was aborted
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_account_time ON reservations (account, created_at);
"""


@dataclass(frozen=True)
class Reservation:
    id: int
    created_at: float
    account: str
    chain_id: int | None
    kind: str
    payload_hash: str
    amounts: dict[str, int]
    state: str
    result: str | None
    reason: str | None


SpendCheck = Callable[[dict[str, int]], None]
"""Called with what the account spent in the window; raises `Refused` when the request would exceed a limit."""


class SpendLedger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "ledger.sqlite3"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        new = not self.path.exists()
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)) as conn:
            if new:
                self.path.chmod(0o600)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a committed row survives power loss
            conn.executescript(_SCHEMA)
            yield conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def reserve(
        self,
        *,
        account: str,
        chain_id: int | None,
        kind: str,
        payload_hash: str,
        amounts: dict[str, int],
        check: SpendCheck,
    ) -> int:
        """Check the limits and record a pending reservation, atomically. Returns its id."""
        now = time.time()
        with self._transaction() as conn:
            check(_spent(conn, account, now))
            cursor = conn.execute(
                "INSERT INTO reservations (created_at, account, chain_id, kind, payload_hash, amounts, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                (now, account, chain_id, kind, payload_hash, _encode(amounts), now),
            )
            return int(cursor.lastrowid or 0)

    def mark_signed(self, reservation_id: int, result: str) -> None:
        self._finish(reservation_id, "signed", result=result)

    def mark_aborted(self, reservation_id: int, reason: str) -> None:
        self._finish(reservation_id, "aborted", reason=reason)

    def _finish(self, reservation_id: int, state: str, *, result: str | None = None, reason: str | None = None) -> None:
        with self._transaction() as conn:
            updated = conn.execute(
                "UPDATE reservations SET state = ?, result = ?, reason = ?, updated_at = ?"
                " WHERE id = ? AND state = 'pending'",
                (state, result, reason, time.time(), reservation_id),
            ).rowcount
            if updated != 1:
                raise RuntimeError(f"ledger reservation {reservation_id} is not pending")

    def spent(self, account: str) -> dict[str, int]:
        """What the account signed or reserved in the last 24 hours, per asset."""
        with self._connect() as conn:
            return _spent(conn, account, time.time())

    def reservations(self, account: str | None = None) -> list[Reservation]:
        if not self.path.exists():
            return []
        query = "SELECT id, created_at, account, chain_id, kind, payload_hash, amounts, state, result, reason FROM reservations"
        args: tuple[str, ...] = ()
        if account:
            query += " WHERE account = ?"
            args = (account,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY id", args).fetchall()
        return [
            Reservation(row[0], row[1], row[2], row[3], row[4], row[5], _decode(row[6]), row[7], row[8], row[9])
            for row in rows
        ]


def _spent(conn: sqlite3.Connection, account: str, now: float) -> dict[str, int]:
    totals: dict[str, int] = {}
    rows = conn.execute(
        "SELECT amounts FROM reservations WHERE account = ? AND created_at > ? AND state IN ('pending', 'signed')",
        (account, now - WINDOW_SECONDS),
    )
    for (amounts,) in rows:
        for asset, amount in _decode(amounts).items():
            totals[asset] = totals.get(asset, 0) + amount
    return totals


def _encode(amounts: dict[str, int]) -> str:
    return json.dumps({asset: str(amount) for asset, amount in amounts.items()}, sort_keys=True)


def _decode(text: str) -> dict[str, int]:
    return {asset: int(amount) for asset, amount in json.loads(text).items()}
