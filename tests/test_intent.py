"""The intent check: (intent, request, expected outcome) table, near misses included, and the parser."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from calldatahelpers import DAI, PERMIT2, SWAP_ROUTER02, V2_ROUTER, WETH
from policyhelpers import (
    ETHER,
    FRIEND,
    USDC,
    USER,
    call,
    erc20_approve,
    erc20_transfer,
    send_eth,
    tx_request,
    typed_permit,
)

from copilot.intent.compare import check_sentence
from copilot.intent.parse import IntentError, parse_intent
from copilot.models import ChainFacts, DecodedRequest, RequestKind, ReviewContext, SigningRequest
from copilot.risk.corpus import corpus_dir, load_case, prepare

USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
ROUTER02 = SWAP_ROUTER02  # Uniswap SwapRouter02
FAKE_USDC = "0x5555555555555555555555555555555555555555"  # a token that calls itself USDC
LOOKALIKE = "0x70997970C51812dc3A010C7d01b50e0d17dc7999"  # "A1ice": Alice's first and last characters
BOB = "0x2222222222222222222222222222222222222222"
STRANGER = "0x9999999999999999999999999999999999999999"
BOOK = {FRIEND: "Alice", LOOKALIKE: "A1ice", BOB: "Bob (work)"}
USDC6 = 10**6
MAX = 2**256 - 1


def batch(*calls: object) -> DecodedRequest:
    """An EIP-5792 wallet_sendCalls batch from the user."""
    entries = [c.model_copy(update={"path": f"calls[{i}]"}) for i, c in enumerate(calls)]  # type: ignore[attr-defined]
    request = SigningRequest(kind=RequestKind.CALL_BATCH, calls=[], chain_id=1, sender=USER)
    return DecodedRequest(request=request, calls=entries, payload_hash="0x" + "00" * 32)


def transfer_call(token: str, to: str, amount: int) -> object:
    return call(token, "transfer(address,uint256)", [("to", "address", to), ("amount", "uint256", amount)])


def approve_call(token: str, spender: str, amount: int) -> object:
    return call(token, "approve(address,uint256)", [("spender", "address", spender), ("amount", "uint256", amount)])


def v2_swap(amount_in: int, path: list[str], to: str = USER, router: str = V2_ROUTER) -> object:
    return call(router, "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                [("amountIn", "uint256", amount_in), ("amountOutMin", "uint256", 1), ("path", "address[]", path),
                 ("to", "address", to), ("deadline", "uint256", 2**40)])  # fmt: skip


def v2_swap_eth(ether: int, token_out: str, to: str = USER) -> DecodedRequest:
    top = call(V2_ROUTER, "swapExactETHForTokens(uint256,address[],address,uint256)",
               [("amountOutMin", "uint256", 1), ("path", "address[]", [WETH, token_out]), ("to", "address", to),
                ("deadline", "uint256", 2**40)], value=ether)  # fmt: skip
    return tx_request(top)


def v3_single(token_in: str, token_out: str, amount_in: int, recipient: str = USER) -> object:
    struct = {"tokenIn": token_in, "tokenOut": token_out, "fee": 500, "recipient": recipient, "amountIn": amount_in,
              "amountOutMinimum": 1, "sqrtPriceLimitX96": 0}  # fmt: skip
    return call(ROUTER02, "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
                [("params", "tuple", struct)])  # fmt: skip


def wrap(ether: int) -> DecodedRequest:
    return tx_request(call(WETH, "deposit()", value=ether))


def set_operator(collection: str, operator: str, approved: bool) -> DecodedRequest:
    return tx_request(call(collection, "setApprovalForAll(address,bool)",
                           [("operator", "address", operator), ("approved", "bool", approved)]))  # fmt: skip


def vote_delegate(token: str, delegatee: str) -> DecodedRequest:
    return tx_request(call(token, "delegate(address)", [("delegatee", "address", delegatee)]))


@cache
def fixture(name: str) -> DecodedRequest:
    return prepare(load_case(corpus_dir() / f"{name}.json")).decoded


def context(**chain: object) -> ReviewContext:
    return ReviewContext(now=0, user=USER, address_book=dict(BOOK), chain=ChainFacts.model_validate(chain))


Build = Callable[[], DecodedRequest]
M, X, U, B = "match", "mismatch", "unverifiable", "block"  # B: a mismatch that blocks

CASES: list[tuple[str, str, Build, str]] = [
    # sends: asset, exact amount with decimals, recipient
    ("send-usdc", "pay alice 50 USDC", lambda: erc20_transfer(USDC, FRIEND, 50 * USDC6), M),
    ("send-usdc-word-order", "send 50 USDC to alice", lambda: erc20_transfer(USDC, FRIEND, 50 * USDC6), M),
    ("send-usdc-address", f"send 50 usdc to {FRIEND.lower()}", lambda: erc20_transfer(USDC, FRIEND, 50 * USDC6), M),
    ("send-usdc-fraction", "pay alice 0.000001 USDC", lambda: erc20_transfer(USDC, FRIEND, 1), M),
    ("send-usdc-grouped", "pay alice 1,000.5 USDC", lambda: erc20_transfer(USDC, FRIEND, 1_000_500_000), M),
    ("send-18-decimals-of-usdc", "pay alice 50 USDC", lambda: erc20_transfer(USDC, FRIEND, 50 * 10**18), X),
    ("send-usdc-amount-off-by-one", "pay alice 50 USDC", lambda: erc20_transfer(USDC, FRIEND, 50 * USDC6 + 1), X),
    ("send-too-many-decimals", "pay alice 0.0000001 USDC", lambda: erc20_transfer(USDC, FRIEND, 1), X),
    ("send-dai-18", "pay alice 50 DAI", lambda: erc20_transfer(DAI, FRIEND, 50 * 10**18), M),
    ("send-dai-6-decimals", "pay alice 50 DAI", lambda: erc20_transfer(DAI, FRIEND, 50 * USDC6), X),
    ("send-fake-usdc", "pay alice 50 USDC", lambda: erc20_transfer(FAKE_USDC, FRIEND, 50 * USDC6), B),
    ("send-usdt-not-usdc", "pay alice 50 USDC", lambda: erc20_transfer(USDT, FRIEND, 50 * USDC6), B),
    ("send-lookalike-address", "pay alice 50 USDC", lambda: erc20_transfer(USDC, LOOKALIKE, 50 * USDC6), B),
    ("send-lookalike-label", "pay a1ice 50 USDC", lambda: erc20_transfer(USDC, FRIEND, 50 * USDC6), B),
    ("send-stranger", "pay alice 50 USDC", lambda: erc20_transfer(USDC, STRANGER, 50 * USDC6), B),
    ("send-label-note-dropped", "pay bob 5 USDC", lambda: erc20_transfer(USDC, BOB, 5 * USDC6), M),
    ("send-unknown-name", "pay carol 5 USDC", lambda: erc20_transfer(USDC, BOB, 5 * USDC6), U),
    # who carol is cannot be told, but that the asset is another one can: that mismatch still blocks
    ("send-unknown-name-wrong-asset", "pay carol 5 USDT", lambda: erc20_transfer(USDC, BOB, 5 * USDC6), B),
    ("send-unknown-name-extra-approval", "pay carol 5 USDC",
     lambda: batch(transfer_call(USDC, BOB, 5 * USDC6), approve_call(USDC, STRANGER, MAX)), B),
    ("send-unknown-symbol", "pay alice 5 FOO", lambda: erc20_transfer(USDC, FRIEND, 5 * USDC6), U),
    ("send-eth", "send 1.5 ETH to alice", lambda: send_eth(FRIEND, 1.5), M),
    ("send-eth-wrong-amount", "send 1 ETH to alice", lambda: send_eth(FRIEND, 1.5), X),
    ("send-eth-gets-weth", "send 1 ETH to alice", lambda: erc20_transfer(WETH, FRIEND, ETHER), B),
    ("send-weth-gets-eth", "send 1 WETH to alice", lambda: send_eth(FRIEND, 1), B),
    ("send-no-recipient-named", "send 2 USDC", lambda: erc20_transfer(USDC, STRANGER, 2 * USDC6), M),
    ("send-all-without-node", "send all USDC to alice", lambda: erc20_transfer(USDC, FRIEND, 7 * USDC6), U),
    ("send-max-without-node", "send max USDC to alice", lambda: erc20_transfer(USDC, FRIEND, 7 * USDC6), U),
    ("send-with-extra-approval", "pay alice 50 USDC",
     lambda: batch(transfer_call(USDC, FRIEND, 50 * USDC6), approve_call(USDC, STRANGER, MAX)), B),
    ("send-with-extra-outflow", "pay alice 50 USDC",
     lambda: batch(transfer_call(USDC, FRIEND, 50 * USDC6), transfer_call(DAI, STRANGER, ETHER)), B),
    ("send-split-between-two", "pay alice 50 USDC",
     lambda: batch(transfer_call(USDC, FRIEND, 25 * USDC6), transfer_call(USDC, LOOKALIKE, 25 * USDC6)), B),
    ("send-but-approve", "pay alice 50 USDC", lambda: erc20_approve(USDC, FRIEND, 50 * USDC6), B),
    ("send-blind-call", "pay alice 50 USDC", lambda: tx_request(call(STRANGER, selector="0xdeadbeef")), U),
    ("send-but-raw-hash", "pay alice 50 USDC", lambda: fixture("sign-raw-hash"), U),
    # swaps: input, output token, recipient, protocol
    ("swap-v2", "swap 100 USDC for WETH", lambda: tx_request(v2_swap(100 * USDC6, [USDC, WETH])), M),
    ("swap-v2-on-uniswap", "swap 100 USDC for WETH on uniswap", lambda: tx_request(v2_swap(100 * USDC6, [USDC, WETH])), M),
    ("sell-v3", "sell 100 USDC for WETH", lambda: tx_request(v3_single(USDC, WETH, 100 * USDC6)), M),
    ("swap-v3-amount-differs", "swap 10 USDC for WETH", lambda: tx_request(v3_single(USDC, WETH, 100 * USDC6)), X),
    ("swap-output-elsewhere", "swap 100 USDC for WETH", lambda: tx_request(v3_single(USDC, WETH, 100 * USDC6, STRANGER)), B),
    ("swap-v2-output-elsewhere", "swap 100 USDC for WETH", lambda: tx_request(v2_swap(100 * USDC6, [USDC, WETH], STRANGER)), B),
    ("swap-wrong-output", "swap 100 USDC for WETH", lambda: tx_request(v2_swap(100 * USDC6, [USDC, DAI])), B),
    ("swap-wrong-input", "swap 100 USDC for WETH", lambda: tx_request(v2_swap(100 * 10**18, [DAI, WETH])), B),
    ("swap-on-other-protocol", "swap 100 USDC for WETH on 1inch", lambda: tx_request(v2_swap(100 * USDC6, [USDC, WETH])), B),
    ("swap-eth-v2", "swap 1 ETH for USDC", lambda: v2_swap_eth(ETHER, USDC), M),
    ("swap-eth-v2-elsewhere", "swap 1 ETH for USDC", lambda: v2_swap_eth(ETHER, USDC, STRANGER), B),
    ("swap-batch-exact-approval", "swap 100 USDC for WETH",
     lambda: batch(approve_call(USDC, ROUTER02, 100 * USDC6), v3_single(USDC, WETH, 100 * USDC6)), M),
    ("swap-batch-one-extra-approval", "swap 100 USDC for WETH",
     lambda: batch(approve_call(USDC, ROUTER02, 100 * USDC6), approve_call(DAI, STRANGER, MAX),
                   v3_single(USDC, WETH, 100 * USDC6)), B),
    ("swap-batch-approval-to-stranger", "swap 100 USDC for WETH",
     lambda: batch(approve_call(USDC, STRANGER, 100 * USDC6), v3_single(USDC, WETH, 100 * USDC6)), B),
    ("swap-batch-unlimited-router-approval", "swap 100 USDC for WETH",
     lambda: batch(approve_call(USDC, ROUTER02, MAX), v3_single(USDC, WETH, 100 * USDC6)), X),
    ("swap-eth-for-weth-is-a-wrap", "swap 1 ETH for WETH", lambda: wrap(ETHER), M),
    ("swap-eth-for-usdc-but-wrap", "swap 1 ETH for USDC", lambda: wrap(ETHER), B),
    ("swap-but-transfer", "swap 100 USDC for WETH", lambda: erc20_transfer(USDC, STRANGER, 100 * USDC6), B),
    ("buy-weth-with-usdc", "buy 1 WETH with USDC",
     lambda: tx_request(call(V2_ROUTER, "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)",
                             [("amountOut", "uint256", ETHER), ("amountInMax", "uint256", 4000 * USDC6),
                              ("path", "address[]", [USDC, WETH]), ("to", "address", USER),
                              ("deadline", "uint256", 2**40)])), M),
    ("buy-less-than-asked", "buy 2 WETH with USDC", lambda: tx_request(v2_swap(100 * USDC6, [USDC, WETH])), X),
    # approvals and revokes
    ("approve-exact", "approve 100 USDC for uniswap", lambda: erc20_approve(USDC, ROUTER02, 100 * USDC6), M),
    ("approve-exact-18-decimals", "approve 100 USDC for uniswap", lambda: erc20_approve(USDC, ROUTER02, 100 * 10**18), X),
    ("approve-max", "approve max USDC for uniswap", lambda: erc20_approve(USDC, PERMIT2, MAX), M),
    ("approve-max-but-limited", "approve unlimited USDC for uniswap", lambda: erc20_approve(USDC, PERMIT2, 5), X),
    ("approve-wrong-spender", "approve 100 USDC for uniswap", lambda: erc20_approve(USDC, STRANGER, 100 * USDC6), B),
    ("approve-wrong-token", "approve 100 USDC for uniswap", lambda: erc20_approve(FAKE_USDC, ROUTER02, 100 * USDC6), B),
    ("approve-address-book-spender", "approve 3 DAI for alice", lambda: erc20_approve(DAI, FRIEND, 3 * 10**18), M),
    ("approve-no-amount-said", "approve USDC for uniswap", lambda: erc20_approve(USDC, ROUTER02, 100 * USDC6), U),
    ("approve-permit-signature", "approve 100 USDC for alice", lambda: typed_permit(USDC, FRIEND, 100 * USDC6, 2**30), M),
    ("approve-permit-to-lookalike", "approve 100 USDC for alice", lambda: typed_permit(USDC, LOOKALIKE, 100 * USDC6, 2**30), B),
    ("revoke", "revoke USDC from uniswap", lambda: erc20_approve(USDC, ROUTER02, 0), M),
    ("revoke-but-grants", "revoke USDC from uniswap", lambda: erc20_approve(USDC, ROUTER02, MAX), B),
    ("revoke-operator", f"revoke USDC from {STRANGER}", lambda: erc20_approve(USDC, STRANGER, 0), M),
    ("revoke-but-sets-operator", f"revoke {WETH} from {STRANGER}", lambda: set_operator(USDC, STRANGER, True), U),
    # sign in, stake, bridge, mint, delegate
    ("sign-in", "sign in to app.uniswap.org", lambda: fixture("benign-siwe-login"), M),
    ("sign-in-other-domain", "sign in to opensea.io", lambda: fixture("benign-siwe-login"), B),
    ("sign-in-but-transaction", "sign in", lambda: send_eth(STRANGER, 1), B),
    ("stake-lido", "stake 2 ETH on lido", lambda: fixture("benign-lido-stake"), M),
    ("stake-lido-any-staking", "stake 2 ETH", lambda: fixture("benign-lido-stake"), M),
    ("stake-wrong-amount", "stake 1 ETH on lido", lambda: fixture("benign-lido-stake"), X),
    ("stake-to-stranger", "stake 2 ETH", lambda: send_eth(STRANGER, 2), B),
    ("bridge-to-stranger", "bridge 100 USDC to base", lambda: erc20_transfer(USDC, STRANGER, 100 * USDC6), B),
    ("mint-with-price", "mint for 0.1 ETH", lambda: tx_request(call(STRANGER, "mint(uint256)", [("n", "uint256", 1)], value=ETHER // 10)), M),
    ("mint-costs-more", "mint for 0.1 ETH", lambda: tx_request(call(STRANGER, "mint(uint256)", [("n", "uint256", 1)], value=ETHER)), X),
    ("mint-price-unsaid", "mint", lambda: tx_request(call(STRANGER, "mint(uint256)", [("n", "uint256", 1)], value=ETHER)), U),
    ("mint-but-approves", "mint", lambda: set_operator(STRANGER, BOB, True), B),
    ("delegate-votes", "delegate to alice", lambda: vote_delegate(USDC, FRIEND), M),
    ("delegate-votes-lookalike", "delegate to alice", lambda: vote_delegate(USDC, LOOKALIKE), B),
    ("delegate-7702-unnamed", "delegate to bob", lambda: fixture("eip7702-known-delegate"), B),
    ("send-but-7702-delegation", "send 1 ETH to alice", lambda: fixture("eip7702-known-delegate"), B),
    ("not-a-verb", "please pay alice", lambda: erc20_transfer(USDC, FRIEND, 1), U),
]


@pytest.mark.parametrize(("intent", "build", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_intent_table(intent: str, build: Build, expected: str) -> None:
    check = check_sentence(intent, build(), context())
    outcome = "block" if check.outcome == "mismatch" and check.blocks else check.outcome
    assert outcome == expected, (check.outcome, check.blocks, check.reasons)
    assert (check.outcome == "match") == (not check.reasons)


def test_table_is_large_and_has_the_near_misses() -> None:
    names = {c[0] for c in CASES}
    assert len(CASES) >= 60
    assert {"send-fake-usdc", "send-18-decimals-of-usdc", "send-eth-gets-weth", "send-lookalike-label",
            "swap-batch-one-extra-approval", "swap-output-elsewhere"} <= names  # fmt: skip


def test_all_is_checked_against_the_balance_the_node_reported() -> None:
    balances = {USER: {USDC: 7 * USDC6}}
    assert check_sentence("send all USDC to alice", erc20_transfer(USDC, FRIEND, 7 * USDC6), context(balances=balances)).outcome == "match"
    short = check_sentence("send all USDC to alice", erc20_transfer(USDC, FRIEND, 6 * USDC6), context(balances=balances))
    assert short.outcome == "mismatch" and not short.blocks
    # "max" of what you send is everything you hold, like "all"; only an approval reads it as unlimited
    assert check_sentence("send max USDC to alice", erc20_transfer(USDC, FRIEND, 7 * USDC6), context(balances=balances)).outcome == "match"
    less = check_sentence("send max USDC to alice", erc20_transfer(USDC, FRIEND, 6 * USDC6), context(balances=balances))
    assert less.outcome == "mismatch" and not less.blocks


def test_simulation_that_credits_the_output_elsewhere_is_a_blocking_mismatch() -> None:
    prepared = prepare(load_case(corpus_dir() / "sim-inflow-elsewhere.json"))
    check = check_sentence("swap 100 USDC for WETH", prepared.decoded, prepared.context)
    assert check.outcome == "mismatch" and check.blocks
    assert any("simulation credits you no WETH" in reason for reason in check.reasons)


def test_simulated_unshown_approval_is_an_extra_grant() -> None:
    prepared = prepare(load_case(corpus_dir() / "sim-unshown-approval.json"))
    check = check_sentence("mint", prepared.decoded, prepared.context)
    assert check.outcome == "mismatch" and check.blocks, check.reasons


def test_parsed_form_is_exact_and_resolved_from_the_bundled_table() -> None:
    parsed = parse_intent("Pay Alice 1,000.10 usdc", 1, BOOK)
    assert (parsed.action, parsed.amount, parsed.amount_kind) == ("send", Decimal("1000.10"), "exact")
    assert parsed.asset is not None and (parsed.asset.address, parsed.asset.decimals) == (USDC, 6)
    assert parsed.counterparty is not None and parsed.counterparty.addresses == [FRIEND]
    assert parsed.describe() == f"send 1000.10 USDC ({USDC}) to Alice ({FRIEND})"
    base = parse_intent("send 5 USDC to alice", 8453, BOOK)  # the same symbol is another contract on Base
    assert base.asset is not None and base.asset.address == "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"


def test_a_symbol_the_table_holds_twice_names_no_token() -> None:
    parsed = parse_intent("send 5 LINK to alice", 137, BOOK)
    assert parsed.asset is not None and parsed.asset.address is None and parsed.problems


def test_unknown_verb_and_empty_sentence_raise() -> None:
    for text in ("", "hello alice"):
        with pytest.raises(IntentError):
            parse_intent(text)


def test_intent_module_imports_no_higher_layer() -> None:
    for path in (Path(__file__).parent.parent / "copilot" / "intent").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for layer in ("copilot.llm", "copilot.signing", "copilot.cli", "copilot.pipeline"):
            assert f"from {layer}" not in text and f"import {layer}" not in text, (path.name, layer)


def test_review_cli_echoes_the_intent_and_blocks_a_mismatch() -> None:
    from click.testing import CliRunner

    from copilot.cli.main import cli

    path = str(corpus_dir() / "benign-usdc-transfer.json")
    runner = CliRunner()
    base = ["review", path, "--no-llm", "--no-log", "--offline"]
    matched = runner.invoke(cli, [*base, "--intent", "pay 0x4Cd7B1e0a4d2E6F0D2B5c8f6A0D3E2b8F9A1C2D3 150 USDC"])
    assert matched.exit_code == 0 and "read as: send 150 USDC" in matched.output and "outcome: match" in matched.output
    wrong = runner.invoke(cli, [*base, "--json", "--fail-on", "block", "--intent", "pay 0x4Cd7B1e0a4d2E6F0D2B5c8f6A0D3E2b8F9A1C2D3 150 DAI"])
    assert wrong.exit_code == 1, wrong.output
    import json

    doc = json.loads(wrong.output)
    assert doc["verdict"] == "block" and doc["intent"]["outcome"] == "mismatch"
    assert doc["intent"]["parsed"]["amount"] == "150" and doc["intent"]["parsed"]["asset"]["address"] == DAI
    empty = runner.invoke(cli, [*base, "--intent", "  "])
    assert empty.exit_code == 2 and "--intent is empty" in empty.output


def test_gas_in_a_simulated_native_balance_is_no_extra_outflow() -> None:
    from copilot.models import AssetChange, SimulationReport

    fee = 21_000 * 30 * 10**9
    report = SimulationReport(status="simulated", account=USER, gas_cost=fee, measured=[
        AssetChange(holder=USER, asset="native", standard="native", amount=-fee // 2, source="balance"),
        AssetChange(holder=USER, asset=USDC, standard="erc20", amount=-50 * USDC6, source="balance")])  # fmt: skip
    simulated = context()
    simulated.simulation = report
    assert check_sentence("pay alice 50 USDC", erc20_transfer(USDC, FRIEND, 50 * USDC6), simulated).outcome == "match"
    drained = report.model_copy(update={"measured": [*report.measured, AssetChange(holder=USER, asset=DAI, standard="erc20", amount=-1, source="balance")]})
    simulated.simulation = drained
    check = check_sentence("pay alice 50 USDC", erc20_transfer(USDC, FRIEND, 50 * USDC6), simulated)
    assert check.outcome == "mismatch" and check.blocks and "also leaves your wallet" in check.reasons[0]


@pytest.mark.parametrize("intent", ["pay alice 150 USDC", "sign in", "swap 1 ETH for USDC"])
def test_an_intent_never_lowers_a_verdict_or_drops_a_finding(intent: str) -> None:
    from copilot.models import VERDICT_RANK
    from copilot.pipeline import ReviewOptions, review_decoded
    from copilot.risk.corpus import load_cases

    raised = 0
    for case in load_cases():
        prepared = prepare(case)
        plain = review_decoded(prepared.decoded, prepared.policy, prepared.context, ReviewOptions(use_llm=False))
        checked = review_decoded(prepared.decoded, prepared.policy, prepared.context, ReviewOptions(use_llm=False, intent=intent))
        assert VERDICT_RANK[checked.verdict] >= VERDICT_RANK[plain.verdict], case.name
        assert {f.id for f in plain.findings} <= {f.id for f in checked.findings}, case.name
        assert checked.intent is not None and checked.intent.text == intent
        raised += VERDICT_RANK[checked.verdict] > VERDICT_RANK[plain.verdict]
        if checked.intent.outcome == "match":
            assert checked.verdict == plain.verdict, case.name
    assert raised > 0  # the intent does raise verdicts where the request does something else
