"""Address poisoning without a prepared history: the user's real counterparties come from their own
node (anvil), and a poisoning fixture is made of real transfers: the user pays a friend, a poisoner
plants a zero-value transferFrom and dust from a look-alike of the friend, then the user is about to
pay the look-alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chainhelpers import deploy, encode_call, transact
from click.testing import CliRunner
from simhelpers import proxy

from copilot.cli.main import cli
from copilot.state.dirs import cache_dir

pytestmark = pytest.mark.anvil
TUSD = 10**6


def lookalike(address: str, middle: str) -> str:
    """Same first and last three hex digits as `address` (what a wallet shows), another middle."""
    return "0x" + address[2:5].lower() + middle * (34 // len(middle)) + address[-3:].lower()


def poisoned(anvil: Any) -> tuple[str, str, str, str]:
    """(user, friend, token, look-alike): the user paid the friend; the look-alike planted transfers."""
    user, friend, poisoner = anvil.accounts[1][0], anvil.accounts[2][0], anvil.accounts[0][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    transact(anvil, token, "mint(address,uint256)", [user, 1_000 * TUSD])
    transact(anvil, token, "transfer(address,uint256)", [friend, 100 * TUSD], sender=user)  # the real payment
    fake = lookalike(friend, "ab")
    # the calling cards: a zero-value transferFrom "from" the user to the look-alike, sent by anyone
    transact(anvil, token, "transferFrom(address,address,uint256)", [user, fake, 0], sender=poisoner)
    # and dust from the look-alike itself
    anvil.rpc("anvil_impersonateAccount", [fake])
    anvil.rpc("anvil_setBalance", [fake, hex(10**18)])
    transact(anvil, token, "mint(address,uint256)", [fake, 1])
    transact(anvil, token, "transfer(address,uint256)", [user, 1], sender=fake)
    return user, friend, token, fake


def review(anvil: Any, tmp_path: Path, user: str, token: str, to: str, amount: int) -> dict[str, Any]:
    data = encode_call("transfer(address,uint256)", [to, amount])
    request = {"method": "eth_sendTransaction", "params": [{"from": user, "to": token, "value": "0x0", "data": data, "chainId": hex(31337)}]}
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = CliRunner().invoke(cli, ["review", str(path), "--rpc", anvil.url, "--no-llm", "--json"])
    assert result.exit_code == 0, result.output
    reviewed: dict[str, Any] = json.loads(result.stdout)
    return reviewed


def findings(reviewed: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["evidence"] for f in reviewed["findings"]}


def test_a_payment_to_a_lookalike_that_planted_transfers_blocks(anvil: Any, tmp_path: Path) -> None:
    user, friend, token, fake = poisoned(anvil)
    reviewed = review(anvil, tmp_path, user, token, fake, 100 * TUSD)
    assert reviewed["verdict"] == "block"
    evidence = findings(reviewed)["address.poisoning_planted"]
    assert fake[2:].lower() in evidence.lower() and friend in evidence
    assert "zero-value" in evidence and "per your node" in evidence
    # the real friend is not flagged
    assert not {"address.poisoning", "address.poisoning_planted"} & set(findings(review(anvil, tmp_path, user, token, friend, 5 * TUSD)))


def test_a_lookalike_of_a_node_counterparty_is_flagged_even_before_it_plants_anything(anvil: Any, tmp_path: Path) -> None:
    user, friend, token, _ = poisoned(anvil)
    quiet = lookalike(friend, "cd")  # never sent anything
    reviewed = review(anvil, tmp_path, user, token, quiet, 5 * TUSD)
    assert reviewed["verdict"] == "block"
    assert friend in findings(reviewed)["address.poisoning"]
    assert "address.poisoning_planted" not in findings(reviewed)


def test_the_counterparty_scan_is_cached_and_extended_with_new_blocks(anvil: Any, tmp_path: Path) -> None:
    user, friend, token, fake = poisoned(anvil)
    review(anvil, tmp_path, user, token, fake, TUSD)
    [cached] = (cache_dir() / "counterparties").glob("*.json")
    first = json.loads(cached.read_text())
    assert first["last"] == int(str(anvil.rpc("eth_blockNumber")), 16)
    assert {t["recipient"] for t in first["transfers"]} >= {friend.lower(), fake}
    newcomer = anvil.accounts[0][0]  # the user pays someone new: the next review learns it from the cache's tip on
    transact(anvil, token, "transfer(address,uint256)", [newcomer, TUSD], sender=user)
    reviewed = review(anvil, tmp_path, user, token, lookalike(newcomer, "ee"), TUSD)
    assert newcomer in findings(reviewed)["address.poisoning"]
    assert len(json.loads(cached.read_text())["transfers"]) == len(first["transfers"]) + 1
    cached.write_text('{"version": 1, "first": [[[')  # a torn or foreign cache is read again from the node
    assert "address.poisoning_planted" in findings(review(anvil, tmp_path, user, token, fake, TUSD))
    assert json.loads(cached.read_text())["last"] == int(str(anvil.rpc("eth_blockNumber")), 16)


def test_the_audit_reports_the_same_planted_transfers_from_the_node(anvil: Any) -> None:
    user, friend, _, fake = poisoned(anvil)
    result = CliRunner().invoke(cli, ["audit", "--address", user, "--rpc", anvil.url, "--no-llm", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["poisoning"]
    assert {(h["kind"], h["lookalike"].lower(), h["resembles"].lower()) for h in hits} >= {("dust", fake, friend.lower())}


def test_native_counterparties_come_from_trace_filter_where_the_node_has_it(anvil: Any, tmp_path: Path) -> None:
    user, friend = anvil.accounts[1][0], anvil.accounts[2][0]
    transact(anvil, friend, value=10**18, sender=user)  # a plain ETH payment: no log, only a trace
    fake = lookalike(friend, "9f")
    request = {"method": "eth_sendTransaction", "params": [{"from": user, "to": fake, "value": hex(10**17), "chainId": hex(31337)}]}
    path = tmp_path / "send.json"
    path.write_text(json.dumps(request))

    def reviewed(url: str) -> dict[str, str]:
        result = CliRunner().invoke(cli, ["review", str(path), "--rpc", url, "--no-llm", "--json"])
        assert result.exit_code == 0, result.output
        return findings(json.loads(result.stdout))

    assert friend in reviewed(anvil.url)["address.poisoning"]
    for cached in (cache_dir() / "counterparties").glob("*.json"):
        cached.unlink()
    with proxy(anvil.url, refuse=frozenset({"trace_filter"})) as geth_like:  # most nodes: "method not found"
        assert "address.poisoning" not in reviewed(geth_like)  # nothing known, nothing claimed, no error



def test_an_unpriced_token_payment_to_a_new_address_asks_from_half_the_balance_the_node_reports(anvil: Any, tmp_path: Path) -> None:
    user = anvil.accounts[1][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)  # no price anywhere: 100 TUSD is worth nothing known
    transact(anvil, token, "mint(address,uint256)", [user, 100 * TUSD])
    stranger = "0x" + "5a" * 20
    small = review(anvil, tmp_path, user, token, stranger, 10 * TUSD)
    assert small["verdict"] == "allow", small["findings"]
    half = review(anvil, tmp_path, user, token, stranger, 50 * TUSD)
    assert (half["verdict"], half["decided_by"]) == ("confirm", "policy:default.toml:confirm.new_address_balance_share")
    assert "50 TUSD" in findings(half)["policy.value_over_limit"]


def test_a_node_that_refuses_wide_log_ranges_is_asked_for_smaller_ones(anvil: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Providers cap eth_getLogs (blocks or results): the scan halves a refused range and still
    finds every transfer; a refusal even for a few blocks stops the review with the node's message."""
    from copilot.chain.node import NodeClient
    from copilot.errors import EnvironmentProblem
    from copilot.state import counterparties

    user, friend, _, fake = poisoned(anvil)
    real_get_logs = NodeClient.get_logs

    def capped(self: NodeClient, from_block: int, to_block: int, **kwargs: Any) -> Any:
        if to_block - from_block + 1 > limit:
            raise EnvironmentProblem(f"node at {self.url} refused the request: query exceeds max block range {limit}")
        return real_get_logs(self, from_block, to_block, **kwargs)

    anvil.rpc("anvil_mine", [hex(100)])  # a range worth splitting
    monkeypatch.setattr(NodeClient, "get_logs", capped)
    limit = 20
    transfers, _ = counterparties.recent_transfers(NodeClient(anvil.url), 31337, user)
    assert {t.recipient for t in transfers} >= {friend.lower(), fake}
    limit = 0
    for cached in (cache_dir() / "counterparties").glob("*.json"):
        cached.unlink()
    with pytest.raises(EnvironmentProblem, match="max block range"):
        counterparties.recent_transfers(NodeClient(anvil.url), 31337, user)
