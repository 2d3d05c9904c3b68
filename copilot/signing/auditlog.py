"""The hash-chained audit log: one JSON object per line in `<data dir>/audit.jsonl`.

Each entry carries `prev` (the previous entry's hash, 64 zeros for the first) and `hash`
(SHA-256 of the entry's canonical JSON without `hash`). Each line is exactly `entry_line(entry)`, and
`verify` checks the bytes too: a duplicate key or changed whitespace is an edit. A head file
(`audit.head`) records the count and hash of the last entry, so deleting entries from the end is
caught too. Appends hold an exclusive lock on `audit.lock`, write every byte of the line, fsync and
check the file's size before the head is updated; a write that fails (full disk, RLIMIT_FSIZE) is
cut back off the log and raises `LogWriteFailed`, so nothing that needed the entry is released.

What `verify` catches and what it cannot is documented in the README ("Keys and signing").
"""

from __future__ import annotations

import calendar
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.errors import EnvironmentProblem
from copilot.inputs.values import DuplicateKeyError, unique_keys
from copilot.parsing import load_json
from copilot.state.atomic import atomic_write_text
from copilot.state.dirs import data_dir

if TYPE_CHECKING:
    from copilot.models import Review
    from copilot.signing.ledger import LoggedSignature, Reservation

GENESIS = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
CLOCK_MARGIN_SECONDS = 3600  # entries are in time order, unless the clock stepped back: read an hour further


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def entry_line(entry: dict[str, Any]) -> bytes:
    """The exact bytes of an entry's line, without the newline: what append writes and verify expects."""
    return json.dumps(entry, sort_keys=True, ensure_ascii=False).encode("utf-8")


class LogWriteFailed(EnvironmentProblem):
    """The log could not take an entry. `recorded`: the entry is durably in the log all the same
    (only the head update failed), so whatever it records must be treated as having happened."""

    def __init__(self, message: str, hint: str | None = None, *, recorded: bool) -> None:
        super().__init__(message, hint)
        self.recorded = recorded


