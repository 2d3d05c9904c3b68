"""Calls inside calls: Safe, multiSend, Multicall3 and Universal Router plans decode recursively."""

from __future__ import annotations

from calldatahelpers import (
    ALICE,
    BOB,
    MULTICALL3,
    MULTISEND_CALL_ONLY,
    PERMIT2,
    SAFE_PROXY,
    SEAPORT_ORDER,
    SEAPORT_ORDER_ARGS,
    UR_V1,
    UR_V2,
    USDC,
    WETH,
    ZERO,
    calldata,
    exec_transaction,
    packed,
    v3_path,
)
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.decoding.calldata import decode_call
from copilot.decoding.nested import decode_v3_path
from copilot.models import CallStatus


def test_safe_exec_delegatecall_to_multisend_reveals_every_inner_transaction() -> None:
    approve = calldata("approve(address,uint256)", BOB, 2**256 - 1)
    add_owner = calldata("addOwnerWithThreshold(address,uint256)", BOB, 1)
    batch = packed(0, USDC, 0, approve) + packed(0, SAFE_PROXY, 0, add_owner) + packed(0, ALICE, 10**18, b"")
    call = decode_call(
        SAFE_PROXY, 0, exec_transaction(MULTISEND_CALL_ONLY, 0, calldata("multiSend(bytes)", batch), 1), 1
    )

    assert call.name == "execTransaction" and call.param("operation") == 1
    (inner,) = call.children
    assert inner.operation == "delegatecall" and inner.to == MULTISEND_CALL_ONLY
    assert inner.contract and "MultiSendCallOnly" in inner.contract
    assert inner.path == "call.children[0]"
    first, second, third = inner.children
    assert first.name == "approve" and first.to == USDC and first.params[1].display == "unlimited USDC"
    assert second.name == "addOwnerWithThreshold" and second.param("owner") == BOB
    assert second.path == "call.children[0].children[1]"
    assert third.status is CallStatus.EMPTY and third.value == 10**18
    assert {c.operation for c in inner.children} == {"call"}


def test_safe_exec_plain_call_and_invalid_operation() -> None:
    call = decode_call(
        SAFE_PROXY, 0, exec_transaction(USDC, 0, calldata("transfer(address,uint256)", BOB, 10**6), 0), 1
    )
    assert call.children[0].operation == "call" and call.children[0].name == "transfer"
    bad = decode_call(SAFE_PROXY, 0, exec_transaction(USDC, 0, b"", 2), 1)
    assert bad.children == [] and any("operation 2" in note for note in bad.notes)


def test_multisend_delegatecall_entries_and_truncated_payload() -> None:
    entry = packed(1, "0x" + "66" * 20, 0, calldata("transferOwnership(address)", BOB))
    call = decode_call(MULTISEND_CALL_ONLY, 0, calldata("multiSend(bytes)", entry + entry[:30]), 1)
    assert len(call.children) == 1 and call.children[0].operation == "delegatecall"
    assert call.children[0].name == "transferOwnership"
    assert any("cut short" in note for note in call.notes)


def test_multicall3_aggregate3value_children_carry_their_value_and_flags() -> None:
    calls = [
        (USDC, True, 0, calldata("approve(address,uint256)", BOB, 5)),
        (WETH, False, 10**18, calldata("deposit()")),
    ]
    call = decode_call(
        MULTICALL3, 10**18, calldata("aggregate3Value((address,bool,uint256,bytes)[])", calls), 1
    )
    first, second = call.children
    assert first.name == "approve" and any("allowed to fail" in n for n in first.notes)
    assert second.name == "deposit" and second.value == 10**18 and second.to == WETH


def test_multicall3_aggregate_and_try_aggregate() -> None:
    inner = [(USDC, calldata("transfer(address,uint256)", BOB, 1))]
    assert (
        decode_call(MULTICALL3, 0, calldata("aggregate((address,bytes)[])", inner), 1).children[0].name
        == "transfer"
    )
    tried = decode_call(MULTICALL3, 0, calldata("tryAggregate(bool,(address,bytes)[])", False, inner), 1)
    assert tried.children[0].param("to") == BOB


def test_v3_path_decodes_into_tokens_and_fees() -> None:
    tokens, fees = decode_v3_path(v3_path(USDC, 500, WETH, 3000, BOB)) or ([], [])
    assert tokens == [USDC, WETH, BOB] and fees == [500, 3000]
    assert decode_v3_path(b"\x00" * 44) is None


