"""NodeClient against a real anvil node with the fixture contracts deployed."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from chainhelpers import delegate_eoa, deploy, encode_call, transact

from copilot.chain.node import NodeClient
from copilot.errors import EnvironmentProblem, InputError
from copilot.models import AccountKind

pytestmark = pytest.mark.anvil


def test_chain_id_base_fee_and_account_kinds(anvil: Any) -> None:
    node = NodeClient(anvil.url)
    assert node.chain_id() == 31337
    assert isinstance(node.base_fee(), int)
    user, other = anvil.accounts[0][0], anvil.accounts[1][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    assert node.account_kind(user) == (AccountKind.EOA, None)
    assert node.account_kind(token) == (AccountKind.CONTRACT, None)
    delegate_eoa(anvil, other, token)
    assert node.account_kind(other) == (AccountKind.DELEGATED_EOA, token)
    assert node.get_code(other) == bytes.fromhex("ef0100" + token[2:].lower())


def test_token_metadata_balances_and_allowances(anvil: Any) -> None:
    node = NodeClient(anvil.url)
    user = anvil.accounts[1][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    drainer = deploy(anvil, "Drainer")
    nft = deploy(anvil, "TestNFT")
    meta = node.erc20_metadata(token)
    assert meta is not None
    assert (meta.symbol, meta.decimals, meta.name, meta.source, meta.address) == (
        "TUSD",
        6,
        "Test USD",
        "rpc",
        token,
    )
    assert node.erc20_metadata(drainer) is None  # a contract that is not a token
    assert node.erc20_metadata(user) is None  # an EOA
    transact(anvil, token, "mint(address,uint256)", [user, 1_000 * 10**6])
    transact(anvil, token, "approve(address,uint256)", [drainer, 5_000 * 10**6], sender=1)
    assert node.erc20_balance(token, user) == 1_000 * 10**6
    assert node.erc20_allowance(token, user, drainer) == 5_000 * 10**6  # the approval exceeds the balance
    assert node.is_approved_for_all(nft, user, drainer) is False
    transact(anvil, nft, "setApprovalForAll(address,bool)", [drainer, True], sender=1)
    assert node.is_approved_for_all(nft, user, drainer) is True
    assert node.balance(user) > 9_000 * 10**18


def test_nonce_raw_transaction_receipt_and_scans(anvil: Any) -> None:
    from eth_account import Account

    node = NodeClient(anvil.url)
    sender, key = anvil.accounts[2]
    recipient = anvil.accounts[1][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    transact(anvil, token, "mint(address,uint256)", [sender, 10**6])
    start = node.block_number()
    nonce = node.nonce(sender)
    assert nonce == 0
    tx = {
        "type": 2, "chainId": 31337, "nonce": nonce, "to": token, "value": 0, "gas": 100_000,
        "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9,
        "data": encode_call("transfer(address,uint256)", [recipient, 250_000]),
    }  # fmt: skip
    signed = Account.sign_transaction(tx, key)
    tx_hash = node.send_raw_transaction(bytes(signed.raw_transaction))
    receipt = node.wait_for_receipt(tx_hash)
    assert receipt["status"] == 1
    assert receipt["transactionHash"] == tx_hash
    assert node.nonce(sender) == 1
    assert node.erc20_balance(token, recipient) == 250_000
    end = node.block_number()
    transfer_topic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    logs = list(node.get_logs(0, end, address=token, topics=[transfer_topic], chunk=1))
    assert len(logs) == 2  # the mint and the transfer, found across one-block chunks
    assert logs[1]["transactionHash"] == tx_hash
    mine = list(node.transactions_of(sender, start, end))
    assert [t["hash"] for t in mine] == [tx_hash]
    assert mine[0]["from"] == sender
    assert node.get_transaction(tx_hash)["nonce"] == 0
    assert node.get_receipt(tx_hash)["status"] == 1
    assert list(node.transactions_of(recipient, start, end)) == []  # the recipient is in calldata, not `to`


def test_unreachable_node_is_one_clear_line() -> None:
    with pytest.raises(EnvironmentProblem) as err:
        NodeClient("http://127.0.0.1:9", timeout=2).chain_id()
    line = err.value.one_line()
    assert line.startswith("cannot reach node at http://127.0.0.1:9: connection refused")
    assert "--rpc" in line
    assert "\n" not in line


def test_a_node_that_never_answers_is_asked_once_not_retried() -> None:
    """web3 retries a timed-out read 5 times by default: a hung node would cost 6 timeouts, not one."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    try:
        with pytest.raises(EnvironmentProblem) as err:
            NodeClient(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.3).chain_id()
        while True:  # every connection the client made is queued on the listening socket
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                break
    finally:
        for connection in accepted:
            connection.close()
        server.close()
    assert "timed out" in err.value.one_line()
    assert len(accepted) == 1


def test_rpc_must_be_an_http_url() -> None:
    with pytest.raises(InputError):
        NodeClient("127.0.0.1:8545")


def test_send_of_an_invalid_transaction_is_reported(anvil: Any) -> None:
    with pytest.raises(EnvironmentProblem) as err:
        NodeClient(anvil.url).send_raw_transaction("0x02c0")
    assert "refused the request" in err.value.message


def test_receipt_wait_times_out_cleanly(anvil: Any) -> None:
    with pytest.raises(EnvironmentProblem) as err:
        NodeClient(anvil.url).wait_for_receipt("0x" + "ab" * 32, timeout=0.3)
    assert "not mined" in err.value.message


def test_fee_and_gas_helpers(anvil: Any) -> None:
    node = NodeClient(anvil.url)
    user, other = anvil.accounts[0][0], anvil.accounts[1][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    assert node.gas_price() > 0
    assert node.max_priority_fee() >= 0
    assert node.block_timestamp() >= node.block_timestamp(0)
    assert node.estimate_gas({"from": user.lower(), "to": other.lower(), "value": 1}) == 21_000
    mint = {"from": user, "to": token, "data": encode_call("mint(address,uint256)", [other, 5])}
    assert node.estimate_gas(mint) > 21_000
    with pytest.raises(InputError, match=r"would fail \(execution reverted: balance\)"):
        node.estimate_gas(
            {"from": other, "to": token, "data": encode_call("transfer(address,uint256)", [user, 10**30])}
        )
