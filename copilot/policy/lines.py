"""Find the line of a TOML key, so a semantic error (which tomllib cannot place) names its line.

The scan maps every table header and key assignment to its line: `[limits.assets.ETH]` and
`daily = "1"` under it give ("limits", "assets", "ETH") and ("limits", "assets", "ETH", "daily").
An error at a deeper path (a list index, a key inside an inline table) falls back to the nearest
enclosing key that has a line of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(
    r"""^\s*(?P<key>(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_PART = re.compile(r"""\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[A-Za-z0-9_\-]+))\s*(?:\.|$)""")


def _split_key(text: str) -> tuple[str, ...]:
    parts: list[str] = []
    for match in _PART.finditer(text):
        part = match.group("dq") if match.group("dq") is not None else match.group("sq")
        parts.append(part if part is not None else match.group("bare"))
    return tuple(parts)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Every table and key path in a TOML document -> its 1-based line (first occurrence)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group("name"))
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            lines.setdefault(table + _split_key(assign.group("key")), number)
            rest = line[assign.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The line of the deepest key on `path` that the document spells out; None when none is."""
    lines = key_lines(text)
    keys = [str(p) for p in path]
    for end in range(len(keys), 0, -1):
        found = lines.get(tuple(keys[:end]))
        if found is not None:
            return found
    return None
