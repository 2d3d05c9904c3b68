"""The ERC-7730 lookup index, precomputed into abis/erc7730/index.json.

Parsing the ~350 vendored descriptors takes far longer than a cold `txcopilot decode` may, so
the index that says which descriptor formats which call or message is built once, committed next to
the descriptors, and checked by a test to be up to date. Rebuild it after changing the registry:

    python -m copilot.decoding.erc7730_index
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any

from copilot.decoding.erc7730_descriptor import descriptor_root, load_descriptor
from copilot.decoding.selectors import function_from_signature

INDEX_NAME = "index.json"
INDEX_VERSION = 1
DESCRIPTOR_FOLDERS = ("ercs", "registry")


def deployment_key(chain_id: int, address: str) -> str:
    return f"{chain_id}:{address.lower()}"


def descriptor_files() -> list[str]:
    """Every vendored descriptor, relative to abis/erc7730, in a stable order."""
    root = descriptor_root()
    return sorted(
        path.relative_to(root).as_posix()
        for folder in DESCRIPTOR_FOLDERS
        for path in (root / folder).rglob("*.json")
    )


def build_index() -> dict[str, Any]:
    """Index every descriptor that binds to something (deployments, or an ERC-wide file in ercs/)."""
    formats_seen: dict[tuple[str, str], int] = {}
    calldata: dict[str, dict[str, int]] = {}
    calldata_any: dict[str, list[int]] = {}
    eip712: dict[str, dict[str, list[int]]] = {}
    eip712_any: dict[str, list[int]] = {}

    def format_id(relpath: str, key: str) -> int:
        return formats_seen.setdefault((relpath, key), len(formats_seen))

    tokens: dict[str, list[Any]] = {}
    owners: dict[str, str] = {}
    signatures: set[str] = set()

    for relpath in descriptor_files():
        descriptor = load_descriptor(relpath)
        context = descriptor.get("context") or {}
        formats = (descriptor.get("display") or {}).get("formats") or {}
        is_erc_wide = relpath.startswith("ercs/")
        metadata = descriptor.get("metadata") or {}
        owner = metadata.get("owner") or metadata.get("contractName")
        if "contract" in context:
            deployments = context["contract"].get("deployments") or []
            if not deployments and not is_erc_wide:
                continue  # a shared fragment, only meaningful once included
            for key in formats:
                function = function_from_signature(key, "erc7730")
                signatures.add(function.signature)
                selector = function.selector
                for deployment in deployments:
                    target = calldata.setdefault(
                        deployment_key(deployment["chainId"], deployment["address"]), {}
                    )
                    target.setdefault(selector, format_id(relpath, key))
                if is_erc_wide:
                    calldata_any.setdefault(selector, []).append(format_id(relpath, key))
            if owner:
                for deployment in deployments:
                    owners.setdefault(deployment_key(deployment["chainId"], deployment["address"]), owner)
            token = metadata.get("token")
            if token and "ticker" in token and "decimals" in token:
                for deployment in deployments:
                    tokens[deployment_key(deployment["chainId"], deployment["address"])] = [
                        token["ticker"],
                        int(token["decimals"]),
                    ]
        elif "eip712" in context:
            deployments = context["eip712"].get("deployments") or []
            if not deployments and not is_erc_wide:
                continue
            for key in formats:
                primary_type = key.split("(", 1)[0].strip()
                for deployment in deployments:
                    target712 = eip712.setdefault(
                        deployment_key(deployment["chainId"], deployment["address"]), {}
                    )
                    target712.setdefault(primary_type, []).append(format_id(relpath, key))
                if is_erc_wide:
                    eip712_any.setdefault(primary_type, []).append(format_id(relpath, key))

    return {
        "version": INDEX_VERSION,
        "formats": [list(pair) for pair in formats_seen],
        "calldata": calldata,
        "calldata_any": calldata_any,
        "eip712": eip712,
        "eip712_any": eip712_any,
        "tokens": tokens,
        "owners": owners,
        "signatures": sorted(signatures),
    }


def render_index(index: dict[str, Any]) -> str:
    return json.dumps(index, sort_keys=True, separators=(",", ":")) + "\n"


@lru_cache(maxsize=1)
def load_index() -> dict[str, Any]:
    index: dict[str, Any] = json.loads((descriptor_root() / INDEX_NAME).read_text(encoding="utf-8"))
    if index.get("version") != INDEX_VERSION:
        raise ValueError(f"{INDEX_NAME} is version {index.get('version')}; rebuild it")
    return index


def main() -> int:
    path = descriptor_root() / INDEX_NAME
    path.write_text(render_index(build_index()), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
