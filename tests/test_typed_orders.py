"""Off-chain orders and unknown typed data need the human: 1inch, 0x, UniswapX, Permit2 witnesses and the
NFT marketplaces decode into give / take / receiver / expiry; one-sided orders, foreign receivers, blind
messages and chainless domains are flagged, through review and through the sign path up to its prompt.
OpenSea's undeclared Seaport field and a reordered EIP712Domain are reviewed and signed as wallets sign them."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import import_account, invoke

from copilot.decoding import decode
from copilot.inputs import parse_request
from copilot.models import Review
from copilot.pipeline import ReviewOptions, review_decoded
from copilot.policy import load_policy
from copilot.resources import fixtures_dir
from copilot.state.context import build_context

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
STRANGER = "0x9D3e1b5aC2F84e7b60d9C51fA3be0C27d4e6A8F1"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
ZERO = "0x" + "00" * 20
ONEINCH_V6 = "0x111111125421cA6dc452d289314280a0f8842A65"
ZEROX = "0xDef1C0ded9bec7F1a1670819833240f027b25EfF"
NOW = 1_764_000_000
DAY = 86_400
ETHER = 10**18


def field_list(spec: str) -> list[dict[str, str]]:
    return [{"type": kind, "name": name} for kind, name in (part.split(" ") for part in spec.split(","))]


DOMAIN_TYPES = field_list("string name,string version,uint256 chainId,address verifyingContract")
ONEINCH_ORDER = field_list(
    "uint256 salt,address maker,address receiver,address makerAsset,address takerAsset,uint256 makingAmount,"
    "uint256 takingAmount,uint256 makerTraits"
)
ZEROX_LIMIT_ORDER = field_list(
    "address makerToken,address takerToken,uint128 makerAmount,uint128 takerAmount,uint128 takerTokenFeeAmount,"
    "address maker,address taker,address sender,address feeRecipient,bytes32 pool,uint64 expiry,uint256 salt"
)


def oneinch_v6(*, receiver: str = STRANGER, taking: int = 1, expiry: int | None = None) -> dict[str, Any]:
    """A 1inch v6 Order giving 100 WETH for `taking` raw USDC (1: 0.000001 USDC)."""
    expiry = NOW + DAY if expiry is None else expiry
    return {
        "types": {"EIP712Domain": DOMAIN_TYPES, "Order": ONEINCH_ORDER},
        "primaryType": "Order",
        "domain": {"name": "1inch Aggregation Router", "version": "6", "chainId": 1, "verifyingContract": ONEINCH_V6},
        "message": {
            "salt": "1", "maker": SENDER, "receiver": receiver, "makerAsset": WETH, "takerAsset": USDC,
            "makingAmount": str(100 * ETHER), "takingAmount": str(taking), "makerTraits": str(expiry << 80),
        },
    }


def zerox_limit(*, taking: int = 1, expiry: int | None = None) -> dict[str, Any]:
    """A 0x v4 LimitOrder of the same shape: 100 WETH for `taking` raw USDC, only STRANGER may fill it."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPES, "LimitOrder": ZEROX_LIMIT_ORDER},
        "primaryType": "LimitOrder",
        "domain": {"name": "ZeroEx", "version": "1.0.0", "chainId": 1, "verifyingContract": ZEROX},
        "message": {
            "makerToken": WETH, "takerToken": USDC, "makerAmount": str(100 * ETHER), "takerAmount": str(taking),
            "takerTokenFeeAmount": "0", "maker": SENDER, "taker": STRANGER, "sender": ZERO, "feeRecipient": ZERO,
            "pool": "0x" + "00" * 32, "expiry": str(NOW + DAY if expiry is None else expiry), "salt": "7",
        },
    }


def rpc(typed: dict[str, Any]) -> str:
    return json.dumps({"method": "eth_signTypedData_v4", "params": [SENDER, typed]})


