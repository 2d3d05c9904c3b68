"""The hash-chained audit log: verify catches edits, reorders, deletions and truncation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from signhelpers import ROOT, invoke

from copilot.signing.auditlog import AuditLog


def _log_with(n: int) -> AuditLog:
    log = AuditLog()
    for i in range(n):
        log.append("review", {"verdict": "allow", "n": i})
    return log


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines(keepends=True)


def test_an_untouched_log_verifies_and_shows() -> None:
    log = _log_with(3)

    assert log.verify().ok
    result = invoke(["log", "verify", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["entries"] == 3
    shown = json.loads(invoke(["log", "show", "--json", "--last", "2"]).stdout)
    assert [e["data"]["n"] for e in shown] == [1, 2]
    assert shown[1]["prev"] == shown[0]["hash"]


def test_an_edited_entry_is_detected() -> None:
    log = _log_with(3)
    lines = _lines(log)
    entry = json.loads(lines[1])
    entry["data"]["verdict"] = "block"
    lines[1] = json.dumps(entry, sort_keys=True) + "\n"
    log.path.write_text("".join(lines))

    report = log.verify()

    assert not report.ok and any("line 2" in p and "edited" in p for p in report.problems)
    result = invoke(["log", "verify"])
    assert result.exit_code == 4 and "failed verification" in result.stderr


@pytest.mark.parametrize("seq", ["1", True, 1.0], ids=["string", "bool", "float"])
def test_a_sequence_that_is_not_an_integer_is_named_as_it_is_written(seq: object) -> None:
    """Rewritten with a consistent hash, only the sequence is wrong: the problem shows the value as written."""
    from copilot.signing.auditlog import entry_hash, entry_line

    log = _log_with(3)
    lines = _lines(log)
    entry = json.loads(lines[1])
    entry["seq"] = seq
    entry["hash"] = entry_hash(entry)
    lines[1] = entry_line(entry).decode() + "\n"
    log.path.write_text("".join(lines))

    problems = log.verify().problems

    assert f"line 2: sequence {json.dumps(seq)}, expected 1 (entry deleted, inserted or reordered)" in problems, problems


def test_reordered_entries_are_detected() -> None:
    log = _log_with(3)
    lines = _lines(log)
    lines[0], lines[1] = lines[1], lines[0]
    log.path.write_text("".join(lines))

    assert not log.verify().ok


def test_a_deleted_middle_entry_is_detected() -> None:
    log = _log_with(3)
    lines = _lines(log)
    del lines[1]
    log.path.write_text("".join(lines))

    report = log.verify()
    assert not report.ok and any("deleted" in p for p in report.problems)


def test_a_truncated_tail_is_detected_through_the_head_file() -> None:
    log = _log_with(3)
    log.path.write_text("".join(_lines(log)[:2]))

    report = log.verify()
    assert not report.ok and any("deleted from the end" in p for p in report.problems)


def test_a_torn_last_line_is_detected_and_blocks_further_appends() -> None:
    log = _log_with(2)
    with log.path.open("a") as handle:
        handle.write('{"seq": 2, "event": "sig')

    assert any("incomplete" in p for p in log.verify().problems)
    result = invoke(["log", "verify"])
    assert result.exit_code == 4


def test_an_entry_after_a_stale_head_is_a_note_not_a_failure() -> None:
    log = _log_with(2)
    head = log.head_path.read_text()
    log.append("review", {"n": 2})
    log.head_path.write_text(head)  # as if the process died between the log fsync and the head update

    report = log.verify()
    assert report.ok and report.entries == 3 and report.notes


def test_concurrent_appends_from_processes_keep_one_chain(isolated_home: Path) -> None:
    code = (
        "import sys\nfrom copilot.signing.auditlog import AuditLog\n"
        "log = AuditLog()\n"
        "for i in range(25):\n    log.append('review', {'writer': sys.argv[1], 'i': i})\n"
    )
    env = {"TXCOPILOT_HOME": str(isolated_home), "PATH": "/usr/bin:/bin"}
    writers = [subprocess.Popen([sys.executable, "-c", code, str(w)], cwd=ROOT, env=env) for w in range(3)]
    assert all(w.wait(timeout=60) == 0 for w in writers)

    report = AuditLog().verify()
    assert report.ok, report.problems
    assert report.entries == 75


def test_verify_matches_the_log_against_the_ledger() -> None:
    from copilot.signing.ledger import SpendLedger

    ledger = SpendLedger()
    rid = ledger.reserve(account="0xabc", chain_id=1, kind="transaction", payload_hash="0x01", amounts={}, check=lambda spent: None)
    ledger.mark_signed(rid, "0x02")  # a signature the log never heard of
    AuditLog().append("signature", {"reservation": rid + 1})  # and one the ledger never heard of

    result = invoke(["log", "verify", "--json"])

    assert result.exit_code == 4
    problems = json.loads(result.stdout)["problems"]
    assert any(f"reservation {rid} is signed but the log has no signature" in p for p in problems)
    assert any(f"reservation {rid + 1})" in p for p in problems)


DEMO = ROOT / "fixtures" / "demo" / "unlimited-approval.json"


def test_a_standalone_review_is_logged_and_the_log_verifies() -> None:
    reviewed = invoke(["review", str(DEMO), "--no-llm", "--json"])
    assert reviewed.exit_code == 0, reviewed.output
    review = json.loads(reviewed.stdout)

    verified = invoke(["log", "verify", "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["entries"] == 1
    [entry] = json.loads(invoke(["log", "show", "--json"]).stdout)
    assert entry["event"] == "review"
    assert entry["data"]["payload_hash"] == review["decoded"]["payload_hash"]
    assert (entry["data"]["verdict"], entry["data"]["account"]) == (review["verdict"], review["decoded"]["request"]["sender"])
    assert entry["data"]["findings"] == [f["id"] for f in review["findings"]]


def test_review_no_log_leaves_the_log_alone() -> None:
    assert invoke(["review", str(DEMO), "--no-llm", "--no-log"]).exit_code == 0
    assert AuditLog().entries() == []


def test_a_damaged_log_costs_the_review_a_warning_not_its_output() -> None:
    log = _log_with(1)
    log.path.write_bytes(log.path.read_bytes()[:-5])  # torn last line: nothing can be chained to it

    result = invoke(["review", str(DEMO), "--no-llm", "--json"])

    assert result.exit_code == 0
    assert json.loads(result.stdout)["verdict"]
    assert "warning: the review was not added to the audit log" in result.stderr


def test_binary_garbage_in_the_log_is_a_finding_of_verify_and_one_line_for_show() -> None:
    log = _log_with(3)
    lines = _lines(log)
    with log.path.open("wb") as handle:
        handle.write("".join(lines[:2]).encode() + b"\xff\xfe\x00 not text\n" + lines[2].encode())

    verified = invoke(["log", "verify"])
    shown = invoke(["log", "show"])

    assert verified.exit_code == 4 and "line 3: not valid JSON" in verified.stdout, verified.output
    assert "internal error" not in verified.stderr and verified.stderr.count("\n") == 1
    assert shown.exit_code == 4 and shown.stderr.count("\n") == 1 and "line 3" in shown.stderr and "log verify" in shown.stderr, shown.output


@pytest.mark.parametrize(
    "edit",
    [
        # a second "verdict" key before the real one: JSON parsers keep the last, so the parsed entry
        # and its hash are unchanged, but a reader that keeps the first sees "block"
        lambda line: line.replace('"data": {', '"data": {"verdict": "block", ', 1),
        lambda line: line.replace('", "', '",  "', 1),  # whitespace
        lambda line: line.replace('"allow"', '"\\u0061llow"', 1),  # the same string, escaped
        lambda line: line.rstrip("\n") + " \n",  # trailing space
    ],
    ids=["duplicate-key", "whitespace", "escape", "trailing-space"],
)
def test_verify_checks_the_exact_bytes_of_each_line(edit: Callable[[str], str]) -> None:
    log = _log_with(3)
    lines = _lines(log)
    edited = edit(lines[1])
    assert edited != lines[1] and json.loads(edited)["hash"] == json.loads(lines[1])["hash"]
    lines[1] = edited
    log.path.write_text("".join(lines))

    result = invoke(["log", "verify", "--json"])

    assert result.exit_code == 4
    assert any(p.startswith("line 2: ") for p in json.loads(result.stdout)["problems"]), result.stdout


def test_verify_names_a_duplicate_key() -> None:
    log = _log_with(2)
    lines = _lines(log)
    lines[0] = lines[0].replace('"data": {', '"data": {"verdict": "block", ', 1)
    log.path.write_text("".join(lines))

    assert "line 1: the key verdict appears twice (entry edited)" in log.verify().problems


HASH_SECRET = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"  # shaped like a private key


def _files_holding(root: Path, needle: str) -> list[Path]:
    raw = bytes.fromhex(needle)
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and (needle.encode() in (data := path.read_bytes()).lower() or raw in data)
    ]


@pytest.mark.parametrize(
    "request_text",
    [
        "0x" + HASH_SECRET,
        json.dumps({"method": "eth_sign", "params": ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x" + HASH_SECRET.upper()]}),
        json.dumps({"jsonrpc": "2.0", "id": 7, "method": "eth_sign", "params": ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x" + HASH_SECRET]}),
    ],
    ids=["bare", "json-rpc-upper", "json-rpc-envelope"],
)
def test_an_eth_sign_hash_is_never_written_to_any_file(tmp_path: Path, isolated_home: Path, request_text: str) -> None:
    from nodehelpers import ANVIL_ACCOUNTS
    from signhelpers import import_account

    request = tmp_path / "request.json"
    request.write_text(request_text)
    pw = import_account(tmp_path, ANVIL_ACCOUNTS[0][1], "me")

    reviewed = invoke(["review", str(request), "--no-llm", "--json"])
    signed = invoke(["sign", str(request), "--account", "me", "--no-llm", "--password-file", str(pw)])

    assert reviewed.exit_code == 0 and signed.exit_code == 5, signed.output
    assert HASH_SECRET in reviewed.stdout.lower()  # shown to the user, on stdout only
    assert _files_holding(isolated_home, HASH_SECRET) == []
    entries = AuditLog().entries()
    assert [e["event"] for e in entries] == ["review", "review", "refusal"]
    assert {e["data"]["payload_hash"] for e in entries} == {json.loads(reviewed.stdout)["decoded"]["payload_hash"]}
    verified = invoke(["log", "verify", "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["notes"] == []


def test_verify_notes_eth_sign_entries_of_the_old_form_that_hold_the_hash() -> None:
    log = AuditLog()
    log.append("review", {"verdict": "confirm", "kind": "hash", "payload_hash": "0x" + HASH_SECRET, "findings": ["sign.raw_hash"]})
    log.append("refusal", {"payload_hash": "0x" + HASH_SECRET, "verdict": "confirm", "reason": "eth_sign of a raw hash is refused: ..."})
    log.append("review", {"verdict": "allow", "kind": "transaction", "payload_hash": "0x" + "11" * 32, "findings": []})

    result = invoke(["log", "verify", "--json"])

    assert result.exit_code == 0
    notes = json.loads(result.stdout)["notes"]
    assert [n.split(":")[0] for n in notes] == ["line 1", "line 2"]
    assert all("treat that key as exposed" in n for n in notes)
