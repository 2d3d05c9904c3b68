"""ERC-7730 descriptors: loading with `includes` merged, and the Solidity signatures they are keyed by.

The vendored registry lives in abis/erc7730 (CC0). A descriptor's display formats are keyed by a
function signature with parameter names, e.g. "approve(address spender,uint256 value)", which is
all the ABI the renderer needs: it is parsed here into eth_abi types plus a tree of names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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


# --------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class AbiParam:
    """One parameter: `type` is the canonical ABI type ("(address,uint256)[]" for tuples)."""

    name: str
    type: str
    components: tuple[AbiParam, ...] = ()


@dataclass(frozen=True)
class FunctionSignature:
    name: str
    params: tuple[AbiParam, ...]

    @property
    def canonical(self) -> str:
        return f"{self.name}({','.join(p.type for p in self.params)})"


_TYPE_ALIASES = {"uint": "uint256", "int": "int256", "byte": "bytes1"}


@lru_cache(maxsize=1024)
def parse_signature(signature: str) -> FunctionSignature:
    """Parse "name(type name, (type name, ...)[] name, ...)" (names optional) into ABI params."""
    text = signature.strip()
    open_at = text.find("(")
    if open_at <= 0 or not text.endswith(")"):
        raise ValueError(f"not a function signature: {signature!r}")
    parser = _SignatureParser(text, open_at)
    params = parser.params()
    if parser.pos != len(text):
        raise ValueError(f"unexpected text after position {parser.pos} in {signature!r}")
    return FunctionSignature(text[:open_at].strip(), tuple(params))


class _SignatureParser:
    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def params(self) -> list[AbiParam]:
        """Parse "(p, p, ...)" starting at an opening parenthesis."""
        self._expect("(")
        params: list[AbiParam] = []
        self._skip_spaces()
        if self._peek() == ")":
            self.pos += 1
            return params
        while True:
            params.append(self._param(len(params)))
            self._skip_spaces()
            char = self._peek()
            self.pos += 1
            if char == ")":
                return params
            if char != ",":
                raise ValueError(f"expected ',' or ')' at {self.pos - 1} in {self.text!r}")

    def _param(self, index: int) -> AbiParam:
        self._skip_spaces()
        components: tuple[AbiParam, ...] = ()
        if self._peek() == "(":
            components = tuple(self.params())
            base = "(" + ",".join(c.type for c in components) + ")"
        else:
            word = self._word()
            base = _TYPE_ALIASES.get(word, word)
        abi_type = base + self._array_suffixes()
        self._skip_spaces()
        name = ""
        if self._peek() not in (",", ")"):
            name = self._word()
            if name in ("memory", "calldata", "storage", "payable"):
                self._skip_spaces()
                name = self._word() if self._peek() not in (",", ")") else ""
        return AbiParam(name or f"_{index}", abi_type, components)

    def _array_suffixes(self) -> str:
        suffix = ""
        while self._peek() == "[":
            close = self.text.index("]", self.pos)
            suffix += self.text[self.pos : close + 1].replace(" ", "")
            self.pos = close + 1
        return suffix

    def _word(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_$"):
            self.pos += 1
        if start == self.pos:
            raise ValueError(f"expected a name at {start} in {self.text!r}")
        return self.text[start : self.pos]

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip_spaces(self) -> None:
        while self._peek() == " ":
            self.pos += 1

    def _expect(self, char: str) -> None:
        self._skip_spaces()
        if self._peek() != char:
            raise ValueError(f"expected {char!r} at {self.pos} in {self.text!r}")
        self.pos += 1
