"""`txcopilot sign` against a real anvil node: the verdict, the human and the limits decide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nodehelpers import ANVIL_ACCOUNTS, Anvil
from signhelpers import import_account, invoke

from copilot.signing import signer
from copilot.signing.auditlog import AuditLog
from copilot.signing.ledger import SpendLedger
from copilot.state.history import known_addresses

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
ETH = 10**18


def write_policy(directory: Path, body: str, name: str = "test") -> Path:
    path = directory / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndefault = "allow"\n' + body, encoding="utf-8")
    return path


LIMITS = """
[limits]
action = "block"
[limits.assets.ETH]
daily = 1.5
"""


def transfer(value: int, to: str = RECIPIENT) -> str:
    return json.dumps({"method": "eth_sendTransaction", "params": [{"from": SENDER, "to": to, "value": hex(value)}]})


def personal_sign_request(directory: Path, text: bytes) -> Path:
    path = directory / "message.json"
    path.write_text(json.dumps({"method": "personal_sign", "params": ["0x" + text.hex(), SENDER]}))
    return path


def sign_args(tmp_path: Path, anvil: Anvil, request: str, policy: Path, pw: Path, *extra: str) -> list[str]:
    path = tmp_path / "request.json"
    path.write_text(request, encoding="utf-8")
    return ["sign", str(path), "--account", "me", "--policy", str(policy), "--rpc", anvil.url, "--no-llm", "--password-file", str(pw), *extra]


def balance(anvil: Anvil, address: str) -> int:
    return int(str(anvil.rpc("eth_getBalance", [address, "latest"])), 16)


def nonce(anvil: Anvil, address: str) -> int:
    return int(str(anvil.rpc("eth_getTransactionCount", [address, "latest"])), 16)


def events() -> list[str]:
    return [e["event"] for e in AuditLog().entries()]


@pytest.fixture
def pw(tmp_path: Path) -> Path:
    return import_account(tmp_path, SENDER_KEY, "me")


@pytest.mark.anvil
def test_sign_and_broadcast_a_transfer_within_the_limits(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    policy = write_policy(tmp_path, LIMITS)
    before = balance(anvil, RECIPIENT)

    result = invoke(sign_args(tmp_path, anvil, transfer(ETH), policy, pw, "--broadcast", "--json"))

    assert result.exit_code == 0, result.output
    signed = json.loads(result.stdout)
    assert signed["broadcast"]["status"] == "success"
    assert balance(anvil, RECIPIENT) - before == ETH
    assert nonce(anvil, SENDER) == 1
    receipt: Any = anvil.rpc("eth_getTransactionReceipt", [signed["transaction_hash"]])
    assert receipt["from"].lower() == SENDER.lower()
    [row] = SpendLedger().reservations()
    assert (row.state, row.amounts["ETH"], row.result) == ("signed", ETH, signed["transaction_hash"])
    assert set(row.amounts) <= {"ETH", "USD"}  # USD: micro-dollars, when ETH has a (bundled) price
    assert row.payload_hash == signed["payload_hash"]
    assert events() == ["review", "signature", "broadcast"]
    assert AuditLog().verify().ok


@pytest.mark.anvil
def test_over_the_daily_limit_is_refused_and_nothing_is_sent(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    policy = write_policy(tmp_path, LIMITS)
    first = invoke(sign_args(tmp_path, anvil, transfer(ETH), policy, pw, "--broadcast"))
    assert first.exit_code == 0, first.output
    before = balance(anvil, RECIPIENT)

    second = invoke(sign_args(tmp_path, anvil, transfer(ETH), policy, pw, "--broadcast"))

    assert second.exit_code == 5
    assert "over the limit" in second.stderr and "daily limit of 1.5 ETH" in second.stderr
    assert second.stdout == ""
    assert balance(anvil, RECIPIENT) == before and nonce(anvil, SENDER) == 1
    assert [r.state for r in SpendLedger().reservations()] == ["signed"]
    assert events()[-1] == "refusal"


@pytest.mark.anvil
def test_a_blocked_request_is_never_signed(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    policy = write_policy(tmp_path, f'[deny]\naddresses = ["{RECIPIENT}"]\n')

    result = invoke(sign_args(tmp_path, anvil, transfer(1), policy, pw, "--broadcast"))

    assert result.exit_code == 5
    assert "blocked by" in result.stderr and "only editing the policy" in result.stderr
    assert result.stdout == ""
    assert SpendLedger().reservations() == []
    assert nonce(anvil, SENDER) == 0
    assert events() == ["review", "refusal"]
    assert known_addresses() == frozenset()  # a refusal teaches the history nothing


@pytest.mark.anvil
def test_a_signed_recipient_is_known_to_later_offline_reviews(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    request = tmp_path / "again.json"
    request.write_text(transfer(1))

    def first_interactions() -> list[str]:
        result = invoke(["review", str(request), "--no-llm", "--json", "--offline"])
        assert result.exit_code == 0, result.output
        return [f["evidence"] for f in json.loads(result.stdout)["findings"] if f["id"] == "address.first_interaction"]

    assert any(RECIPIENT in evidence for evidence in first_interactions())
    assert invoke(sign_args(tmp_path, anvil, transfer(1), write_policy(tmp_path, ""), pw)).exit_code == 0

    assert known_addresses() == {RECIPIENT}
    assert first_interactions() == []


@pytest.mark.anvil
def test_a_transaction_the_node_says_would_revert_is_one_clear_line(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    reverting_deploy = json.dumps({"from": SENDER, "value": "0x0", "data": "0x60006000fd"})  # init code: REVERT(0, 0)

    result = invoke(sign_args(tmp_path, anvil, reverting_deploy, write_policy(tmp_path, ""), pw))

    assert result.exit_code == 2, result.output
    assert "would fail" in result.stderr and "internal error" not in result.stderr
    assert result.stdout == "" and events() == [] and SpendLedger().reservations() == []


@pytest.mark.anvil
def test_a_broadcast_the_node_rejects_still_outputs_the_recorded_signature(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    too_much = json.dumps({"from": SENDER, "to": RECIPIENT, "value": hex(10**6 * ETH), "gas": hex(21_000)})  # more than the balance

    result = invoke(sign_args(tmp_path, anvil, too_much, write_policy(tmp_path, ""), pw, "--broadcast", "--json"))

    assert result.exit_code == 4 and "signed, but not sent" in result.stderr
    signed = json.loads(result.stdout)  # still the --json contract: scripts can send it later
    assert signed["raw_transaction"].startswith("0x02") and signed["broadcast"] is None
    assert events() == ["review", "signature", "broadcast"] and "error" in AuditLog().entries()[-1]["data"]
    assert [r.state for r in SpendLedger().reservations()] == ["signed"]


@pytest.mark.anvil
def test_broadcast_text_output_is_the_raw_transaction_and_a_receipt_line(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    result = invoke(sign_args(tmp_path, anvil, transfer(1), write_policy(tmp_path, ""), pw, "--broadcast"))

    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert raw.startswith("0x02") and "\n" not in raw
    tx_hash: Any = anvil.rpc("eth_getBlockByNumber", ["latest", False])
    assert f"waiting up to 120 s for the receipt of {tx_hash['transactions'][0]}" in result.stderr
    assert f"sent {tx_hash['transactions'][0]}: success in block 1, gas used 21000" in result.stderr


def test_a_wrong_password_after_the_review_is_logged_and_signs_nothing(tmp_path: Path, pw: Path) -> None:
    path = personal_sign_request(tmp_path, b"hi")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n")

    result = invoke(["sign", str(path), "--account", "me", "--no-llm", "--password-file", str(wrong)])

    assert result.exit_code == 4 and "wrong password" in result.stderr and result.stdout == ""
    assert events() == ["review", "refusal"] and "wrong password" in AuditLog().entries()[-1]["data"]["reason"]
    assert [r.state for r in SpendLedger().reservations()] == ["aborted"]
    assert invoke(["log", "verify"]).exit_code == 0


def test_broadcast_of_a_message_signature_is_bad_input(tmp_path: Path, pw: Path) -> None:
    path = personal_sign_request(tmp_path, b"hi")

    result = invoke(["sign", str(path), "--account", "me", "--no-llm", "--password-file", str(pw), "--broadcast", "--rpc", "http://127.0.0.1:9"])

    assert result.exit_code == 2 and "--broadcast sends transactions" in result.stderr and result.stdout == ""


@pytest.mark.anvil
def test_a_confirm_request_without_typed_confirmation_is_never_signed(tmp_path: Path, anvil: Anvil, pw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = write_policy(tmp_path, "").with_name("confirm-all.toml")
    policy.write_text('name = "confirm-all"\ndefault = "confirm"\n')

    no_terminal = invoke(sign_args(tmp_path, anvil, transfer(1), policy, pw))
    assert no_terminal.exit_code == 5 and "typed confirmation" in no_terminal.stderr and no_terminal.stdout == ""

    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    declined = invoke(sign_args(tmp_path, anvil, transfer(1), policy, pw), input="n\n")
    assert declined.exit_code == 5 and "not confirmed" in declined.stderr and declined.stdout == ""
    assert SpendLedger().reservations() == []

    accepted = invoke(sign_args(tmp_path, anvil, transfer(1), policy, pw), input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout.strip().startswith("0x02")
    assert events() == ["review", "refusal", "review", "refusal", "review", "confirmation", "signature"]


@pytest.mark.anvil
def test_high_risk_needs_the_last_four_hex_of_the_spender_not_a_reflexive_y(tmp_path: Path, anvil: Anvil, pw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    token, spender = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "0x1111111111111111111111111111111111111a9F"
    data = "0x095ea7b3" + spender[2:].lower().rjust(64, "0") + "f" * 64  # approve(spender, unlimited)
    request = json.dumps({"from": SENDER, "to": token, "data": data, "chainId": hex(31337), "nonce": "0x0", "gas": "0x10000", "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x1"})
    policy = write_policy(tmp_path, '[verdicts]\ncritical = "confirm"\n')  # unlimited approval to an EOA: confirm, not block

    reflexive = invoke(sign_args(tmp_path, anvil, request, policy, pw), input="y\n")
    assert reflexive.exit_code == 5, reflexive.output
    assert "last 4 hex characters of the spender" in reflexive.stderr and reflexive.stdout == ""

    typed = invoke(sign_args(tmp_path, anvil, request, policy, pw), input="1a9f\n")
    assert typed.exit_code == 0, typed.output
    assert typed.stdout.strip().startswith("0x02")


@pytest.mark.anvil
def test_a_payload_mutated_between_review_and_signing_is_refused(tmp_path: Path, anvil: Anvil, pw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def swap_recipient(stage: str, job: signer.SignJob) -> None:
        if stage == "before-sign":
            assert job.request.transaction is not None
            job.request.transaction["to"] = ANVIL_ACCOUNTS[1][0]

    monkeypatch.setattr(signer, "CHECKPOINT", swap_recipient)

    result = invoke(sign_args(tmp_path, anvil, transfer(1), write_policy(tmp_path, ""), pw, "--broadcast"))

    assert result.exit_code == 5
    assert "changed between review and signing" in result.stderr
    assert result.stdout == ""
    assert [r.state for r in SpendLedger().reservations()] == ["aborted"]
    assert nonce(anvil, SENDER) == 0
    assert events() == ["review", "refusal"]


def test_eth_sign_of_a_raw_hash_is_refused(tmp_path: Path, pw: Path) -> None:
    request = json.dumps({"method": "eth_sign", "params": [SENDER, "0x" + "ab" * 32]})
    path = tmp_path / "hash.json"
    path.write_text(request)

    result = invoke(["sign", str(path), "--account", "me", "--no-llm", "--password-file", str(pw)])

    assert result.exit_code == 5 and "eth_sign of a raw hash is refused" in result.stderr
    assert SpendLedger().reservations() == []


def test_personal_sign_and_typed_data_signatures_recover_to_the_account(tmp_path: Path, pw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eth_account import Account
    from eth_account.messages import encode_defunct, encode_typed_data

    message = personal_sign_request(tmp_path, b"hello txcopilot")
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            "Mail": [{"name": "contents", "type": "string"}],
        },
        "primaryType": "Mail",
        "domain": {"name": "Mailbox", "chainId": 31337},
        "message": {"contents": "hi"},
    }
    typed_path = tmp_path / "typed.json"
    typed_path.write_text(json.dumps({"method": "eth_signTypedData_v4", "params": [SENDER, typed]}))

    signed_message = invoke(["sign", str(message), "--account", "me", "--no-llm", "--password-file", str(pw), "--json"])
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)  # Mail on no contract: typed.blind asks
    signed_typed = invoke(["sign", str(typed_path), "--account", "me", "--no-llm", "--password-file", str(pw), "--json"], input="y\n")

    assert signed_message.exit_code == 0, signed_message.output
    assert signed_typed.exit_code == 0, signed_typed.output
    signature = json.loads(signed_message.stdout)["signature"]
    assert Account.recover_message(encode_defunct(b"hello txcopilot"), signature=signature) == SENDER
    typed_signature = json.loads(signed_typed.stdout)["signature"]
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=typed_signature) == SENDER


@pytest.mark.anvil
@pytest.mark.parametrize(("fields", "tx_type"), [({"gasPrice": hex(2 * 10**9)}, 0), ({"gasPrice": hex(2 * 10**9), "accessList": []}, 1)])
def test_legacy_and_access_list_transactions_are_filled_signed_and_mined(
    tmp_path: Path, anvil: Anvil, pw: Path, fields: dict[str, Any], tx_type: int
) -> None:
    request = json.dumps({"from": SENDER, "to": RECIPIENT, "value": hex(5), **fields})

    result = invoke(sign_args(tmp_path, anvil, request, write_policy(tmp_path, ""), pw, "--broadcast", "--json"))

    assert result.exit_code == 0, result.output
    signed = json.loads(result.stdout)
    mined: Any = anvil.rpc("eth_getTransactionByHash", [signed["transaction_hash"]])
    assert int(mined["type"], 16) == tx_type and int(mined["chainId"], 16) == 31337
    assert signed["broadcast"]["status"] == "success"


DELEGATE_CODE = "0x60006000f3"  # any code will do: anvil_setCode puts it at the delegate


@pytest.mark.anvil
def test_an_eip7702_authorization_is_signed_only_after_typing_the_delegate(tmp_path: Path, anvil: Anvil, pw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    delegate = "0x00000000000000000000000000000000000c0de7"
    anvil.rpc("anvil_setCode", [delegate, DELEGATE_CODE])
    unsigned_auth = {"chainId": hex(31337), "address": delegate, "nonce": "0x1", "yParity": "0x0", "r": "0x0", "s": "0x0"}
    request = json.dumps({"from": SENDER, "to": SENDER, "value": "0x0", "gas": hex(100_000), "authorizationList": [unsigned_auth]})
    policy = write_policy(tmp_path, '[verdicts]\ncritical = "confirm"\nhigh = "allow"\nmedium = "allow"\n')

    no_terminal = invoke(sign_args(tmp_path, anvil, request, policy, pw, "--broadcast"))
    assert no_terminal.exit_code == 5 and "EIP-7702 delegation" in no_terminal.stderr
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    reflexive = invoke(sign_args(tmp_path, anvil, request, policy, pw, "--broadcast"), input="y\n")
    assert reflexive.exit_code == 5 and "last 4 hex characters of the delegate" in reflexive.stderr
    assert anvil.rpc("eth_getCode", [SENDER, "latest"]) == "0x"

    typed = invoke(sign_args(tmp_path, anvil, request, policy, pw, "--broadcast", "--json"), input="c0de7"[-4:] + "\n")

    assert typed.exit_code == 0, typed.output
    signed = json.loads(typed.stdout)
    assert signed["authorizations"][0]["address"] == delegate and signed["broadcast"]["status"] == "success"
    assert anvil.rpc("eth_getCode", [SENDER, "latest"]) == "0xef0100" + delegate[2:].lower()


@pytest.mark.anvil
def test_a_confirm_limit_asks_the_human_once_the_day_is_over_it(tmp_path: Path, anvil: Anvil, pw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = write_policy(tmp_path, LIMITS.replace('action = "block"', 'action = "confirm"'))
    assert invoke(sign_args(tmp_path, anvil, transfer(ETH), policy, pw, "--broadcast")).exit_code == 0

    unattended = invoke(sign_args(tmp_path, anvil, transfer(ETH), policy, pw, "--broadcast"))
    assert unattended.exit_code == 5 and "daily limit of 1.5 ETH" in " ".join(unattended.stderr.split())
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    confirmed = invoke(sign_args(tmp_path, anvil, transfer(ETH), policy, pw, "--broadcast", "--json"), input="y\n")

    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(confirmed.stdout)["broadcast"]["status"] == "success"
    assert SpendLedger().spent(SENDER)["ETH"] == 2 * ETH


@pytest.mark.anvil
def test_an_unsigned_raw_transaction_is_signed_as_it_is(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    import rlp

    fields = [31337, 0, 10**9, 2 * 10**9, 21000, bytes.fromhex(RECIPIENT[2:]), 7, b"", []]
    unsigned = "0x02" + rlp.encode(fields).hex()

    result = invoke(sign_args(tmp_path, anvil, unsigned, write_policy(tmp_path, ""), pw, "--broadcast", "--json"))

    assert result.exit_code == 0, result.output
    signed = json.loads(result.stdout)
    mined: Any = anvil.rpc("eth_getTransactionByHash", [signed["transaction_hash"]])
    assert (int(mined["value"], 16), int(mined["gas"], 16), mined["to"].lower()) == (7, 21000, RECIPIENT.lower())
    assert signed["signing_hash"] == signed["payload_hash"]  # the reviewed payload is the signed one


def test_an_already_signed_transaction_is_not_signed_again(tmp_path: Path, pw: Path) -> None:
    from eth_account import Account

    tx = {"type": 2, "chainId": 1, "nonce": 0, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1, "gas": 21000, "to": RECIPIENT, "value": 1}
    raw = "0x" + bytes(Account.sign_transaction(tx, ANVIL_ACCOUNTS[1][1]).raw_transaction).hex()
    path = tmp_path / "signed.txt"
    path.write_text(raw)

    result = invoke(["sign", str(path), "--account", "me", "--no-llm", "--password-file", str(pw)])

    assert result.exit_code == 2 and "already signed" in result.stderr


BINARY_PASSWORD = b"\xff\xfe\x00not utf-8 \xc3"  # passwords are bytes: geth and cast take any


def test_a_binary_password_file_unlocks_a_key_with_that_password(tmp_path: Path) -> None:
    from signhelpers import light_keystore, password_file

    binary = password_file(tmp_path, BINARY_PASSWORD, name="binary.bin")
    imported = invoke(["keys", "import", str(light_keystore(tmp_path, SENDER_KEY, BINARY_PASSWORD)), "--name", "me", "--password-file", str(binary)])
    assert imported.exit_code == 0, imported.output

    result = invoke(["sign", str(personal_sign_request(tmp_path, b"hi")), "--account", "me", "--no-llm", "--password-file", str(binary), "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["signature"].startswith("0x")
    assert events() == ["review", "signature"]


def test_a_wrong_binary_password_file_is_one_line_and_the_refusal_is_logged(tmp_path: Path, pw: Path) -> None:
    from signhelpers import password_file

    binary = password_file(tmp_path, BINARY_PASSWORD, name="binary.bin")

    result = invoke(["sign", str(personal_sign_request(tmp_path, b"hi")), "--account", "me", "--no-llm", "--password-file", str(binary)])

    assert result.exit_code == 4 and "wrong password" in result.stderr, result.output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # after the review: one line
    assert "internal error" not in error and error == result.stderr.splitlines()[-1]
    assert events() == ["review", "refusal"] and "wrong password" in AuditLog().entries()[-1]["data"]["reason"]
    assert [r.state for r in SpendLedger().reservations()] == ["aborted"]


def test_a_password_file_that_fails_to_read_is_one_line_and_the_refusal_is_logged(tmp_path: Path, pw: Path) -> None:
    unreadable = Path("/proc/self/mem")  # a file that exists but whose read fails (EIO), even for root
    if not unreadable.is_file():
        pytest.skip("needs Linux /proc")

    result = invoke(["sign", str(personal_sign_request(tmp_path, b"hi")), "--account", "me", "--no-llm", "--password-file", str(unreadable)])

    assert result.exit_code == 2 and "cannot read the password file" in result.stderr, result.output
    assert events() == ["review", "refusal"] and SpendLedger().reservations() == []


def transfer_with_nonce(value: int, nonce_value: int) -> str:
    return json.dumps({"from": SENDER, "to": RECIPIENT, "value": hex(value), "nonce": hex(nonce_value)})


@pytest.mark.anvil
def test_broadcast_of_a_future_nonce_is_refused_before_signing_and_nothing_is_sent(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    result = invoke(sign_args(tmp_path, anvil, transfer_with_nonce(1, 5), write_policy(tmp_path, ""), pw, "--broadcast"))

    assert result.exit_code == 5, result.output
    assert "nonce 5 leaves a gap" in result.stderr and "next nonce is 0" in result.stderr
    assert result.stdout == "" and SpendLedger().reservations() == []
    assert anvil.rpc("txpool_status", []) == {"pending": "0x0", "queued": "0x0"} and nonce(anvil, SENDER) == 0
    assert events() == ["review", "refusal"]


@pytest.mark.anvil
def test_broadcast_of_a_used_nonce_is_refused_and_nothing_is_sent(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    policy = write_policy(tmp_path, "")
    assert invoke(sign_args(tmp_path, anvil, transfer(1), policy, pw, "--broadcast")).exit_code == 0

    replay = invoke(sign_args(tmp_path, anvil, transfer_with_nonce(1, 0), policy, pw, "--broadcast"))

    assert replay.exit_code == 5, replay.output
    assert "nonce 0 is already used" in replay.stderr and replay.stdout == ""
    assert nonce(anvil, SENDER) == 1 and [r.state for r in SpendLedger().reservations()] == ["signed"]


@pytest.mark.anvil
def test_a_receipt_timeout_says_the_transaction_was_sent_but_not_yet_mined(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    anvil.rpc("evm_setAutomine", [False])

    result = invoke(sign_args(tmp_path, anvil, transfer(1), write_policy(tmp_path, ""), pw, "--broadcast", "--receipt-timeout", "1", "--json"))

    assert result.exit_code == 4, result.output
    signed = json.loads(result.stdout)  # the recorded signature is still output
    tx_hash = signed["transaction_hash"]
    assert f"waiting up to 1 s for the receipt of {tx_hash}" in result.stderr
    assert f"sent {tx_hash}, but it is not yet mined after 1 s" in result.stderr
    assert signed["broadcast"] == {"transaction_hash": tx_hash, "status": "pending"}
    assert AuditLog().entries()[-1]["data"]["status"] == "pending"
    anvil.rpc("evm_mine", [])
    receipt: Any = anvil.rpc("eth_getTransactionReceipt", [tx_hash])
    assert receipt["status"] == "0x1"  # it was sent: the node mined it afterwards


@pytest.mark.anvil
def test_default_policy_asks_before_a_large_transfer_to_a_new_address(tmp_path: Path, anvil: Anvil, pw: Path) -> None:
    path = tmp_path / "large.json"
    path.write_text(transfer(5 * ETH, to="0x00000000000000000000000000000000000b0b05"))
    before = balance(anvil, SENDER)

    result = invoke(["sign", str(path), "--account", "me", "--rpc", anvil.url, "--no-llm", "--password-file", str(pw), "--broadcast"])

    assert result.exit_code == 5, result.output
    assert "CONFIRM" in result.stderr and "typed confirmation" in result.stderr and result.stdout == ""
    assert balance(anvil, SENDER) == before and nonce(anvil, SENDER) == 0
    assert SpendLedger().reservations() == [] and events() == ["review", "refusal"]
