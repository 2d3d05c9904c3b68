"""Calls inside calls: Multicall3, Safe execTransaction and multiSend, Universal Router commands,
multicall(bytes[]) self-calls, Safe setup/proxy creation, upgradeToAndCall, smart-account
execute/executeBatch (ERC-4337, ERC-7579, ERC-7821) and the batch executors ERC-7730 describes.

Each handler turns a decoded outer call into child DecodedCalls, decoded by `decode_call` one level
deeper; `decode_call` stops at MAX_DEPTH with a TRUNCATED child, so a hostile payload cannot recurse
without end. Children get paths like "call.children[2]": findings point there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from copilot.decoding import abicodec
from copilot.decoding.selectors import AbiParam, bundled_abi, function_from_signature
from copilot.models import CallStatus, DecodedCall, Param

Handler = Callable[[DecodedCall, list[Any], int | None, int], list[DecodedCall]]

ZERO_ADDRESS = "0x" + "00" * 20


def nested_calls(call: DecodedCall, chain_id: int | None, depth: int) -> list[DecodedCall]:
    """The child calls of a decoded call (empty when the function carries none)."""
    handler = _HANDLERS.get(call.function or "")
    if handler is None:
        return []
    return handler(call, [p.value for p in call.params], chain_id, depth)


def _child(
    parent: DecodedCall,
    index: int,
    to: str,
    value: int,
    data_hex: str,
    chain_id: int | None,
    depth: int,
    operation: str = "call",
) -> DecodedCall:
    from copilot.decoding.calldata import decode_call

    return decode_call(
        to,
        value,
        bytes.fromhex(data_hex[2:]),
        chain_id,
        path=f"{parent.path}.children[{index}]",
        depth=depth + 1,
        operation=operation,
    )


def _field(item: Any, position: int) -> Any:
    """A tuple element by position: the canonical signature fixes the order, whatever the names."""
    return list(item.values())[position] if isinstance(item, dict) else item[position]


# --------------------------------------------------------------------------- Multicall3


def _multicall3(calls_at: int, has_value: bool, has_flag: bool) -> Handler:
    def handler(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
        children = []
        for index, item in enumerate(args[calls_at]):
            target = _field(item, 0)
            data = _field(item, len(item) - 1)
            value = _field(item, 2) if has_value else 0
            child = _child(call, index, target, value, data, chain_id, depth)
            if has_flag and _field(item, 1):
                child.notes.append("allowed to fail without reverting the batch")
            children.append(child)
        return children

    return handler


# --------------------------------------------------------------------------- Safe


def _safe_exec(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
    to, value, data, operation = args[0], args[1], args[2], args[3]
    if operation not in (0, 1):
        call.notes.append(f"operation {operation} is neither call (0) nor delegatecall (1): the Safe reverts")
        return []
    return [_child(call, 0, to, value, data, chain_id, depth, "delegatecall" if operation == 1 else "call")]


def _safe_setup(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
    to, data = args[2], args[3]
    if to == ZERO_ADDRESS or data == "0x":
        return []
    child = _child(call, 0, to, 0, data, chain_id, depth, "delegatecall")
    child.notes.append("delegatecalled by the new Safe during setup")
    return [child]


def _create_proxy(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
    singleton, initializer = args[0], args[1]
    if initializer == "0x":
        return []
    child = _child(call, 0, singleton, 0, initializer, chain_id, depth)
    child.notes.append("runs on the new proxy, with this singleton's code")
    return [child]


def _multisend(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
    """multiSend(bytes): packed (uint8 operation, address to, uint256 value, uint256 length, bytes data)*."""
    payload = bytes.fromhex(args[0][2:])
    children: list[DecodedCall] = []
    offset = 0
    while offset < len(payload):
        header_end = offset + 1 + 20 + 32 + 32
        if header_end > len(payload):
            call.notes.append(f"multiSend payload is cut short at byte {offset}: the rest was not decoded")
            break
        operation = payload[offset]
        to = "0x" + payload[offset + 1 : offset + 21].hex()
        value = int.from_bytes(payload[offset + 21 : offset + 53], "big")
        length = int.from_bytes(payload[offset + 53 : header_end], "big")
        if header_end + length > len(payload):
            call.notes.append(
                f"multiSend transaction {len(children)} claims {length} data bytes past the payload's end"
            )
            break
        data = payload[header_end : header_end + length]
        if operation not in (0, 1):
            call.notes.append(
                f"multiSend transaction {len(children)} has operation {operation}: the batch reverts"
            )
            break
        children.append(
            _child(call, len(children), to, value, "0x" + data.hex(), chain_id, depth,
                   "delegatecall" if operation == 1 else "call")
        )  # fmt: skip
        offset = header_end + length
    return children


# --------------------------------------------------------------------------- self-calls and upgrades


def _self_multicall(data_at: int) -> Handler:
    def handler(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
        assert call.to is not None
        children = [
            _child(call, i, call.to, 0, data, chain_id, depth) for i, data in enumerate(args[data_at])
        ]
        if children and call.value:
            for child in children:
                child.notes.append("shares the batch's native value (msg.value) with the other calls")
        return children

    return handler


def _upgrade_and_call(
    call: DecodedCall, args: list[Any], chain_id: int | None, depth: int
) -> list[DecodedCall]:
    implementation, data = args[0], args[1]
    if data == "0x":
        return []
    child = _child(call, 0, implementation, 0, data, chain_id, depth, "delegatecall")
    child.notes.append("delegatecalled on the proxy right after the upgrade")
    return [child]


def _permit_and_call(
    call: DecodedCall, args: list[Any], chain_id: int | None, depth: int
) -> list[DecodedCall]:
    assert call.to is not None
    return [_child(call, 0, call.to, call.value, args[1], chain_id, depth)]


def _ens_register(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
    resolver = args[4]
    return [_child(call, i, resolver, 0, data, chain_id, depth) for i, data in enumerate(args[5])]


# --------------------------------------------------------------------------- smart accounts and batch executors


def _call_structs(array_at: int, to_at: int, value_at: int | None, data_at: int) -> Handler:
    """Batches of (to, value, data) structs: smart-account executeBatch, Ledger BatchExecutor, Morpho bundles."""

    def handler(call: DecodedCall, args: list[Any], chain_id: int | None, depth: int) -> list[DecodedCall]:
        children = []
        for index, item in enumerate(args[array_at]):
            value = _field(item, value_at) if value_at is not None else 0
            children.append(
                _child(call, index, _field(item, to_at), value, _field(item, data_at), chain_id, depth)
            )
        return children

    return handler


def _single_execute(
    call: DecodedCall, args: list[Any], chain_id: int | None, depth: int
) -> list[DecodedCall]:
    return [_child(call, 0, args[0], args[1], args[2], chain_id, depth)]


def _parallel_arrays(
    call: DecodedCall, args: list[Any], chain_id: int | None, depth: int
) -> list[DecodedCall]:
    """executeBatch(address[] dest, [uint256[] value,] bytes[] func)."""
    targets, datas = args[0], args[-1]
    values = args[1] if len(args) == 3 else [0] * len(targets)
    if not len(targets) == len(values) == len(datas):
        call.notes.append("the batch's arrays differ in length: the account reverts")
        return []
    return [
        _child(call, i, t, v, d, chain_id, depth)
        for i, (t, v, d) in enumerate(zip(targets, values, datas, strict=True))
    ]


_CALLTYPE_SINGLE, _CALLTYPE_BATCH, _CALLTYPE_DELEGATE = 0x00, 0x01, 0xFF


def _erc7579_execute(
    call: DecodedCall, args: list[Any], chain_id: int | None, depth: int
) -> list[DecodedCall]:
    """ERC-7579 / ERC-7821 execute(bytes32 mode, bytes executionData); the first mode byte is the call type."""
    mode, payload = bytes.fromhex(args[0][2:]), bytes.fromhex(args[1][2:])
    call_type = mode[0]
    if call_type == _CALLTYPE_SINGLE and len(payload) >= 52:
        target, value = "0x" + payload[:20].hex(), int.from_bytes(payload[20:52], "big")
        return [_child(call, 0, target, value, "0x" + payload[52:].hex(), chain_id, depth)]
    if call_type == _CALLTYPE_DELEGATE and len(payload) >= 20:
        target = "0x" + payload[:20].hex()
        return [_child(call, 0, target, 0, "0x" + payload[20:].hex(), chain_id, depth, "delegatecall")]
    if call_type == _CALLTYPE_BATCH:
        for types in (
            ["(address,uint256,bytes)[]"],
            ["(address,uint256,bytes)[]", "bytes"],
        ):  # ERC-7821 opData
            try:
                calls = abicodec.decode(types, payload)[0][0]
            except abicodec.AbiDecodeError:
                continue
            return [
                _child(call, i, to, value, "0x" + data.hex(), chain_id, depth)
                for i, (to, value, data) in enumerate(calls)
            ]
    call.notes.append(
        f"execution mode 0x{mode.hex()} with {len(payload)} bytes of execution data is not decoded"
    )
    return []


# --------------------------------------------------------------------------- Universal Router

_UR_ALLOW_REVERT = 0x80
_UR_COMMAND_MASK = 0x3F
_EXECUTE_SUB_PLAN = 0x21


def _params(text: str) -> tuple[AbiParam, ...]:
    """Named inputs written as in Solidity: "address recipient, uint256 amountMin"."""
    return function_from_signature(f"command({text})", "universal-router").inputs


def _permit2_inputs(signature: str, skip: int) -> tuple[AbiParam, ...]:
    for function in bundled_abi("permit2"):
        if function.signature == signature:
            return function.inputs[skip:]
    raise LookupError(signature)  # the bundled Permit2 ABI is part of the package


@lru_cache(maxsize=1)
def _ur_commands() -> dict[int, tuple[str, tuple[AbiParam, ...]]]:
    """Commands shared by Universal Router 1.x and 2 (Commands.sol)."""
    return {
        0x00: ("V3_SWAP_EXACT_IN", _params("address recipient, uint256 amountIn, uint256 amountOutMin, bytes path, bool payerIsUser")),
        0x01: ("V3_SWAP_EXACT_OUT", _params("address recipient, uint256 amountOut, uint256 amountInMax, bytes path, bool payerIsUser")),
        0x02: ("PERMIT2_TRANSFER_FROM", _params("address token, address recipient, uint160 amount")),
        0x03: ("PERMIT2_PERMIT_BATCH", _permit2_inputs("permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)", 1)),
        0x04: ("SWEEP", _params("address token, address recipient, uint256 amountMin")),
        0x05: ("TRANSFER", _params("address token, address recipient, uint256 value")),
        0x06: ("PAY_PORTION", _params("address token, address recipient, uint256 bips")),
        0x08: ("V2_SWAP_EXACT_IN", _params("address recipient, uint256 amountIn, uint256 amountOutMin, address[] path, bool payerIsUser")),
        0x09: ("V2_SWAP_EXACT_OUT", _params("address recipient, uint256 amountOut, uint256 amountInMax, address[] path, bool payerIsUser")),
        0x0A: ("PERMIT2_PERMIT", _permit2_inputs("permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)", 1)),
        0x0B: ("WRAP_ETH", _params("address recipient, uint256 amountMin")),
        0x0C: ("UNWRAP_WETH", _params("address recipient, uint256 amountMin")),
        0x0D: ("PERMIT2_TRANSFER_FROM_BATCH", _permit2_inputs("transferFrom((address,address,uint160,address)[])", 0)),
        0x0E: ("BALANCE_CHECK_ERC20", _params("address owner, address token, uint256 minBalance")),
        _EXECUTE_SUB_PLAN: ("EXECUTE_SUB_PLAN", _params("bytes commands, bytes[] inputs")),
    }  # fmt: skip


# Commands whose input is not ABI-encoded for us to read (router-specific payloads): kept as bytes.
_UR_V1_OPAQUE = {0x10: "SEAPORT_V1_5", 0x11: "LOOKS_RARE_V2", 0x12: "NFTX", 0x13: "CRYPTOPUNKS", 0x14: "LOOKS_RARE_1155",
                 0x15: "OWNER_CHECK_721", 0x16: "OWNER_CHECK_1155", 0x17: "SWEEP_ERC721", 0x18: "X2Y2_721",
                 0x19: "SUDOSWAP", 0x1A: "NFT20", 0x1B: "X2Y2_1155", 0x1C: "FOUNDATION", 0x1D: "SWEEP_ERC1155",
                 0x1E: "ELEMENT_MARKET", 0x20: "SEAPORT_V1_4", 0x22: "APPROVE_ERC20"}  # fmt: skip
_UR_V1_SEAPORT = {
    0x10: "0x00000000000000ADc04C56Bf30aC9d3c0aAF14dC",
    0x20: "0x00000000000001ad428e4906aE43D8F9852d0dD6",
}
_UR_V2_OPAQUE = {0x10: "V4_SWAP", 0x11: "V3_POSITION_MANAGER_PERMIT", 0x12: "V3_POSITION_MANAGER_CALL",
                 0x13: "V4_INITIALIZE_POOL", 0x14: "V4_POSITION_MANAGER_CALL"}  # fmt: skip


def _router_version(call: DecodedCall, chain_id: int | None) -> str | None:
    from copilot.decoding.registry import known_contract

    contract = known_contract(call.to, chain_id)
    if contract is None:
        return None
    if "universal-router-v2" in contract.abi:
        return "v2"
    return "v1" if "universal-router" in contract.abi else None


def _universal_router(
    call: DecodedCall, args: list[Any], chain_id: int | None, depth: int
) -> list[DecodedCall]:
    commands = bytes.fromhex(args[0][2:])
    inputs = [bytes.fromhex(item[2:]) for item in args[1]]
    if len(commands) != len(inputs):
        call.notes.append(f"{len(commands)} commands but {len(inputs)} inputs: the router reverts")
    version = _router_version(call, chain_id)
    return _ur_plan(call, commands, inputs, version, chain_id, depth)


def _ur_plan(
    parent: DecodedCall,
    commands: bytes,
    inputs: list[bytes],
    version: str | None,
    chain_id: int | None,
    depth: int,
) -> list[DecodedCall]:
    from copilot.decoding.calldata import MAX_DEPTH

    children = []
    for index, (command, payload) in enumerate(zip(commands, inputs, strict=False)):
        child = DecodedCall(
            to=parent.to,
            data="0x" + payload.hex(),
            path=f"{parent.path}.children[{index}]",
            notes=[f"Universal Router command 0x{command:02x}"],
        )
        if command & _UR_ALLOW_REVERT:
            child.notes.append("allowed to revert without reverting the transaction")
        if depth + 1 > MAX_DEPTH:
            child.status = CallStatus.TRUNCATED
            child.notes.append(f"nested decoding stops at depth {MAX_DEPTH}: this command was not decoded")
        else:
            _decode_command(child, command & _UR_COMMAND_MASK, payload, version, chain_id, depth + 1)
        children.append(child)
    return children


def _decode_command(
    child: DecodedCall, code: int, payload: bytes, version: str | None, chain_id: int | None, depth: int
) -> None:
    from copilot.decoding.calldata import _Context, build_params

    spec = _ur_commands().get(code)
    if version == "v1" and code in _UR_V1_SEAPORT:
        spec = (_UR_V1_OPAQUE[code], _params("uint256 value, bytes data"))
    if spec is None:
        opaque_name = _opaque_command(code, version, child)
        if opaque_name is None:
            child.status = CallStatus.UNKNOWN
            child.notes.append(f"unknown Universal Router command 0x{code:02x}")
            return
        child.function = f"{opaque_name}(bytes)"
        child.status = CallStatus.DECODED
        child.params = [Param(name="input", type="bytes", value=child.data)]
        return
    name, params = spec
    child.function = f"{name}({','.join(p.type for p in params)})"
    try:
        values, _ = abicodec.decode([p.type for p in params], payload)
    except abicodec.AbiDecodeError:
        child.status = CallStatus.UNDECODABLE
        child.notes.append(f"the input does not decode as {child.function}")
        return
    child.status = CallStatus.DECODED
    assert child.to is not None
    child.params = build_params(params, values, _Context(chain_id, child.to, None, name))
    if name.startswith("V3_SWAP"):
        _add_v3_path(child)
    if code == _EXECUTE_SUB_PLAN:
        commands = bytes.fromhex(child.params[0].value[2:])
        inputs = [bytes.fromhex(item[2:]) for item in child.params[1].value]
        child.children = _ur_plan(child, commands, inputs, version, chain_id, depth)
    elif version == "v1" and code in _UR_V1_SEAPORT:
        # the router calls Seaport with this calldata and value: the order is what the user buys
        order = _child(
            child, 0, _UR_V1_SEAPORT[code], child.params[0].value, child.params[1].value, chain_id, depth
        )
        child.children = [order]


def _opaque_command(code: int, version: str | None, child: DecodedCall) -> str | None:
    if version == "v2":
        return _UR_V2_OPAQUE.get(code)
    if version == "v1":
        return _UR_V1_OPAQUE.get(code)
    if code in _UR_V2_OPAQUE or code in _UR_V1_OPAQUE:
        names = " or ".join(n for n in (_UR_V2_OPAQUE.get(code), _UR_V1_OPAQUE.get(code)) if n)
        child.notes.append(f"router version unknown: command 0x{code:02x} is {names}")
        return names.replace(" or ", "_OR_")
    return None


def decode_v3_path(path: bytes) -> tuple[list[str], list[int]] | None:
    """Uniswap V3 packed path: token (20 bytes) then (fee (3 bytes), token (20 bytes))*."""
    if len(path) < 43 or (len(path) - 20) % 23:
        return None
    from copilot.decoding._crypto import to_checksum_address

    tokens = [to_checksum_address(path[0:20])]
    fees = []
    for offset in range(20, len(path), 23):
        fees.append(int.from_bytes(path[offset : offset + 3], "big"))
        tokens.append(to_checksum_address(path[offset + 3 : offset + 23]))
    return tokens, fees


def _add_v3_path(child: DecodedCall) -> None:
    """The tokens and fees of a V3 path as their own params, for rules that follow the assets."""
    path_param = next(p for p in child.params if p.name == "path")
    decoded = decode_v3_path(bytes.fromhex(path_param.value[2:]))
    if decoded is None:
        child.notes.append("the V3 path is not a whole number of (token, fee) hops")
        return
    tokens, fees = decoded
    child.params.append(Param(name="path_tokens", type="address[]", value=tokens))
    child.params.append(Param(name="path_fees", type="uint24[]", value=fees))


_HANDLERS: dict[str, Handler] = {
    "aggregate((address,bytes)[])": _multicall3(0, has_value=False, has_flag=False),
    "blockAndAggregate((address,bytes)[])": _multicall3(0, has_value=False, has_flag=False),
    "tryAggregate(bool,(address,bytes)[])": _multicall3(1, has_value=False, has_flag=False),
    "tryBlockAndAggregate(bool,(address,bytes)[])": _multicall3(1, has_value=False, has_flag=False),
    "aggregate3((address,bool,bytes)[])": _multicall3(0, has_value=False, has_flag=True),
    "aggregate3Value((address,bool,uint256,bytes)[])": _multicall3(0, has_value=True, has_flag=True),
    "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)": _safe_exec,
    "execTransactionFromModule(address,uint256,bytes,uint8)": _safe_exec,
    "multiSend(bytes)": _multisend,
    "setup(address[],uint256,address,bytes,address,address,uint256,address)": _safe_setup,
    "createProxyWithNonce(address,bytes,uint256)": _create_proxy,
    "createProxyWithNonceL2(address,bytes,uint256)": _create_proxy,
    "createChainSpecificProxyWithNonce(address,bytes,uint256)": _create_proxy,
    "createProxyWithCallback(address,bytes,uint256,address)": _create_proxy,
    "permitAndCall(bytes,bytes)": _permit_and_call,  # 1inch V6: a token permit, then a router call
    "execute(bytes,bytes[],uint256)": _universal_router,
    "execute(bytes,bytes[])": _universal_router,
    "multicall(bytes[])": _self_multicall(0),
    "multicall(uint256,bytes[])": _self_multicall(1),
    "multicall(bytes32,bytes[])": _self_multicall(1),
    "upgradeToAndCall(address,bytes)": _upgrade_and_call,
    "register(string,address,uint256,bytes32,address,bytes[],bool,uint16)": _ens_register,
    "execute(address,uint256,bytes)": _single_execute,
    "executeBatch((address,uint256,bytes)[])": _call_structs(0, 0, 1, 2),
    "executeBatch(address[],bytes[])": _parallel_arrays,
    "executeBatch(address[],uint256[],bytes[])": _parallel_arrays,
    "execute(bytes32,bytes)": _erc7579_execute,
    "batchExecute((address,uint256,bytes)[])": _call_structs(0, 0, 1, 2),  # Ledger BatchExecutor
    "multicall((address,bytes,uint256,bool,bytes32)[])": _call_structs(0, 0, 2, 1),  # Morpho bundler
    "reenter((address,bytes,uint256,bool,bytes32)[])": _call_structs(0, 0, 2, 1),
}
