"""Contract-call decoding: the function, its arguments and what they mean, for each family."""

from __future__ import annotations

import pytest
from calldatahelpers import (
    AAVE_POOL,
    ALICE,
    BOB,
    DAI,
    ENS_RESOLVER,
    MAX,
    ONEINCH_V6,
    PERMIT2,
    SEAPORT_16,
    STETH,
    SWAP_ROUTER02,
    UNIVERSAL_ROUTER,
    UNKNOWN,
    USDC,
    V2_ROUTER,
    WETH,
    calldata,
    display,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot.decoding.calldata import MAX_DEPTH, decode_call
from copilot.models import CallStatus

# --------------------------------------------------------------------------- ERC-20 and friends


def test_unlimited_approve_on_a_known_token_names_spender_and_amount() -> None:
    call = decode_call(USDC, 0, calldata("approve(address,uint256)", UNIVERSAL_ROUTER, MAX), 1)
    assert call.status is CallStatus.DECODED
    assert call.function == "approve(address,uint256)"
    assert call.contract and "USDC" in call.contract
    assert call.param("spender") == UNIVERSAL_ROUTER
    assert call.param("amount") == MAX
    assert display(call, "amount") == "unlimited USDC"
    assert "Universal Router" in (display(call, "spender") or "")


def test_transfer_shows_token_units_and_checksummed_recipient() -> None:
    call = decode_call(USDC.lower(), 0, calldata("transfer(address,uint256)", BOB, 2_500_000), 1)
    assert call.to == USDC
    assert call.param("to") == BOB
    assert display(call, "amount") == "2.5 USDC"


def test_approve_on_an_unknown_token_is_raw_and_marked_unknown() -> None:
    call = decode_call(UNKNOWN, 0, calldata("approve(address,uint256)", BOB, 12345), 1)
    assert call.status is CallStatus.DECODED and call.contract is None
    assert display(call, "amount") == "12345 (unknown token)"


def test_increase_allowance_and_eip2612_permit() -> None:
    call = decode_call(USDC, 0, calldata("increaseAllowance(address,uint256)", BOB, 10**6), 1)
    assert call.name == "increaseAllowance" and display(call, "addedValue") == "1 USDC"
    permit = calldata(
        "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
        ALICE,
        BOB,
        MAX,
        1_900_000_000,
        27,
        b"\x01" * 32,
        b"\x02" * 32,
    )
    call = decode_call(USDC, 0, permit, 1)
    assert call.param("owner") == ALICE and call.param("spender") == BOB
    assert display(call, "value") == "unlimited USDC"
    assert display(call, "deadline") == "2030-03-17 17:46:40 UTC"
    assert call.param("r") == "0x" + "01" * 32


def test_dai_style_permit_decodes_allowed_flag() -> None:
    data = calldata(
        "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)",
        ALICE,
        BOB,
        0,
        0,
        True,
        28,
        b"\x01" * 32,
        b"\x02" * 32,
    )
    call = decode_call(DAI, 0, data, 1)
    assert call.function == "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)"
    assert call.param("allowed") is True and call.param("holder") == ALICE and call.param("expiry") == 0


def test_weth_withdraw_and_nft_operator_approval() -> None:
    call = decode_call(WETH, 0, calldata("withdraw(uint256)", 15 * 10**17), 1)
    assert call.name == "withdraw" and display(call, "wad") == "1.5 WETH"
    call = decode_call(UNKNOWN, 0, calldata("setApprovalForAll(address,bool)", BOB, True), 1)
    assert (
        call.name == "setApprovalForAll" and call.param("approved") is True and call.param("operator") == BOB
    )


def test_erc1155_transfer() -> None:
    data = calldata("safeTransferFrom(address,address,uint256,uint256,bytes)", ALICE, BOB, 7, 3, b"")
    call = decode_call(UNKNOWN, 0, data, 1)
    assert call.param("id") == 7 and call.param("amount") == 3 and call.param("data") == "0x"


# --------------------------------------------------------------------------- Permit2, routers


def test_permit2_approve_and_permit_single_show_token_amount_and_expiry() -> None:
    call = decode_call(
        PERMIT2, 0, calldata("approve(address,address,uint160,uint48)", USDC, BOB, 2**160 - 1, 2**48 - 1), 1
    )
    assert call.contract == "Uniswap Permit2"
    assert display(call, "amount") == "unlimited USDC" and display(call, "expiration") == "never (no expiry)"
    details = (USDC, 5 * 10**6, 1_800_000_000, 0)
    data = calldata(
        "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)",
        ALICE,
        (details, UNIVERSAL_ROUTER, 1_800_000_000),
        b"\x00" * 65,
    )
    call = decode_call(PERMIT2, 0, data, 1)
    single = call.param("permitSingle")
    assert single["details"]["token"] == USDC and single["details"]["amount"] == 5 * 10**6
    assert single["spender"] == UNIVERSAL_ROUTER
    shown = display(call, "permitSingle") or ""
    assert "amount: 5 USDC" in shown and "Universal Router" in shown


def test_uniswap_v2_swap_amounts_use_the_path_ends() -> None:
    data = calldata(
        "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
        100 * 10**6,
        3 * 10**16,
        [USDC, WETH],
        ALICE,
        1_800_000_000,
    )
    call = decode_call(V2_ROUTER, 0, data, 1)
    assert call.contract == "Uniswap V2 Router02"
    assert display(call, "amountIn") == "100 USDC" and display(call, "amountOutMin") == "0.03 WETH"
    assert display(call, "path") == f"USDC ({USDC}) → WETH ({WETH})"


def test_swaprouter02_multicall_decodes_each_inner_call() -> None:
    inner = calldata(
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
        (USDC, WETH, 500, ALICE, 10**6, 1, 0),
    )
    unwrap = calldata("unwrapWETH9(uint256,address)", 1, ALICE)
    call = decode_call(
        SWAP_ROUTER02, 0, calldata("multicall(uint256,bytes[])", 1_800_000_000, [inner, unwrap]), 1
    )
    assert [c.name for c in call.children] == ["exactInputSingle", "unwrapWETH9"]
    assert call.children[0].path == "call.children[0]" and call.children[0].to == SWAP_ROUTER02
    params = call.children[0].param("params")
    assert params["tokenIn"] == USDC and params["fee"] == 500
    assert "amountIn: 1 USDC" in (display(call.children[0], "params") or "")


def test_aave_supply_and_borrow_use_the_asset() -> None:
    call = decode_call(
        AAVE_POOL, 0, calldata("supply(address,uint256,address,uint16)", USDC, 250 * 10**6, ALICE, 0), 1
    )
    assert call.contract == "Aave V3 Pool" and display(call, "amount") == "250 USDC"
    call = decode_call(
        AAVE_POOL, 0, calldata("borrow(address,uint256,uint256,uint16,address)", DAI, 10**18, 2, 0, ALICE), 1
    )
    assert display(call, "amount") == "1 DAI" and call.param("interestRateMode") == 2


def test_lido_submit_and_oneinch_swap() -> None:
    call = decode_call(STETH, 10**18, calldata("submit(address)", "0x" + "00" * 20), 1)
    assert call.name == "submit" and call.value == 10**18
    description = (USDC, WETH, BOB, ALICE, 50 * 10**6, 10**16, 0)
    data = calldata(
        "swap(address,(address,address,address,address,uint256,uint256,uint256),bytes)",
        BOB,
        description,
        b"\x01\x02",
    )
    call = decode_call(ONEINCH_V6, 0, data, 1)
    assert call.contract == "1inch Aggregation Router V6"
    shown = display(call, "desc") or ""
    assert "amount: 50 USDC" in shown and "minReturnAmount: 0.01 WETH" in shown


def test_seaport_order_items_are_named_and_priced() -> None:
    offer = [(2, "0x" + "77" * 20, 1234, 1, 1)]
    consideration = [(0, "0x" + "00" * 20, 0, 10**18, 10**18, ALICE), (1, USDC, 0, 5 * 10**6, 5 * 10**6, BOB)]
    parameters = (ALICE, "0x" + "00" * 20, offer, consideration, 0, 1, 2, b"\x00" * 32, 1, b"\x00" * 32, 2)
    data = calldata(
        "fulfillOrder(((address,address,(uint8,address,uint256,uint256,uint256)[],(uint8,address,uint256,uint256,uint256,address)[],uint8,uint256,uint256,bytes32,uint256,bytes32,uint256),bytes),bytes32)",
        (parameters, b"\x00" * 65),
        b"\x00" * 32,
    )
    call = decode_call(SEAPORT_16, 10**18, data, 1)
    assert call.name == "fulfillOrder"
    order = call.param("order")
    considered = order["parameters"]["consideration"]
    assert considered[1]["recipient"] == BOB and considered[0]["startAmount"] == 10**18


def test_ens_resolver_multicall_decodes_record_updates() -> None:
    node = b"\x05" * 32
    set_text = calldata("setText(bytes32,string,string)", node, "url", "https://example.org")
    set_addr = calldata("setAddr(bytes32,address)", node, ALICE)
    call = decode_call(ENS_RESOLVER, 0, calldata("multicall(bytes[])", [set_text, set_addr]), 1)
    assert [c.name for c in call.children] == ["setText", "setAddr"]
    assert call.children[0].param("value") == "https://example.org"


# --------------------------------------------------------------------------- edge cases


def test_empty_data_short_data_and_contract_creation() -> None:
    assert decode_call(BOB, 10**18, b"", 1).status is CallStatus.EMPTY
    short = decode_call(BOB, 0, b"\x01\x02", 1)
    assert short.status is CallStatus.UNKNOWN and "shorter than a 4-byte" in short.notes[0]
    created = decode_call(None, 0, b"\x60\x80", 1)
    assert created.status is CallStatus.CREATE and created.to is None


def test_unknown_selector_is_unknown_not_guessed() -> None:
    call = decode_call(UNKNOWN, 0, bytes.fromhex("deadbeef") + b"\x00" * 32, 1)
    assert call.status is CallStatus.UNKNOWN and call.function is None and call.selector == "0xdeadbeef"


def test_known_selector_with_garbage_arguments_is_undecodable() -> None:
    call = decode_call(USDC, 0, bytes.fromhex("095ea7b3") + b"\xff" * 10, 1)
    assert call.status is CallStatus.UNDECODABLE
    assert "approve(address,uint256)" in call.candidates


def test_trailing_bytes_after_the_arguments_are_reported() -> None:
    data = calldata("transfer(address,uint256)", BOB, 10**6) + b"\xca\xfe"
    call = decode_call(USDC, 0, data, 1)
    assert call.status is CallStatus.DECODED and call.param("amount") == 10**6
    assert any("2 extra byte(s)" in note for note in call.notes)


def test_json_output_keeps_big_values_exact() -> None:
    call = decode_call(USDC, 0, calldata("approve(address,uint256)", BOB, MAX), 1)
    dumped = call.model_dump(mode="json")
    assert dumped["params"][1]["value"] == str(MAX)  # a decimal string: no JSON reader rounds it
    assert dumped["selector"] == "0x095ea7b3"


def test_depth_limit_cuts_nested_decoding_with_a_note() -> None:
    innermost = calldata("transfer(address,uint256)", BOB, 1)
    data = innermost
    multicall3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
    for _ in range(MAX_DEPTH + 2):
        data = calldata("aggregate3((address,bool,bytes)[])", [(multicall3, False, data)])
    call = decode_call(multicall3, 0, data, 1)
    chain = [call]
    while chain[-1].children:
        chain.append(chain[-1].children[0])
    assert len(chain) == MAX_DEPTH + 2
    assert chain[-1].status is CallStatus.TRUNCATED
    assert "depth" in chain[-1].notes[0]
    assert all(c.status is CallStatus.DECODED for c in chain[:-1])
    assert chain[-1].path == "call" + ".children[0]" * (MAX_DEPTH + 1)


@pytest.mark.parametrize("chain_id", [None, 1, 8453])
def test_deterministic_deployments_decode_on_any_chain(chain_id: int | None) -> None:
    call = decode_call(PERMIT2, 0, calldata("lockdown((address,address)[])", [(USDC, BOB)]), chain_id)
    assert call.name == "lockdown" and call.param("approvals") == [{"token": USDC, "spender": BOB}]


def test_a_malformed_target_address_is_bad_input() -> None:
    from copilot.errors import InputError

    with pytest.raises(InputError, match="not an address"):
        decode_call("0x1234", 0, b"", 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(
        [USDC, UNIVERSAL_ROUTER, PERMIT2, SEAPORT_16, UNKNOWN, "0x40A2aCCbd92BCA938b02010E17A5b8929b49130D"]
    ),
    selector=st.sampled_from(
        ["095ea7b3", "3593564c", "24856bc3", "8d80ff0a", "82ad56cb", "6a761202", "ac9650d8", "deadbeef"]
    ),
    body=st.binary(max_size=400),
)
def test_any_calldata_decodes_to_a_status_never_an_exception(target: str, selector: str, body: bytes) -> None:
    call = decode_call(target, 0, bytes.fromhex(selector) + body, 1)
    assert call.status in set(CallStatus)
    call.model_dump_json()  # always serialisable


def test_oneinch_v6_packed_addresses_read_as_tokens() -> None:
    flags = 1 << 255
    data = calldata("unoswap(uint256,uint256,uint256,uint256)", flags | int(USDC, 16), 25 * 10**6, 10**16, 7)
    call = decode_call(ONEINCH_V6, 0, data, 1)
    assert display(call, "token") == f"USD Coin (USDC) ({USDC})"
    assert display(call, "amount") == "25 USDC"
