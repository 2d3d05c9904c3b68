"""Reading threat lists in the formats people publish them in, detected from the content.

- ScamSniffer scam-database: `blacklist/address.json` (a JSON array of addresses),
  `blacklist/domains.json` (an array of domains), `blacklist/combined.json` (domain -> addresses);
- MetaMask eth-phishing-detect `config.json`: `blacklist`, `whitelist`, `fuzzylist` (also the newer
  `blocklist` / `allowlist` names);
- plain lists of addresses or domains with an optional label: CSV (`value,label`), JSON (an array of
  strings or of `{"address"|"domain", "label"}` objects, or a `{value: label}` object) or text (one
  per line, `#` comments, the rest of the line is the label);
- a folder: a local clone of either repository (the files above at their usual paths).

Entries that are neither an address nor a domain are skipped and counted; a file with no entry at
all is refused with one line naming it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.errors import InputError
from copilot.intel.domains import normalise_domain
from copilot.parsing import load_json

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")
_METAMASK_KEYS = {"blacklist", "whitelist", "fuzzylist", "blocklist", "allowlist"}
MAX_LIST_BYTES = 512 * 1024 * 1024  # a sanity bound: the largest public lists are tens of MB
_HINT = (
    "give a ScamSniffer blacklist file, an eth-phishing-detect config.json, a CSV/JSON/text list of "
    "addresses or domains, or a local clone of either repository"
)


@dataclass
class ParsedList:
    """What one import brings: listed addresses and domains (value -> label, '' when none), the
    list's own allow list (whitelist) and its fuzzylist of domains that look-alikes imitate."""

    formats: list[str] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    allow_domains: set[str] = field(default_factory=set)
    fuzzy: set[str] = field(default_factory=set)
    skipped: int = 0

    @property
    def entries(self) -> int:
        return len(self.addresses) + len(self.domains)

    def add(self, value: Any, label: str = "") -> None:
        """One listed value: an address or a domain (a URL counts as its host)."""
        if not isinstance(value, str):
            self.skipped += 1
            return
        value = value.strip()
        # The first label wins, but a label beats none (address.json's bare entry, combined.json's domain).
        if _ADDRESS.match(value):
            key = value.lower()
            if not self.addresses.get(key):
                self.addresses[key] = label
            return
        domain = normalise_domain(value)
        if domain is None:
            self.skipped += 1
        elif not self.domains.get(domain):
            self.domains[domain] = label



# Where the lists sit in a local clone of each repository.
_CLONE_FILES = (
    "blacklist/address.json",
    "blacklist/domains.json",
    "blacklist/combined.json",
    "src/config.json",
    "config.json",
)


def read_list(path: Path) -> ParsedList:
    """The entries of a file or a local clone, whatever its format (InputError when it is none)."""
    if path.is_dir():
        found = [path / name for name in _CLONE_FILES if (path / name).is_file()]
        if not found:
            raise InputError(f"{path}: no threat list in this folder (looked for {', '.join(_CLONE_FILES)})", _HINT)
        parsed = ParsedList()
        for file in found:
            read_file(file, parsed)
        return parsed
    return read_file(path, ParsedList())


def read_file(path: Path, parsed: ParsedList) -> ParsedList:
    """Adds the file's entries to `parsed` (one list for all the files of a clone)."""
    try:
        size = path.stat().st_size
        if size > MAX_LIST_BYTES:
            raise InputError(f"{path}: {size:,} bytes is larger than any threat list ({MAX_LIST_BYTES:,})", _HINT)
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", _HINT) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})", _HINT) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (not UTF-8)", _HINT) from None
    before = (parsed.entries, len(parsed.allow_domains), len(parsed.fuzzy), parsed.skipped)
    parse_text(text, str(path), parsed)
    if (parsed.entries, len(parsed.allow_domains), len(parsed.fuzzy)) == before[:3]:
        skipped = parsed.skipped - before[3]
        neither = f" ({skipped} entries are neither an address nor a domain)" if skipped else ""
        raise InputError(f"{path}: no address or domain found{neither}", _HINT)
    return parsed


def parse_text(text: str, name: str, parsed: ParsedList | None = None) -> ParsedList:
    """Detects the format from the content (the file name only tells CSV from text); adds to `parsed`."""
    parsed = parsed if parsed is not None else ParsedList()
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):  # not `stripped[:1] in "[{"`: "" is in every string
        try:
            document = load_json(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{exc.lineno}: not valid JSON ({exc.msg})", _HINT) from None
        return _parse_json(document, name, parsed)
    if name.lower().endswith(".csv") or _looks_like_csv(stripped):
        return _parse_csv(text, parsed)
    return _parse_lines(text, parsed)


def _parse_json(document: Any, name: str, parsed: ParsedList) -> ParsedList:
    if isinstance(document, dict) and _METAMASK_KEYS & document.keys():
        parsed.formats.append("eth-phishing-detect")
        for key in ("blacklist", "blocklist"):
            for value in _strings(document.get(key), name, key):
                parsed.add(value)
        for key in ("whitelist", "allowlist"):
            parsed.allow_domains |= _domains(_strings(document.get(key), name, key))
        parsed.fuzzy |= _domains(_strings(document.get("fuzzylist"), name, "fuzzylist"))
        return parsed
    if isinstance(document, dict) and document and all(isinstance(v, list) for v in document.values()):
        parsed.formats.append("scamsniffer-combined")  # phishing domain -> the addresses linked to it
        for domain, addresses in document.items():
            parsed.add(domain)
            for address in addresses:
                parsed.add(address, f"linked to the phishing site {domain}")
        return parsed
    if isinstance(document, dict):
        parsed.formats.append("json")
        for value, label in document.items():
            parsed.add(value, label if isinstance(label, str) else "")
        return parsed
    if all(isinstance(item, str) for item in document):
        parsed.formats.append(_list_kind(document))
        for item in document:
            parsed.add(item)
        return parsed
    parsed.formats.append("json")
    for item in document:
        if isinstance(item, dict):
            label = item.get("label") or item.get("name") or item.get("description") or ""
            parsed.add(item.get("address") or item.get("domain") or item.get("value"), label if isinstance(label, str) else "")
        else:
            parsed.add(item)
    return parsed


def _list_kind(items: list[str]) -> str:
    """ScamSniffer's address.json and domains.json are bare arrays of one kind of entry."""
    sample = items[:50]
    addresses = sum(1 for s in sample if _ADDRESS.match(s.strip()))
    if addresses * 2 >= len(sample):
        return "scamsniffer-addresses"
    return "scamsniffer-domains" if sample and not addresses else "json"


def _strings(value: Any, name: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{name}: {key} must be a list of domains", _HINT)
    return [item for item in value if isinstance(item, str)]


def _domains(values: list[str]) -> set[str]:
    return {domain for value in values if (domain := normalise_domain(value)) is not None}


def _looks_like_csv(text: str) -> bool:
    first = text.split("\n", 1)[0]
    return "," in first or ";" in first


def _parse_csv(text: str, parsed: ParsedList) -> ParsedList:
    parsed.formats.append("csv")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    first = True
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if first and normalise_domain(cells[0]) is None and not _ADDRESS.match(cells[0]):
            first = False
            continue  # a header row: address,label
        first = False
        parsed.add(cells[0], " ".join(cell for cell in cells[1:] if cell))
    return parsed


def _parse_lines(text: str, parsed: ParsedList) -> ParsedList:
    parsed.formats.append("text")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if raw.lstrip().startswith("#") else raw.strip()
        if not line:
            continue
        value, _, label = line.partition(" ")
        parsed.add(value, label.strip().lstrip("#").strip())
    return parsed