def test_universal_router_plan_decodes_each_command() -> None:
    permit_single = ((USDC, 10**8, 1_800_000_000, 0), UR_V1, 1_800_000_000)
    commands = bytes([0x0A, 0x00, 0x0C, 0x80 | 0x04])
    inputs = [
        encode(["((address,uint160,uint48,uint48),address,uint256)", "bytes"], [permit_single, b"\x00" * 65]),
        encode(
            ["address", "uint256", "uint256", "bytes", "bool"],
            [UR_V1, 10**8, 10**16, v3_path(USDC, 500, WETH), True],
        ),
        encode(["address", "uint256"], [ALICE, 10**16]),
        encode(["address", "address", "uint256"], [USDC, ALICE, 0]),
    ]
    data = calldata("execute(bytes,bytes[],uint256)", commands, inputs, 1_800_000_000)
    call = decode_call(UR_V1, 0, data, 1)
    assert call.name == "execute"
    names = [c.name for c in call.children]
    assert names == ["PERMIT2_PERMIT", "V3_SWAP_EXACT_IN", "UNWRAP_WETH", "SWEEP"]
    permit, swap, unwrap, sweep = call.children
    assert permit.param("permitSingle")["details"]["token"] == USDC
    assert "amount: 100 USDC" in (permit.params[0].display or "")
    assert swap.param("path_tokens") == [USDC, WETH] and swap.param("path_fees") == [500]
    assert next(p.display for p in swap.params if p.name == "path") == "USDC → 0.05% → WETH"
    assert unwrap.param("recipient") == ALICE
    assert any("allowed to revert" in note for note in sweep.notes) and sweep.param("token") == USDC
    assert sweep.path == "call.children[3]"


def test_universal_router_sub_plans_recurse_and_v4_swaps_stay_opaque() -> None:
    sub_plan = encode(
        ["bytes", "bytes[]"], [bytes([0x05]), [encode(["address", "address", "uint256"], [USDC, BOB, 7])]]
    )
    commands = bytes([0x21, 0x10])
    data = calldata("execute(bytes,bytes[])", commands, [sub_plan, b"\x12\x34"])
    call = decode_call(UR_V2, 0, data, 1)
    sub, v4 = call.children
    assert sub.name == "EXECUTE_SUB_PLAN" and sub.children[0].name == "TRANSFER"
    assert (
        sub.children[0].param("recipient") == BOB and sub.children[0].path == "call.children[0].children[0]"
    )
    assert v4.function == "V4_SWAP(bytes)" and v4.param("input") == "0x1234"


def test_universal_router_unknown_command_and_count_mismatch() -> None:
    data = calldata(
        "execute(bytes,bytes[])", bytes([0x3F, 0x0B]), [b"", encode(["address", "uint256"], [ALICE, 1])]
    )
    call = decode_call(UR_V1, 0, data, 1)
    assert call.children[0].status is CallStatus.UNKNOWN and call.children[1].name == "WRAP_ETH"
    mismatch = decode_call(UR_V1, 0, calldata("execute(bytes,bytes[])", bytes([0x0B, 0x0B]), []), 1)
    assert any("2 commands but 0 inputs" in note for note in mismatch.notes)


def test_safe_setup_and_upgrade_to_and_call_show_their_delegatecalls() -> None:
    enable = calldata("enableModule(address)", "0x" + "44" * 20)
    setup = calldata(
        "setup(address[],uint256,address,bytes,address,address,uint256,address)",
        [ALICE],
        1,
        "0x" + "33" * 20,
        enable,
        ZERO,
        ZERO,
        0,
        ZERO,
    )
    call = decode_call(
        "0xa6B71E26C5e0845f74c812102Ca7114b6a896AB2",
        0,
        calldata(
            "createProxyWithNonce(address,bytes,uint256)",
            "0xd9Db270c1B5E3Bd161E8c8503c55cEABeE709552",
            setup,
            1,
        ),
        1,
    )
    (setup_call,) = call.children
    assert setup_call.name == "setup" and setup_call.contract == "Safe 1.3.0 singleton"
    assert (
        setup_call.children[0].operation == "delegatecall" and setup_call.children[0].name == "enableModule"
    )
    upgrade = decode_call(
        ALICE, 0, calldata("upgradeToAndCall(address,bytes)", BOB, calldata("renounceOwnership()")), 1
    )
    assert upgrade.children[0].operation == "delegatecall" and upgrade.children[0].name == "renounceOwnership"


