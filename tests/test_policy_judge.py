"""The judge: worst outcome wins, the deciding rule is named, and each policy rule type fires."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policyhelpers import (
    ETHER,
    FRIEND,
    GWEI,
    ROUTER,
    USDC,
    USER,
    call,
    erc20_approve,
    erc20_transfer,
    send_eth,
    tx_request,
    typed_permit,
    typed_request,
)

from copilot.models import (
    ChainFacts,
    DecodedRequest,
    Finding,
    RecentTransfer,
    ReviewContext,
    Severity,
    TokenMeta,
)
from copilot.policy import check_spend, effective_findings, judge, ledger_amounts, load_policy, spend_of
from copilot.policy.judge import policy_hits
from copilot.policy.loader import Policy
from copilot.state.dirs import config_dir
from copilot.state.prices import load_prices

NOW = int(time.time())
USDC_META = TokenMeta(address=USDC, symbol="USDC", decimals=6, name="USD Coin")


def context(**chain: object) -> ReviewContext:
    return ReviewContext(user=USER, now=NOW, chain=ChainFacts(**chain))  # type: ignore[arg-type]


def finding(finding_id: str, severity: Severity) -> Finding:
    return Finding(id=finding_id, severity=severity, title=finding_id, evidence="test")


def write_policy(tmp_path: Path, text: str, name: str = "mine.toml") -> Policy:
    path = tmp_path / name
    path.write_text(text)
    return load_policy(str(path))


def set_prices(text: str) -> None:
    (config_dir() / "prices.toml").write_text(text)


def test_a_plain_transfer_is_allowed_by_the_default_policy() -> None:
    decision = judge(send_eth(FRIEND, 0.1), [], load_policy("default"), context())
    assert decision.verdict == "allow"
    assert decision.decided_by == "policy:default.toml:default"
    assert decision.findings == []
    assert decision.policy_name == "default"


def test_severity_maps_to_verdict_and_the_worst_wins() -> None:
    policy = load_policy("default")
    request = send_eth(FRIEND, 0.1)
    findings = [finding("call.info", Severity.INFO), finding("approval.unlimited", Severity.HIGH)]
    decision = judge(request, findings, policy, context())
    assert (decision.verdict, decision.decided_by) == ("confirm", "finding:approval.unlimited")
    findings.append(finding("message.eth_sign", Severity.CRITICAL))
    decision = judge(request, findings, policy, context())
    assert (decision.verdict, decision.decided_by) == ("block", "finding:message.eth_sign")


def test_among_equal_verdicts_the_more_severe_finding_decides() -> None:
    findings = [finding("a.medium", Severity.MEDIUM), finding("b.high", Severity.HIGH)]
    assert (
        judge(send_eth(FRIEND, 0.1), findings, load_policy("default"), context()).decided_by
        == "finding:b.high"
    )


def test_paranoid_confirms_everything() -> None:
    decision = judge(send_eth(FRIEND, 0.001), [], load_policy("paranoid"), context())
    assert (decision.verdict, decision.decided_by) == ("confirm", "policy:paranoid.toml:default")
    decision = judge(
        send_eth(FRIEND, 0.001), [finding("x.high", Severity.HIGH)], load_policy("paranoid"), context()
    )
    assert decision.verdict == "block"


def test_severity_overrides_change_the_verdict_and_say_so(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, '[severity]\n"call.blind" = "low"\n"approval.*" = "critical"\n')
    blind = [finding("call.blind", Severity.HIGH)]
    assert judge(send_eth(FRIEND, 0.1), blind, policy, context()).verdict == "allow"
    unlimited = [finding("approval.unlimited", Severity.MEDIUM)]
    decision = judge(send_eth(FRIEND, 0.1), unlimited, policy, context())
    assert (decision.verdict, decision.decided_by) == ("block", "finding:approval.unlimited")
    shown = effective_findings(unlimited, policy)[0]
    assert shown.severity is Severity.CRITICAL
    assert "by policy:mine.toml:severity" in shown.evidence
    assert unlimited[0].severity is Severity.MEDIUM  # the caller's findings are not mutated


def test_chain_not_allowed_blocks_under_everyday() -> None:
    decision = judge(send_eth(FRIEND, 0.1, chain_id=5), [], load_policy("everyday"), context())
    assert (decision.verdict, decision.decided_by) == ("block", "policy:everyday.toml:chains.allowed")
    assert decision.findings[0].id == "policy.chain_not_allowed"
    assert (
        judge(send_eth(FRIEND, 0.1, chain_id=8453), [], load_policy("everyday"), context()).verdict == "allow"
    )


def test_denied_address_anywhere_in_the_request_blocks(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, f'[deny]\naddresses = ["{FRIEND}"]\n')
    inner = call(
        USDC,
        "transfer(address,uint256)",
        [("to", "address", FRIEND.lower()), ("amount", "uint256", 5)],
        path="call.children[0]",
    )
    batch = call(ROUTER, "multicall(bytes[])", [("data", "bytes[]", ["0x"])], children=[inner])
    decision = judge(tx_request(batch), [], policy, context())
    assert (decision.verdict, decision.decided_by) == ("block", "policy:mine.toml:deny.addresses")
    assert decision.findings[0].id == "policy.denied_address"
    assert decision.findings[0].location == "call.children[0]"


def test_blocklisted_drainer_blocks(tmp_path: Path) -> None:
    drainer = "0x" + "dd" * 20
    (tmp_path / "drainers.txt").write_text(f"{drainer} fake airdrop\n")
    policy = write_policy(tmp_path, '[deny]\nblocklist = "drainers.txt"\n')
    decision = judge(erc20_approve(USDC, drainer, 10**6), [], policy, context())
    assert (decision.verdict, decision.decided_by) == ("block", "policy:mine.toml:deny.blocklist")
    assert decision.findings[0].id == "address.blocklisted"
    assert decision.findings[0].severity is Severity.CRITICAL


def test_denied_function_by_signature_or_selector(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, '[deny]\nfunctions = ["setApprovalForAll(address,bool)", "0xdeadbeef"]\n')
    nft = call(
        ROUTER,
        "setApprovalForAll(address,bool)",
        [("operator", "address", FRIEND), ("approved", "bool", True)],
    )
    assert judge(tx_request(nft), [], policy, context()).decided_by == "policy:mine.toml:deny.functions"
    unknown = call(ROUTER, selector="0xdeadbeef")
    decision = judge(tx_request(unknown), [], policy, context())
    assert decision.verdict == "block"
    assert decision.findings[0].id == "policy.denied_function"
    assert judge(erc20_transfer(USDC, FRIEND, 1), [], policy, context()).verdict == "allow"


def test_denied_contract_only_as_a_target(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, f'[deny]\ncontracts = ["{ROUTER}"]\n')
    assert judge(erc20_transfer(USDC, ROUTER, 1), [], policy, context()).verdict == "allow"
    assert (
        judge(tx_request(call(ROUTER, value=1)), [], policy, context()).decided_by
        == "policy:mine.toml:deny.contracts"
    )


def test_allow_only_confirms_anything_off_the_list(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path, f'[allow]\nonly = true\ncontracts = ["{USDC}"]\nfunctions = ["transfer(address,uint256)"]\n'
    )
    assert judge(erc20_transfer(USDC, FRIEND, 1), [], policy, context()).verdict == "allow"
    decision = judge(erc20_approve(USDC, FRIEND, 1), [], policy, context())
    assert (decision.verdict, decision.decided_by) == ("confirm", "policy:mine.toml:allow.only")
    assert judge(tx_request(call(ROUTER, value=1)), [], policy, context()).verdict == "confirm"
    assert USDC in policy.trusted


def test_daily_limit_passes_small_spends_and_confirms_above_100_usd() -> None:
    set_prices("ETH = 3000\n")
    policy = load_policy("daily-limit")
    assert judge(send_eth(FRIEND, 0.02), [], policy, context()).verdict == "allow"  # 60 USD
    decision = judge(send_eth(FRIEND, 0.05), [], policy, context())  # 150 USD
    assert (decision.verdict, decision.decided_by) == ("confirm", "policy:daily-limit.toml:limits.daily_usd")
    assert decision.findings[0].id == "policy.daily_limit"
    assert "150.00 USD" in decision.findings[0].evidence


def test_daily_limit_counts_what_the_ledger_says_was_spent() -> None:
    set_prices("ETH = 3000\n")
    policy = load_policy("daily-limit")
    spends = spend_of(send_eth(FRIEND, 0.02), load_prices())  # 60 USD
    assert check_spend(policy, spends, {}) == []
    earlier = ledger_amounts(spend_of(send_eth(FRIEND, 0.015), load_prices()))  # 45 USD
    assert earlier == {"ETH": 15 * 10**15, "USD": 45_000_000}
    hits = check_spend(policy, spends, earlier)
    assert [(h.rule, h.action, h.finding.id) for h in hits] == [
        ("policy:daily-limit.toml:limits.daily_usd", "confirm", "policy.daily_limit")
    ]


def test_unpriced_spend_cannot_pass_a_usd_limit() -> None:
    unknown_token = "0x" + "5e" * 20  # neither bundled nor in prices.toml
    decision = judge(erc20_transfer(unknown_token, FRIEND, 10), [], load_policy("daily-limit"), context())
    assert decision.verdict == "confirm"
    assert decision.findings[0].id == "policy.price_unknown"
    assert "prices.toml" in decision.findings[0].evidence


def test_bundled_prices_apply_without_a_price_file_and_say_their_date() -> None:
    as_of = load_prices().bundled.as_of  # type: ignore[union-attr]
    decision = judge(send_eth(FRIEND, 1), [], load_policy("daily-limit"), context())  # about 2,500 USD
    assert (decision.verdict, decision.decided_by) == ("confirm", "policy:daily-limit.toml:limits.daily_usd")
    assert f"at bundled prices of {as_of}" in decision.findings[0].evidence
    set_prices("ETH = 10\n")  # the user's own price wins, and is not called bundled
    decision = judge(send_eth(FRIEND, 1), [], load_policy("daily-limit"), context())
    assert decision.verdict == "allow"
    [spend] = spend_of(send_eth(FRIEND, 1), load_prices())
    assert (spend.usd, spend.as_of, spend.describe()) == (Decimal(10), None, "1 ETH (≈ 10.00 USD)")


def test_token_spends_use_decimals_and_the_price_table(tmp_path: Path) -> None:
    set_prices(f'"{USDC}" = 1\nUSDC = 0\n')  # the address entry wins over the symbol
    request = erc20_transfer(USDC, FRIEND, 250 * 10**6)
    [spend] = spend_of(request, load_prices(), {USDC: USDC_META})
    assert (spend.asset, spend.symbol, spend.amount, spend.units, spend.usd) == (
        USDC,
        "USDC",
        250 * 10**6,
        Decimal(250),
        Decimal(250),
    )
    policy = write_policy(
        tmp_path, '[limits]\naction = "block"\n[limits.assets.USDC]\ntx = 200\ndaily = 1000\n'
    )
    decision = judge(request, [], policy, context(tokens={USDC: USDC_META}))
    assert (decision.verdict, decision.decided_by) == ("block", "policy:mine.toml:limits.assets.USDC.tx")
    hits = check_spend(policy, [spend], {USDC: 800 * 10**6})
    assert {h.rule for h in hits} == {
        "policy:mine.toml:limits.assets.USDC.tx",
        "policy:mine.toml:limits.assets.USDC.daily",
    }


def test_transfer_from_someone_else_is_not_my_spend() -> None:
    theirs = call(
        USDC,
        "transferFrom(address,address,uint256)",
        [("from", "address", FRIEND), ("to", "address", USER), ("amount", "uint256", 5)],
    )
    mine = call(
        USDC,
        "transferFrom(address,address,uint256)",
        [("from", "address", USER), ("to", "address", FRIEND), ("amount", "uint256", 7)],
    )
    assert spend_of(tx_request(theirs)) == []
    assert [s.amount for s in spend_of(tx_request(mine))] == [7]


def test_confirm_above_native(tmp_path: Path) -> None:
    assert judge(send_eth(FRIEND, 0.5), [], load_policy("everyday"), context()).verdict == "allow"
    decision = judge(send_eth(FRIEND, 1.5), [], load_policy("everyday"), context())
    assert (decision.verdict, decision.decided_by) == ("confirm", "policy:everyday.toml:confirm.above_native")
    assert decision.findings[0].id == "policy.value_over_limit"


def test_confirm_above_usd(tmp_path: Path) -> None:
    set_prices("ETH = 2000\n")
    policy = write_policy(tmp_path, "[confirm]\nabove_usd = 500\n")
    assert judge(send_eth(FRIEND, 0.2), [], policy, context()).verdict == "allow"
    assert (
        judge(send_eth(FRIEND, 0.3), [], policy, context()).decided_by == "policy:mine.toml:confirm.above_usd"
    )


def test_approval_over_max(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, '[approvals]\naction = "block"\nmax_amount = { USDC = 1000 }\n')
    ctx = context(tokens={USDC: USDC_META})
    assert judge(erc20_approve(USDC, ROUTER, 500 * 10**6), [], policy, ctx).verdict == "allow"
    decision = judge(erc20_approve(USDC, ROUTER, 2**256 - 1), [], policy, ctx)
    assert (decision.verdict, decision.decided_by) == ("block", "policy:mine.toml:approvals.max_amount.USDC")
    assert "unlimited USDC" in decision.findings[0].evidence
    by_usd = write_policy(tmp_path, "[approvals]\nmax_usd = 100\n", "usd.toml")
    bundled = judge(erc20_approve(USDC, ROUTER, 101 * 10**6), [], by_usd, ctx)  # no price file: bundled prices
    assert "at bundled prices of" in bundled.findings[0].evidence
    set_prices("USDC = 1\n")
    assert judge(erc20_approve(USDC, ROUTER, 99 * 10**6), [], by_usd, ctx).verdict == "allow"
    assert (
        judge(erc20_approve(USDC, ROUTER, 101 * 10**6), [], by_usd, ctx).decided_by
        == "policy:usd.toml:approvals.max_usd"
    )


def test_permit_lifetime() -> None:
    policy = load_policy("everyday")  # 31 days
    short = typed_permit(USDC, ROUTER, 10**6, NOW + 3600)
    assert judge(short, [], policy, context()).verdict == "allow"
    forever = typed_permit(USDC, ROUTER, 10**6, 2**256 - 1)
    decision = judge(forever, [], policy, context())
    assert (decision.verdict, decision.decided_by) == (
        "confirm",
        "policy:everyday.toml:approvals.max_permit_days",
    )
    assert "never expires" in decision.findings[0].evidence
    year = typed_permit(USDC, ROUTER, 10**6, NOW + 365 * 86400)
    assert judge(year, [], policy, context()).findings[0].id == "policy.permit_lifetime"


@pytest.mark.parametrize(
    ("gas", "max_fee", "base_fee", "expected"),
    [
        (21_000, 30 * GWEI, None, "allow"),
        (21_000, 2000 * GWEI, None, "confirm"),  # absurd fee per gas
        (5_000_000, 300 * GWEI, None, "confirm"),  # 1.5 ETH of fees
        (21_000, 200 * GWEI, 5 * GWEI, "confirm"),  # 40x the base fee
        (21_000, 2 * GWEI, 1, "allow"),  # a big multiple of a tiny base fee is still normal
    ],
)
def test_abnormal_gas(gas: int, max_fee: int, base_fee: int | None, expected: str) -> None:
    request = tx_request(call(FRIEND, value=ETHER // 100), gas=gas, max_fee=max_fee)
    decision = judge(request, [], load_policy("default"), context(base_fee=base_fee))
    assert decision.verdict == expected
    if expected != "allow":
        assert decision.findings[0].id == "policy.gas_abnormal"
        assert decision.decided_by == "policy:default.toml:gas"


def test_legacy_gas_price_is_checked_too() -> None:
    request = tx_request(call(FRIEND, value=1), gas=21_000, max_fee=5000 * GWEI, tx_type=0)
    assert judge(request, [], load_policy("default"), context()).findings[0].id == "policy.gas_abnormal"


def test_policy_block_beats_a_finding_confirm(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, f'[deny]\naddresses = ["{FRIEND}"]\n')
    decision = judge(send_eth(FRIEND, 0.1), [finding("x.high", Severity.HIGH)], policy, context())
    assert (decision.verdict, decision.decided_by) == ("block", "policy:mine.toml:deny.addresses")


PERMIT2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3"


def test_permit2_allowance_lifetime_and_amount(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "[approvals]\nmax_permit_days = 7\nmax_amount = { USDC = 100 }\n")
    ctx = context(tokens={USDC: USDC_META})

    def single(amount: int, expiration: int) -> DecodedRequest:
        details = {"token": USDC, "amount": str(amount), "expiration": str(expiration), "nonce": "0"}
        message = {"details": details, "spender": ROUTER, "sigDeadline": str(NOW + 1800)}
        return typed_request(message, PERMIT2, "PermitSingle")

    assert judge(single(50 * 10**6, NOW + 86400), [], policy, ctx).verdict == "allow"
    rules = {h.rule for h in policy_hits(single(2**160 - 1, NOW + 30 * 86400), policy, ctx)}
    assert rules == {
        "policy:mine.toml:approvals.max_amount.USDC",
        "policy:mine.toml:approvals.max_permit_days",
    }
    # expiration 0 means "this block": the signature deadline (30 minutes) bounds it
    assert judge(single(10**6, 0), [], policy, ctx).verdict == "allow"


def test_dai_permit_without_expiry_is_forever(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "[approvals]\nmax_permit_days = 30\n")
    dai = "0x6B175474E89094C44Da98b954EedeAC495271d0F"
    message = {"holder": USER, "spender": ROUTER, "nonce": 0, "expiry": 0, "allowed": True}
    decision = judge(typed_request(message, dai, "Permit"), [], policy, context())
    assert decision.findings[0].id == "policy.permit_lifetime"
    assert "never expires" in decision.findings[0].evidence


def test_typed_data_chain_is_checked_against_allowed_chains() -> None:
    request = typed_permit(USDC, ROUTER, 1, NOW + 60, chain_id=250)
    assert (
        judge(request, [], load_policy("everyday"), context()).decided_by
        == "policy:everyday.toml:chains.allowed"
    )


def test_policy_file_name_resolves_like_its_name() -> None:
    assert load_policy("everyday.toml").name == "everyday"


def test_malformed_permit_fields_are_ignored_not_crashed_on(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "[approvals]\nmax_permit_days = 7\nmax_usd = 10\n")
    message = {
        "details": [{"token": 12, "amount": "x", "expiration": None}, "junk"],
        "spender": ["not", "an", "address"],
    }
    decision = judge(typed_request(message, PERMIT2, "PermitBatch"), [], policy, context())
    assert [f.id for f in decision.findings] == [
        "policy.permit_lifetime"
    ]  # no expiration readable: treated as never


VERDICTS = ("allow", "confirm", "block")


@given(
    table=st.lists(st.sampled_from(VERDICTS), min_size=5, max_size=5),
    default=st.sampled_from(VERDICTS),
    severities=st.lists(st.sampled_from(list(Severity)), max_size=6),
)
@settings(max_examples=150, deadline=None)
def test_worst_outcome_always_wins(table: list[str], default: str, severities: list[Severity]) -> None:
    from copilot.policy.loader import parse_policy

    levels = ("critical", "high", "medium", "low", "info")
    text = f'default = "{default}"\n[verdicts]\n' + "".join(
        f'{s} = "{v}"\n' for s, v in zip(levels, table, strict=True)
    )
    policy = parse_policy(text, name="prop")
    findings = [finding(f"f{i}.{s.value}", s) for i, s in enumerate(severities)]
    decision = judge(send_eth(FRIEND, 0.01), findings, policy, context())
    outcomes = [default] + [table[levels.index(s.value)] for s in severities]
    rank = {"allow": 0, "confirm": 1, "block": 2}
    assert decision.verdict == max(outcomes, key=rank.__getitem__)
    if decision.decided_by.startswith("finding:"):
        decider = next(f for f in findings if f"finding:{f.id}" == decision.decided_by)
        assert table[levels.index(decider.severity.value)] == decision.verdict
        same = [f for f in findings if table[levels.index(f.severity.value)] == decision.verdict]
        assert decider.severity.rank == max(f.severity.rank for f in same)
    else:
        assert decision.decided_by == "policy:prop.toml:default"
        assert decision.verdict == default


def test_native_limits_still_apply_on_a_chain_the_registry_does_not_know() -> None:
    set_prices("ETH = 3000\n")
    policy = load_policy("daily-limit")
    decision = judge(send_eth(FRIEND, 0.05, chain_id=999_999), [], policy, context())  # 150 USD
    assert decision.verdict == "confirm"
    assert decision.findings[0].id == "policy.daily_limit"


def test_an_allowing_finding_never_decides_the_default_does() -> None:
    decision = judge(send_eth(FRIEND, 0.1), [finding("tx.other_chain", Severity.INFO)], load_policy("default"), context())
    assert (decision.verdict, decision.decided_by) == ("allow", "policy:default.toml:default")


def test_default_policy_confirms_big_money_and_payments_to_new_addresses() -> None:
    policy = load_policy("default")
    known = ReviewContext(user=USER, now=NOW, address_book={FRIEND: "friend"})
    assert judge(send_eth(FRIEND, 3), [], policy, known).verdict == "allow"  # a friend, below 5 ETH
    big = judge(send_eth(FRIEND, 5000), [], policy, known)
    assert (big.verdict, big.decided_by) == ("confirm", "policy:default.toml:confirm.above_native")
    stranger = judge(send_eth(FRIEND, 0.5), [], policy, context())
    assert (stranger.verdict, stranger.decided_by) == ("confirm", "policy:default.toml:confirm.new_address_above_native")
    assert judge(send_eth(FRIEND, 0.05), [], policy, context()).verdict == "allow"


WBTC = "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"
# The 2024 victim's real counterparty and the poisoner's look-alike (same first and last hex).
WBTC_LOOKALIKE = "0xd9A1C3788D81257612E2581A6ea0aDa244853a91"


def test_default_policy_asks_before_a_token_payment_worth_over_1000_usd_to_a_new_address() -> None:
    policy = load_policy("default")
    # 1,155 WBTC (about $68M then) to a first-seen look-alike: once risk 2 and `allow`.
    stolen = judge(erc20_transfer(WBTC, WBTC_LOOKALIKE, 1155 * 10**8), [], policy, context())
    assert (stolen.verdict, stolen.decided_by) == ("confirm", "policy:default.toml:confirm.new_address_above_usd")
    evidence = stolen.findings[0].evidence
    assert "1155 WBTC" in evidence and WBTC_LOOKALIKE in evidence and "never dealt with before" in evidence
    assert f"at bundled prices of {load_prices().bundled.as_of}" in evidence  # type: ignore[union-attr]
    assert judge(erc20_transfer(USDC, FRIEND, 500 * 10**6), [], policy, context()).verdict == "allow"
    assert judge(erc20_transfer(USDC, FRIEND, 1001 * 10**6), [], policy, context()).verdict == "confirm"
    known = ReviewContext(user=USER, now=NOW, known_addresses={WBTC_LOOKALIKE})
    assert judge(erc20_transfer(WBTC, WBTC_LOOKALIKE, 1155 * 10**8), [], policy, known).verdict == "allow"


def test_whom_you_paid_on_chain_is_not_new_but_whoever_only_sent_you_something_is() -> None:
    policy = load_policy("default")
    paid = RecentTransfer(token=USDC.lower(), sender=USER.lower(), recipient=FRIEND.lower(), amount=10**6, block=1,
                          tx="0x" + "11" * 32)
    planted = RecentTransfer(token=WBTC.lower(), sender=WBTC_LOOKALIKE.lower(), recipient=USER.lower(), amount=0,
                             block=2, tx="0x" + "22" * 32)
    node = context(recent_transfers=[paid, planted])
    assert judge(erc20_transfer(USDC, FRIEND, 5000 * 10**6), [], policy, node).verdict == "allow"
    assert judge(erc20_transfer(USDC, FRIEND, 5000 * 10**6), [], policy, context()).verdict == "confirm"
    stolen = judge(erc20_transfer(WBTC, WBTC_LOOKALIKE, 1155 * 10**8), [], policy, node)
    assert (stolen.verdict, stolen.decided_by) == ("confirm", "policy:default.toml:confirm.new_address_above_usd")


def test_unpriced_token_payments_to_a_new_address_ask_by_count_or_by_share_of_balance() -> None:
    policy = load_policy("default")
    token = "0x" + "7a" * 20
    meta = TokenMeta(address=token, symbol="NEW", decimals=6, source="rpc")
    ctx = context(tokens={token: meta})
    assert judge(erc20_transfer(token, FRIEND, 999 * 10**6), [], policy, ctx).verdict == "allow"
    many = judge(erc20_transfer(token, FRIEND, 1000 * 10**6), [], policy, ctx)
    assert (many.verdict, many.decided_by) == ("confirm", "policy:default.toml:confirm.new_address_unpriced_tokens")
    # with a node: half of what the user holds asks, whatever the count
    rich = context(tokens={token: meta}, balances={USER: {token: 10_000 * 10**6}})
    assert judge(erc20_transfer(token, FRIEND, 999 * 10**6), [], policy, rich).verdict == "allow"
    poor = context(tokens={token: meta}, balances={USER: {token: 100 * 10**6}})
    half = judge(erc20_transfer(token, FRIEND, 50 * 10**6), [], policy, poor)
    assert (half.verdict, half.decided_by) == ("confirm", "policy:default.toml:confirm.new_address_balance_share")
    assert judge(erc20_transfer(token, FRIEND, 49 * 10**6), [], policy, poor).verdict == "allow"
    # no node, no decimals: whether it is 1,000 tokens cannot be told, so it asks
    blind = judge(erc20_transfer(token, FRIEND, 5), [], policy, context())
    assert (blind.verdict, blind.decided_by) == ("confirm", "policy:default.toml:confirm.new_address_unpriced_tokens")
    assert "decimals are unknown" in blind.findings[0].evidence


def test_a_siwe_chain_outside_the_allowed_chains_is_a_policy_hit(tmp_path: Path) -> None:
    from copilot.decoding import decode
    from copilot.inputs import parse_request
    from copilot.risk.corpus import corpus_dir, load_case

    case = load_case(corpus_dir() / "siwe-chain-mismatch.json")  # Chain ID: 56
    decoded = decode(parse_request(json.dumps(case.request)))
    policy = write_policy(tmp_path, "[chains]\nallowed = [1, 8453]\n")
    decision = judge(decoded, [], policy, context())
    assert (decision.verdict, decision.decided_by) == ("block", "policy:mine.toml:chains.allowed")
    assert "chain 56" in decision.findings[0].evidence


WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC_LIMIT = '[limits]\naction = "block"\n[limits.assets.USDC]\ntx = 200\n'


def test_a_swaps_token_input_counts_against_the_limits(tmp_path: Path) -> None:
    from copilot.decoding import decode
    from copilot.inputs import parse_request
    from copilot.resources import fixtures_dir

    swap = decode(parse_request((fixtures_dir() / "requests" / "benign-uniswap-v3-exact-input-single.json").read_text()))
    assert [(s.symbol, s.amount) for s in spend_of(swap)] == [("USDC", 500 * 10**6)]  # exactInputSingle amountIn
    decision = judge(swap, [], write_policy(tmp_path, USDC_LIMIT), context())
    assert (decision.verdict, decision.decided_by) == ("block", "policy:mine.toml:limits.assets.USDC.tx")


def test_an_exact_output_swap_counts_its_maximum_input_and_the_router_paying_itself_counts_nothing() -> None:
    v2 = call(
        ROUTER,
        "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)",
        [("amountOut", "uint256", 10**17), ("amountInMax", "uint256", 400 * 10**6),
         ("path", "address[]", [USDC, WETH]), ("to", "address", USER), ("deadline", "uint256", NOW + 60)],
    )  # fmt: skip
    assert [(s.asset, s.amount) for s in spend_of(tx_request(v2))] == [(USDC, 400 * 10**6)]
    # V3 paths of exact-output swaps are encoded output first: the input is the last token
    path = "0x" + WETH[2:].lower() + "0001f4" + USDC[2:].lower()
    params = [("recipient", "address", USER), ("amountOut", "uint256", 10**17), ("amountInMax", "uint256", 300 * 10**6),
              ("path", "bytes", path)]  # fmt: skip
    mine = call(ROUTER, "V3_SWAP_EXACT_OUT(address,uint256,uint256,bytes,bool)", [*params, ("payerIsUser", "bool", True)])
    routers = call(ROUTER, "V3_SWAP_EXACT_OUT(address,uint256,uint256,bytes,bool)", [*params, ("payerIsUser", "bool", False)])
    assert [(s.asset, s.amount) for s in spend_of(tx_request(mine))] == [(USDC, 300 * 10**6)]
    assert spend_of(tx_request(routers)) == []


def test_eth_a_router_wraps_for_a_weth_swap_counts_once_and_a_zero_amount_not_at_all() -> None:
    swap = call(
        ROUTER,
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
        [("params", "(address,address,uint24,address,uint256,uint256,uint160)",
          {"tokenIn": WETH, "tokenOut": USDC, "fee": 500, "recipient": USER, "amountIn": ETHER,
           "amountOutMinimum": 0, "sqrtPriceLimitX96": 0})],
        value=ETHER,
    )  # fmt: skip
    assert [(s.asset, s.amount) for s in spend_of(tx_request(swap))] == [("ETH", ETHER)]
    router_balance = call(
        ROUTER,
        "exactInput((bytes,address,uint256,uint256))",
        [("params", "(bytes,address,uint256,uint256)",
          {"path": "0x" + WETH[2:].lower() + "0001f4" + USDC[2:].lower(), "recipient": USER, "amountIn": 0,
           "amountOutMinimum": 0})],
    )  # fmt: skip
    assert spend_of(tx_request(router_balance)) == []  # SwapRouter02: 0 means "the router's balance"


def test_universal_router_permit2_pulls_count_as_spends() -> None:
    pull = call(ROUTER, "PERMIT2_TRANSFER_FROM(address,address,uint160)",
                [("token", "address", USDC), ("recipient", "address", ROUTER), ("amount", "uint160", 900 * 10**6)])  # fmt: skip
    details = [{"from": USER, "to": ROUTER, "amount": 70 * 10**6, "token": USDC},
               {"from": FRIEND, "to": ROUTER, "amount": 5 * 10**6, "token": USDC}]  # fmt: skip
    batch = call(ROUTER, "PERMIT2_TRANSFER_FROM_BATCH((address,address,uint160,address)[])",
                 [("transferDetails", "(address,address,uint160,address)[]", details)])  # fmt: skip
    plan = call(ROUTER, "execute(bytes,bytes[],uint256)", children=[pull, batch])
    assert [(s.asset, s.amount) for s in spend_of(tx_request(plan))] == [(USDC, 970 * 10**6)]


def test_native_value_inside_a_safe_multisend_is_the_safes_spend() -> None:
    inner = call(FRIEND, value=5 * ETHER)
    multisend = call(ROUTER, "multiSend(bytes)", [("transactions", "bytes", "0x")], children=[inner])
    multisend = multisend.model_copy(update={"operation": "delegatecall"})
    safe_tx = call(ROUTER, "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
                   children=[multisend])  # fmt: skip
    assert [(s.asset, s.amount) for s in spend_of(tx_request(safe_tx))] == [("ETH", 5 * ETHER)]
