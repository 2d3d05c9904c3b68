"""Function signatures, selectors and the selector index used when a contract's ABI is not known.

The index has two tiers, both looked up by 4-byte selector:
- curated: every bundled ABI (abis/abi/*.json), every ABI the user added (`txcopilot abi add`) and
  every function the vendored ERC-7730 descriptors format;
- imported: a 4byte-style dump (`txcopilot abi import-4byte`), kept in an SQLite file in the user
  data dir so a 150k-entry dump costs one indexed query, not a JSON load, per decode.

Nothing is precomputed on disk for the curated tier: hashing a few hundred signatures takes about
a millisecond, far less than loading any cache would save.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from copilot.decoding._crypto import keccak256
from copilot.decoding.abicodec import split_top_level
from copilot.parsing import load_json
from copilot.resources import abis_dir

FOURBYTE_DB = "4byte.sqlite"
USER_ABI_DIR = "abis"

_BASE_TYPE = re.compile(
    r"^(address|bool|string|function|bytes([1-9]|[12][0-9]|3[0-2])?|u?int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)?)$"
)
_ARRAY_SUFFIX = re.compile(r"^(\[\d*\])*$")
_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class AbiParam:
    """One input of a function: its name ("" when unknown), canonical type and tuple components."""

    name: str
    type: str  # canonical: "uint256", "(address,uint160)[]"
    components: tuple[AbiParam, ...] | None = None  # for tuples (and arrays of tuples)

    @property
    def array_suffix(self) -> str:
        if self.components is None:
            match = re.search(r"(\[\d*\])+$", self.type)
            return match.group(0) if match else ""
        return self.type[self.type.rindex(")") + 1 :]


@dataclass(frozen=True)
class AbiFunction:
    name: str
    inputs: tuple[AbiParam, ...]
    source: str  # "abi:erc20", "user:my-token", "erc7730", "4byte"
    signature: str = field(init=False)
    selector: str = field(init=False)  # "0x095ea7b3"

    def __post_init__(self) -> None:
        signature = f"{self.name}({','.join(p.type for p in self.inputs)})"
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "selector", selector_of(signature))

    @property
    def types(self) -> list[str]:
        return [p.type for p in self.inputs]

    @property
    def named(self) -> bool:
        return all(p.name for p in self.inputs)


def selector_of(signature: str) -> str:
    return "0x" + keccak256(signature.encode()).hex()[:8]


def normalise_selector(text: str) -> str:
    """Selector text to "0x095ea7b3" form; ValueError when it is not 4 bytes of hex."""
    value = text.strip().lower()
    value = value[2:] if value.startswith("0x") else value
    if not re.fullmatch(r"[0-9a-f]{8}", value):
        raise ValueError(f"{text!r} is not a 4-byte selector (8 hex digits)")
    return "0x" + value


# --------------------------------------------------------------------------- parsing


def _canonical_base(base: str) -> str:
    aliases = {"uint": "uint256", "int": "int256", "byte": "bytes1"}
    base = aliases.get(base, base)
    if not _BASE_TYPE.match(base):
        raise ValueError(f"unknown ABI type {base!r}")
    return base


# a type's array suffix, a data-location word Solidity allows there, and the parameter's name
_TYPE_TAIL = r"((?:\[\d*\])*)(?:\s+(?:memory|calldata|storage|payable)\b)?(?:\s+([A-Za-z_$][A-Za-z0-9_$]*))?$"
_ELEMENTARY_PARAM = re.compile(r"^([a-z0-9]+)" + _TYPE_TAIL)
_TUPLE_PARAM_TAIL = re.compile("^" + _TYPE_TAIL)


def param_from_type(type_text: str, name: str = "") -> AbiParam:
    """An AbiParam from a type string such as "(address,uint256)[]" (aliases made canonical)."""
    param = _parse_param(type_text)
    if param.name:
        raise ValueError(f"unknown ABI type {type_text!r}")
    return AbiParam(name, param.type, param.components)


def _parse_param(text: str) -> AbiParam:
    """One parameter of a signature: a type, optionally followed by its name, e.g. "uint amount" or
    "(address token, uint160 amount)[] details"; tuple components may be named the same way."""
    text = text.strip()
    if text.startswith("("):
        close = _matching_paren(text)
        tail = _TUPLE_PARAM_TAIL.match(text[close + 1 :])
        if not tail:
            raise ValueError(f"bad array suffix in {text!r}")
        inner = text[1:close]
        components = tuple(_parse_param(part) for part in split_top_level(inner)) if inner.strip() else ()
        tuple_type = "(" + ",".join(c.type for c in components) + ")" + tail.group(1)
        return AbiParam(tail.group(2) or "", tuple_type, components)
    match = _ELEMENTARY_PARAM.match(text)
    if not match:
        raise ValueError(f"unknown ABI type {text!r}")
    return AbiParam(match.group(3) or "", _canonical_base(match.group(1)) + match.group(2))


def _matching_paren(text: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced parentheses in {text!r}")


@lru_cache(maxsize=4096)  # descriptor and 4byte candidates are parsed again for every call
def function_from_signature(signature: str, source: str) -> AbiFunction:
    """Parse "transfer(address,uint256)", or with parameter names (as ERC-7730 descriptors key their
    formats) "transfer(address to, uint amount)". Unnamed inputs get the name ""."""
    signature = signature.strip()
    open_at = signature.find("(")
    if open_at <= 0 or not signature.endswith(")"):
        raise ValueError(f"{signature!r} is not a function signature")
    name = signature[:open_at].strip()
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a valid function name")
    inner = signature[open_at + 1 : -1]
    inputs = tuple(_parse_param(part) for part in split_top_level(inner)) if inner.strip() else ()
    return AbiFunction(name, inputs, source)


def _param_from_json(entry: Any, where: str) -> AbiParam:
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        raise ValueError(f"{where}: every input needs a string 'type'")
    name = entry.get("name") or ""
    if not isinstance(name, str):
        raise ValueError(f"{where}: input names must be strings")
    type_text = entry["type"]
    if type_text.startswith("tuple"):
        suffix = type_text[len("tuple") :]
        if not _ARRAY_SUFFIX.match(suffix):
            raise ValueError(f"{where}: bad tuple type {type_text!r}")
        raw_components = entry.get("components")
        if not isinstance(raw_components, list):
            raise ValueError(f"{where}: tuple input {name!r} has no 'components' list")
        components = tuple(_param_from_json(c, where) for c in raw_components)
        return AbiParam(name, "(" + ",".join(c.type for c in components) + ")" + suffix, components)
    param = param_from_type(type_text, name)
    if param.components is not None:
        raise ValueError(f"{where}: write tuples as type 'tuple' with 'components'")
    return param


def parse_abi(document: Any, source: str) -> list[AbiFunction]:
    """The functions of a JSON ABI: a list of entries, or an artifact object with an "abi" list.

    ValueError names the first problem. Events, errors and constructors are accepted and skipped.
    """
    entries = document.get("abi") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise ValueError("expected a JSON ABI: a list of entries, or an object with an 'abi' list")
    functions: list[AbiFunction] = []
    for position, entry in enumerate(entries):
        where = f"entry {position}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not an object")
        kind = entry.get("type", "function")
        if kind != "function":
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{where}: a function needs a valid 'name'")
        inputs = entry.get("inputs", [])
        if not isinstance(inputs, list):
            raise ValueError(f"{where} ({name}): 'inputs' must be a list")
        functions.append(
            AbiFunction(name, tuple(_param_from_json(i, f"{where} ({name})") for i in inputs), source)
        )
    return functions


# --------------------------------------------------------------------------- bundled and user ABIs


def bundled_abi_dir() -> Path:
    return abis_dir() / "abi"


def bundled_abi_names() -> list[str]:
    return sorted(path.stem for path in bundled_abi_dir().glob("*.json"))


@lru_cache(maxsize=64)
def bundled_abi(name: str) -> list[AbiFunction]:
    """The functions of abis/abi/<name>.json (empty when there is no such file)."""
    path = bundled_abi_dir() / f"{name}.json"
    if not path.exists():
        return []
    return parse_abi(json.loads(path.read_text(encoding="utf-8")), f"abi:{name}")


def bundled_abis() -> dict[str, list[AbiFunction]]:
    """name -> functions, for every abis/abi/<name>.json."""
    return {name: bundled_abi(name) for name in bundled_abi_names()}


@lru_cache(maxsize=256)
def functions_by_selector(abi_names: tuple[str, ...]) -> dict[str, list[AbiFunction]]:
    """selector -> functions of the named bundled ABIs, in the order the names are given."""
    out: dict[str, list[AbiFunction]] = {}
    for name in abi_names:
        for function in bundled_abi(name):
            out.setdefault(function.selector, []).append(function)
    return out


def user_abi_dir() -> Path:
    return _user_path(os.environ.get("TXCOPILOT_HOME"), USER_ABI_DIR)


@lru_cache(maxsize=16)
def _user_path(home: str | None, name: str) -> Path:
    """A path in the user data dir, resolved once per TXCOPILOT_HOME: decoding looks there on
    every call."""
    from copilot.state.dirs import data_dir

    return data_dir() / name


def user_abis() -> dict[str, list[AbiFunction]]:
    """name -> functions for every ABI the user added; re-read only when the folder changes."""
    folder = user_abi_dir()
    if not os.path.isdir(folder):  # os.path: a third of pathlib's cost, once per decoded call
        return {}
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.json")))
    return _load_user_abis(str(folder), stamp)


@lru_cache(maxsize=4)
def _load_user_abis(folder: str, stamp: tuple[tuple[str, int], ...]) -> dict[str, list[AbiFunction]]:
    out: dict[str, list[AbiFunction]] = {}
    for name, _ in stamp:
        path = Path(folder) / name
        try:
            out[path.stem] = parse_abi(load_json(path.read_text(encoding="utf-8")), f"user:{path.stem}")
        except (OSError, ValueError):
            continue  # validated when added; a file edited by hand since then is skipped, not fatal
    return out


@lru_cache(maxsize=1)
def _descriptor_signatures() -> dict[str, list[str]]:
    """selector -> canonical signatures the vendored ERC-7730 descriptors format (parsed on use)."""
    try:
        from copilot.decoding.erc7730 import descriptor_signatures
    except ImportError:
        return {}
    out: dict[str, list[str]] = {}
    for signature in descriptor_signatures():
        out.setdefault(selector_of(signature), []).append(signature)
    return out


def descriptor_functions(selector: str) -> list[AbiFunction]:
    """Functions formatted by the vendored ERC-7730 descriptors with this selector."""
    out = []
    for signature in _descriptor_signatures().get(selector, []):
        try:
            out.append(function_from_signature(signature, "erc7730"))
        except ValueError:
            continue  # a signature this parser does not understand cannot be decoded with anyway
    return out


def descriptor_signature_count() -> int:
    return sum(len(v) for v in _descriptor_signatures().values())


@lru_cache(maxsize=1)
def _bundled_by_selector() -> dict[str, list[AbiFunction]]:
    out: dict[str, list[AbiFunction]] = {}
    for functions in bundled_abis().values():
        for function in functions:
            out.setdefault(function.selector, []).append(function)
    return out


def curated_candidates(selector: str) -> list[AbiFunction]:
    """Bundled ABIs first (named inputs), then user ABIs, then ERC-7730 descriptor signatures."""
    found = list(_bundled_by_selector().get(selector, []))
    for functions in user_abis().values():
        found.extend(f for f in functions if f.selector == selector)
    found.extend(descriptor_functions(selector))
    return found


# --------------------------------------------------------------------------- imported 4byte dump


def fourbyte_path() -> Path:
    return _user_path(os.environ.get("TXCOPILOT_HOME"), FOURBYTE_DB)


@contextmanager
def _database(path: Path) -> Iterator[sqlite3.Connection]:
    """The imported dump, opened (and created) at `path`; a damaged file is a ConfigError, one line."""
    connection = None
    try:
        connection = sqlite3.connect(path)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS signatures (selector TEXT NOT NULL, signature TEXT NOT NULL, "
            "PRIMARY KEY (selector, signature)) WITHOUT ROWID"
        )
        yield connection
    except sqlite3.DatabaseError as exc:
        from copilot.errors import ConfigError

        raise ConfigError(
            f"the imported 4byte dump {path} is unreadable ({exc})",
            "delete that file and run `txcopilot abi import-4byte` again",
        ) from exc
    finally:
        if connection is not None:
            connection.close()


def imported_candidates(selector: str) -> list[AbiFunction]:
    path = fourbyte_path()
    if not os.path.exists(path):
        return []
    with _database(path) as connection:
        rows = connection.execute(
            "SELECT signature FROM signatures WHERE selector = ? ORDER BY signature", (selector,)
        ).fetchall()
    out = []
    for (signature,) in rows:
        try:
            out.append(function_from_signature(signature, "4byte"))
        except ValueError:
            continue
    return out


@dataclass
class ImportReport:
    added: int = 0
    skipped: list[str] = field(default_factory=list)  # why entries were left out (first few kept)
    skipped_count: int = 0
    total: int = 0


def _dump_entries(document: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object mapping selectors to a signature or a list of signatures")
    for key, value in document.items():
        signatures = value if isinstance(value, list) else [value]
        for signature in signatures:
            yield str(key), signature


def import_fourbyte(document: Any, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Merge a 4byte-style map {selector: signature | [signatures]} into the user's dump.

    Entries whose signature does not hash to its selector, or does not parse, are skipped and
    counted: a dump that lies about a selector would make decoding lie too. `progress(done, total)`
    is called every few thousand entries.
    """
    report = ImportReport()
    rows: list[tuple[str, str]] = []
    entries = list(_dump_entries(document))
    for key, signature in entries:
        report.total += 1
        if progress is not None and report.total % 5000 == 0:
            progress(report.total, len(entries))
        problem = None
        try:
            selector = normalise_selector(key)
            if not isinstance(signature, str):
                raise ValueError("signature is not a string")
            function = function_from_signature(signature, "4byte")
            if function.selector != selector:
                problem = f"{key}: {signature} hashes to {function.selector}"
        except ValueError as exc:
            problem = f"{key}: {exc}"
        if problem:
            report.skipped_count += 1
            if len(report.skipped) < 5:
                report.skipped.append(problem)
            continue
        rows.append((selector, function.signature))
    with _database(fourbyte_path()) as connection, connection:
        before = connection.total_changes
        connection.executemany("INSERT OR IGNORE INTO signatures VALUES (?, ?)", rows)
        report.added = connection.total_changes - before
    return report


def imported_count() -> int:
    path = fourbyte_path()
    if not path.exists():
        return 0
    with _database(path) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM signatures").fetchone()[0])


def all_candidates(selector: str) -> Iterable[AbiFunction]:
    """Every known function for a selector, curated first: what `abi lookup` lists."""
    yield from curated_candidates(selector)
    yield from imported_candidates(selector)