def test_permit2_in_a_multicall_is_reachable_by_walking() -> None:
    approve = calldata("approve(address,address,uint160,uint48)", USDC, BOB, 2**160 - 1, 0)
    call = decode_call(
        MULTICALL3, 0, calldata("aggregate3((address,bool,bytes)[])", [(PERMIT2, False, approve)]), 1
    )
    assert [c.name for c in call.walk()] == ["aggregate3", "approve"]
    assert call.walk()[1].contract == "Uniswap Permit2"


@settings(max_examples=150, deadline=None)
@given(payload=st.binary(max_size=300))
def test_any_multisend_payload_decodes_or_says_why(payload: bytes) -> None:
    call = decode_call(MULTISEND_CALL_ONLY, 0, calldata("multiSend(bytes)", payload), 1)
    assert call.status is CallStatus.DECODED
    consumed = sum(85 + len(bytes.fromhex(c.data[2:])) for c in call.children)
    assert consumed == len(payload) or call.notes  # everything decoded, or a note on what was not


@settings(max_examples=150, deadline=None)
@given(commands=st.binary(max_size=6), inputs=st.lists(st.binary(max_size=200), max_size=6))
def test_any_universal_router_plan_decodes_command_by_command(commands: bytes, inputs: list[bytes]) -> None:
    call = decode_call(UR_V2, 0, calldata("execute(bytes,bytes[])", commands, inputs), 1)
    assert len(call.children) == min(len(commands), len(inputs))
    assert all(child.status in set(CallStatus) for child in call.walk())


def test_smart_account_batches_decode_each_call() -> None:
    approve = calldata("approve(address,uint256)", BOB, 10**6)
    account = ALICE  # an EIP-7702 delegated EOA calls itself
    batch = decode_call(
        account,
        0,
        calldata("executeBatch((address,uint256,bytes)[])", [(USDC, 0, approve), (BOB, 5, b"")]),
        1,
    )
    assert [c.to for c in batch.children] == [USDC, BOB] and batch.children[1].value == 5
    assert batch.children[0].params[1].display == "1 USDC"
    arrays = decode_call(
        account, 0, calldata("executeBatch(address[],uint256[],bytes[])", [USDC], [0], [approve]), 1
    )
    assert arrays.children[0].name == "approve"
    uneven = decode_call(account, 0, calldata("executeBatch(address[],bytes[])", [USDC, BOB], [approve]), 1)
    assert uneven.children == [] and "differ in length" in uneven.notes[0]


def test_erc7579_execute_modes() -> None:
    transfer = calldata("transfer(address,uint256)", BOB, 10**6)
    single_mode = b"\x00" * 32
    single = bytes.fromhex(USDC[2:]) + (0).to_bytes(32, "big") + transfer
    call = decode_call(ALICE, 0, calldata("execute(bytes32,bytes)", single_mode, single), 1)
    assert call.children[0].to == USDC and call.children[0].name == "transfer"
    batch_mode = b"\x01" + b"\x00" * 31
    batch = encode(
        ["(address,uint256,bytes)[]"], [[(USDC, 0, transfer), (WETH, 10**18, calldata("deposit()"))]]
    )
    call = decode_call(ALICE, 0, calldata("execute(bytes32,bytes)", batch_mode, batch), 1)
    assert [c.name for c in call.children] == ["transfer", "deposit"] and call.children[1].value == 10**18
    delegate_mode = b"\xff" + b"\x00" * 31
    call = decode_call(
        ALICE, 0, calldata("execute(bytes32,bytes)", delegate_mode, bytes.fromhex(BOB[2:]) + transfer), 1
    )
    assert call.children[0].operation == "delegatecall" and call.children[0].to == BOB
    odd = decode_call(ALICE, 0, calldata("execute(bytes32,bytes)", b"\x07" + b"\x00" * 31, b"\x01"), 1)
    assert odd.children == [] and "not decoded" in odd.notes[0]