def review_at(typed: dict[str, Any], now: int = NOW, policy: str | None = None) -> Review:
    """The pipeline's review with the clock at `now`: expiry checks never depend on the wall clock."""
    decoded = decode(parse_request(rpc(typed)))
    loaded = load_policy(policy)
    context = build_context(loaded, rpc=None, user=None, decoded=decoded, chain_id=None)
    context.now = now
    return review_decoded(decoded, loaded, context, ReviewOptions(use_llm=False))


def ids(review: Review) -> set[str]:
    return {f.id for f in review.findings}


def write_prices(home: Path) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "prices.toml").write_text(f'WETH = 3000\n"{USDC}" = 1\n', encoding="utf-8")


# --------------------------------------------------------------------------- the review's regression cases


@pytest.mark.parametrize("order", [oneinch_v6, zerox_limit], ids=["1inch-v6", "0x-limit"])
def test_a_one_sided_order_needs_the_human_in_review(order: Any, tmp_path: Path, isolated_home: Path) -> None:
    write_prices(isolated_home)
    path = tmp_path / "order.json"
    path.write_text(rpc(order(expiry=int(time.time()) + DAY)))

    result = invoke(["review", str(path), "--json", "--no-llm", "--no-log"])

    review = json.loads(result.stdout)
    found = {f["id"]: f for f in review["findings"]}
    assert review["verdict"] == "confirm" and review["risk_score"] > 0, review["findings"]
    assert "order.under_value" in found and "$300,000.00" in found["order.under_value"]["evidence"]
    if order is oneinch_v6:
        assert STRANGER in found["order.foreign_recipient"]["evidence"]


@pytest.mark.parametrize("order", [oneinch_v6, zerox_limit], ids=["1inch-v6", "0x-limit"])
def test_a_one_sided_order_is_not_signed_without_a_prompt(order: Any, tmp_path: Path) -> None:
    pw = import_account(tmp_path, SENDER_KEY, "me")
    path = tmp_path / "order.json"
    path.write_text(rpc(order(expiry=int(time.time()) + DAY)))

    result = invoke(["sign", str(path), "--account", "me", "--no-llm", "--password-file", str(pw)])

    assert result.exit_code == 5, result.output
    assert "CONFIRM" in result.stderr and "typed confirmation" in result.stderr and result.stdout == ""


def test_when_a_side_is_unpriced_a_millionth_of_a_token_is_dust() -> None:
    def unpriced_give(taking: int) -> dict[str, Any]:
        order = zerox_limit(taking=taking)
        order["message"]["makerToken"] = "0x00000000000000000000000000000000000b0b05"  # no price anywhere
        return order

    dust = review_at(unpriced_give(1))  # 0.000001 USDC: one millionth of a USDC
    assert "order.dust_take" in ids(dust) and dust.verdict == "confirm"
    fair = review_at(unpriced_give(2))  # 0.000002 USDC: more than a millionth
    assert not ids(fair) & {"order.dust_take", "order.under_value", "order.receives_little"}


def test_priced_orders_are_judged_on_value_not_on_dust(isolated_home: Path) -> None:
    write_prices(isolated_home)
    assert "order.under_value" in ids(review_at(zerox_limit(taking=100_000 * 10**6)))  # $100k for $300k
    assert not ids(review_at(zerox_limit(taking=200_000 * 10**6))) & {"order.under_value", "order.dust_take"}


def test_receiver_zero_means_the_maker_and_the_signer_is_no_stranger() -> None:
    assert "order.foreign_recipient" not in ids(review_at(oneinch_v6(receiver=ZERO, taking=300_000 * 10**6)))
    assert "order.foreign_recipient" not in ids(review_at(oneinch_v6(receiver=SENDER, taking=300_000 * 10**6)))
    assert "order.foreign_recipient" in ids(review_at(oneinch_v6(receiver=STRANGER, taking=300_000 * 10**6)))


def test_an_order_paying_its_maker_is_not_foreign_when_the_maker_is_a_safe_the_signer_owns() -> None:
    safe = "0x5aFE3855358E112B5647B952709E6165e1c1eEEe"
    order = oneinch_v6(receiver=ZERO, taking=300_000 * 10**6)
    order["message"]["maker"] = safe  # EIP-1271: the Safe makes the order, its owner signs
    assert "order.foreign_recipient" not in ids(review_at(order))
    order["message"]["receiver"] = STRANGER
    assert "order.foreign_recipient" in ids(review_at(order))


