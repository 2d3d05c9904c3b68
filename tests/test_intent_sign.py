"""`sign --intent` and the policy's `[intent] required = true`: no node needed (the request is complete)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import import_account, invoke

from copilot.risk.corpus import corpus_dir
from copilot.signing.auditlog import AuditLog

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
DEAD = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[list[str], Path]:
    """sign args for a complete 0.01 ETH transfer under a policy with [intent] required = true."""
    pw = import_account(tmp_path, SENDER_KEY, "me")
    tx = {"from": SENDER, "to": DEAD, "value": hex(10**16), "nonce": "0x0", "gas": "0x5208",
          "maxFeePerGas": hex(30 * 10**9), "maxPriorityFeePerGas": hex(10**9), "chainId": "0x1"}  # fmt: skip
    request = tmp_path / "tx.json"
    request.write_text(json.dumps({"method": "eth_sendTransaction", "params": [tx]}), encoding="utf-8")
    policy = tmp_path / "strict.toml"
    policy.write_text('name = "strict"\ndefault = "allow"\n[intent]\nrequired = true\n', encoding="utf-8")
    args = ["sign", str(request), "--account", "me", "--no-llm", "--password-file", str(pw), "--json"]
    return args, policy


def test_required_intent_refuses_without_one_and_logs_why(setup: tuple[list[str], Path]) -> None:
    args, policy = setup
    result = invoke([*args, "--policy", str(policy)])
    assert result.exit_code == 5
    assert result.stderr.strip().splitlines()[-1].startswith("error: the policy (strict) requires --intent; nothing was signed")
    assert [e["event"] for e in AuditLog().entries()] == ["review", "refusal"]


def test_matching_intent_signs_and_the_log_keeps_its_parsed_form(setup: tuple[list[str], Path]) -> None:
    args, policy = setup
    result = invoke([*args, "--policy", str(policy), "--intent", f"send 0.01 ETH to {DEAD}"])
    assert result.exit_code == 0, result.stderr
    assert "signature" in json.loads(result.stdout)
    assert f"read as: send 0.01 ETH to {DEAD}" in result.stderr and "outcome: match" in result.stderr
    review = next(e["data"] for e in AuditLog().entries() if e["event"] == "review")
    intent = review["intent"]
    assert intent["text"] == f"send 0.01 ETH to {DEAD}" and intent["outcome"] == "match"
    assert intent["parsed"]["amount"] == "0.01" and intent["parsed"]["asset"]["address"] == "native"
    assert "intent.match" in review["findings"]


def test_an_amount_mismatch_is_refused_under_the_required_policy(setup: tuple[list[str], Path]) -> None:
    args, policy = setup
    result = invoke([*args, "--policy", str(policy), "--intent", f"send 0.02 ETH to {DEAD}"])
    assert result.exit_code == 5 and "requires a matching --intent, and this one is mismatch" in result.stderr
    assert "signature" not in [e["event"] for e in AuditLog().entries()]


def test_a_recipient_mismatch_blocks_even_without_the_policy_option(setup: tuple[list[str], Path]) -> None:
    args, _ = setup
    other = "0x000000000000000000000000000000000000bEEF"
    result = invoke([*args, "--intent", f"send 0.01 ETH to {other}"])
    assert result.exit_code == 5 and "blocked by finding:intent.mismatch" in result.stderr


def test_a_misspelt_intent_option_in_a_policy_is_a_config_error(tmp_path: Path) -> None:
    policy = tmp_path / "typo.toml"
    policy.write_text('name = "typo"\n[intent]\nrequierd = true\n', encoding="utf-8")
    result = invoke(["review", str(corpus_dir() / "benign-usdc-transfer.json"), "--no-llm", "--no-log", "--policy", str(policy)])
    assert result.exit_code == 3 and "requierd" in result.output
