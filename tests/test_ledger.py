"""The spend ledger: limits hold across processes, and pending reservations count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from signhelpers import ROOT

from copilot.errors import Refused
from copilot.signing.ledger import SpendLedger

ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ETH = 10**18


def _limit(daily: int, amount: int):  # type: ignore[no-untyped-def]
    def check(spent: dict[str, int]) -> None:
        if spent.get("ETH", 0) + amount > daily:
            raise Refused("over the daily limit")

    return check


def _reserve(ledger: SpendLedger, amount: int, daily: int = 2 * ETH) -> int:
    return ledger.reserve(account=ACCOUNT, chain_id=1, kind="transaction", payload_hash="0x" + "ab" * 32, amounts={"ETH": amount}, check=_limit(daily, amount))


def test_pending_and_signed_count_aborted_does_not() -> None:
    ledger = SpendLedger()
    signed = _reserve(ledger, ETH // 2)
    ledger.mark_signed(signed, "0x" + "11" * 32)
    _reserve(ledger, ETH // 4)  # left pending, as after a crash
    aborted = _reserve(ledger, ETH // 8)
    ledger.mark_aborted(aborted, "wrong password")

    assert ledger.spent(ACCOUNT) == {"ETH": ETH // 2 + ETH // 4}
    assert [r.state for r in ledger.reservations(ACCOUNT)] == ["signed", "pending", "aborted"]


def test_a_refused_check_writes_nothing() -> None:
    ledger = SpendLedger()
    _reserve(ledger, ETH)
    with pytest.raises(Refused):
        _reserve(ledger, 3 * ETH // 2)
    assert len(ledger.reservations()) == 1


def test_a_reservation_is_finished_once() -> None:
    ledger = SpendLedger()
    rid = _reserve(ledger, 1)
    ledger.mark_signed(rid, "0x01")
    with pytest.raises(RuntimeError):
        ledger.mark_aborted(rid, "late")
    assert ledger.reservations()[0].state == "signed"


def test_concurrent_processes_cannot_both_pass_the_limit(isolated_home: Path) -> None:
    # Each process wants 0.6 ETH of a 1 ETH daily limit, after all start together: one must lose.
    code = (
        "import sys, time\n"
        "from copilot.errors import Refused\n"
        "from copilot.signing.ledger import SpendLedger\n"
        f"ACCOUNT = {ACCOUNT!r}\n"
        "def check(spent):\n"
        "    time.sleep(0.3)  # widen the window between reading the total and writing the row\n"
        f"    if spent.get('ETH', 0) + 6 * 10**17 > {ETH}:\n"
        "        raise Refused('over')\n"
        "try:\n"
        "    SpendLedger().reserve(account=ACCOUNT, chain_id=1, kind='transaction', payload_hash='0x', amounts={'ETH': 6 * 10**17}, check=check)\n"
        "    print('passed')\n"
        "except Refused:\n"
        "    print('refused')\n"
    )
    SpendLedger().spent(ACCOUNT)  # create the schema first, so the race is on the limit and not on CREATE
    env = {"TXCOPILOT_HOME": str(isolated_home), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = sorted(p.communicate(timeout=120)[0].strip() for p in procs)

    assert outcomes == ["passed", "refused", "refused", "refused"]
    assert SpendLedger().spent(ACCOUNT) == {"ETH": 6 * 10**17}