def test_a_friend_in_the_book_is_a_foreign_receiver_an_own_account_is_not() -> None:
    from copilot.state.addressbook import add_entry

    fair = 300_000 * 10**6
    add_entry(STRANGER, "a friend")
    assert "order.foreign_recipient" in ids(review_at(oneinch_v6(receiver=STRANGER, taking=fair)))
    add_entry(STRANGER, "my cold wallet", own=True)
    assert "order.foreign_recipient" not in ids(review_at(oneinch_v6(receiver=STRANGER, taking=fair)))


def test_expiry_never_past_or_beyond_a_year_is_flagged() -> None:
    fair = 300_000 * 10**6
    assert "order.no_expiry" in ids(review_at(oneinch_v6(receiver=ZERO, taking=fair, expiry=0)))
    assert "order.no_expiry" in ids(review_at(oneinch_v6(receiver=ZERO, taking=fair, expiry=NOW + 400 * DAY)))
    ending = oneinch_v6(receiver=ZERO, taking=fair, expiry=NOW - 60)
    assert "order.expired" in ids(review_at(ending))
    assert "order.expired" not in ids(review_at(ending, now=NOW - 3600))  # the injected clock decides "past"
    assert not ids(review_at(oneinch_v6(receiver=ZERO, taking=fair, expiry=NOW + 30 * DAY))) & {
        "order.no_expiry", "order.expired"
    }


# --------------------------------------------------------------------------- the decoded model


