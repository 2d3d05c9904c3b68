"""Our argument decoding agrees with Foundry's `cast calldata-decode` (the peer) on real-shaped calls."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from copilot.decoding.calldata import decode_call
from copilot.models import CallStatus
from tests.test_calldata import ALICE, BOB, DAI, PERMIT2, USDC, WETH, calldata
from tests.test_nested import EXEC_TRANSACTION, packed, v3_path

MAX = 2**256 - 1
SEAPORT_ORDER = "(((address,address,(uint8,address,uint256,uint256,uint256)[],(uint8,address,uint256,uint256,uint256,address)[],uint8,uint256,uint256,bytes32,uint256,bytes32,uint256),bytes),bytes32)"
_ORDER = (
    (ALICE, "0x" + "00" * 20, [(2, BOB, 42, 1, 1)], [(0, "0x" + "00" * 20, 0, 10**18, 10**18, ALICE)], 0, 1, 2, b"\x00" * 32, 9, b"\x00" * 32, 1),
    b"\x07" * 65,
)  # fmt: skip

CASES: list[tuple[str, str, tuple[Any, ...]]] = [
    (USDC, "approve(address,uint256)", (BOB, MAX)),
    (USDC, "transferFrom(address,address,uint256)", (ALICE, BOB, 123_456)),
    (USDC, "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", (ALICE, BOB, 10, 2**40, 27, b"\x01" * 32, b"\x02" * 32)),
    (DAI, "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)", (ALICE, BOB, 3, 0, True, 28, b"\x03" * 32, b"\x04" * 32)),
    (PERMIT2, "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)", (ALICE, ([(USDC, 2**160 - 1, 2**48 - 1, 1), (WETH, 5, 6, 7)], BOB, 99), b"\x05" * 65)),
    (PERMIT2, "permitTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes)", (((USDC, 10), 1, 2), (BOB, 10), ALICE, b"\x06" * 65)),
    ("0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D", "swapExactETHForTokens(uint256,address[],address,uint256)", (1, [WETH, USDC, DAI], ALICE, 1_800_000_000)),
    ("0xE592427A0AEce92De3Edee1F18E0157C05861564", "exactInput((bytes,address,uint256,uint256,uint256))", ((v3_path(USDC, 100, WETH), ALICE, 5, 6, 7),)),
    ("0x5afE5afE5afE5afE5afE5afE5afE5afE5afE5afE", EXEC_TRANSACTION, (BOB, 1, b"\xab\xcd", 1, 2, 3, 4, USDC, ALICE, b"\x09" * 65)),
    ("0x40A2aCCbd92BCA938b02010E17A5b8929b49130D", "multiSend(bytes)", (packed(0, USDC, 0, b"\x01\x02\x03") + packed(1, BOB, 5, b""),)),
    ("0xcA11bde05977b3631167028862bE2a173976CA11", "aggregate3((address,bool,bytes)[])", ([(USDC, True, b"\x01"), (WETH, False, b"")],)),
    ("0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD", "execute(bytes,bytes[],uint256)", (b"\x0b\x0c", [b"\x01" * 64, b"\x02" * 64], 5)),
    ("0x00000000000000ADc04C56Bf30aC9d3c0aAF14dC", f"fulfillOrder{SEAPORT_ORDER}", (_ORDER, b"\x0a" * 32)),
    ("0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2", "repay(address,uint256,uint256,address)", (USDC, MAX, 2, ALICE)),
    ("0x889edC2eDab5f40e902b864aD4d7AdE8E412F9B1", "requestWithdrawals(uint256[],address)", ([10**18, 2 * 10**18], ALICE)),
    ("0x253553366Da8546fC250F225fe3d25d0C782303b", "register(string,address,uint256,bytes32,address,bytes[],bool,uint16)", ("vitalik", ALICE, 31_536_000, b"\x08" * 32, BOB, [], True, 0)),
    ("0x111111125421cA6dc452d289314280a0f8842A65", "unoswap(uint256,uint256,uint256,uint256)", (int(USDC, 16), 10**6, 1, 2**255 + 7)),
]  # fmt: skip


def _positional(value: Any) -> Any:
    """Our JSON-ready values in cast's shape: tuples as lists, addresses and hex lower-cased, ints as ints."""
    if isinstance(value, dict):
        return [_positional(v) for v in value.values()]
    if isinstance(value, list):
        return [_positional(v) for v in value]
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    return value


def _cast_shape(value: Any) -> Any:
    if isinstance(value, list):
        return [_cast_shape(v) for v in value]
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # cast prints integers beyond JSON's safe range as strings
    return value


@pytest.mark.parametrize(("to", "signature", "args"), CASES, ids=[c[1].split("(")[0] for c in CASES])
def test_arguments_match_cast(cast_bin: Path, to: str, signature: str, args: tuple[Any, ...]) -> None:
    data = calldata(signature, *args)
    ours = decode_call(to, 0, data, 1)
    assert ours.status is CallStatus.DECODED
    assert ours.function == signature
    reply = subprocess.run(
        [str(cast_bin), "calldata-decode", "--json", signature, "0x" + data.hex()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    theirs = _cast_shape(json.loads(reply.stdout))
    mine = [_positional(p.value) for p in ours.params if p.name not in ("path_tokens", "path_fees")]
    assert mine == theirs
