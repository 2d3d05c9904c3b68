"""The spend ledger: what each account signed, in SQLite at `<data dir>/ledger.sqlite3`.

A signature goes through two transactions:
1. `reserve`: BEGIN IMMEDIATE takes the database's write lock, so the sum of what was spent in the
   last 24 hours, the limit check and the new `pending` row happen as one step: a second `sign`
   process waits for the lock and then sees the first one's reservation.
2. `mark_signed` (before the signature is printed or broadcast) or `mark_aborted` (nothing signed).

A crash between the two leaves a `pending` row. It keeps counting against the limits, because the
ledger cannot prove the signature never left; this errs on the side of spending less.

The audit log is the ledger's witness: every released signature is logged (with its reservation id
and amounts) before its reservation is marked signed, so each logged signature of the last 24 hours
must be in the ledger, unchanged. Before the limits are checked, `spent` and `reserve` compare them
(`logged`): a ledger that was deleted, truncated, replaced (an older copy) or is not SQLite at all
refuses with `LedgerMismatch`, whose hint is `txcopilot log rebuild-ledger` (`rebuild`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from copilot.errors import EnvironmentProblem
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


@dataclass(frozen=True)
class LoggedSignature:
    """A signature as the audit log recorded it."""

    seq: int  # the log entry
    reservation: int
    created_at: float  # the log entry's time
    account: str
    chain_id: int | None
    kind: str
    payload_hash: str
    amounts: dict[str, int] | None  # None: written before signatures recorded their amounts
    result: str


SpendCheck = Callable[[dict[str, int]], None]
"""Called with what the account spent in the window; raises `Refused` when the request would exceed a limit."""

LoggedSince = Callable[[float], list[LoggedSignature]]
"""The audit log's signatures since a time (`AuditLog.signatures_since`)."""

REBUILD_HINT = "nothing was signed; run `txcopilot log rebuild-ledger` to rebuild the ledger from the audit log"


class LedgerMismatch(EnvironmentProblem):
    """The ledger cannot be read, or lacks signatures the audit log holds: its limits cannot be trusted."""


class SpendLedger:
    def __init__(self, path: Path | None = None, logged: LoggedSince | None = None) -> None:
        self.path = path or data_dir() / "ledger.sqlite3"
        self.logged = logged

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        new = not self.path.exists()
        try:
            with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)) as conn:
                if new:
                    self.path.chmod(0o600)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")  # a committed row survives power loss
                conn.executescript(_SCHEMA)
                yield conn
        except sqlite3.OperationalError as exc:  # locked past the timeout, I/O error, unopenable
            raise EnvironmentProblem(f"the spend ledger {self.path} cannot be used ({exc})", "nothing was signed; try again") from None
        except sqlite3.DatabaseError as exc:  # not a database, malformed, wrong schema
            raise LedgerMismatch(f"the spend ledger {self.path} is damaged ({exc})", REBUILD_HINT) from None

    def _check_log(self, conn: sqlite3.Connection, now: float) -> None:
        """Every signature the log holds from the window must be in the ledger, as logged."""
        if self.logged is None:
            return
        for signature in self.logged(now - WINDOW_SECONDS):
            row = conn.execute(
                "SELECT account, payload_hash, amounts, state FROM reservations WHERE id = ?", (signature.reservation,)
            ).fetchone()
            problem = None
            if row is None:
                problem = "has no record of it (the ledger was deleted, truncated or replaced by an older copy)"
            elif row[3] == "aborted" or row[0].lower() != signature.account.lower() or row[1] != signature.payload_hash:
                problem = "records something else under its reservation"
            elif signature.amounts is not None and _decode(row[2]) != signature.amounts:
                problem = "records other amounts for it"
            if problem:
                raise LedgerMismatch(
                    f"the spend ledger does not match the audit log: log entry {signature.seq} is a signature of the last "
                    f"24 hours (reservation {signature.reservation}) and the ledger {problem}",
                    REBUILD_HINT,
                )

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
            self._check_log(conn, now)
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
        now = time.time()
        with self._connect() as conn:
            self._check_log(conn, now)
            return _spent(conn, account, now)

    def rebuild(self, signatures: list[LoggedSignature]) -> Path | None:
        """Replace the ledger with one holding exactly these signatures (state signed, each under its own
        reservation id). The old file, if any, is kept beside it; returns where."""
        fresh = self.path.with_name(self.path.name + ".rebuilding")
        for leftover in _sqlite_files(fresh):
            leftover.unlink(missing_ok=True)
        now = time.time()
        with SpendLedger(fresh)._transaction() as conn:
            conn.executemany(
                "INSERT INTO reservations (id, created_at, account, chain_id, kind, payload_hash, amounts, state, result, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'signed', ?, ?)",
                [
                    (s.reservation, s.created_at, s.account, s.chain_id, s.kind, s.payload_hash, _encode(s.amounts or {}), s.result, now)
                    for s in signatures
                ],
            )
        kept = None
        if self.path.exists():
            kept = self.path.with_name(f"{self.path.name}.replaced-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}")
            for old, aside in zip(_sqlite_files(self.path), _sqlite_files(kept), strict=True):
                if old.exists():
                    old.replace(aside)
        for new, final in zip(_sqlite_files(fresh), _sqlite_files(self.path), strict=True):
            if new.exists():
                new.replace(final)
        return kept

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


def _sqlite_files(path: Path) -> list[Path]:
    """The database and the files SQLite keeps beside it in WAL mode."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _encode(amounts: dict[str, int]) -> str:
    return json.dumps({asset: str(amount) for asset, amount in amounts.items()}, sort_keys=True)


def _decode(text: str) -> dict[str, int]:
    return {asset: int(amount) for asset, amount in json.loads(text).items()}
