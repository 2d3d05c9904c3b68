"""`audit --rpc` against a real anvil node: approvals made on chain are found by scanning the node and
checked against the token's current allowance()/isApprovedForAll() and the wallet's balance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chainhelpers import deploy, transact, view
from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.policy.addresses import to_checksum

MAX = 2**256 - 1
DRAINER = to_checksum("0x5555aaaa00000000000000000000000000bbbb55")
LATER_REVOKED = to_checksum("0x6666cccc000000000000000000000000000dd666")
OPERATOR = to_checksum("0x7777eeee00000000000000000000000000fff777")


@pytest.mark.anvil
def test_rpc_audit_finds_on_chain_approvals_and_checks_them_now(anvil: Any) -> None:
    user, spender = anvil.accounts[1][0], anvil.accounts[2][0]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    nft = deploy(anvil, "TestNFT")
    transact(anvil, token, "mint(address,uint256)", [user, 1_000 * 10**6])
    transact(anvil, nft, "mint(address,uint256)", [user, 1])
    transact(anvil, token, "approve(address,uint256)", [DRAINER, MAX], sender=1)
    transact(anvil, token, "approve(address,uint256)", [spender, 100 * 10**6], sender=1)
    transact(anvil, token, "transferFrom(address,address,uint256)", [user, spender, 40 * 10**6], sender=2)
    transact(anvil, nft, "setApprovalForAll(address,bool)", [OPERATOR, True], sender=1)
    receipt = transact(anvil, token, "approve(address,uint256)", [LATER_REVOKED, 50 * 10**6], sender=1)
    scanned_to = int(receipt["blockNumber"], 16)
    transact(anvil, token, "approve(address,uint256)", [LATER_REVOKED, 0], sender=1)  # after the scanned range
    assert view(anvil, token, "allowance(address,address)", [user, spender], "uint256") == 60 * 10**6

    result = CliRunner().invoke(
        cli,
        ["audit", "--address", user, "--rpc", anvil.url, "--from-block", "0", "--to-block", str(scanned_to),
         "--json", "--no-llm"],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["chain_id"] == "31337"
    approvals = {(a["kind"], a["spender"]): a for a in report["approvals"]}
    assert set(approvals) == {("erc20", DRAINER), ("erc20", spender), ("nft_operator", OPERATOR)}
    drained = approvals[("erc20", DRAINER)]
    assert drained["unlimited"] and drained["risky"] and drained["on_chain"] == str(MAX)
    assert drained["balance"] == str(960 * 10**6) and drained["balance_source"] == "rpc"
    assert drained["exposure"] == str(960 * 10**6)  # min(balance, allowance)
    assert drained["token_symbol"] == "TUSD" and drained["exposure_display"] == "960 TUSD"  # metadata from the node
    assert any("plain account" in reason for reason in drained["reasons"])  # no code at the spender
    # the history showed 100 approved; the spender pulled 40 in its own transaction: the chain says 60 now
    partly_spent = approvals[("erc20", spender)]
    assert partly_spent["amount"] == str(60 * 10**6) and partly_spent["exposure"] == str(60 * 10**6)
    assert approvals[("nft_operator", OPERATOR)]["on_chain"] == "1"
    # revoked on chain after the scanned range: the current allowance() is 0, so it is not listed
    assert all(a["spender"] != LATER_REVOKED for a in report["approvals"])
    assert report["reviewed"] == 4  # the wallet's own four; the spender's transferFrom is not its decision
    assert report["warnings"] == [] and report["rows_involving"] == report["rows"]  # a scan finds only its rows


@pytest.mark.anvil
def test_unreachable_node_is_one_line(anvil: Any) -> None:
    url = anvil.url
    anvil.process.terminate()
    anvil.process.wait(timeout=5)
    result = CliRunner().invoke(cli, ["audit", "--address", anvil.accounts[1][0], "--rpc", url, "--no-llm"])
    assert result.exit_code == 4 and result.stderr.count("\n") == 1 and "node" in result.stderr


@pytest.mark.anvil
def test_revoke_plan_signed_with_txcopilot_sign_closes_the_approvals(anvil: Any, tmp_path: Path) -> None:
    from signhelpers import import_account

    user, key = anvil.accounts[1]
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    nft = deploy(anvil, "TestNFT")
    transact(anvil, token, "approve(address,uint256)", [DRAINER, MAX], sender=1)
    transact(anvil, nft, "setApprovalForAll(address,bool)", [OPERATOR, True], sender=1)
    revokes = tmp_path / "revokes"
    result = CliRunner().invoke(cli, ["audit", "--address", user, "--rpc", anvil.url, "--no-llm", "--json",
                                      "--revoke-out", str(revokes)])
    assert result.exit_code == 0, result.stderr
    password = import_account(tmp_path, key, "victim")
    files = sorted(p for p in revokes.iterdir() if p.suffix == ".json")
    assert len(files) == 2
    for path in files:
        signed = CliRunner().invoke(cli, ["sign", str(path), "--account", "victim", "--rpc", anvil.url, "--broadcast",
                                          "--no-llm", "--password-file", str(password)], input="y\n" * 3)
        assert signed.exit_code == 0, signed.output
    assert view(anvil, token, "allowance(address,address)", [user, DRAINER], "uint256") == 0
    assert view(anvil, nft, "isApprovedForAll(address,address)", [user, OPERATOR], "bool") is False
    after = CliRunner().invoke(cli, ["audit", "--address", user, "--rpc", anvil.url, "--no-llm", "--json"])
    assert json.loads(after.stdout)["approvals"] == []


@pytest.mark.anvil
def test_a_hostile_token_symbol_is_shown_as_text_in_every_format(anvil: Any, tmp_path: Path) -> None:
    user = anvil.accounts[1][0]
    symbol = "<script>alert(1)</script>[bold red]|"
    token = deploy(anvil, "TestToken", "Evil", symbol, 6)
    transact(anvil, token, "approve(address,uint256)", [DRAINER, MAX], sender=1)
    common = ["audit", "--address", user, "--rpc", anvil.url, "--no-llm"]
    text = CliRunner().invoke(cli, common)
    assert text.exit_code == 0 and "red]|" in text.stdout  # printed as text (the table cuts it), not markup
    html_path, md_path = tmp_path / "a.html", tmp_path / "a.md"
    assert CliRunner().invoke(cli, [*common, "--format", "html", "--out", str(html_path)]).exit_code == 0
    assert CliRunner().invoke(cli, [*common, "--format", "md", "--out", str(md_path)]).exit_code == 0
    html, md = html_path.read_text(), md_path.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\|" in md


@pytest.mark.anvil
def test_rpc_audit_checks_permit2_allowances_against_permit2_on_the_node(anvil: Any) -> None:
    """Permit2Like (fixtures/contracts) runs at Permit2's canonical address: the audit finds the
    Permit2 approvals in the node's logs and reads each one's allowance() now."""
    import time

    from copilot.eth.logs import PERMIT2

    user, spender, emptied = anvil.accounts[1][0], anvil.accounts[2][0], anvil.accounts[0][0]
    permit2 = to_checksum(PERMIT2)
    anvil.rpc("anvil_setCode", [permit2, anvil.rpc("eth_getCode", [deploy(anvil, "Permit2Like"), "latest"])])
    token = deploy(anvil, "TestToken", "Test USD", "TUSD", 6)
    transact(anvil, token, "mint(address,uint256)", [user, 1_000 * 10**6])
    transact(anvil, token, "approve(address,uint256)", [permit2, MAX], sender=1)
    later = int(time.time()) + 30 * 86400
    approve = "approve(address,address,uint160,uint48)"
    transact(anvil, permit2, approve, [token, DRAINER, 2**160 - 1, later], sender=1)
    transact(anvil, permit2, approve, [token, spender, 300 * 10**6, later], sender=1)
    transact(anvil, permit2, approve, [token, OPERATOR, 500 * 10**6, 1], sender=1)  # expired long ago
    transact(anvil, permit2, approve, [token, emptied, 100 * 10**6, later], sender=1)
    pull = "transferFrom(address,address,uint160,address)"
    transact(anvil, permit2, pull, [user, spender, 120 * 10**6, token], sender=2)
    transact(anvil, permit2, pull, [user, emptied, 100 * 10**6, token], sender=0)  # all of it
    transact(anvil, permit2, approve, [token, LATER_REVOKED, 50 * 10**6, later], sender=1)
    receipt = transact(anvil, permit2, "lockdown((address,address)[])", [[(token, LATER_REVOKED)]], sender=1)

    result = CliRunner().invoke(
        cli,
        ["audit", "--address", user, "--rpc", anvil.url, "--from-block", "0", "--to-block",
         str(int(receipt["blockNumber"], 16)), "--json", "--no-llm"],
    )
    assert result.exit_code == 0, result.stderr
    permits = {a["spender"]: a for a in json.loads(result.stdout)["approvals"] if a["kind"] == "permit2"}
    # closed: expired, locked down, and (only the chain knows) pulled down to 0 through Permit2
    assert set(permits) == {DRAINER, spender}
    allowance = "allowance(address,address,address)"
    assert view(anvil, permit2, allowance, [user, token, emptied], "uint160") == 0
    assert view(anvil, permit2, allowance, [user, token, LATER_REVOKED], "uint160") == 0  # lockdown
    assert permits[DRAINER]["unlimited"] and permits[DRAINER]["on_chain"] == str(2**160 - 1)
    assert permits[DRAINER]["exposure"] == str(780 * 10**6)  # min(allowance, balance after the pulls)
    # 300 approved in the history; the spender pulled 120 through Permit2: allowance() says 180 now
    assert permits[spender]["on_chain"] == str(180 * 10**6) and permits[spender]["amount"] == str(180 * 10**6)
