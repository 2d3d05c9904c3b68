"""Approvals rebuilt from history (revoke.cash semantics), address poisoning, and revoke calldata."""

from __future__ import annotations

import pytest
from eth_abi import decode as abi_decode

from copilot.audit import events as ev
from copilot.audit.approvals import ApprovalBook
from copilot.audit.events import Event, events_from_tx
from copilot.audit.history import HistoryTx, Log
from copilot.audit.revoke import lockdown_data, revoke_erc20_data, revoke_nft_data, revoke_operator_data
from copilot.eth import logs
from copilot.eth.logs import PERMIT2
from copilot.policy.addresses import keccak256
from copilot.risk.poisoning import find_poisoning

USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
TOKEN = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
NFT = "0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d"
SPENDER = "0x5555aaaa00000000000000000000000000bbbb55"
ROUTER = "0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45"
POOL = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640"
MAX = (1 << 256) - 1


def w(address: str) -> str:
    return address[2:].rjust(64, "0")


def n(value: int) -> str:
    return format(value, "064x")


_line = iter(range(1, 10**6))


def tx(to: str, data: str = "0x", *, sender: str = USER, logs: list[Log] | None = None, status: int | None = 1,
       value: int = 0, timestamp: int = 1_700_000_000) -> HistoryTx:
    line = next(_line)
    return HistoryTx(line=line, hash=f"0x{line:064x}", block=line, index=0, timestamp=timestamp + line,
                     sender=sender, to=to, value=value, input=data, status=status, logs=logs)


def approve(token: str, spender: str, amount: int) -> HistoryTx:
    return tx(token, "0x095ea7b3" + w(spender) + n(amount))


def book_of(*txs: HistoryTx) -> ApprovalBook:
    events = [e for t in txs for e in events_from_tx(t)]
    return ApprovalBook.empty(USER).replay(sorted(events, key=lambda e: e.order))


def erc20(book: ApprovalBook) -> dict[tuple[str, str], int]:
    return {k: g.amount for k, g in book.erc20.items()}


@pytest.mark.parametrize(
    ("constant", "signature"),
    [
        (ev.SEL_APPROVE, "approve(address,uint256)"),
        (ev.SEL_INCREASE, "increaseAllowance(address,uint256)"),
        (ev.SEL_DECREASE, "decreaseAllowance(address,uint256)"),
        (ev.SEL_SET_APPROVAL_FOR_ALL, "setApprovalForAll(address,bool)"),
        (ev.SEL_PERMIT, "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"),
        (ev.SEL_DAI_PERMIT, "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)"),
        (ev.SEL_TRANSFER, "transfer(address,uint256)"),
        (ev.SEL_TRANSFER_FROM, "transferFrom(address,address,uint256)"),
        (ev.SEL_PERMIT2_APPROVE, "approve(address,address,uint160,uint48)"),
        (ev.SEL_PERMIT2_LOCKDOWN, "lockdown((address,address)[])"),
        (ev.SEL_PERMIT2_PERMIT_SINGLE, "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)"),
    ],
)
def test_selectors_match_their_signatures(constant: str, signature: str) -> None:
    assert keccak256(signature.encode()).hex()[:8] == constant


def test_later_approval_overrides_and_zero_revokes() -> None:
    book = book_of(approve(TOKEN, SPENDER, MAX), approve(TOKEN, SPENDER, 50))
    assert erc20(book) == {(TOKEN, SPENDER): 50}
    book = book_of(approve(TOKEN, SPENDER, MAX), approve(TOKEN, SPENDER, 0))
    assert erc20(book) == {}


def test_increase_and_decrease_allowance_adjust_the_current_value() -> None:
    book = book_of(
        approve(TOKEN, SPENDER, 100),
        tx(TOKEN, "0x39509351" + w(SPENDER) + n(50)),
        tx(TOKEN, "0xa457c2d7" + w(SPENDER) + n(30)),
    )
    assert erc20(book) == {(TOKEN, SPENDER): 120}
    assert erc20(book_of(approve(TOKEN, SPENDER, 10), tx(TOKEN, "0xa457c2d7" + w(SPENDER) + n(99)))) == {}


def test_permit_submitted_by_someone_else_counts_for_the_owner() -> None:
    permit = tx(TOKEN, "0xd505accf" + w(USER) + w(SPENDER) + n(MAX) + n(2**40) + n(27) + n(1) + n(2),
                sender="0x" + "99" * 20)
    assert erc20(book_of(permit)) == {(TOKEN, SPENDER): MAX}
    dai = tx(TOKEN, "0x8fcbaf0c" + w(USER) + w(SPENDER) + n(0) + n(0) + n(1) + n(27) + n(1) + n(2))
    assert book_of(dai).erc20[(TOKEN, SPENDER)].unlimited


def test_reverted_transactions_change_nothing() -> None:
    failed = approve(TOKEN, SPENDER, MAX)
    failed.status = 0
    assert erc20(book_of(failed)) == {}