def test_v3_paths_show_hops_and_price_amounts_in_trade_order() -> None:
    router = "0xE592427A0AEce92De3Edee1F18E0157C05861564"
    params = (v3_path(USDC, 500, WETH), ALICE, 1_800_000_000, 100 * 10**6, 3 * 10**16)
    call = decode_call(router, 0, calldata("exactInput((bytes,address,uint256,uint256,uint256))", params), 1)
    shown = call.params[0].display or ""
    assert "path: USDC → 0.05% → WETH" in shown
    assert "amountIn: 100 USDC" in shown and "amountOutMinimum: 0.03 WETH" in shown
    # exact output: the path is encoded output first (WETH ← USDC), amounts still match their tokens
    params = (v3_path(WETH, 500, USDC), ALICE, 1_800_000_000, 3 * 10**16, 100 * 10**6)
    call = decode_call(router, 0, calldata("exactOutput((bytes,address,uint256,uint256,uint256))", params), 1)
    shown = call.params[0].display or ""
    assert "amountOut: 0.03 WETH" in shown and "amountInMaximum: 100 USDC" in shown
    assert "(encoded output first)" in shown


def test_universal_router_swap_amounts_use_the_path_tokens() -> None:
    swap = encode(
        ["address", "uint256", "uint256", "bytes", "bool"],
        [ALICE, 100 * 10**6, 3 * 10**16, v3_path(USDC, 500, WETH), True],
    )
    call = decode_call(UR_V1, 0, calldata("execute(bytes,bytes[])", bytes([0x00]), [swap]), 1)
    (command,) = call.children
    shown = {p.name: p.display for p in command.params}
    assert shown["amountIn"] == "100 USDC" and shown["amountOutMin"] == "0.03 WETH"


def test_every_erc7730_calldata_field_function_has_a_nested_decoder() -> None:
    """Functions whose descriptors format an argument as nested calldata must get children too."""
    import json

    from copilot.decoding.nested import _HANDLERS
    from copilot.decoding.selectors import function_from_signature
    from copilot.resources import abis_dir

    not_calls = {
        "SafeTx(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)",  # EIP-712
        "createSplitterAndCall(address,bytes32,address,bytes)",  # Kiln factory: init call on a new clone
    }
    missing = set()
    for path in (abis_dir() / "erc7730" / "registry").rglob("*.json"):
        if path.parent.name == "tests":
            continue
        formats = (json.loads(path.read_text()).get("display") or {}).get("formats") or {}
        for key, spec in formats.items():
            fields = [f for f in spec.get("fields", []) if isinstance(f, dict)]
            if any(f.get("format") == "calldata" for f in fields):
                signature = function_from_signature(key, "erc7730").signature
                if signature not in _HANDLERS and signature not in not_calls:
                    missing.add(signature)
    assert missing == set()


def test_oneinch_permit_and_call_decodes_the_router_call() -> None:
    router = "0x111111125421cA6dc452d289314280a0f8842A65"
    swap = calldata("ethUnoswap(uint256,uint256)", 5, 6)
    call = decode_call(router, 0, calldata("permitAndCall(bytes,bytes)", b"\x01" * 52, swap), 1)
    assert call.status is CallStatus.DECODED and call.children[0].name == "ethUnoswap"
    assert call.children[0].to == router


def test_universal_router_v1_seaport_command_decodes_the_order() -> None:
    order_call = calldata(f"fulfillOrder{SEAPORT_ORDER}", SEAPORT_ORDER_ARGS, b"\x00" * 32)
    seaport = encode(["uint256", "bytes"], [10**18, order_call])
    call = decode_call(UR_V1, 10**18, calldata("execute(bytes,bytes[])", bytes([0x10]), [seaport]), 1)
    (command,) = call.children
    assert command.name == "SEAPORT_V1_5" and command.param("value") == 10**18
    (order,) = command.children
    assert order.contract == "Seaport 1.5" and order.name == "fulfillOrder" and order.value == 10**18
    assert order.path == "call.children[0].children[0]"


def test_native_value_of_inner_calls_reads_in_ether() -> None:
    call = decode_call(SAFE_PROXY, 0, exec_transaction(BOB, 15 * 10**17, b"", 0), 1)
    assert call.params[1].name == "value" and call.params[1].display == "1.5 ETH"
    batch = decode_call(ALICE, 0, calldata("execute(address,uint256,bytes)", BOB, 10**18, b""), 137)
    assert batch.params[1].display == "1 POL"
