"""Simulation on the user's own node: a real anvil plays the node, the fixture contracts
(fixtures/contracts/Simulation.sol) play the dApps, and each review must show what really happens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chainhelpers import deploy, encode_call, transact, view
from simhelpers import proxy

from copilot.models import Review
from copilot.pipeline import ReviewOptions, review_input
from copilot.simulation import SimulationOptions

pytestmark = pytest.mark.anvil

TUSD = 10**6
SWAP = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"
DEADLINE = 2**40
FRIEND = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil's fourth account


def review(anvil_or_url: Any, request: dict[str, Any], **options: Any) -> Review:
    url = anvil_or_url if isinstance(anvil_or_url, str) else anvil_or_url.url
    return review_input(json.dumps(request), ReviewOptions(rpc=url, use_llm=False, **options))


def ids(result: Review) -> set[str]:
    return {f.id for f in result.findings}


def sim_ids(result: Review) -> set[str]:
    return {i for i in ids(result) if i.startswith("sim.")}


def tx(sender: str, to: str, data: str = "0x", value: int = 0) -> dict[str, Any]:
    return {"from": sender, "to": to, "data": data, "value": hex(value), "chainId": "0x7a69"}


def mine(result: Review) -> dict[tuple[str, int | None], int]:
    assert result.simulation is not None
    return {(c.asset, c.token_id): c.amount for c in result.simulation.account_changes() if c.asset != "native"}


@pytest.fixture
def world(anvil: Any) -> dict[str, Any]:
    """Two tokens the user holds, honest and dishonest routers with liquidity."""
    user, stranger = anvil.accounts[1][0], anvil.accounts[2][0]
    tusd = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    dai = deploy(anvil, "TestToken", "Test DAI", "TDAI", 18)
    transact(anvil, tusd, "mint(address,uint256)", [user, 1_000 * TUSD])
    routers = {
        "honest": deploy(anvil, "SimRouter", "0x" + "00" * 20, 10**12, 1),  # 1 TUSD -> 1 TDAI
        "thief": deploy(anvil, "SimRouter", stranger, 10**12, 1),
        "short": deploy(anvil, "SimRouter", "0x" + "00" * 20, 10**12, 2),  # pays half
    }
    for router in routers.values():
        transact(anvil, dai, "mint(address,uint256)", [router, 10**24])
        transact(anvil, tusd, "approve(address,uint256)", [router, 100 * TUSD], sender=user)
    return {"user": user, "stranger": stranger, "tusd": tusd, "dai": dai, **routers}


def swap(world: dict[str, Any], router: str, amount_in: int, least: int) -> dict[str, Any]:
    data = encode_call(SWAP, [amount_in, least, [world["tusd"], world["dai"]], world["user"], DEADLINE])
    return tx(world["user"], world[router], data)


def test_a_claim_that_drains_an_old_approval_shows_the_outflow(anvil: Any, world: dict[str, Any]) -> None:
    """The contract does nothing in block 0 or under a zero COINBASE (anvil's defaults for a simulated
    block): the drain shows only because the simulated block is set like a real next block."""
    user, tusd = world["user"], world["tusd"]
    claim = deploy(anvil, "ClaimReward", tusd, world["stranger"])
    transact(anvil, tusd, "approve(address,uint256)", [claim, 2**256 - 1], sender=user)
    result = review(anvil, tx(user, claim, encode_call("claimReward()")))
    assert "sim.unpredicted_outflow" in ids(result)
    assert result.verdict != "allow"
    assert mine(result) == {(tusd, None): -1_000 * TUSD}
    offline = review(anvil, tx(user, claim, encode_call("claimReward()")), simulate=False)
    assert offline.simulation is None and not sim_ids(offline)  # the decoder alone sees a harmless call


def test_a_router_that_pays_the_swap_to_someone_else_blocks(anvil: Any, world: dict[str, Any]) -> None:
    result = review(anvil, swap(world, "thief", 10 * TUSD, 9 * 10**18))
    finding = next(f for f in result.findings if f.id == "sim.inflow_elsewhere")
    assert world["stranger"] in finding.evidence
    assert result.verdict == "block"


def test_an_ordinary_swap_and_transfer_stay_allow(anvil: Any, world: dict[str, Any]) -> None:
    swap_request = swap(world, "honest", 10 * TUSD, 10 * 10**18)
    result = review(anvil, swap_request)
    assert result.verdict == "allow" and not sim_ids(result), result.findings
    assert mine(result) == {(world["tusd"], None): -10 * TUSD, (world["dai"], None): 10 * 10**18}
    transfer = tx(world["user"], world["tusd"], encode_call("transfer(address,uint256)", [FRIEND, 5 * TUSD]))
    result = review(anvil, transfer)
    assert result.verdict == "allow" and not sim_ids(result), result.findings
    assert mine(result) == {(world["tusd"], None): -5 * TUSD}


def test_a_swap_paying_less_than_its_minimum(anvil: Any, world: dict[str, Any]) -> None:
    result = review(anvil, swap(world, "short", 10 * TUSD, 10 * 10**18))
    finding = next(f for f in result.findings if f.id == "sim.output_below_min")
    assert "5 TDAI" in finding.evidence and "10 TDAI" in finding.evidence


def test_a_token_whose_transfer_events_lie(anvil: Any, world: dict[str, Any]) -> None:
    user = world["user"]
    lie = deploy(anvil, "LyingToken")
    transact(anvil, lie, "mint(address,uint256)", [user, 500 * 10**18])
    result = review(anvil, tx(user, lie, encode_call("transfer(address,uint256)", [FRIEND, 10**18])))
    assert {"sim.outflow_exceeds", "sim.events_disagree"} <= ids(result)
    assert mine(result) == {(lie, None): -500 * 10**18}  # the balance, not the event


def test_a_fee_on_transfer_token_shows_who_gets_what(anvil: Any, world: dict[str, Any]) -> None:
    user, friend = world["user"], FRIEND
    fee = deploy(anvil, "FeeToken")
    transact(anvil, fee, "mint(address,uint256)", [user, 100 * 10**18])
    result = review(anvil, tx(user, fee, encode_call("transfer(address,uint256)", [friend, 100 * 10**18])))
    assert not sim_ids(result), result.findings
    assert result.simulation is not None
    received = {c.holder: c.amount for c in result.simulation.changes if c.amount > 0}
    assert received == {friend: 95 * 10**18, anvil.accounts[0][0]: 5 * 10**18}


def test_an_eip7702_sweeper_delegate_shows_everything_leaving(anvil: Any, world: dict[str, Any]) -> None:
    from eth_account import Account

    user, key = anvil.accounts[1]
    sweeper = deploy(anvil, "Sweeper7702", world["stranger"])
    nonce = int(str(anvil.rpc("eth_getTransactionCount", [user, "latest"])), 16)
    auth = Account.from_key(key).sign_authorization({"chainId": 31337, "address": sweeper, "nonce": nonce + 1})
    signed = Account.from_key(key).sign_transaction({
        "type": 4, "chainId": 31337, "nonce": nonce, "to": user, "value": 0, "gas": 300_000,
        "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "authorizationList": [auth],
        "data": encode_call("upgrade(address)", [world["tusd"]]),
    })
    result = review_input("0x" + bytes(signed.raw_transaction).hex(), ReviewOptions(rpc=anvil.url, use_llm=False))
    outflows = [f.evidence for f in result.findings if f.id == "sim.unpredicted_outflow"]
    assert any("TUSD" in e for e in outflows) and any("ETH" in e for e in outflows)
    assert result.verdict == "block"


def test_a_safe_delegatecall_that_grants_an_approval_is_caught(anvil: Any, world: dict[str, Any]) -> None:
    owner = anvil.accounts[0][0]
    safe = deploy(anvil, "SafeLike", [owner], 1)
    approver = deploy(anvil, "SafeApprover")
    inner = encode_call("approveAll(address,address)", [world["tusd"], world["stranger"]])
    signature = bytes(12) + bytes.fromhex(owner[2:]) + bytes(32) + b"\x01"  # approved by the sender
    exec_sig = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
    zero = "0x" + "00" * 20
    data = encode_call(exec_sig, [approver, 0, bytes.fromhex(inner[2:]), 1, 0, 0, 0, zero, zero, signature])
    result = review(anvil, tx(owner, safe, data))
    assert result.simulation is not None and result.simulation.account == safe
    grant = next(f for f in result.findings if f.id == "sim.unshown_approval")
    assert world["stranger"] in grant.evidence


def test_a_safe_tx_signature_runs_as_the_safe_would(anvil: Any, world: dict[str, Any]) -> None:
    from test_rpc_review import _safe_tx

    owner = anvil.accounts[0][0]
    safe = deploy(anvil, "SafeLike", [owner], 1)
    transact(anvil, world["tusd"], "mint(address,uint256)", [safe, 50 * TUSD])
    send = encode_call("transfer(address,uint256)", [world["stranger"], 20 * TUSD])
    result = review(anvil, {"method": "eth_signTypedData_v4", "params": [owner, _safe_tx(safe, world["tusd"], send, 0, 0)]})
    assert result.simulation is not None and result.simulation.status == "simulated"
    assert mine(result) == {(world["tusd"], None): -20 * TUSD}
    assert not sim_ids(result)


def test_a_wallet_send_calls_batch_runs_in_order_in_one_block(anvil: Any, world: dict[str, Any]) -> None:
    user, router = world["user"], world["honest"]
    calls = [
        {"to": world["tusd"], "data": encode_call("approve(address,uint256)", [router, 0]), "value": "0x0"},
        {"to": world["tusd"], "data": encode_call("approve(address,uint256)", [router, 30 * TUSD]), "value": "0x0"},
        {"to": router, "value": "0x0",
         "data": encode_call(SWAP, [30 * TUSD, 30 * 10**18, [world["tusd"], world["dai"]], user, DEADLINE])},
    ]
    request = {"method": "wallet_sendCalls", "params": [{"version": "2.0", "chainId": "0x7a69", "from": user, "calls": calls}]}
    result = review(anvil, request)
    assert mine(result) == {(world["tusd"], None): -30 * TUSD, (world["dai"], None): 30 * 10**18}
    assert not sim_ids(result), result.findings


def test_a_transaction_that_would_revert_says_why(anvil: Any, world: dict[str, Any]) -> None:
    transfer = encode_call("transfer(address,uint256)", [FRIEND, 10**6 * TUSD])
    result = review(anvil, tx(world["user"], world["tusd"], transfer))
    finding = next(f for f in result.findings if f.id == "sim.would_fail")
    assert "balance" in finding.evidence


def test_signatures_are_not_simulated_but_say_what_a_permit2_transfer_could_take(anvil: Any, world: dict[str, Any]) -> None:
    permit = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "PermitSingle": [{"name": "details", "type": "PermitDetails"}, {"name": "spender", "type": "address"},
                             {"name": "sigDeadline", "type": "uint256"}],
            "PermitDetails": [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint160"},
                              {"name": "expiration", "type": "uint48"}, {"name": "nonce", "type": "uint48"}],
        },
        "primaryType": "PermitSingle",
        "domain": {"name": "Permit2", "chainId": 31337, "verifyingContract": "0x000000000022D473030F116dDEE9F6B43aC78BA3"},
        "message": {"details": {"token": world["tusd"], "amount": "1000000", "expiration": "1900000000", "nonce": "0"},
                    "spender": world["stranger"], "sigDeadline": "1900000000"},
    }  # fmt: skip
    offline = review(anvil, {"method": "eth_signTypedData_v4", "params": [world["user"], permit]}, simulate=False)
    result = review(anvil, {"method": "eth_signTypedData_v4", "params": [world["user"], permit]})
    assert result.simulation is not None and result.simulation.status == "not_simulated"
    assert any(world["stranger"] in note and "1000000" in note for note in result.simulation.notes)
    assert result.verdict == offline.verdict  # the decoder's reading stands


def test_a_node_without_eth_simulate_v1_gets_a_fork(anvil: Any, world: dict[str, Any]) -> None:
    claim = deploy(anvil, "ClaimReward", world["tusd"], world["stranger"])
    transact(anvil, world["tusd"], "approve(address,uint256)", [claim, 2**256 - 1], sender=world["user"])
    from copilot.simulation.fork import stop_forks

    with proxy(anvil.url, refuse=frozenset({"eth_simulateV1"})) as url:
        try:
            result = review(url, tx(world["user"], claim, encode_call("claimReward()")),
                            simulation=SimulationOptions(timeout=30))
        finally:
            stop_forks()
    assert result.simulation is not None and result.simulation.method == "anvil_fork", result.simulation
    assert "sim.unpredicted_outflow" in ids(result)


def test_without_simulation_or_fork_the_review_says_not_simulated_and_keeps_its_verdict(
    anvil: Any, world: dict[str, Any]
) -> None:
    request = tx(world["user"], world["thief"], swap(world, "thief", 10 * TUSD, 1)["data"])
    baseline = review(anvil, request, simulate=False)
    with proxy(anvil.url, refuse=frozenset({"eth_simulateV1"})) as url:
        result = review(url, request, simulation=SimulationOptions(fork_fallback=False))
    assert result.simulation is not None and result.simulation.status == "not_simulated"
    assert "eth_simulateV1" in (result.simulation.error or "")
    assert "sim.not_simulated" in ids(result)
    assert result.verdict == baseline.verdict


def test_a_slow_node_costs_one_line_not_a_hang(anvil: Any, world: dict[str, Any]) -> None:
    request = tx(world["user"], world["tusd"], encode_call("transfer(address,uint256)", [world["stranger"], 1]))
    with proxy(anvil.url, delay=3) as url:
        result = review(url, request, simulation=SimulationOptions(timeout=0.5))
    assert result.simulation is not None and result.simulation.status == "not_simulated"
    assert "in time" in (result.simulation.error or "") or "within" in (result.simulation.error or "")


def test_the_block_is_realistic(anvil: Any, world: dict[str, Any]) -> None:
    """Not block 0 and not a zero COINBASE: the simulated block is the next one."""
    latest = int(str(anvil.rpc("eth_blockNumber")), 16)
    result = review(anvil, tx(world["user"], world["tusd"], encode_call("transfer(address,uint256)", [world["stranger"], 1])))
    assert result.simulation is not None and result.simulation.block == latest + 1
    assert view(anvil, world["tusd"], "balanceOf(address)", [world["stranger"]], "uint256") == 0  # nothing was sent


def test_a_safe_delegatecall_that_swaps_the_singleton_is_a_code_change(anvil: Any, world: dict[str, Any]) -> None:
    """No log, no balance moves: only the node's prestate trace shows the Safe now runs other code."""
    owner = anvil.accounts[0][0]
    safe = deploy(anvil, "SafeLike", [owner], 1)
    swapper = deploy(anvil, "SingletonSwap")
    inner = encode_call("upgrade(address)", [world["stranger"]])
    signature = bytes(12) + bytes.fromhex(owner[2:]) + bytes(32) + b"\x01"
    exec_sig = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
    zero = "0x" + "00" * 20
    data = encode_call(exec_sig, [swapper, 0, bytes.fromhex(inner[2:]), 1, 0, 0, 0, zero, zero, signature])
    result = review(anvil, tx(owner, safe, data))
    change = next(f for f in result.findings if f.id == "sim.code_change")
    assert "singleton" in change.evidence and world["stranger"][2:].lower() in change.evidence.lower()
