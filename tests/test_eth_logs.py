"""The shared event-log decoder (copilot.eth.logs): every topic is the keccak of its event, each layout
decodes to the movement or grant it stands for, and malformed logs are not events."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from eth_abi import encode

from copilot.eth import logs
from copilot.eth.logs import LogEvent, decode_log
from copilot.policy.addresses import keccak256

TOKEN = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
OTHER = "0x5555aaaa00000000000000000000000000bbbb55"


def t(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def d(types: list[str], values: list[object]) -> str:
    return "0x" + encode(types, values).hex()


@pytest.mark.parametrize(
    ("constant", "signature"),
    [
        (logs.TOPIC_TRANSFER, "Transfer(address,address,uint256)"),
        (logs.TOPIC_APPROVAL, "Approval(address,address,uint256)"),
        (logs.TOPIC_APPROVAL_FOR_ALL, "ApprovalForAll(address,address,bool)"),
        (logs.TOPIC_TRANSFER_SINGLE, "TransferSingle(address,address,address,uint256,uint256)"),
        (logs.TOPIC_TRANSFER_BATCH, "TransferBatch(address,address,address,uint256[],uint256[])"),
        (logs.TOPIC_PERMIT2_APPROVAL, "Approval(address,address,address,uint160,uint48)"),
        (logs.TOPIC_PERMIT2_PERMIT, "Permit(address,address,address,uint160,uint48,uint48)"),
        (logs.TOPIC_PERMIT2_LOCKDOWN, "Lockdown(address,address,address)"),
        (logs.TOPIC_DEPOSIT, "Deposit(address,uint256)"),
        (logs.TOPIC_WITHDRAWAL, "Withdrawal(address,uint256)"),
        (logs.TOPIC_OWNERSHIP_TRANSFERRED, "OwnershipTransferred(address,address)"),
        (logs.TOPIC_SAFE_ADDED_OWNER, "AddedOwner(address)"),
        (logs.TOPIC_SAFE_REMOVED_OWNER, "RemovedOwner(address)"),
        (logs.TOPIC_SAFE_CHANGED_THRESHOLD, "ChangedThreshold(uint256)"),
    ],
)
def test_topics_match_their_events(constant: str, signature: str) -> None:
    assert constant == "0x" + keccak256(signature.encode()).hex()


def test_erc20_and_erc721_transfers_and_approvals() -> None:
    assert decode_log(TOKEN, [logs.TOPIC_TRANSFER, t(USER), t(OTHER)], d(["uint256"], [5])) == [
        LogEvent("transfer", TOKEN, USER, OTHER, 5)
    ]
    assert decode_log(TOKEN, [logs.TOPIC_TRANSFER, t(USER), t(OTHER), "0x" + "0" * 63 + "7"], "0x") == [
        LogEvent("transfer", TOKEN, USER, OTHER, 7, "nft", 7)
    ]
    assert decode_log(TOKEN.upper().replace("0X", "0x"), [logs.TOPIC_APPROVAL, t(USER), t(OTHER)], d(["uint256"], [9]))[0] \
        == LogEvent("approve", TOKEN, USER, OTHER, 9)
    (operator,) = decode_log(TOKEN, [logs.TOPIC_APPROVAL_FOR_ALL, t(USER), t(OTHER)], d(["bool"], [False]))
    assert (operator.kind, operator.approved) == ("operator", False)


def test_trace_transfers_pseudo_logs_are_native_eth() -> None:
    (moved,) = decode_log(logs.ETH_TRANSFER_EMITTER, [logs.TOPIC_TRANSFER, t(USER), t(OTHER)], d(["uint256"], [10**18]))
    assert (moved.token, moved.owner, moved.counterparty, moved.amount) == (logs.NATIVE, USER, OTHER, 10**18)


def test_erc1155_single_and_batch_transfers_name_each_id() -> None:
    single = decode_log(TOKEN, [logs.TOPIC_TRANSFER_SINGLE, t(OTHER), t(USER), t(OTHER)], d(["uint256", "uint256"], [3, 40]))
    assert single == [LogEvent("transfer", TOKEN, USER, OTHER, 40, "erc1155", 3)]
    batch = decode_log(TOKEN, [logs.TOPIC_TRANSFER_BATCH, t(OTHER), t(USER), t(OTHER)],
                       d(["uint256[]", "uint256[]"], [[1, 2], [10, 20]]))
    assert [(e.token_id, e.amount) for e in batch] == [(1, 10), (2, 20)]
    lopsided = d(["uint256[]", "uint256[]"], [[1, 2], [10]])
    assert decode_log(TOKEN, [logs.TOPIC_TRANSFER_BATCH, t(OTHER), t(USER), t(OTHER)], lopsided) == []


def test_permit2_weth_ownership_and_safe_events() -> None:
    (grant,) = decode_log(logs.PERMIT2, [logs.TOPIC_PERMIT2_APPROVAL, t(USER), t(TOKEN), t(OTHER)],
                          d(["uint160", "uint48"], [2**160 - 1, 99]))
    assert (grant.kind, grant.token, grant.owner, grant.counterparty, grant.expiration) == ("permit2", TOKEN, USER, OTHER, 99)
    assert decode_log(OTHER, [logs.TOPIC_PERMIT2_APPROVAL, t(USER), t(TOKEN), t(OTHER)],
                      d(["uint160", "uint48"], [1, 1])) == []  # only Permit2 itself grants Permit2 allowances
    (wrap,) = decode_log(TOKEN, [logs.TOPIC_DEPOSIT, t(USER)], d(["uint256"], [3]))
    assert (wrap.kind, wrap.owner, wrap.amount) == ("deposit", USER, 3)
    (handover,) = decode_log(TOKEN, [logs.TOPIC_OWNERSHIP_TRANSFERRED, t(USER), t(OTHER)], "0x")
    assert (handover.kind, handover.owner, handover.counterparty) == ("ownership", USER, OTHER)
    old_safe = decode_log(TOKEN, [logs.TOPIC_SAFE_ADDED_OWNER], d(["address"], [OTHER]))  # Safe 1.3: not indexed
    new_safe = decode_log(TOKEN, [logs.TOPIC_SAFE_ADDED_OWNER, t(OTHER)], "0x")  # Safe 1.4.1: indexed
    assert old_safe == new_safe == [LogEvent("safe_owner_added", TOKEN, TOKEN, OTHER)]


def test_malformed_logs_are_not_events() -> None:
    assert decode_log(TOKEN, [logs.TOPIC_TRANSFER, t(USER), t(OTHER)], "0x") == []  # no amount
    assert decode_log(TOKEN, [logs.TOPIC_APPROVAL, t(USER)], d(["uint256"], [1])) == []  # a topic missing
    assert decode_log(TOKEN, [], "0x") == []


def test_the_bottom_layer_imports_no_stage() -> None:
    """copilot.eth sits below every stage: it must not import any other copilot module."""
    for path in (Path(logs.__file__).parent).glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert [m for m in imported if m.startswith("copilot") and not m.startswith("copilot.eth")] == [], path


def test_abi_text_reads_what_eth_abi_encodes_and_never_raises() -> None:
    from copilot.eth.abitext import abi_text

    assert abi_text(encode(["string"], ["Test USD"])) == "Test USD"
    assert abi_text(b"MKR".ljust(32, b"\0")) == "MKR"  # bytes32 symbols of old tokens
    assert abi_text(encode(["uint256", "uint256"], [32, 10**9])) is None  # a length past the end
    assert abi_text(b"\x01\x02") is None
