"""Separate `sign` processes: the limit race, and kill -9 at each stage of a signature."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import limits_setup, request_file, run_cli

from copilot.signing.auditlog import AuditLog
from copilot.signing.ledger import SpendLedger

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
ETH = 10**18

# Both processes reach the ledger only once both have passed the pre-check: the race is real.
BARRIER = """
import os, pathlib, time
from copilot.signing import ledger
_reserve = ledger.SpendLedger.reserve
def reserve(self, **kwargs):
    barrier = pathlib.Path(os.environ["BARRIER"])
    (barrier / str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return _reserve(self, **kwargs)
ledger.SpendLedger.reserve = reserve
"""


def kill_at(stage: str) -> str:
    return (
        "import os, signal\nfrom copilot.signing import signer\n"
        f"signer.CHECKPOINT = lambda stage, job: os.kill(os.getpid(), signal.SIGKILL) if stage == {stage!r} else None\n"
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    return limits_setup(tmp_path)


def sign_cli(request: Path, pw: Path, policy: Path) -> list[str]:
    return ["sign", str(request), "--account", "me", "--policy", str(policy), "--no-llm", "--password-file", str(pw), "--json"]


def test_two_concurrent_sign_processes_cannot_both_pass_the_limit(tmp_path: Path, isolated_home: Path, setup: tuple[Path, Path]) -> None:
    import subprocess
    import sys

    from signhelpers import ROOT

    pw, policy = setup
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"TXCOPILOT_HOME": str(isolated_home), "NO_COLOR": "1", "BARRIER": str(barrier), "PATH": "/usr/bin:/bin"}
    code = BARRIER + "\nfrom copilot.cli.main import cli\ncli(prog_name='txcopilot')\n"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *sign_cli(request_file(tmp_path, ETH, nonce), pw, policy)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for nonce in (0, 1)
    ]
    results = [(p.wait(timeout=120), p.communicate()) for p in procs]

    codes = sorted(code for code, _ in results)
    assert codes == [0, 5], results
    loser_stderr = next(err for code, (_, err) in results if code == 5)
    assert "over" in loser_stderr and "limit" in loser_stderr
    assert [r.state for r in SpendLedger().reservations()] == ["signed"]
    assert AuditLog().verify().ok


@pytest.mark.parametrize(
    ("stage", "state", "last_event"),
    [("reserved", "pending", "review"), ("logged", "pending", "signature"), ("recorded", "signed", "signature")],
)
def test_kill_9_mid_signature_leaves_ledger_and_log_consistent(
    tmp_path: Path, isolated_home: Path, setup: tuple[Path, Path], stage: str, state: str, last_event: str
) -> None:
    pw, policy = setup

    killed = run_cli(sign_cli(request_file(tmp_path, ETH), pw, policy), isolated_home, prelude=kill_at(stage))

    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout == ""  # the signature was never released
    [row] = SpendLedger().reservations()
    assert row.state == state
    report = AuditLog().verify()
    assert report.ok, report.problems
    assert AuditLog().entries()[-1]["event"] == last_event
    # Whatever the kill left counts against the limit: 1 ETH more would make 2 of 1.5.
    again = run_cli(sign_cli(request_file(tmp_path, ETH, nonce=1), pw, policy), isolated_home)
    assert again.returncode == 5 and "over the limit" in again.stderr
    after = run_cli(["log", "verify"], isolated_home)
    assert after.returncode == 0, after.stdout + after.stderr
    assert ("stopped after logging" in after.stdout) == (stage == "logged")


def fsize_limit_on_signature(headroom: int) -> str:
    """Only the signature's log write runs under RLIMIT_FSIZE = the log's size + HEADROOM bytes (the
    kernel then writes part of the line and fails the rest, as on a full disk)."""
    return (
        "import resource\nfrom copilot.signing import auditlog\n"
        "_append = auditlog.AuditLog.append\n"
        "def append(self, event, data):\n"
        "    if event != 'signature':\n"
        "        return _append(self, event, data)\n"
        "    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)\n"
        f"    resource.setrlimit(resource.RLIMIT_FSIZE, (self.path.stat().st_size + {headroom}, hard))\n"
        "    try:\n"
        "        return _append(self, event, data)\n"
        "    finally:\n"
        "        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))\n"
        "auditlog.AuditLog.append = append\n"
    )


@pytest.mark.parametrize("headroom", [40, 0], ids=["short-write", "failed-write"])
def test_a_short_or_failed_audit_log_write_releases_no_signature(
    tmp_path: Path, isolated_home: Path, setup: tuple[Path, Path], headroom: int
) -> None:
    pw, policy = setup

    result = run_cli(sign_cli(request_file(tmp_path, ETH // 10), pw, policy), isolated_home, prelude=fsize_limit_on_signature(headroom))

    assert result.returncode == 4, result.stderr
    assert result.stdout == ""  # no signature left the process
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]  # the review is above it
    assert "the audit log" in error and "could not take the entry" in error and "internal error" not in result.stderr
    [row] = SpendLedger().reservations()
    assert row.state == "aborted"  # the line was cut back off: that signature never existed
    report = AuditLog().verify()
    assert report.ok, report.problems
    assert [e["event"] for e in AuditLog().entries()] == ["review", "refusal"]
    # The log takes entries again once there is room: the next signature goes through.
    again = run_cli(sign_cli(request_file(tmp_path, ETH // 10), pw, policy), isolated_home)
    assert again.returncode == 0, again.stderr
    assert [r.state for r in SpendLedger().reservations()] == ["aborted", "signed"]