@dataclass
class Verification:
    ok: bool
    entries: int
    head: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class AuditLog:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or data_dir()
        self.path = self.directory / "audit.jsonl"
        self.head_path = self.directory / "audit.head"
        self.lock_path = self.directory / "audit.lock"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def append(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Append one entry and return it. `data` must be JSON-ready and hold no secrets."""
        with self._locked():
            seq, prev = self._last()
            entry: dict[str, Any] = {
                "seq": seq,
                "time": time.strftime(TIME_FORMAT, time.gmtime()),
                "event": event,
                "data": data,
                "prev": prev,
            }
            entry["hash"] = entry_hash(entry)
            self._write_line(entry_line(entry) + b"\n")
            try:
                atomic_write_text(self.head_path, json.dumps({"count": seq + 1, "hash": entry["hash"]}))
            except OSError as exc:
                raise LogWriteFailed(
                    f"the audit log's head {self.head_path} could not be updated ({exc.strerror or type(exc).__name__})",
                    "free some disk space, then run `txcopilot log verify`",
                    recorded=True,
                ) from None
            return entry

    def _write_line(self, line: bytes) -> None:
        """Append every byte of `line` durably (the lock keeps other writers out), or leave the log as it was."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self._write_failed(exc) from None
        try:
            start = os.fstat(fd).st_size
            try:
                written = 0
                while written < len(line):  # a short write (RLIMIT_FSIZE, a full disk) returns less
                    written += os.write(fd, line[written:])
                os.fsync(fd)
                if os.fstat(fd).st_size != start + len(line):
                    raise OSError(0, "the log's size does not match what was written")
            except OSError as exc:
                with suppress(OSError):  # if this fails too, the torn line stops every later append
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                raise self._write_failed(exc) from None
        finally:
            os.close(fd)

    def _write_failed(self, exc: OSError) -> LogWriteFailed:
        return LogWriteFailed(
            f"the audit log {self.path} could not take the entry ({exc.strerror or type(exc).__name__}); nothing that needed it was released",
            "free some disk space (or raise the file-size limit) and run the command again",
            recorded=False,
        )

    def _last(self) -> tuple[int, str]:
        """Next sequence number and the hash to chain to, from the log itself (the head may lag, but
        never lead: a log deleted or cut back under its head would otherwise start again unnoticed)."""
        last_line = _last_line(self.path)
        try:
            entry: Any = load_json(last_line) if last_line is not None else {"seq": -1, "hash": GENESIS}
            following = int(entry["seq"]) + 1, str(entry["hash"])
        except (ValueError, KeyError, TypeError):
            raise EnvironmentProblem(
                f"{self.path}: the last entry is damaged, so nothing more can be chained to it",
                "run `txcopilot log verify`, keep a copy of the log, then move it aside to start a new one",
            ) from None
        recorded = self._head_count()
        if recorded > following[0]:
            raise EnvironmentProblem(
                f"the audit log {self.path} has {following[0]} entries but its head records {recorded}: entries were deleted, "
                "so nothing more is added to it",
                "run `txcopilot log verify`, keep copies of audit.jsonl and audit.head, then move both aside to start a new log",
            )
        return following

    def _head_count(self) -> int:
        """The number of entries the head file records; 0 without one (a fresh install)."""
        try:
            return int(load_json(self.head_path.read_text(encoding="utf-8"))["count"])
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError):
            raise EnvironmentProblem(
                f"the audit log's head {self.head_path} is unreadable, so nothing more is added to the log",
                "run `txcopilot log verify`, keep copies of audit.jsonl and audit.head, then move both aside to start a new log",
            ) from None

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for number, line in enumerate(self.path.read_bytes().split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                entry = load_json(line)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                out.append(entry)
            except ValueError:  # not JSON, not text at all, or not an entry
                raise EnvironmentProblem(
                    f"the audit log {self.path} is damaged at line {number} (not a JSON entry)",
                    "run `txcopilot log verify` for the full picture",
                ) from None
        return out

    def signatures_since(self, cutoff: float) -> list[LoggedSignature]:
        """The signatures logged at or after `cutoff` (epoch seconds), read from the end of the log
        (which can grow large) back to the first entry older than the cutoff, less a margin for clock steps.
        An entry that does not match its own hash refuses: an edited signature would reset the limits."""
        found: list[LoggedSignature] = []
        for line in _reverse_lines(self.path):
            entry = self._parse(line)
            if entry.get("hash") != entry_hash(entry):
                raise EnvironmentProblem(
                    f"the audit log {self.path} has an entry that does not match its hash (entry edited), so its signatures "
                    "cannot be counted; nothing was signed",
                    "run `txcopilot log verify` for the full picture",
                )
            logged_at = entry_time(entry)
            if logged_at < cutoff - CLOCK_MARGIN_SECONDS:
                break
            if entry.get("event") == "signature" and logged_at >= cutoff:
                found.append(logged_signature(entry))
        return found[::-1]

    def signatures(self) -> list[LoggedSignature]:
        """Every signature in the log, oldest first."""
        return [logged_signature(e) for e in self.entries() if e.get("event") == "signature"]

    def _parse(self, line: bytes) -> dict[str, Any]:
        try:
            entry = load_json(line)
            if isinstance(entry, dict):
                return entry
        except ValueError:
            pass
        raise EnvironmentProblem(
            f"the audit log {self.path} has a damaged entry, so its signatures cannot be counted; nothing was signed",
            "run `txcopilot log verify` for the full picture",
        )

    def verify(self) -> Verification:
        problems: list[str] = []
        notes: list[str] = []
        prev = GENESIS
        count = 0
        parsed: list[dict[str, Any]] = []
        raw = self.path.read_bytes() if self.path.exists() else b""
        if raw and not raw.endswith(b"\n"):
            problems.append("the last line is incomplete: the log was cut mid-entry")
        lines = raw.split(b"\n")
        for number, line in enumerate(lines[:-1] if raw.endswith(b"\n") else lines, start=1):
            try:
                entry = load_json(line, object_pairs_hook=unique_keys)
            except DuplicateKeyError as exc:
                problems.append(f"line {number}: the key {exc.key} appears twice (entry edited)")
                continue
            except ValueError:  # also bytes that are not UTF-8
                problems.append(f"line {number}: not valid JSON")
                continue
            if not isinstance(entry, dict):
                problems.append(f"line {number}: not an entry")
                continue
            if entry_line(entry) != line:
                problems.append(f"line {number}: its bytes differ from what was written (spacing, escapes or key order changed)")
            if _holds_an_eth_sign_hash(entry):
                notes.append(
                    f"line {number}: an eth_sign review from before txcopilot kept only a digest of the hash holds the "
                    "32 bytes themselves; if a private key was ever pasted as a hash, treat that key as exposed"
                )
            seq = entry.get("seq")
            if type(seq) is not int or seq != count:  # True and 1.0 equal 1 in Python, not in the log
                problems.append(f"line {number}: sequence {json.dumps(seq)}, expected {count} (entry deleted, inserted or reordered)")
            if entry.get("prev") != prev:
                problems.append(f"line {number}: does not chain to the entry before it (entry deleted, inserted or reordered)")
            if entry_hash(entry) != entry.get("hash"):
                problems.append(f"line {number}: contents do not match its hash (entry edited)")
            prev = str(entry.get("hash"))
            count += 1
            parsed.append(entry)
        self._check_head(parsed, prev, problems, notes)
        return Verification(ok=not problems, entries=count, head=prev, problems=problems, notes=notes)

    def _check_head(self, entries: list[dict[str, Any]], last_hash: str, problems: list[str], notes: list[str]) -> None:
        count = len(entries)
        if not self.head_path.exists():
            if count:
                problems.append("the head file audit.head is missing (the log may have been replaced)")
            return
        try:
            head = load_json(self.head_path.read_text(encoding="utf-8"))
            head_count, head_hash = int(head["count"]), str(head["hash"])
        except (ValueError, KeyError, TypeError):
            problems.append("the head file audit.head is unreadable")
            return
        if head_count > count:
            problems.append(f"the head records {head_count} entries but the log has {count}: entries were deleted from the end")
        elif head_count == count and head_hash != last_hash:
            problems.append("the last entry is not the one the head records: the end of the log was rewritten")
        elif head_count < count:
            if head_count and entries[head_count - 1].get("hash") != head_hash:
                problems.append("the entry the head points to has been replaced")
            else:
                notes.append(
                    f"{count - head_count} entr{'y' if count - head_count == 1 else 'ies'} after the head: "
                    "a process stopped between writing an entry and updating the head"
                )


def entry_time(entry: dict[str, Any]) -> float:
    """An entry's `time` as epoch seconds (UTC)."""
    try:
        return float(calendar.timegm(time.strptime(str(entry.get("time")), TIME_FORMAT)))
    except ValueError:
        raise EnvironmentProblem(
            f"audit log entry {entry.get('seq')} has no valid time, so its signatures cannot be counted; nothing was signed",
            "run `txcopilot log verify` for the full picture",
        ) from None


def logged_signature(entry: dict[str, Any]) -> LoggedSignature:
    """A signature entry as the ledger keeps it."""
    from copilot.signing.ledger import LoggedSignature

    data = entry.get("data")
    try:
        assert isinstance(data, dict)
        amounts = data.get("amounts")
        return LoggedSignature(
            seq=int(entry["seq"]),
            reservation=int(data["reservation"]),
            created_at=entry_time(entry),
            account=str(data["address"]),
            chain_id=None if data.get("chain_id") is None else int(data["chain_id"]),
            kind=str(data["kind"]),
            payload_hash=str(data["payload_hash"]),
            amounts=None if amounts is None else {str(asset): int(value) for asset, value in amounts.items()},
            result=str(data.get("transaction_hash") or data["signing_hash"]),
        )
    except (AssertionError, KeyError, TypeError, ValueError, AttributeError):
        raise EnvironmentProblem(
            f"audit log entry {entry.get('seq')} is a signature record that cannot be read; nothing was signed",
            "run `txcopilot log verify` for the full picture",
        ) from None


def check_against_ledger(entries: list[dict[str, Any]], reservations: list[Reservation]) -> tuple[list[str], list[str]]:
    """Problems and notes from comparing the log's signatures with the ledger's reservations.

    `sign` logs a signature before the ledger marks it signed, so a signed reservation always has a
    log entry; a logged signature whose reservation is still pending means the signer stopped in between.
    """
    problems: list[str] = []
    notes: list[str] = []
    logged = {e["data"].get("reservation"): e for e in entries if e.get("event") == "signature" and isinstance(e.get("data"), dict)}
    by_id = {r.id: r for r in reservations}
    for reservation in reservations:
        if reservation.state == "signed" and reservation.id not in logged:
            problems.append(f"ledger reservation {reservation.id} is signed but the log has no signature for it")
    for rid, entry in logged.items():
        found = by_id.get(rid) if isinstance(rid, int) else None
        if found is None or found.state == "aborted":
            problems.append(f"log entry {entry.get('seq')} records a signature the ledger does not (reservation {rid})")
        elif found.state == "pending":
            notes.append(
                f"log entry {entry.get('seq')}: the signer stopped after logging, before the ledger marked reservation "
                f"{rid} signed; it counts against the limits"
            )
    return problems, notes


def review_record(review: Review, account: str | None) -> dict[str, Any]:
    """What the log keeps of a review: enough to match it to its signature, none of the request's secrets.

    For eth_sign, `payload_hash` is the decoder's digest of the 32 bytes, never the bytes themselves
    (they may be a pasted private key); `payload` says so, and marks the entry as the new form.
    """
    return {
        "account": account,
        "verdict": review.verdict,
        "risk_score": review.risk_score,
        "decided_by": review.decided_by,
        "policy": review.policy,
        "kind": review.decoded.request.kind.value,
        **payload_record(review),
        "findings": [f.id for f in review.findings],
        **llm_record(review),
        **intent_record(review),
    }


def intent_record(review: Review) -> dict[str, Any]:
    """The user's --intent, its parsed form and the outcome; nothing when no intent was given."""
    if review.intent is None:
        return {}
    return {"intent": review.intent.model_dump(mode="json")}


def llm_record(review: Review) -> dict[str, Any]:
    """Which model explained the review: the GGUF's name, or the user's own server and the model it
    named (its identity from /props, /v1/models or /api/tags); nothing when no model answered."""
    if review.llm is None:
        return {}
    server = review.llm.server
    record: dict[str, Any] = {"model": review.llm.model}
    if server is not None:
        record["server"] = server.model_dump(exclude={"isolation"})
    return {"llm": record}


def payload_record(review: Review) -> dict[str, str]:
    """The `payload_hash` field of every entry about a review (review, confirmation, refusal)."""
    record = {"payload_hash": review.decoded.payload_hash}
    if review.decoded.request.kind.value == "hash":
        record["payload"] = "digest of the eth_sign hash"
    return record


def _holds_an_eth_sign_hash(entry: dict[str, Any]) -> bool:
    """An entry of the old form: an eth_sign review, or its refusal, that logged the hash itself."""
    data = entry.get("data")
    if not isinstance(data, dict) or "payload" in data or "payload_hash" not in data:
        return False
    if entry.get("event") == "review":
        return data.get("kind") == "hash"
    return entry.get("event") == "refusal" and str(data.get("reason", "")).startswith("eth_sign of a raw hash")


def record_review(review: Review, account: str | None = None) -> None:
    """Append a review to the audit log (for any command that reviews, not only `sign`)."""
    AuditLog().append("review", review_record(review, account))


def _last_line(path: Path) -> bytes | None:
    """The last line of a file, read from its end (the log can grow large); b"" when it is torn."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        if end:
            handle.seek(end - 1)
            if handle.read(1) != b"\n":
                return b""
    return next(_reverse_lines(path), None)


def _reverse_lines(path: Path, block: int = 65536) -> Iterator[bytes]:
    """The non-blank lines of a file, last first, reading blocks from the end."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        rest = b""
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            lines = (handle.read(step) + rest).split(b"\n")
            rest = lines[0]
            yield from (line for line in reversed(lines[1:]) if line.strip())
        if rest.strip():
            yield rest
