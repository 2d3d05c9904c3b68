"""Asset changes, grants and control events from simulated logs (copilot.simulation.changes), offline."""

from __future__ import annotations

from eth_abi import encode

from copilot.eth import logs as ev
from copilot.simulation import changes

USER = "0x" + "11" * 20
POOL = "0x" + "22" * 20
WETH = "0x" + "33" * 20
NFT = "0x" + "44" * 20
SPENDER = "0x" + "55" * 20


def t(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def log(address: str, topics: list[str], types: list[str] | None = None, values: list[object] | None = None) -> dict[str, object]:
    return {"address": address, "topics": topics, "data": "0x" + encode(types or [], values or []).hex()}


def per_call(*logs: dict[str, object]) -> list[list[ev.LogEvent]]:
    return changes.decode([list(logs)])


def test_eth_weth_nfts_and_1155_are_summed_per_holder_and_asset() -> None:
    events = per_call(
        log(ev.ETH_TRANSFER_EMITTER, [ev.TOPIC_TRANSFER, t(USER), t(WETH)], ["uint256"], [10**18]),
        log(WETH, [ev.TOPIC_DEPOSIT, t(USER)], ["uint256"], [10**18]),
        log(WETH, [ev.TOPIC_WITHDRAWAL, t(USER)], ["uint256"], [4 * 10**17]),
        log(NFT, [ev.TOPIC_TRANSFER, t(USER), t(POOL), t("0x" + "00" * 19 + "07")]),
        log(NFT, [ev.TOPIC_TRANSFER_BATCH, t(POOL), t(POOL), t(USER)], ["uint256[]", "uint256[]"], [[1, 2], [5, 6]]),
        log(POOL, [ev.TOPIC_TRANSFER, t("0x" + "00" * 20), t(USER)], ["uint256"], [9]),  # a mint
    )
    found = {(c.holder, c.asset, c.standard, c.token_id): c.amount for c in changes.asset_changes(events)}
    assert found == {
        (USER, ev.NATIVE, "native", None): -(10**18),
        (WETH, ev.NATIVE, "native", None): 10**18,
        (USER, WETH, "erc20", None): 6 * 10**17,  # wrapped 1, unwrapped 0.4
        (USER, NFT, "erc721", 7): -1,
        (POOL, NFT, "erc721", 7): 1,
        (USER, NFT, "erc1155", 1): 5,
        (USER, NFT, "erc1155", 2): 6,
        (POOL, NFT, "erc1155", 1): -5,
        (POOL, NFT, "erc1155", 2): -6,
        (USER, POOL, "erc20", None): 9,  # the zero address is left out
    }


def test_new_grants_are_reported_but_the_allowance_a_transfer_from_leaves_is_not() -> None:
    spent = per_call(
        log(POOL, [ev.TOPIC_TRANSFER, t(USER), t(SPENDER)], ["uint256"], [40]),
        log(POOL, [ev.TOPIC_APPROVAL, t(USER), t(SPENDER)], ["uint256"], [60]),
    )
    assert changes.grants(spent) == []
    granted = per_call(
        log(POOL, [ev.TOPIC_APPROVAL, t(USER), t(SPENDER)], ["uint256"], [2**256 - 1]),
        log(NFT, [ev.TOPIC_APPROVAL_FOR_ALL, t(USER), t(SPENDER)], ["bool"], [True]),
        log(ev.PERMIT2, [ev.TOPIC_PERMIT2_APPROVAL, t(USER), t(POOL), t(SPENDER)], ["uint160", "uint48"], [5, 9]),
    )
    assert [(g.kind, g.token, g.spender, g.amount) for g in changes.grants(granted)] == [
        ("approve", POOL, SPENDER, 2**256 - 1), ("operator", NFT, SPENDER, None), ("permit2", POOL, SPENDER, 5),
    ]


def test_owner_changes_are_control_events() -> None:
    events = per_call(
        log(POOL, [ev.TOPIC_OWNERSHIP_TRANSFERRED, t(USER), t(SPENDER)]),
        log(USER, [ev.TOPIC_SAFE_ADDED_OWNER, t(SPENDER)]),
        log(USER, [ev.TOPIC_SAFE_CHANGED_THRESHOLD], ["uint256"], [1]),
    )
    assert [(e.kind, e.subject) for e in changes.control_events(events)] == [
        ("ownership", SPENDER), ("safe_owner_added", SPENDER), ("safe_threshold", None),
    ]