def test_decode_json_and_the_human_view_show_give_take_receiver_and_expiry(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(rpc(oneinch_v6()))

    as_json = invoke(["decode", str(path), "--json"])
    human = invoke(["decode", str(path)])

    order = json.loads(as_json.stdout)["typed_data"]["orders"][0]
    assert order["protocol"] == "1inch v6" and order["maker"] == SENDER and order["receiver"] == STRANGER
    assert order["give"][0] | {"amount": str(100 * ETHER), "display": "100 WETH"} == order["give"][0]
    assert order["take"][0]["display"] == "0.000001 USDC" and order["expiry"] == str(NOW + DAY)
    assert json.loads(as_json.stdout)["typed_data"]["standard"] == "order"
    words = " ".join(human.stdout.split())
    for text in ("Order 1inch v6", "Gives 100 WETH", "Gets 0.000001 USDC", f"Receiver {STRANGER}", "Expires 2025-11-25 16:00:00 UTC (1764086400)"):
        assert text in words, human.stdout


def test_an_expiry_past_any_calendar_is_shown_and_judged_not_a_crash(tmp_path: Path) -> None:
    far = 2**40 - 1  # the most makerTraits can hold: year 36812
    path = tmp_path / "order.json"
    path.write_text(rpc(oneinch_v6(expiry=far)))
    human = invoke(["decode", str(path)])
    assert human.exit_code == 0 and "past the year 9999" in human.stdout
    evidence = next(f.evidence for f in review_at(oneinch_v6(expiry=far)).findings if f.id == "order.no_expiry")
    assert "past the year 9999" in evidence


def _erc7730_case(relative: str) -> dict[str, Any]:
    tests = json.loads((fixtures_dir() / "erc7730" / "tests" / relative).read_text())["tests"]
    data: dict[str, Any] = tests[0]["data"]
    return data


def test_uniswapx_orders_read_the_worst_amounts_and_the_swappers_outputs() -> None:
    dutch = decode(parse_request(json.dumps(_erc7730_case("uniswap/eip712-UniswapX-DutchOrder.tests.json"))))
    order = dutch.typed_data.orders[0] if dutch.typed_data else None
    assert order is not None and order.protocol == "UniswapX DutchOrder"
    assert [a.amount for a in order.give] == [2_500_000_000]  # the input can decay down to 2,400: 2,500 at most
    assert [a.amount for a in order.take] == [ETHER]  # the output can grow to 1.05: 1 at least
    assert order.receiver == order.maker and order.expiry == 1777456800
    v2 = decode(parse_request(json.dumps(_erc7730_case("uniswap/eip712-uniswap-V2DutchOrder.tests.json"))))
    v2_order = v2.typed_data.orders[0] if v2.typed_data else None
    assert v2_order is not None and [fee.display for fee in v2_order.fees] == ["5 USDC"]  # the interface fee
    assert [a.display for a in v2_order.take] == ["0.95 WETH"]


def test_a_uniswapx_order_paying_a_stranger_needs_the_human() -> None:
    typed = _erc7730_case("uniswap/eip712-UniswapX-ExclusiveDutchOrder.tests.json")
    typed = copy.deepcopy(typed)
    for output in typed["message"]["witness"]["outputs"]:
        output["recipient"] = STRANGER
    review = review_at(typed)
    assert "order.foreign_recipient" in ids(review) and review.verdict != "allow"


def priority_order(recipient: str) -> dict[str, Any]:
    """A UniswapX PriorityOrder (its reactor's struct) on the Dutch fixture's Permit2 envelope."""
    typed = copy.deepcopy(_erc7730_case("uniswap/eip712-UniswapX-ExclusiveDutchOrder.tests.json"))
    types = typed["types"]
    del types["ExclusiveDutchOrder"], types["DutchOutput"]
    types["PriorityInput"] = field_list("address token,uint256 amount,uint256 mpsPerPriorityFeeWei")
    types["PriorityOutput"] = field_list("address token,uint256 amount,uint256 mpsPerPriorityFeeWei,address recipient")
    types["PriorityOrder"] = field_list(
        "OrderInfo info,address cosigner,uint256 auctionStartBlock,uint256 baselinePriorityFeeWei,"
        "PriorityInput input,PriorityOutput[] outputs"
    )
    types["PermitWitnessTransferFrom"][-1] = {"name": "witness", "type": "PriorityOrder"}
    witness = typed["message"]["witness"]
    typed["message"]["witness"] = {
        "info": witness["info"],
        "cosigner": ZERO,
        "auctionStartBlock": "21000000",
        "baselinePriorityFeeWei": "0",
        "input": {"token": witness["inputToken"], "amount": "2500000000", "mpsPerPriorityFeeWei": "0"},
        "outputs": [{"token": witness["outputs"][0]["token"], "amount": str(ETHER), "mpsPerPriorityFeeWei": "1", "recipient": recipient}],
    }
    return typed


def test_a_uniswapx_priority_order_reads_its_input_and_outputs_and_a_stranger_needs_the_human() -> None:
    typed = priority_order(_erc7730_case("uniswap/eip712-UniswapX-ExclusiveDutchOrder.tests.json")["message"]["witness"]["info"]["swapper"])
    decoded = decode(parse_request(json.dumps(typed)))
    order = decoded.typed_data.orders[0] if decoded.typed_data else None
    assert order is not None and order.protocol == "UniswapX PriorityOrder" and order.complete
    assert [a.amount for a in order.give] == [2_500_000_000] and [a.amount for a in order.take] == [ETHER]
    assert order.receiver == order.maker and order.expiry == 1777456800
    paying_a_stranger = review_at(priority_order(STRANGER))
    assert "order.foreign_recipient" in ids(paying_a_stranger) and paying_a_stranger.verdict != "allow"


def test_an_unknown_permit2_witness_gives_tokens_but_says_what_it_gets_is_unread() -> None:
    typed = _erc7730_case("uniswap/eip712-UniswapX-LimitOrder.tests.json")
    typed = copy.deepcopy(typed)
    typed["types"]["Mystery"] = [{"name": "recipient", "type": "address"}]
    typed["types"]["PermitWitnessTransferFrom"][-1] = {"name": "witness", "type": "Mystery"}
    typed["message"]["witness"] = {"recipient": STRANGER}
    del typed["types"]["LimitOrder"], typed["types"]["OrderInfo"], typed["types"]["OutputToken"]
    decoded = decode(parse_request(json.dumps(typed)))
    assert decoded.typed_data is not None
    order = decoded.typed_data.orders[0]
    assert not order.complete and order.give[0].amount == 1_000_000_000 and "Mystery" in order.notes[0]


# --------------------------------------------------------------------------- typed data as a whole


MAIL = {
    "types": {
        "EIP712Domain": field_list("string name,uint256 chainId,address verifyingContract"),
        "Claim": field_list("address to,uint256 amount"),
    },
    "primaryType": "Claim",
    "domain": {"name": "Free Tokens", "chainId": 1, "verifyingContract": "0x00000000000000000000000000000000c1a1c1a1"},
    "message": {"to": STRANGER, "amount": "1"},
}


def test_unknown_typed_data_for_an_unknown_contract_is_blind() -> None:
    blind = review_at(MAIL)
    assert "typed.blind" in ids(blind) and blind.verdict == "confirm"
    no_contract = copy.deepcopy(MAIL)
    no_contract["domain"]["verifyingContract"] = ZERO
    assert "typed.blind" in ids(review_at(no_contract))


def test_a_known_contract_or_a_recognised_standard_is_not_blind() -> None:
    login = copy.deepcopy(MAIL)
    login["types"]["Login"] = login["types"].pop("Claim")
    login["primaryType"] = "Login"
    del login["domain"]["verifyingContract"]
    login["types"]["EIP712Domain"] = login["types"]["EIP712Domain"][:2]
    assert "typed.blind" not in ids(review_at(login))
    assert "typed.blind" not in ids(review_at(oneinch_v6()))
    from copilot.state.addressbook import add_entry

    add_entry(MAIL["domain"]["verifyingContract"], "my game")
    assert "typed.blind" not in ids(review_at(MAIL))


def test_a_domain_without_chain_id_is_valid_everywhere_and_an_allowlist_asks(tmp_path: Path) -> None:
    chainless = copy.deepcopy(MAIL)
    chainless["types"]["EIP712Domain"] = field_list("string name,address verifyingContract")
    del chainless["domain"]["chainId"]
    found = {f.id: f for f in review_at(chainless).findings}
    assert found["typed.any_chain"].severity.value == "medium"
    lenient = tmp_path / "lenient.toml"
    lenient.write_text(
        'name = "lenient"\ndefault = "allow"\n[verdicts]\nmedium = "allow"\nhigh = "allow"\n'
        "[chains]\nallowed = [1]\naction = \"block\"\n"
    )
    judged = review_at(chainless, policy=str(lenient))
    assert judged.verdict == "confirm" and "no chain" in next(f.evidence for f in judged.findings if f.id == "policy.chain_not_allowed")
    no_allowlist = tmp_path / "no-allowlist.toml"
    no_allowlist.write_text('name = "na"\ndefault = "allow"\n[verdicts]\nmedium = "allow"\nhigh = "allow"\n')
    assert review_at(chainless, policy=str(no_allowlist)).verdict == "allow"


# --------------------------------------------------------------------------- OpenSea and the domain's field order


def opensea_listing(endtime: int) -> dict[str, Any]:
    """A Seaport 1.6 listing as OpenSea's front end sends it: an undeclared totalOriginalConsiderationItems,
    and (as some wallets' callers do) EIP712Domain declared in a non-canonical order."""
    case = json.loads((fixtures_dir() / "requests" / "benign-seaport-listing.json").read_text())["request"]
    typed = json.loads(case["params"][1]) if isinstance(case["params"][1], str) else case["params"][1]
    typed = copy.deepcopy(typed)
    typed["message"]["offerer"] = SENDER
    for item in typed["message"]["consideration"]:
        if item["recipient"].lower() == "0x8ba1f109551bd432803012645ac136ddd64dba72":
            item["recipient"] = SENDER
    typed["message"]["endTime"] = str(endtime)
    typed["message"]["totalOriginalConsiderationItems"] = len(typed["message"]["consideration"])
    typed["types"]["EIP712Domain"] = list(reversed(typed["types"]["EIP712Domain"]))
    return typed


def test_an_opensea_listing_is_reviewed_with_its_undeclared_field_shown_as_not_signed(tmp_path: Path) -> None:
    path = tmp_path / "opensea.json"
    path.write_text(rpc(opensea_listing(NOW + 30 * DAY)))

    human = invoke(["decode", str(path)])
    as_json = json.loads(invoke(["decode", str(path), "--json"]).stdout)
    review = review_at(opensea_listing(NOW + 30 * DAY))

    assert human.exit_code == 0 and "NOT SIGNED message.totalOriginalConsiderationItems: 2" in human.stdout
    assert as_json["typed_data"]["unsigned"] == [{"path": "typed_data.message.totalOriginalConsiderationItems", "value": "2"}]
    assert review.verdict == "allow"
    unsigned = next(f for f in review.findings if f.id == "typed.unsigned_field")
    assert unsigned.severity.value == "low" and "totalOriginalConsiderationItems" in unsigned.evidence


def test_a_reordered_domain_with_an_undeclared_field_signs_exactly_what_was_reviewed(tmp_path: Path) -> None:
    from eth_account import Account
    from eth_account._utils.encode_typed_data.encoding_and_hashing import hash_struct
    from eth_account.messages import SignableMessage
    from hexbytes import HexBytes

    pw = import_account(tmp_path, SENDER_KEY, "me")
    typed = opensea_listing(int(time.time()) + 30 * DAY)
    path = tmp_path / "opensea.json"
    path.write_text(rpc(typed))

    reviewed = json.loads(invoke(["review", str(path), "--json", "--no-llm", "--no-log"]).stdout)
    signed = invoke(["sign", str(path), "--account", "me", "--no-llm", "--password-file", str(pw), "--json"])

    assert signed.exit_code == 0, signed.output
    out = json.loads(signed.stdout)
    assert out["payload_hash"] == reviewed["decoded"]["payload_hash"] == out["signing_hash"]
    # What MetaMask (eth-sig-util) signs: each struct over its declared fields, in the declared order.
    as_wallets_sign = SignableMessage(
        HexBytes(b"\x01"),
        HexBytes(hash_struct("EIP712Domain", typed["types"], typed["domain"])),
        HexBytes(hash_struct("OrderComponents", typed["types"], typed["message"])),
    )
    assert Account.recover_message(as_wallets_sign, signature=out["signature"]) == SENDER


# --------------------------------------------------------------------------- the other formats' fields


def decoded_orders(typed: dict[str, Any]) -> list[Any]:
    decoded = decode(parse_request(rpc(typed)))
    assert decoded.typed_data is not None
    return list(decoded.typed_data.orders)


def test_0x_rfq_and_otc_orders_read_their_expiry() -> None:
    rfq = zerox_limit()
    rfq["types"] = {"EIP712Domain": DOMAIN_TYPES, "RfqOrder": field_list(
        "address makerToken,address takerToken,uint128 makerAmount,uint128 takerAmount,address maker,address taker,"
        "address txOrigin,bytes32 pool,uint64 expiry,uint256 salt")}
    rfq["primaryType"] = "RfqOrder"
    rfq["message"] = {k: v for k, v in rfq["message"].items() if k not in ("takerTokenFeeAmount", "sender", "feeRecipient")}
    rfq["message"]["txOrigin"] = STRANGER
    otc = copy.deepcopy(rfq)
    otc["types"] = {"EIP712Domain": DOMAIN_TYPES, "OtcOrder": field_list(
        "address makerToken,address takerToken,uint128 makerAmount,uint128 takerAmount,address maker,address taker,"
        "address txOrigin,uint256 expiryAndNonce")}
    otc["primaryType"] = "OtcOrder"
    otc["message"] = {k: v for k, v in otc["message"].items() if k not in ("pool", "expiry", "salt")}
    otc["message"]["expiryAndNonce"] = str((NOW + 600) << 192 | 5 << 128 | 9)

    [rfq_order], [otc_order] = decoded_orders(rfq), decoded_orders(otc)
    assert (rfq_order.protocol, rfq_order.expiry, rfq_order.receiver) == ("0x v4 RfqOrder", NOW + DAY, SENDER)
    assert (otc_order.protocol, otc_order.expiry) == ("0x v4 OtcOrder", NOW + 600)
    assert otc_order.notes == [f"only {STRANGER} may fill it"]


def oneinch_v5(predicate: bytes) -> dict[str, Any]:
    fields = field_list(
        "uint256 salt,address makerAsset,address takerAsset,address maker,address receiver,address allowedSender,"
        "uint256 makingAmount,uint256 takingAmount,uint256 offsets,bytes interactions")
    ends = [0, 0, 0, 0] + [len(predicate)] * 4  # makerAssetData … getTakingAmount empty, then the predicate
    return {
        "types": {"EIP712Domain": DOMAIN_TYPES, "Order": fields}, "primaryType": "Order",
        "domain": {"name": "1inch Aggregation Router", "version": "5", "chainId": 1,
                   "verifyingContract": "0x1111111254EEB25477B68fb85Ed929f73A960582"},
        "message": {"salt": "1", "makerAsset": WETH, "takerAsset": USDC, "maker": SENDER, "receiver": ZERO,
                    "allowedSender": ZERO, "makingAmount": str(ETHER), "takingAmount": str(3000 * 10**6),
                    "offsets": str(sum(end << (32 * i) for i, end in enumerate(ends))), "interactions": "0x" + predicate.hex()},
    }


def test_1inch_v5_reads_the_expiry_in_its_predicate() -> None:
    time_nonce_account = (NOW + 3600) << 208 | 3 << 160 | int(SENDER, 16)
    inner = bytes.fromhex("2cc2878d") + time_nonce_account.to_bytes(32, "big")  # timestampBelowAndNonceEquals
    wrapped = bytes.fromhex("bf15fcd8") + bytes(12) + bytes.fromhex(ONEINCH_V6[2:]) + (64).to_bytes(32, "big") \
        + len(inner).to_bytes(32, "big") + inner + bytes(28)  # arbitraryStaticCall(router, inner)
    [order] = decoded_orders(oneinch_v5(wrapped))
    assert (order.protocol, order.expiry, order.receiver) == ("1inch v5", NOW + 3600, SENDER)
    bare = oneinch_v5(wrapped)
    bare["message"]["interactions"] = wrapped.hex()  # hex without 0x, as the validator also accepts
    assert [o.expiry for o in decoded_orders(bare)] == [NOW + 3600]
    [forever] = decoded_orders(oneinch_v5(b""))
    assert forever.expiry == 0 and "order.no_expiry" in ids(review_at(oneinch_v5(b"")))
    [unread] = decoded_orders(oneinch_v5(bytes.fromhex("deadbeef") + bytes(32)))
    assert unread.expiry is None and unread.notes


def test_a_struct_with_the_fields_in_another_order_is_no_order() -> None:
    shuffled = oneinch_v6()
    shuffled["types"]["Order"] = list(reversed(ONEINCH_ORDER))
    assert decoded_orders(shuffled) == []


def test_seaport_bulk_orders_are_one_order_per_leaf() -> None:
    case = json.loads((fixtures_dir() / "requests" / "benign-seaport-listing.json").read_text())["request"]
    listing = json.loads(case["params"][1])
    bulk = copy.deepcopy(listing)
    bulk["types"]["BulkOrder"] = [{"name": "tree", "type": "OrderComponents[2]"}]
    bulk["primaryType"] = "BulkOrder"
    dust = copy.deepcopy(listing["message"])
    dust["consideration"] = [dict(dust["consideration"][0], startAmount="1", endAmount="1")]
    bulk["message"] = {"tree": [listing["message"], dust]}
    del bulk["types"]["OrderComponents"]  # declared again below, after BulkOrder: order of keys is free
    bulk["types"]["OrderComponents"] = listing["types"]["OrderComponents"]
    orders = decoded_orders(bulk)
    assert [o.path for o in orders] == ["typed_data.message.tree[0]", "typed_data.message.tree[1]"]
    found = review_at(bulk).findings
    assert [f.location for f in found if f.id == "order.dust_take"] == ["typed_data.message.tree[1]"]


def test_blur_and_looksrare_listings_pay_the_seller_after_fees() -> None:
    blur_case = json.loads((fixtures_dir() / "requests" / "order-blur-zero-price.json").read_text())["request"]
    blur = json.loads(blur_case["params"][1])
    blur["message"]["price"] = str(10 * ETHER)
    blur["message"]["fees"] = [{"rate": 5000, "recipient": STRANGER}]
    [order] = decoded_orders(blur)
    assert [a.display for a in order.take] == ["5 ETH"] and [f.display for f in order.fees] == ["5 ETH"]
    assert "order.foreign_recipient" in ids(review_at(blur))  # half the price to a stranger
    looksrare = {
        "types": {"EIP712Domain": DOMAIN_TYPES, "MakerOrder": field_list(
            "bool isOrderAsk,address signer,address collection,uint256 price,uint256 tokenId,uint256 amount,"
            "address strategy,address currency,uint256 nonce,uint256 startTime,uint256 endTime,"
            "uint256 minPercentageToAsk,bytes params")},
        "primaryType": "MakerOrder",
        "domain": {"name": "LooksRareExchange", "version": "1", "chainId": 1,
                   "verifyingContract": "0x59728544B08AB483533076417FbBB2fD0B17CE3a"},
        "message": {"isOrderAsk": True, "signer": SENDER, "collection": blur["message"]["collection"], "price": str(10 * ETHER),
                    "tokenId": "1", "amount": "1", "strategy": ZERO, "currency": WETH, "nonce": "0",
                    "startTime": str(NOW), "endTime": str(NOW + DAY), "minPercentageToAsk": "8500", "params": "0x"},
    }
    [ask] = decoded_orders(looksrare)
    assert ask.protocol == "LooksRare v1" and [a.display for a in ask.take] == ["8.5 WETH"] and ask.give[0].kind == "nft"


def test_no_vendored_erc7730_message_is_blind() -> None:
    """Every message an ERC-7730 descriptor describes is known: none of the registry's own test payloads is blind."""
    blind = []
    for path in sorted((fixtures_dir() / "erc7730" / "tests").rglob("eip712-*.tests.json")):
        for test in json.loads(path.read_text())["tests"]:
            if "typed.blind" in ids(review_at(test["data"])):
                blind.append(path.name)
    assert blind == []


def test_a_witness_that_only_borrows_the_reactors_order_info_is_an_unread_witness() -> None:
    typed = copy.deepcopy(_erc7730_case("uniswap/eip712-UniswapX-LimitOrder.tests.json"))
    typed["types"]["OutputToken"] = [{"name": "token", "type": "string"}, {"name": "amount", "type": "string"},
                                     {"name": "recipient", "type": "string"}]
    typed["message"]["witness"]["outputs"] = [{"token": "lots", "amount": "of", "recipient": "you"}]
    [order] = decoded_orders(typed)
    assert not order.complete and order.give[0].display == "1,000 USDC"


def test_the_models_facts_carry_the_order_and_what_is_not_signed() -> None:
    from copilot.llm.facts import collect_facts

    one_sided = collect_facts(review_at(oneinch_v6())).text()
    assert "order (1inch v6): gives 100 WETH; gets 0.000001 USDC, paid to 0x9D3e…A8F1" in one_sided  # addresses shortened
    opensea = collect_facts(review_at(opensea_listing(NOW + 30 * DAY))).text()
    assert "NOT SIGNED (the types do not declare it) message.totalOriginalConsiderationItems: 2" in opensea


def test_a_1inch_v6_order_with_an_extension_says_its_amounts_may_follow_a_formula() -> None:
    order = oneinch_v6()
    order["message"]["makerTraits"] = str(int(order["message"]["makerTraits"]) | 1 << 249)
    [decoded] = decoded_orders(order)
    assert decoded.expiry == NOW + DAY and decoded.notes == ["has an extension: its amounts may follow a formula the extension holds"]
