"""Our argument decoding agrees with Foundry's `cast calldata-decode` (the peer) on real-shaped calls."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from calldatahelpers import PARITY_CASES, calldata

from copilot.decoding.calldata import decode_call
from copilot.models import CallStatus

MAX = 2**256 - 1


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


@pytest.mark.parametrize(
    ("to", "signature", "args"), PARITY_CASES, ids=[c[1].split("(")[0] for c in PARITY_CASES]
)
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
