"""The audit log vouches for the spend ledger: a lost, damaged or rolled-back ledger refuses, and
`txcopilot log rebuild-ledger` restores the limits from the log."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import invoke, limits_setup, request_file

from copilot.signing.auditlog import AuditLog
from copilot.signing.ledger import SpendLedger

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
ETH = 10**18
@pytest.fixture
def signing(tmp_path: Path) -> tuple[Path, Path]:
    return limits_setup(tmp_path)


def sign(tmp_path: Path, signing: tuple[Path, Path], value: int, nonce: int) -> tuple[int, str, str]:
    pw, policy = signing
    request = request_file(tmp_path, value, nonce)
    result = invoke(["sign", str(request), "--account", "me", "--policy", str(policy), "--no-llm", "--password-file", str(pw)])
    return result.exit_code, result.stdout, result.stderr


def ledger_files() -> list[Path]:
    path = SpendLedger().path
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def test_a_first_signature_on_a_fresh_install_creates_the_ledger(tmp_path: Path, signing: tuple[Path, Path]) -> None:
    assert not SpendLedger().path.exists()

    code, stdout, _ = sign(tmp_path, signing, ETH, 0)

    assert code == 0 and stdout.startswith("0x02")
    [row] = SpendLedger().reservations()
    assert row.state == "signed" and row.amounts["ETH"] == ETH
    [signature] = [e for e in AuditLog().entries() if e["event"] == "signature"]
    assert signature["data"]["amounts"] == {asset: str(amount) for asset, amount in row.amounts.items()}  # what rebuild-ledger counts


def _delete() -> None:
    for path in ledger_files():
        path.unlink(missing_ok=True)


def _garbage() -> None:
    _delete()
    SpendLedger().path.write_bytes(b"this is not a database\n" * 100)


def _truncate_to(fraction: float) -> None:
    path = SpendLedger().path
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])


def _zero_amounts() -> None:
    with sqlite3.connect(SpendLedger().path) as conn:
        conn.execute("""UPDATE reservations SET amounts = '{"ETH": "0"}'""")


DAMAGE = {
    "deleted": _delete,
    "garbage": _garbage,
    "truncated-empty": lambda: _truncate_to(0),
    "truncated-half": lambda: _truncate_to(0.5),
    "amounts-edited": _zero_amounts,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_ledger_refuses_until_rebuilt_from_the_log(tmp_path: Path, signing: tuple[Path, Path], damage: str) -> None:
    assert sign(tmp_path, signing, ETH, 0)[0] == 0
    DAMAGE[damage]()

    code, stdout, stderr = sign(tmp_path, signing, ETH, 1)  # would pass the 1.5 ETH limit with the spend forgotten

    assert code == 4, stderr
    assert stdout == ""
    [error] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert "spend ledger" in error and "`txcopilot log rebuild-ledger`" in error
    assert AuditLog().entries()[-1]["event"] == "refusal"

    rebuilt = invoke(["log", "rebuild-ledger", "--json"])

    assert rebuilt.exit_code == 0, rebuilt.output
    assert (json.loads(rebuilt.stdout)["signatures"], json.loads(rebuilt.stdout)["last_24_hours"]) == (1, 1)
    code, stdout, stderr = sign(tmp_path, signing, ETH, 1)
    assert code == 5 and "over the limit" in stderr and stdout == ""  # the first 1 ETH counts again
    assert sign(tmp_path, signing, ETH // 4, 1)[0] == 0
    assert invoke(["log", "verify"]).exit_code == 0


def test_a_ledger_replaced_by_an_older_copy_refuses(tmp_path: Path, signing: tuple[Path, Path]) -> None:
    assert sign(tmp_path, signing, ETH // 2, 0)[0] == 0
    backup = tmp_path / "ledger-backup.sqlite3"
    shutil.copy(SpendLedger().path, backup)
    assert sign(tmp_path, signing, ETH // 2, 1)[0] == 0
    _delete()
    shutil.copy(backup, SpendLedger().path)  # one spend fewer than the log says

    code, stdout, stderr = sign(tmp_path, signing, ETH // 2 + 1, 2)

    assert code == 4 and stdout == ""
    assert "log entry" in stderr and "has no record of it" in stderr and "rebuild-ledger" in stderr
    assert invoke(["log", "rebuild-ledger"]).exit_code == 0
    assert sign(tmp_path, signing, ETH // 2 + 1, 2)[0] == 5  # 0.5 + 0.5 + 0.5+ > 1.5
    kept = list(SpendLedger().path.parent.glob("ledger.sqlite3.replaced-*"))
    assert len(kept) == 1 and [r.id for r in SpendLedger(kept[0]).reservations()] == [1]  # the old copy is kept


def test_a_garbage_ledger_with_no_signatures_in_the_log_still_refuses_and_rebuilds_empty(tmp_path: Path, signing: tuple[Path, Path]) -> None:
    _garbage()

    code, _, stderr = sign(tmp_path, signing, ETH, 0)

    assert code == 4 and "spend ledger" in stderr and "damaged" in stderr
    rebuilt = invoke(["log", "rebuild-ledger"])
    assert rebuilt.exit_code == 0 and "0 signatures" in rebuilt.stdout
    assert sign(tmp_path, signing, ETH, 0)[0] == 0


def test_rebuild_refuses_a_log_that_fails_verification(tmp_path: Path, signing: tuple[Path, Path]) -> None:
    assert sign(tmp_path, signing, ETH, 0)[0] == 0
    log = AuditLog()
    lines = log.path.read_text().splitlines(keepends=True)
    log.path.write_text("".join(lines[:-1]))  # the signature entry cut from the end
    before = SpendLedger().path.read_bytes()

    result = invoke(["log", "rebuild-ledger"])

    assert result.exit_code == 4 and "fails verification" in result.stderr
    assert SpendLedger().path.read_bytes() == before


def _logged_signature_at(monkeypatch: pytest.MonkeyPatch, log: AuditLog, hours_ago: float, reservation: int) -> None:
    import time

    real_gmtime = time.gmtime
    when = time.time() - hours_ago * 3600
    with monkeypatch.context() as patched:
        patched.setattr(time, "gmtime", lambda *_: real_gmtime(when))
        log.append("signature", {
            "reservation": reservation, "address": SENDER, "kind": "transaction", "chain_id": 1, "payload_hash": f"0x{reservation:064x}",
            "signing_hash": f"0x{reservation:064x}", "transaction_hash": f"0x{reservation:064x}", "amounts": {"ETH": str(ETH)},
        })


def test_only_signatures_of_the_last_24_hours_must_be_in_the_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog()
    _logged_signature_at(monkeypatch, log, 25, reservation=1)
    for n in range(200):  # reviews in between: the log is read from its end, block by block
        log.append("review", {"verdict": "allow", "n": n, "padding": "x" * 400})

    assert SpendLedger(logged=log.signatures_since).spent(SENDER) == {}  # 25 hours old: outside the window

    _logged_signature_at(monkeypatch, log, 23, reservation=2)
    from copilot.signing.ledger import LedgerMismatch

    with pytest.raises(LedgerMismatch, match=r"log entry 201 .*\(reservation 2\)"):
        SpendLedger(logged=log.signatures_since).spent(SENDER)
    assert invoke(["log", "rebuild-ledger"]).exit_code == 0
    assert SpendLedger(logged=log.signatures_since).spent(SENDER) == {"ETH": ETH}  # both rebuilt, one counts
    assert [r.id for r in SpendLedger().reservations()] == [1, 2]


def _log_deleted() -> None:
    AuditLog().path.unlink()


def _log_emptied() -> None:
    AuditLog().path.write_bytes(b"")


def _signature_renamed() -> None:
    log = AuditLog().path
    log.write_bytes(log.read_bytes().replace(b'"event": "signature"', b'"event": "signaturX"'))


LOG_DAMAGE = {"log-deleted": _log_deleted, "log-emptied": _log_emptied, "signature-entry-renamed": _signature_renamed}


@pytest.mark.parametrize("damage", sorted(LOG_DAMAGE))
def test_a_lost_ledger_is_not_vouched_for_by_a_log_that_lost_its_signatures(tmp_path: Path, signing: tuple[Path, Path], damage: str) -> None:
    assert sign(tmp_path, signing, ETH, 0)[0] == 0
    _delete()
    LOG_DAMAGE[damage]()  # the head still records the entries

    code, stdout, stderr = sign(tmp_path, signing, ETH, 1)  # would pass the 1.5 ETH limit with the spend forgotten

    assert code == 4, stderr
    assert stdout == ""
    [error] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert "audit log" in error and "`txcopilot log verify`" in error
