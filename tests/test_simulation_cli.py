"""What the user sees of a simulation: the "Balance changes" block in review and sign, the
`simulation` object in --json, the model's facts, and the switches that turn it off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chainhelpers import deploy, encode_call, transact
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import import_account, invoke

from copilot.llm.facts import collect_facts
from copilot.pipeline import ReviewOptions, review_input
from copilot.state.dirs import config_dir

pytestmark = pytest.mark.anvil

USER = ANVIL_ACCOUNTS[1][0]
STRANGER = ANVIL_ACCOUNTS[2][0]


def claim_request(anvil: Any, tmp_path: Path) -> Path:
    """A claimReward() that pulls the user's 1,000 TUSD through an old approval."""
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    transact(anvil, token, "mint(address,uint256)", [USER, 1_000 * 10**6])
    claim = deploy(anvil, "ClaimReward", token, STRANGER)
    transact(anvil, token, "approve(address,uint256)", [claim, 2**256 - 1], sender=USER)
    path = tmp_path / "claim.json"
    path.write_text(json.dumps({"from": USER, "to": claim, "data": encode_call("claimReward()"), "chainId": "0x7a69"}))
    return path


def test_review_shows_balance_changes_and_json_carries_the_simulation(anvil: Any, tmp_path: Path) -> None:
    path = claim_request(anvil, tmp_path)
    shown = invoke(["review", str(path), "--rpc", anvil.url, "--no-llm", "--no-log"])
    assert shown.exit_code == 0, shown.output
    assert f"Balance changes of {USER}" in shown.output
    assert "- 1,000 TUSD (0x" in shown.output  # the symbol the token reported, with its address
    data = json.loads(invoke(["review", str(path), "--rpc", anvil.url, "--no-llm", "--no-log", "--json"]).stdout)
    simulation = data["simulation"]
    assert {"method", "block", "changes", "approvals", "gas_used", "reverted", "error"} <= simulation.keys()
    assert simulation["method"] == "eth_simulateV1" and simulation["reverted"] is False
    assert {"holder": USER, "amount": "-1000000000"}.items() <= simulation["changes"][0].items()


def test_no_simulate_and_the_config_switch_turn_it_off(anvil: Any, tmp_path: Path) -> None:
    path = claim_request(anvil, tmp_path)
    flagged = json.loads(invoke(["review", str(path), "--rpc", anvil.url, "--no-llm", "--no-log", "--json", "--no-simulate"]).stdout)
    assert flagged["simulation"] is None
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "config.toml").write_text("[simulate]\nenabled = false\n")
    configured = json.loads(invoke(["review", str(path), "--rpc", anvil.url, "--no-llm", "--no-log", "--json"]).stdout)
    assert configured["simulation"] is None
    (config_dir() / "config.toml").write_text("[simulate]\ntimeout = 0\n")
    bad = invoke(["review", str(path), "--rpc", anvil.url, "--no-llm", "--no-log"])
    assert bad.exit_code == 3 and "simulate.timeout" in bad.output


def test_the_model_hears_the_simulated_changes_with_token_text_fenced(anvil: Any, tmp_path: Path) -> None:
    path = claim_request(anvil, tmp_path)
    review = review_input(path.read_text(), ReviewOptions(rpc=anvil.url, use_llm=False))
    facts = collect_facts(review)
    line = next(line for line in facts.lines if line.startswith("- simulated: your account sends"))
    assert "1,000 TUSD" in line
    assert any(u.where == "token symbol from the simulation" for u in facts.untrusted)


def test_sign_simulates_with_validation_and_shows_the_changes(anvil: Any, tmp_path: Path) -> None:
    from copilot.inputs import parse_request
    from copilot.pipeline import review_request
    from copilot.signing.fill import fill_transaction

    sender, key = ANVIL_ACCOUNTS[0]
    pw = import_account(tmp_path, key, "me")
    request = json.dumps({"method": "eth_sendTransaction",
                          "params": [{"from": sender, "to": "0x000000000000000000000000000000000000dEaD", "value": hex(10**17)}]})
    path = tmp_path / "send.json"
    path.write_text(request)
    result = invoke(["sign", str(path), "--account", "me", "--rpc", anvil.url, "--no-llm", "--password-file", str(pw), "--json"])
    assert result.exit_code == 0, result.output
    assert f"Balance changes of {sender}" in result.stderr
    assert "- 0.1000" in result.stderr  # 0.1 ETH and the gas a validated block charges
    filled = fill_transaction(parse_request(request), anvil.url, sender)
    review = review_request(filled, ReviewOptions(rpc=anvil.url, user=sender, use_llm=False))
    assert review.simulation is not None and review.simulation.validated


def test_doctor_says_whether_the_node_or_a_fork_can_simulate(anvil: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from simhelpers import proxy

    from copilot.llm import doctor
    from copilot.simulation import fork

    checks = {c.name: c for c in doctor.check_simulation(anvil.url)}
    assert checks["simulation fork"].ok and checks["node simulation"].detail == "eth_simulateV1 available"
    with proxy(anvil.url, refuse=frozenset({"eth_simulateV1"})) as url:
        assert "anvil fork" in {c.name: c for c in doctor.check_simulation(url)}["node simulation"].detail
        monkeypatch.setattr(fork, "anvil_path", lambda: None)
        checks = {c.name: c for c in doctor.check_simulation(url)}
    assert not checks["simulation fork"].ok and not checks["node simulation"].ok
    assert "not simulated" in checks["node simulation"].detail and not checks["node simulation"].required
