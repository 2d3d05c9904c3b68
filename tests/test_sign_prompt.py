"""The confirmation shows the right thing: the worst finding's counterparty, the EIP-7702 delegation
that takes effect, and a prompt that typeahead cannot answer and Ctrl-C / Ctrl-D refuse."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from calldatahelpers import calldata
from nodehelpers import ANVIL_ACCOUNTS, Anvil
from signhelpers import import_account, invoke, run_in_terminal

from copilot.signing.auditlog import AuditLog
from copilot.signing.ledger import SpendLedger

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
PERMIT2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3"
ATTACKER = "0x1111111111111111111111111111111111111a9F"
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
FEES = {"chainId": hex(1), "nonce": "0x0", "gas": hex(300_000), "maxFeePerGas": hex(2 * 10**9), "maxPriorityFeePerGas": "0x1"}


@pytest.fixture
def pw(tmp_path: Path) -> Path:
    return import_account(tmp_path, SENDER_KEY, "me")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_high_risk_question_names_the_worst_findings_counterparty_not_the_first_calls(
    tmp_path: Path, pw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    approvals = [
        (USDC, False, calldata("approve(address,uint256)", PERMIT2, 2**256 - 1)),  # known, low
        (USDC, False, calldata("approve(address,uint256)", ATTACKER, 2**256 - 1)),  # unknown spender, high
    ]
    request = write(tmp_path, "multicall.json", json.dumps({
        "from": SENDER, "to": MULTICALL3, "data": "0x" + calldata("aggregate3((address,bool,bytes)[])", approvals).hex(), **FEES,
    }))
    policy = write(tmp_path, "p.toml", 'name = "p"\ndefault = "allow"\n[verdicts]\ncritical = "confirm"\nhigh = "confirm"\n')
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    args = ["sign", str(request), "--account", "me", "--policy", str(policy), "--no-llm", "--password-file", str(pw)]

    permit2 = invoke(args, input=PERMIT2[-4:] + "\n")

    assert permit2.exit_code == 5 and "not confirmed" in permit2.stderr
    assert f"last 4 hex characters of the spender ({ATTACKER.lower()})" in permit2.stderr.lower()
    attacker = invoke(args, input=ATTACKER[-4:].lower() + "\n")
    assert attacker.exit_code == 0, attacker.output
    assert [e["data"]["target"].lower() for e in AuditLog().entries() if e["event"] == "confirmation"] == [ATTACKER.lower()]


DELEGATE_CODE = "0x60006000f3"


@pytest.mark.anvil
def test_several_eip7702_authorizations_are_all_shown_and_the_one_that_takes_effect_is_asked(
    tmp_path: Path, anvil: Anvil, pw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delegates = [f"0x00000000000000000000000000000000000c0de{i}" for i in range(1, 5)]
    for delegate in delegates:
        anvil.rpc("anvil_setCode", [delegate, DELEGATE_CODE])

    def unsigned(delegate: str, chain_id: int, nonce: int) -> dict[str, str]:
        return {"chainId": hex(chain_id), "address": delegate, "nonce": hex(nonce), "yParity": "0x0", "r": "0x0", "s": "0x0"}

    # The transaction's nonce is 0, so the account's nonce is 1 when the list is processed:
    # [0] nonce 1 counts (-> 2), [1] nonce 2 counts (-> 3) and replaces it, [2] nonce 9 is skipped,
    # [3] is for another chain. The account ends up delegated to delegates[1].
    authorizations = [unsigned(delegates[0], 31337, 1), unsigned(delegates[1], 0, 2), unsigned(delegates[2], 31337, 9), unsigned(delegates[3], 5, 3)]
    request = write(tmp_path, "7702.json", json.dumps({"from": SENDER, "to": SENDER, "value": "0x0", "gas": hex(200_000), "authorizationList": authorizations}))
    policy = write(tmp_path, "p.toml", 'name = "p"\ndefault = "allow"\n[verdicts]\ncritical = "confirm"\nhigh = "allow"\nmedium = "allow"\n')
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    args = ["sign", str(request), "--account", "me", "--policy", str(policy), "--rpc", anvil.url, "--no-llm", "--password-file", str(pw), "--broadcast", "--json"]

    first = invoke(args, input=delegates[0][-4:] + "\n")

    assert first.exit_code == 5, first.output
    assert f"delegate in authorization[1], the one that takes effect ({delegates[1]})" in first.stderr.lower()
    shown = [line.strip() for line in first.stderr.splitlines() if line.strip().startswith("authorization[")]
    assert [line.split(":")[0] for line in shown] == [f"authorization[{i}]" for i in range(4)]
    assert "replaced by authorization[1]" in shown[0] and shown[1].endswith("TAKES EFFECT")
    assert "nonce 9, but the account's will be 3" in shown[2] and "for chain 5" in shown[3]

    signed = invoke(args, input=delegates[1][-4:] + "\n")

    assert signed.exit_code == 0, signed.output
    assert json.loads(signed.stdout)["broadcast"]["status"] == "success"
    assert anvil.rpc("eth_getCode", [SENDER, "latest"]) == "0xef0100" + delegates[1][2:].lower()  # the node agrees


# --------------------------------------------------------------------------- through a real terminal

CONFIRM_ALL = 'name = "confirm-all"\ndefault = "confirm"\n'


def terminal_sign(tmp_path: Path, home: Path, pw: Path, answer: bytes, typeahead: bytes = b"") -> tuple[int, str]:
    """`sign` of a confirm request on a real terminal: TYPEAHEAD at once, ANSWER to the question."""
    request = write(tmp_path, "tx.json", json.dumps({"from": SENDER, "to": ANVIL_ACCOUNTS[1][0], "value": "0x1", **FEES}))
    policy = write(tmp_path, "confirm-all.toml", CONFIRM_ALL)
    args = ["sign", str(request), "--account", "me", "--policy", str(policy), "--no-llm", "--password-file", str(pw)]
    env = {**os.environ, "TXCOPILOT_HOME": str(home), "NO_COLOR": "1", "TERM": "dumb"}
    status, shown = run_in_terminal(args, env, [("Type y to sign: ", answer)], typeahead=typeahead)
    return status, shown.decode("utf-8", "replace")


def test_typeahead_cannot_answer_the_confirmation(tmp_path: Path, isolated_home: Path, pw: Path) -> None:
    status, output = terminal_sign(tmp_path, isolated_home, pw, b"n\n", typeahead=b"y\n")

    assert status == 5, output
    assert "not confirmed; nothing was signed" in output
    assert SpendLedger().reservations() == []


@pytest.mark.parametrize(
    ("key", "status", "said"),
    [(b"\x03", 130, "interrupted at the prompt (Ctrl-C)"), (b"\x04", 5, "no answer (end of input, Ctrl-D)")],
    ids=["ctrl-c", "ctrl-d"],
)
def test_ctrl_c_or_ctrl_d_at_the_confirmation_is_a_logged_refusal(
    tmp_path: Path, isolated_home: Path, pw: Path, key: bytes, status: int, said: str
) -> None:
    exit_status, output = terminal_sign(tmp_path, isolated_home, pw, key)

    assert exit_status == status, output
    assert f"error: {said}; nothing was signed" in output and "internal error" not in output
    refusal = AuditLog().entries()[-1]
    assert refusal["event"] == "refusal" and said in refusal["data"]["reason"]
    assert SpendLedger().reservations() == []
