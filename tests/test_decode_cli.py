"""`txcopilot decode`: the readable view, the --json schema, input sources and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account

from copilot.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
DELEGATE = "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B"
SENDER = Account.from_key("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
AUTHORITY = Account.from_key("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
APPROVE_UNLIMITED = "0x095ea7b3" + "00" * 12 + "11" * 20 + "ff" * 32


def _set_code_tx(auth_chain: int) -> str:
    auth = AUTHORITY.sign_authorization({"chainId": auth_chain, "address": DELEGATE, "nonce": 1})
    tx = {
        "nonce": 7,
        "gas": 90_000,
        "to": USDC,
        "value": 0,
        "data": APPROVE_UNLIMITED,
        "chainId": 1,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
        "type": 4,
        "authorizationList": [auth],
    }
    return "0x" + bytes(SENDER.sign_transaction(tx).raw_transaction).hex()


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_json_schema_of_a_raw_set_code_transaction() -> None:
    raw = _set_code_tx(auth_chain=0)
    result = run("decode", raw, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {
        "request",
        "transaction",
        "call",
        "calls",
        "typed_data",
        "message",
        "warnings",
        "payload_hash",
    }
    assert doc["request"]["kind"] == "raw_transaction" and doc["request"]["raw"] == raw
    tx = doc["transaction"]
    assert tx["type"] == 4 and tx["chain_id"] == "1" and tx["sender"] == SENDER.address
    assert tx["max_fee_per_gas"] == "10000000000"  # big ints are decimal strings
    [auth] = tx["authorization_list"]
    assert auth["authority"] == AUTHORITY.address and auth["address"] == DELEGATE and auth["chain_id"] == "0"
    assert doc["payload_hash"] == tx["signing_hash"]
    assert doc["call"]["path"] == "call" and doc["call"]["to"] == USDC
    assert doc["call"]["function"] == "approve(address,uint256)"


def test_readable_view_shows_sender_authority_and_a_loud_chain_zero_note() -> None:
    result = run("decode", _set_code_tx(auth_chain=0))
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert SENDER.address in text and AUTHORITY.address in text and DELEGATE in text
    assert "valid on EVERY chain" in text
    assert "approve" in text and "Payload hash" in text
    assert "\x1b[" not in result.stdout  # no colour codes when piped
    quiet = " ".join(run("decode", _set_code_tx(auth_chain=1)).stdout.split())
    assert "EVERY chain" not in quiet


def test_transaction_object_from_a_file(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_sendTransaction",
                "params": [{"from": SENDER.address, "to": USDC, "data": APPROVE_UNLIMITED, "chainId": "0x1"}],
            }
        )
    )
    doc = json.loads(run("decode", str(request), "--json").stdout)
    assert doc["request"]["method"] == "eth_sendTransaction"
    assert doc["transaction"]["sender"] == SENDER.address and doc["transaction"]["signing_hash"] is None
    assert doc["call"]["function"] == "approve(address,uint256)"
    assert doc["payload_hash"].startswith("0x") and len(doc["payload_hash"]) == 66


def test_typed_data_from_stdin() -> None:
    mail = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            "Mail": [{"name": "contents", "type": "string"}],
        },
        "primaryType": "Mail",
        "domain": {"name": "Ether Mail", "chainId": 1},
        "message": {"contents": "Hello, Bob!"},
    }
    result = run("decode", "-", "--json", stdin=json.dumps(mail))
    doc = json.loads(result.stdout)
    assert doc["typed_data"]["primary_type"] == "Mail"
    assert doc["payload_hash"] == doc["typed_data"]["signing_hash"]
    view = run("decode", "-", stdin=json.dumps(mail)).stdout
    assert "Hello, Bob!" in view and "Signing hash" in view


def test_message_and_hash_views() -> None:
    text = run("decode", '"Sign in to example.org"').stdout
    assert "Sign in to example.org" in text
    raw_hash = run("decode", "0x" + "ab" * 32).stdout
    assert "eth_sign of a raw 32-byte hash" in raw_hash


def test_batch_has_one_call_per_entry() -> None:
    request = {
        "method": "wallet_sendCalls",
        "params": [
            {
                "version": "2.0.0",
                "chainId": "0x1",
                "from": SENDER.address,
                "calls": [{"to": USDC, "data": APPROVE_UNLIMITED}, {"to": SENDER.address, "value": "0x1"}],
            }
        ],
    }
    doc = json.loads(run("decode", json.dumps(request), "--json").stdout)
    assert [call["path"] for call in doc["calls"]] == ["calls[0]", "calls[1]"]
    assert doc["calls"][1]["status"] == "empty" and doc["calls"][1]["value"] == "1"


def test_a_corpus_case_decodes_and_permit2_max_reads_unlimited() -> None:
    result = run("decode", str(ROOT / "fixtures/requests/permit2-single-unlimited-router.json"))
    assert result.exit_code == 0, result.output
    assert "Amount allowance: Unlimited USDC" in result.stdout


def test_request_quantities_above_2_53_survive_json_as_decimal_strings() -> None:
    """A JSON number loses precision past 2^53 in most readers (JavaScript, jq): the amounts a
    wallet was asked to send come back exact, as strings."""
    wei = 2**70 + 1
    request = {
        "method": "wallet_sendCalls",
        "params": [{"chainId": "0x1", "from": SENDER.address, "calls": [{"to": USDC, "value": hex(wei)}]}],
    }
    doc = json.loads(run("decode", json.dumps(request), "--json").stdout)
    assert doc["request"]["calls"][0]["value"] == str(wei)
    single = {"method": "eth_sendTransaction", "params": [{"to": USDC, "value": hex(wei), "nonce": 7}]}
    doc = json.loads(run("decode", json.dumps(single), "--json").stdout)
    assert doc["request"]["transaction"]["value"] == str(wei)
    assert doc["request"]["transaction"]["nonce"] == "7"
    assert doc["transaction"]["value"] == str(wei)


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("nonsense", "neither hex nor JSON"),
        ("0x123", "odd number of hex digits"),
        ("0xf86b80", "malformed RLP"),
        ('{"method":"eth_foo","params":[]}', "unsupported JSON-RPC method 'eth_foo'"),
        ("missing/request.json", "no such file"),
    ],
)
def test_bad_input_exits_2_with_one_line(arg: str, message: str) -> None:
    result = run("decode", arg)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_help_has_examples() -> None:
    result = run("decode", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "personal_sign" in result.stdout


def test_debug_shows_the_traceback_in_a_real_process() -> None:
    plain = subprocess.run(
        [sys.executable, "-m", "copilot", "decode", "0xf86b80"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "copilot", "--debug", "decode", "0xf86b80"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" in debug.stderr and "InputError" in debug.stderr


def test_consensus_warning_and_unrecoverable_sender_are_shown() -> None:
    case = json.loads(
        (ROOT / "fixtures/ethereum-tests/TransactionTests/ttVValue/WrongVRSTestVEqual26.json").read_text()
    )
    result = run("decode", case["WrongVRSTestVEqual26"]["txbytes"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "From unrecoverable" in text
    assert "medium: Signature encodes no chain id (tx.chain_id_missing) v=26" in text


def _chain_id_row(text: str) -> str:
    result = run("decode", text)
    assert result.exit_code == 0, result.output
    return next(line for line in result.output.splitlines() if line.startswith("Chain id"))


def test_chain_id_wording_says_who_fills_it_and_calls_only_pre_155_signatures_replayable() -> None:
    # A typed transaction object without chainId: the chain id goes into what the wallet signs.
    typed = {"to": USDC, "data": APPROVE_UNLIMITED, "maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1"}
    row = _chain_id_row(json.dumps(typed))
    assert "not stated yet; the wallet fills it" in row and "replayable" not in row
    legacy_object = {"to": USDC, "gasPrice": "0x1", "nonce": "0x0", "gas": "0x5208"}
    assert "the wallet fills it" in _chain_id_row(json.dumps(legacy_object))
    # A signed legacy transaction with v=27: really replayable on any chain.
    signed = SENDER.sign_transaction({"nonce": 0, "gas": 21_000, "gasPrice": 1, "to": USDC, "value": 1})
    assert "pre-EIP-155, replayable on any chain" in _chain_id_row("0x" + bytes(signed.raw_transaction).hex())
    assert _chain_id_row(_set_code_tx(auth_chain=1)).split()[-1] == "1"