def test_logs_win_over_calldata() -> None:
    # The wallet called a router; the router's logs show the approval it made for the wallet.
    log = Log(TOKEN, [logs.TOPIC_APPROVAL, "0x" + w(USER), "0x" + w(SPENDER)], "0x" + n(77))
    book = book_of(tx(ROUTER, "0x12345678", logs=[log]))
    assert erc20(book) == {(TOKEN, SPENDER): 77}
    # A call whose receipt has no Approval log approved nothing, whatever the calldata says.
    assert erc20(book_of(tx(TOKEN, "0x095ea7b3" + w(SPENDER) + n(MAX), logs=[]))) == {}


def test_spending_through_the_called_contract_reduces_a_finite_allowance() -> None:
    spend = Log(TOKEN, [logs.TOPIC_TRANSFER, "0x" + w(USER), "0x" + w(POOL)], "0x" + n(40))
    book = book_of(approve(TOKEN, ROUTER, 100), tx(ROUTER, "0x04e45aaf", logs=[spend]))
    assert erc20(book) == {(TOKEN, ROUTER): 60}
    book = book_of(approve(TOKEN, ROUTER, 40), tx(ROUTER, "0x04e45aaf", logs=[spend]))
    assert erc20(book) == {}
    book = book_of(approve(TOKEN, ROUTER, MAX), tx(ROUTER, "0x04e45aaf", logs=[spend]))
    assert erc20(book) == {(TOKEN, ROUTER): MAX}  # unlimited allowances are never decremented


def test_a_token_that_logs_the_remaining_allowance_is_not_counted_twice() -> None:
    remaining = Log(TOKEN, [logs.TOPIC_APPROVAL, "0x" + w(USER), "0x" + w(ROUTER)], "0x" + n(60))
    spend = Log(TOKEN, [logs.TOPIC_TRANSFER, "0x" + w(USER), "0x" + w(POOL)], "0x" + n(40))
    book = book_of(approve(TOKEN, ROUTER, 100), tx(ROUTER, "0x04e45aaf", logs=[remaining, spend]))
    assert erc20(book) == {(TOKEN, ROUTER): 60}


def test_a_spender_pulling_tokens_itself_spends_its_allowance() -> None:
    granted = approve(TOKEN, SPENDER, 100)
    pulled = Log(TOKEN, [logs.TOPIC_TRANSFER, "0x" + w(USER), "0x" + w(SPENDER)], "0x" + n(30))
    by_spender = tx(TOKEN, "0x23b872dd" + w(USER) + w(SPENDER) + n(30), sender=SPENDER, logs=[pulled])
    assert erc20(book_of(granted, by_spender)) == {(TOKEN, SPENDER): 70}
    # the owner's own transfer spends nobody's allowance
    sent = Log(TOKEN, [logs.TOPIC_TRANSFER, "0x" + w(USER), "0x" + w(POOL)], "0x" + n(30))
    own = tx(TOKEN, "0xa9059cbb" + w(POOL) + n(30), logs=[sent])
    assert erc20(book_of(granted, own)) == {(TOKEN, SPENDER): 100}


def test_operator_approvals_and_nft_single_approvals() -> None:
    grant = tx(NFT, "0xa22cb465" + w(SPENDER) + n(1))
    revoke = tx(NFT, "0xa22cb465" + w(SPENDER) + n(0))
    assert set(book_of(grant).operators) == {(NFT, SPENDER)}
    assert book_of(grant, revoke).operators == {}
    single = Log(NFT, [logs.TOPIC_APPROVAL, "0x" + w(USER), "0x" + w(SPENDER), "0x" + n(42)], "0x")
    book = book_of(tx(NFT, "0x095ea7b3", logs=[single]))
    assert set(book.nft) == {(NFT, 42)} and book.erc20 == {}
    moved = Log(NFT, [logs.TOPIC_TRANSFER, "0x" + w(USER), "0x" + w(POOL), "0x" + n(42)], "0x")
    assert book_of(tx(NFT, "0x095ea7b3", logs=[single]), tx(NFT, "0x23b872dd", logs=[moved])).nft == {}


def test_permit2_approve_lockdown_and_expiry() -> None:
    approve2 = tx(PERMIT2, "0x87517c45" + w(TOKEN) + w(SPENDER) + n(2**160 - 1) + n(2_000_000_000))
    book = book_of(approve2)
    (grant,) = book.outstanding(now=1_800_000_000)
    assert grant.kind == "permit2" and grant.unlimited and grant.expiration == 2_000_000_000
    assert book.outstanding(now=2_100_000_000) == []  # expired allowances are not exposure
    lockdown = tx(PERMIT2, lockdown_data([(TOKEN, SPENDER), (NFT, ROUTER)]))
    assert book_of(approve2, lockdown).permit2 == {}
    event_log = Log(PERMIT2, [logs.TOPIC_PERMIT2_PERMIT, "0x" + w(USER), "0x" + w(TOKEN), "0x" + w(ROUTER)],
                    "0x" + n(500) + n(2_000_000_000) + n(0))
    assert {k: g.amount for k, g in book_of(tx(ROUTER, "0x3593564c", logs=[event_log])).permit2.items()} == {
        (TOKEN, ROUTER): 500
    }


