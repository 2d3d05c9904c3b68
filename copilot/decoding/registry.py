"""Known contracts: labels, ABIs and tags for the deployments people sign against most.

Data: abis/contracts.json (hand-checked deployments, plus every deployment named by the vendored
ERC-7730 descriptors) and abis/tokens.json (every bundled token is a known "token" contract).
A `chains` value of "*" marks deterministic deployments that share one address on every chain
(Permit2, Multicall3, Seaport, the Safe singletons and libraries).

Tags say what a contract is for, so risk rules need no address lists of their own:
token, router, spender, safe-delegatecall-ok, eip7702-delegate, nft-marketplace, lending,
staking, multicall, safe, bridge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from copilot.resources import abis_dir

TAGS = frozenset(
    {
        "token",
        "router",
        "spender",
        "safe-delegatecall-ok",
        "eip7702-delegate",
        "nft-marketplace",
        "lending",
        "staking",
        "multicall",
        "safe",
        "bridge",
    }
)
ANY_CHAIN = "*"


@dataclass(frozen=True)
class KnownContract:
    address: str  # EIP-55
    label: str
    abi: tuple[str, ...]  # names of bundled ABIs (abis/abi/<name>.json), most specific first
    tags: frozenset[str]
    chains: tuple[int, ...] | None = None  # None: the same deployment on every chain


@dataclass(frozen=True)
class _Entry:
    chains: frozenset[int] | None
    contract: KnownContract


@lru_cache(maxsize=1)
def _table() -> dict[str, list[_Entry]]:
    """lower-case address -> entries (one per distinct deployment record)."""
    table: dict[str, list[_Entry]] = {}
    document = json.loads((abis_dir() / "contracts.json").read_text(encoding="utf-8"))
    for raw in document["contracts"]:
        chains = None if raw["chains"] == ANY_CHAIN else tuple(int(c) for c in raw["chains"])
        contract = KnownContract(
            address=raw["address"],
            label=raw["label"],
            abi=tuple(raw.get("abi", ())),
            tags=frozenset(raw.get("tags", ())),
            chains=chains,
        )
        table.setdefault(raw["address"].lower(), []).append(
            _Entry(frozenset(chains) if chains is not None else None, contract)
        )
    for chain, tokens in tokens_document().items():
        for address, meta in tokens.items():
            _merge_token(table, int(chain), address, meta)
    return table


@lru_cache(maxsize=1)
def tokens_document() -> dict[str, dict[str, dict[str, Any]]]:
    """abis/tokens.json: chain id (string) -> token address -> {symbol, decimals, name, ...}."""
    document: dict[str, dict[str, dict[str, Any]]] = json.loads(
        (abis_dir() / "tokens.json").read_text(encoding="utf-8")
    )
    return document


def _token_abis(meta: dict[str, Any]) -> tuple[str, ...]:
    names = ["erc20"]
    if meta.get("permit") == "dai":
        names.append("dai-permit")
    if meta.get("wrapped_native"):
        names.insert(0, "weth")
    return tuple(names)


def _merge_token(table: dict[str, list[_Entry]], chain: int, address: str, meta: dict[str, Any]) -> None:
    entries = table.setdefault(address.lower(), [])
    for position, entry in enumerate(entries):
        if entry.chains is None or chain in entry.chains:
            # A contract listed in contracts.json (stETH, wstETH) is also a token.
            merged = entry.contract
            abi = merged.abi + tuple(n for n in _token_abis(meta) if n not in merged.abi)
            entries[position] = _Entry(
                entry.chains,
                KnownContract(merged.address, merged.label, abi, merged.tags | {"token"}, merged.chains),
            )
            return
    label = f"{meta['symbol']} token" if not meta.get("name") else f"{meta['name']} ({meta['symbol']})"
    entries.append(
        _Entry(
            frozenset({chain}),
            KnownContract(address, label, _token_abis(meta), frozenset({"token"}), (chain,)),
        )
    )


def known_contract(address: str | None, chain_id: int | None) -> KnownContract | None:
    """The known contract at `address` on `chain_id`.

    With chain_id None (the request does not say), an address known on any chain matches,
    mainnet first: labels are a convenience, and the chain is checked elsewhere.
    """
    if not address:
        return None
    entries = _table().get(address.lower())
    if not entries:
        return None
    if chain_id is not None:
        for entry in entries:
            if entry.chains is not None and chain_id in entry.chains:
                return entry.contract
        for entry in entries:
            if entry.chains is None:
                return entry.contract
        return None
    ordered = sorted(
        entries, key=lambda e: (e.chains is not None and 1 not in e.chains, e.chains is not None)
    )
    return ordered[0].contract


def all_contracts() -> list[KnownContract]:
    return [entry.contract for entries in _table().values() for entry in entries]
