"""Shared by the contract-call tests and benchmarks/bench_calldata.py: real-shaped calldata builders."""

from __future__ import annotations

from typing import Any

from eth_abi import encode

from copilot.decoding.selectors import selector_of

USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
DAI = "0x6B175474E89094C44Da98b954EedeAC495271d0F"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
PERMIT2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3"
UNIVERSAL_ROUTER = "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD"
V2_ROUTER = "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"
SWAP_ROUTER02 = "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45"
AAVE_POOL = "0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2"
SEAPORT_16 = "0x0000000000000068F116a894984e2DB1123eB395"
STETH = "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84"
ONEINCH_V6 = "0x111111125421cA6dc452d289314280a0f8842A65"
ENS_RESOLVER = "0x231b0Ee14048e9dCcD1d247744d114a4EB5E8E63"
ALICE = "0x1111111111111111111111111111111111111111"
BOB = "0x2222222222222222222222222222222222222222"
UNKNOWN = "0x9999999999999999999999999999999999999999"
MAX = 2**256 - 1


def calldata(signature: str, *args: Any) -> bytes:
    types = signature[signature.index("(") + 1 : -1]
    return bytes.fromhex(selector_of(signature)[2:]) + encode(split_types(types), list(args))


def split_types(types: str) -> list[str]:
    out, depth, current = [], 0, ""
    for char in types:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            out.append(current)
            current = ""
        else:
            current += char
    return [*out, current] if current else out


def display(call: Any, name: str) -> str | None:
    return next(p.display for p in call.params if p.name == name)


SAFE_PROXY = "0x5afE5afE5afE5afE5afE5afE5afE5afE5afE5afE"
MULTISEND_CALL_ONLY = "0x40A2aCCbd92BCA938b02010E17A5b8929b49130D"
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
UR_V1 = "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD"
UR_V2 = "0x66a9893cC07D91D95644AEDD05D03f95e1dBA8Af"
ZERO = "0x" + "00" * 20
EXEC_TRANSACTION = (
    "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
)


def exec_transaction(to: str, value: int, data: bytes, operation: int) -> bytes:
    return calldata(EXEC_TRANSACTION, to, value, data, operation, 0, 0, 0, ZERO, ZERO, b"\x01" * 65)


def packed(operation: int, to: str, value: int, data: bytes) -> bytes:
    return (
        bytes([operation])
        + bytes.fromhex(to[2:])
        + value.to_bytes(32, "big")
        + len(data).to_bytes(32, "big")
        + data
    )


def v3_path(*hops: str | int) -> bytes:
    out = b""
    for hop in hops:
        out += bytes.fromhex(hop[2:]) if isinstance(hop, str) else hop.to_bytes(3, "big")
    return out


SEAPORT_ORDER = "(((address,address,(uint8,address,uint256,uint256,uint256)[],(uint8,address,uint256,uint256,uint256,address)[],uint8,uint256,uint256,bytes32,uint256,bytes32,uint256),bytes),bytes32)"
SEAPORT_ORDER_ARGS = (
    (ALICE, "0x" + "00" * 20, [(2, BOB, 42, 1, 1)], [(0, "0x" + "00" * 20, 0, 10**18, 10**18, ALICE)], 0, 1, 2, b"\x00" * 32, 9, b"\x00" * 32, 1),
    b"\x07" * 65,
)  # fmt: skip

PARITY_CASES: list[tuple[str, str, tuple[Any, ...]]] = [
    (USDC, "approve(address,uint256)", (BOB, MAX)),
    (USDC, "transferFrom(address,address,uint256)", (ALICE, BOB, 123_456)),
    (USDC, "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", (ALICE, BOB, 10, 2**40, 27, b"\x01" * 32, b"\x02" * 32)),
    (DAI, "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)", (ALICE, BOB, 3, 0, True, 28, b"\x03" * 32, b"\x04" * 32)),
    (PERMIT2, "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)", (ALICE, ([(USDC, 2**160 - 1, 2**48 - 1, 1), (WETH, 5, 6, 7)], BOB, 99), b"\x05" * 65)),
    (PERMIT2, "permitTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes)", (((USDC, 10), 1, 2), (BOB, 10), ALICE, b"\x06" * 65)),
    ("0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D", "swapExactETHForTokens(uint256,address[],address,uint256)", (1, [WETH, USDC, DAI], ALICE, 1_800_000_000)),
    ("0xE592427A0AEce92De3Edee1F18E0157C05861564", "exactInput((bytes,address,uint256,uint256,uint256))", ((v3_path(USDC, 100, WETH), ALICE, 5, 6, 7),)),
    (SAFE_PROXY, EXEC_TRANSACTION, (BOB, 1, b"\xab\xcd", 1, 2, 3, 4, USDC, ALICE, b"\x09" * 65)),
    ("0x40A2aCCbd92BCA938b02010E17A5b8929b49130D", "multiSend(bytes)", (packed(0, USDC, 0, b"\x01\x02\x03") + packed(1, BOB, 5, b""),)),
    ("0xcA11bde05977b3631167028862bE2a173976CA11", "aggregate3((address,bool,bytes)[])", ([(USDC, True, b"\x01"), (WETH, False, b"")],)),
    ("0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD", "execute(bytes,bytes[],uint256)", (b"\x0b\x0c", [b"\x01" * 64, b"\x02" * 64], 5)),
    ("0x00000000000000ADc04C56Bf30aC9d3c0aAF14dC", f"fulfillOrder{SEAPORT_ORDER}", (SEAPORT_ORDER_ARGS, b"\x0a" * 32)),
    ("0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2", "repay(address,uint256,uint256,address)", (USDC, MAX, 2, ALICE)),
    ("0x889edC2eDab5f40e902b864aD4d7AdE8E412F9B1", "requestWithdrawals(uint256[],address)", ([10**18, 2 * 10**18], ALICE)),
    ("0x253553366Da8546fC250F225fe3d25d0C782303b", "register(string,address,uint256,bytes32,address,bytes[],bool,uint16)", ("vitalik", ALICE, 31_536_000, b"\x08" * 32, BOB, [], True, 0)),
    ("0x111111125421cA6dc452d289314280a0f8842A65", "unoswap(uint256,uint256,uint256,uint256)", (int(USDC, 16), 10**6, 1, 2**255 + 7)),
]  # fmt: skip