def test_other_owners_approvals_are_ignored() -> None:
    assert erc20(book_of(tx(TOKEN, "0x095ea7b3" + w(SPENDER) + n(MAX), sender="0x" + "12" * 20))) == {}


# --------------------------------------------------------------------------- poisoning

FRIEND = "0x1234567890abcdef1234567890abcdef12345678"
LOOKALIKE = "0x1234000000000000000000000000000000005678"


def transfer(token: str, sender: str, to: str, amount: int, position: int) -> Event:
    return Event("transfer", (position, 0, 0, position), f"0x{position:064x}", 1_700_000_000 + position, sender,
                 token, to, str(amount), source="log", line=position)


def decimals(token: str) -> int | None:
    return 6 if token == TOKEN else None


def test_poisoning_finds_planted_transfers_and_payments_to_the_lookalike() -> None:
    events = [
        transfer(TOKEN, USER, FRIEND, 250 * 10**6, 1),  # a real payment: FRIEND is a genuine counterparty
        transfer(TOKEN, USER, LOOKALIKE, 0, 2),  # zero-value transferFrom "from" the victim
        transfer("0x" + "44" * 20, LOOKALIKE, USER, 250 * 10**6, 3),  # fake token from the lookalike
        transfer(TOKEN, USER, FRIEND, 10 * 10**6, 4),
        transfer(TOKEN, USER, LOOKALIKE, 240 * 10**6, 5),  # the victim copies the wrong address
    ]
    hits = find_poisoning(events, USER, decimals)
    assert [(h.kind, h.line, h.lookalike, h.resembles) for h in hits] == [
        ("dust", 2, LOOKALIKE, FRIEND),
        ("dust", 3, LOOKALIKE, FRIEND),
        ("payment", 5, LOOKALIKE, FRIEND),
    ]


def test_no_poisoning_without_a_lookalike_of_a_real_counterparty() -> None:
    other = "0x9999000000000000000000000000000000009999"
    events = [
        transfer(TOKEN, USER, FRIEND, 250 * 10**6, 1),
        transfer(TOKEN, other, USER, 0, 2),  # zero transfer, but from nobody resembling FRIEND
        transfer(TOKEN, FRIEND, USER, 5 * 10**6, 3),  # a real refund from the friend
        transfer("native", LOOKALIKE, USER, 10**18, 4),  # a real 1 ETH payment is not dust
    ]
    assert find_poisoning(events, USER, decimals) == []


# --------------------------------------------------------------------------- revoke calldata


def test_revoke_calldata_decodes_to_the_intended_call() -> None:
    data = bytes.fromhex(revoke_erc20_data(SPENDER)[2:])
    assert data[:4].hex() == ev.SEL_APPROVE
    assert abi_decode(["address", "uint256"], data[4:]) == (SPENDER, 0)
    data = bytes.fromhex(revoke_operator_data(SPENDER)[2:])
    assert data[:4].hex() == ev.SEL_SET_APPROVAL_FOR_ALL and abi_decode(["address", "bool"], data[4:]) == (SPENDER, False)
    data = bytes.fromhex(revoke_nft_data(42)[2:])
    assert abi_decode(["address", "uint256"], data[4:]) == ("0x" + "00" * 20, 42)
    data = bytes.fromhex(lockdown_data([(TOKEN, SPENDER), (NFT, ROUTER)])[2:])
    assert data[:4].hex() == ev.SEL_PERMIT2_LOCKDOWN
    assert abi_decode(["(address,address)[]"], data[4:]) == (((TOKEN, SPENDER), (NFT, ROUTER)),)


def test_a_lookalike_of_an_address_book_entry_is_caught_before_any_payment() -> None:
    events = [transfer(TOKEN, LOOKALIKE, USER, 0, 1), transfer(TOKEN, USER, LOOKALIKE, 5 * 10**6, 2)]
    assert find_poisoning(events, USER, decimals) == []  # nothing genuine to imitate yet
    hits = find_poisoning(events, USER, decimals, trusted=[FRIEND])
    assert [(h.kind, h.resembles) for h in hits] == [("dust", FRIEND), ("payment", FRIEND)]


def test_a_zero_eth_transfer_from_a_lookalike_is_a_planted_transfer() -> None:
    paid = tx(FRIEND, value=10**17)
    zero = tx(USER, sender=LOOKALIKE)
    events = sorted((e for t in (paid, zero) for e in events_from_tx(t)), key=lambda e: e.order)
    hits = find_poisoning(events, USER, decimals)
    assert [(h.kind, h.lookalike, h.token) for h in hits] == [("dust", LOOKALIKE, "native")]
