"""The revoke plan: one unsigned transaction per open approval to close, ready for `txcopilot sign`.

Each revoke is a JSON-RPC `eth_sendTransaction` request, the shape `txcopilot sign` and `review`
read. `write_revoke_plan` writes one request per file (`01-erc20-USDC-0x1234.json`, …) into a
directory, because `sign` signs one request at a time, plus `plan.jsonl` with every request on one
line each, for scripts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from copilot.audit.events import SEL_APPROVE, SEL_PERMIT2_LOCKDOWN, SEL_SET_APPROVAL_FOR_ALL
from copilot.eth.logs import PERMIT2

# Gas limits with headroom: revokes cost 25-50k; a lockdown ~30k plus ~8k per pair.
GAS_APPROVE = 80_000
GAS_OPERATOR = 80_000
GAS_LOCKDOWN_BASE = 60_000
GAS_LOCKDOWN_PER_PAIR = 15_000


def _address_word(address: str) -> str:
    return address.lower().removeprefix("0x").rjust(64, "0")


def _int_word(value: int) -> str:
    return format(value, "064x")


def revoke_erc20_data(spender: str) -> str:
    return "0x" + SEL_APPROVE + _address_word(spender) + _int_word(0)


def revoke_nft_data(token_id: int) -> str:
    return "0x" + SEL_APPROVE + _address_word("0x" + "0" * 40) + _int_word(token_id)


def revoke_operator_data(operator: str) -> str:
    return "0x" + SEL_SET_APPROVAL_FOR_ALL + _address_word(operator) + _int_word(0)


def lockdown_data(pairs: list[tuple[str, str]]) -> str:
    """Permit2.lockdown((address token, address spender)[])."""
    words = [_int_word(32), _int_word(len(pairs))]
    for token, spender in pairs:
        words += [_address_word(token), _address_word(spender)]
    return "0x" + SEL_PERMIT2_LOCKDOWN + "".join(words)


def revoke_request(owner: str, to: str, data: str, gas: int, chain_id: int | None, request_id: int) -> dict[str, Any]:
    params: dict[str, Any] = {"from": owner, "to": to, "value": "0x0", "data": data, "gas": hex(gas)}
    if chain_id is not None:
        params["chainId"] = hex(chain_id)
    return {"jsonrpc": "2.0", "id": request_id, "method": "eth_sendTransaction", "params": [params]}


def build_revoke_plan(owner: str, approvals: list[Any], chain_id: int | None) -> list[dict[str, Any]]:
    """One entry per revoke: {"description", "approvals" (indices), "request"}. Permit2 pairs share one
    lockdown. `approvals` are report ApprovalItem models (kind, token, spender, token_id)."""
    plan: list[dict[str, Any]] = []
    lockdown: list[tuple[str, str]] = []
    lockdown_labels: list[str] = []
    for item in approvals:
        label = f"{item.token_symbol or item.token} → {item.spender_label or item.spender}"
        if item.kind == "erc20":
            to, data, gas, text = item.token, revoke_erc20_data(item.spender), GAS_APPROVE, f"approve(0): {label}"
        elif item.kind == "nft":
            to, data, gas = item.token, revoke_nft_data(int(item.token_id or 0)), GAS_APPROVE
            text = f"approve(0x0, #{item.token_id}): {label}"
        elif item.kind == "nft_operator":
            to, data, gas = item.token, revoke_operator_data(item.spender), GAS_OPERATOR
            text = f"setApprovalForAll(false): {label}"
        else:  # permit2
            lockdown.append((item.token, item.spender))
            lockdown_labels.append(label)
            continue
        plan.append({"description": text, "request": revoke_request(owner, to, data, gas, chain_id, len(plan) + 1)})
    if lockdown:
        gas = GAS_LOCKDOWN_BASE + GAS_LOCKDOWN_PER_PAIR * len(lockdown)
        request = revoke_request(owner, PERMIT2, lockdown_data(lockdown), gas, chain_id, len(plan) + 1)
        plan.append({"description": "Permit2 lockdown: " + "; ".join(lockdown_labels), "request": request})
    return plan


def write_revoke_plan(directory: Path, plan: list[dict[str, Any]]) -> list[Path]:
    from copilot.state.atomic import atomic_write_text

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for number, entry in enumerate(plan, start=1):
        slug = re.sub(r"[^A-Za-z0-9]+", "-", entry["description"].split(":", 1)[-1]).strip("-")[:60]
        path = directory / f"{number:02d}-{slug or 'revoke'}.json"
        atomic_write_text(path, json.dumps(entry["request"], indent=2) + "\n", mode=0o644)
        written.append(path)
    lines = "".join(json.dumps(entry["request"]) + "\n" for entry in plan)
    atomic_write_text(directory / "plan.jsonl", lines, mode=0o644)
    return written
