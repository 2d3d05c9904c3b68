"""ERC-7730 descriptors: loading with `includes` merged.

The vendored registry lives in abis/erc7730 (CC0). A descriptor's display formats are keyed by a
function signature with parameter names, e.g. "approve(address spender,uint256 value)", which is
all the ABI the renderer needs: `copilot.decoding.selectors.function_from_signature` parses it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from copilot.resources import abis_dir

MAX_INCLUDE_DEPTH = 4


def descriptor_root() -> Path:
    return abis_dir() / "erc7730"


# --------------------------------------------------------------------------- loading


@lru_cache(maxsize=256)
def load_descriptor(relpath: str) -> dict[str, Any]:
    """The descriptor at `relpath` (under abis/erc7730), with its `includes` chain merged in."""
    return _load(PurePosixPath(relpath), 0)


def _load(relpath: PurePosixPath, depth: int) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((descriptor_root() / relpath).read_text(encoding="utf-8"))
    include = document.pop("includes", None)
    if include is None:
        return document
    if depth >= MAX_INCLUDE_DEPTH:
        raise ValueError(f"{relpath}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
    included = _load(_normalise(relpath.parent / include), depth + 1)
    return merge(included, document)


def _normalise(path: PurePosixPath) -> PurePosixPath:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                raise ValueError(f"include {path} leaves the descriptor folder")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts)


def merge(base: Any, override: Any) -> Any:
    """Merge an including document over the included one, as the spec says: the including file wins
    on every key, and `fields` arrays are merged by `path` (same path: merged; new path: appended)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if key == "fields" and isinstance(value, list) and isinstance(base.get(key), list):
                out[key] = _merge_fields(base[key], value)
            elif key in base:
                out[key] = merge(base[key], value)
            else:
                out[key] = value
        return out
    return override


def _merge_fields(base: list[Any], override: list[Any]) -> list[Any]:
    merged = list(base)
    position = {f.get("path"): i for i, f in enumerate(merged) if isinstance(f, dict) and "path" in f}
    for field in override:
        path = field.get("path") if isinstance(field, dict) else None
        if path is not None and path in position:
            merged[position[path]] = merge(merged[position[path]], field)
        else:
            merged.append(field)
    return merged
