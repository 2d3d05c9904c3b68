"""Run the ERC-7730 registry's own test cases (fixtures/erc7730/tests) through the renderer.

Each case is a raw transaction (or an EIP-712 message) and the texts a hardware wallet showed for
it (`expectedTexts`, screen captures: long values are wrapped with spaces, and neighbouring labels
and values are sometimes captured as one string). A case's match rate is the fraction of its
expected texts found, whitespace ignored, in what txcopilot shows for it: the descriptor owner
after "Interaction with", the intent, every field's label and value, and for transactions
"Max fees" with gas limit × max fee per gas in the native currency, in that order.
Used by tests/test_erc7730_conformance.py and benchmarks/erc7730_match_rate.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.decoding.erc7730 import ClearSign, render_calldata, render_typed_data
from copilot.decoding.tokens import format_native
from copilot.resources import fixtures_dir

_WHITESPACE = re.compile(r"\s+")
_HEX = re.compile(r"0x[0-9a-fA-F]{40}")


def tests_root() -> Path:
    return fixtures_dir() / "erc7730" / "tests"


@dataclass
class Case:
    protocol: str  # the registry's entity folder, e.g. "uniswap"
    test_file: str  # e.g. "uniswap/calldata-UniswapV3Router02.tests.json"
    number: int
    description: str
    expected: list[str]
    raw_tx: str | None = None
    typed_data: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.test_file.removesuffix('.tests.json')}#{self.number}"

    @property
    def descriptor(self) -> str:
        """The descriptor this test file exercises, relative to abis/erc7730."""
        return "registry/" + self.test_file.replace("/tests/", "/").removesuffix(".tests.json") + ".json"


@dataclass
class Transaction:
    chain_id: int | None
    to: str | None
    value: int
    data: bytes
    max_fee_wei: int
    sender: str | None = None


@dataclass
class Outcome:
    case: Case
    clear_sign: ClearSign | None
    screen: list[str]
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    transaction: Transaction | None = None

    @property
    def rate(self) -> float:
        total = len(self.found) + len(self.missing)
        return len(self.found) / total if total else 1.0


def iter_cases() -> Iterator[Case]:
    root = tests_root()
    for path in sorted(root.rglob("*.tests.json")):
        relative = path.relative_to(root).as_posix()
        protocol = relative.split("/", 1)[0]
        document = json.loads(path.read_text(encoding="utf-8"))
        for number, test in enumerate(document["tests"]):
            yield Case(
                protocol=protocol,
                test_file=f"{protocol}/tests/{relative.split('/', 1)[1]}",
                number=number,
                description=test.get("description", ""),
                expected=list(test.get("expectedTexts") or []),
                raw_tx=test.get("rawTx"),
                typed_data=test.get("data"),
            )


def decode_transaction(raw_hex: str) -> Transaction:
    """The fields the renderer and the fee line need, from the strict transaction decoder (most
    registry cases are unsigned: EIP-155 signing payloads, or typed transactions with r = s = 0)."""
    from copilot.decoding.transaction import decode_raw_transaction

    info = decode_raw_transaction(bytes.fromhex(raw_hex.removeprefix("0x")))
    fee_per_gas = info.max_fee_per_gas if info.max_fee_per_gas is not None else info.gas_price
    return Transaction(
        chain_id=info.chain_id,
        to=info.to,
        value=info.value,
        data=bytes.fromhex(info.data.removeprefix("0x")),
        max_fee_wei=(info.gas or 0) * (fee_per_gas or 0),
        sender=info.sender,
    )


def run_case(case: Case) -> Outcome:
    screen: list[str] = []
    transaction = None
    if case.raw_tx is not None:
        transaction = decode_transaction(case.raw_tx)
        clear_sign = (
            render_calldata(
                transaction.chain_id,
                transaction.to,
                transaction.data,
                transaction.value,
                sender=transaction.sender,
            )
            if transaction.to
            else None
        )
    else:
        clear_sign = render_typed_data(case.typed_data or {})
    if clear_sign is not None:
        if clear_sign.intent:
            screen.append(clear_sign.intent)
        if clear_sign.owner:
            screen += ["Interaction with", clear_sign.owner]
        for display in clear_sign.fields:
            screen += [display.label, display.value]
    if transaction is not None:
        screen += ["Max fees", format_native(transaction.max_fee_wei, transaction.chain_id, grouped=False)]
    outcome = Outcome(case, clear_sign, screen, transaction=transaction)
    shown = _normalise("".join(screen))
    for text in case.expected:
        (outcome.found if _normalise(text) in shown else outcome.missing).append(text)
    return outcome


def _normalise(text: str) -> str:
    """Whitespace dropped (screens wrap long values); hex in lower case (some screens show
    addresses without their EIP-55 checksum casing)."""
    return _HEX.sub(lambda match: match.group(0).lower(), _WHITESPACE.sub("", text))
