"""Reading JSON and TOML that came from outside: requests, history exports, the audit log, caches, config.

`json.loads` and `tomllib.loads` raise more than their syntax errors on hostile text: a plain ValueError
for an integer past Python's int-string limit (4,300 digits), RecursionError for deep nesting; and
`json.loads` reads `1e400` as inf and takes NaN/Infinity, which no JSON writer may emit and which
print back as invalid JSON. JSON nested deeper than MAX_DEPTH is refused too: it parses, then breaks
whatever walks it next (pydantic's serialiser stops at a few hundred levels, recursive code at the
interpreter's recursion limit). The loaders here raise each of these as the format's own decode error
(JSONTextError is a json.JSONDecodeError, TOML problems are tomllib.TOMLDecodeError) with one line, so
a caller that handles bad syntax handles them too. The standard parsers stay underneath: only their
failure modes are mapped, so there is no hand-written parser to trust.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PairsHook = Callable[[list[tuple[str, Any]]], Any]
MAX_DEPTH = 128  # nesting levels; real requests, exports and logs stay under 20


class JSONTextError(json.JSONDecodeError):
    """Text that is not JSON txcopilot reads. `msg` is one line; `lineno`/`colno` locate it."""


def load_json(text: str | bytes, *, object_pairs_hook: PairsHook | None = None) -> Any:
    """json.loads, with every failure on untrusted text a JSONTextError (see the module docstring).
    Errors raised by `object_pairs_hook` pass through unchanged."""
    decoder = _decoder(object_pairs_hook)
    value = _mapped(lambda doc: decoder.decode(_as_str(doc)), text)
    _check_depth(value, text, 0, len(text))
    return value


def load_json_prefix(text: str, position: int) -> tuple[Any, int]:
    """The JSON value that starts at `position` and the index just after it (JSONDecoder.raw_decode),
    failing like load_json."""
    value, end = _mapped(lambda doc: _decoder(None).raw_decode(doc, position), text)
    _check_depth(value, text, position, end)
    return value, end


def load_toml(text: str) -> dict[str, Any]:
    """tomllib.loads, with an integer past the int-string limit or too deep a nesting a TOMLDecodeError."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, tomllib.TOMLDecodeError) or not _is_digit_limit(exc):
            raise
        raise tomllib.TOMLDecodeError(_digit_limit_message()) from None


class _NumberRefused(ValueError):
    def __init__(self, message: str, literal: str) -> None:
        super().__init__(message)
        self.literal = literal


def _refuse_constant(name: str) -> Any:
    raise _NumberRefused(f"{name} is not a JSON number", name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NumberRefused(f"the number {literal[:40]} is out of range", literal)
    return value


_DECODERS: dict[PairsHook | None, json.JSONDecoder] = {}


def _decoder(object_pairs_hook: PairsHook | None) -> json.JSONDecoder:
    """One decoder per hook: building one per call (as json.loads does when given hooks) costs more
    than parsing a typical history row."""
    decoder = _DECODERS.get(object_pairs_hook)
    if decoder is None:
        decoder = _DECODERS[object_pairs_hook] = json.JSONDecoder(
            parse_float=_finite_float, parse_constant=_refuse_constant, object_pairs_hook=object_pairs_hook
        )
    return decoder


def _as_str(text: str | bytes) -> str:
    """What json.loads does with bytes: UTF-8, -16 or -32 by the first bytes (UnicodeDecodeError if not)."""
    return text if isinstance(text, str) else text.decode(json.detect_encoding(text), "surrogatepass")


# CPython's default. py_ecc (imported with eth_account) raises the limit to 100,000 at import, and CPython
# 3.11's C JSON scanner, which counts its depth against this limit, then overflows the C stack on deep
# nesting and kills the process instead of raising RecursionError.
_SAFE_RECURSION_LIMIT = 1000


@contextmanager
def _safe_recursion_limit() -> Iterator[None]:
    limit = sys.getrecursionlimit()
    lowered = False
    if limit > _SAFE_RECURSION_LIMIT:
        try:
            sys.setrecursionlimit(_SAFE_RECURSION_LIMIT)
            lowered = True
        except RecursionError:  # already deeper than that: leave the limit alone
            pass
    try:
        yield
    finally:
        if lowered:
            sys.setrecursionlimit(limit)


def _mapped(parse: Callable[[Any], Any], text: str | bytes) -> Any:
    try:
        if sys.getrecursionlimit() <= _SAFE_RECURSION_LIMIT:  # the usual case: skip the context manager
            return parse(text)
        with _safe_recursion_limit():
            return parse(text)
    except json.JSONDecodeError:
        raise
    except UnicodeDecodeError as exc:
        raise JSONTextError("not UTF-8 text", "", 0) from exc
    except RecursionError:
        document = _as_str(text)
        raise JSONTextError("arrays or objects nested too deeply", document, _deepest_point(document)) from None
    except _NumberRefused as exc:
        document = _as_str(text)
        raise JSONTextError(str(exc), document, _number_at(document, re.escape(exc.literal))) from None
    except ValueError as exc:
        if not _is_digit_limit(exc):
            raise  # the caller's object_pairs_hook: its own error
        document = _as_str(text)
        long_digits = rf"-?\d{{{sys.get_int_max_str_digits() + 1},}}"
        raise JSONTextError(_digit_limit_message(), document, _number_at(document, long_digits)) from None


def _check_depth(value: Any, text: str | bytes, start: int, end: int) -> None:
    """Refuse nesting past MAX_DEPTH. Only text with more brackets than MAX_DEPTH can nest that deep,
    so the walk is skipped for almost every document."""
    if isinstance(text, bytes):
        brackets = text.count(b"[", start, end) + text.count(b"{", start, end)
    else:
        brackets = text.count("[", start, end) + text.count("{", start, end)
    if brackets <= MAX_DEPTH:
        return
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            document = _as_str(text)
            raise JSONTextError(f"arrays or objects nested more than {MAX_DEPTH} deep", document, _deepest_point(document))
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _is_digit_limit(exc: ValueError) -> bool:
    return "integer string conversion" in str(exc)


def _digit_limit_message() -> str:
    return f"a number has more than {sys.get_int_max_str_digits()} digits"


def _number_at(document: str, pattern: str) -> int:
    """Where a number token (not text inside a string) matching `pattern` starts; 0 if not found."""
    match = re.search(r"(?<![\w.\"+-])" + pattern, document)
    return match.start() if match else 0


def _deepest_point(document: str) -> int:
    """Where the nesting is deepest (strings skipped): only on the error path, so a plain loop will do."""
    depth = deepest = at = 0
    in_string = escaped = False
    for index, char in enumerate(document):
        if escaped:
            escaped = False
        elif in_string:
            escaped = char == "\\"
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, index
        elif char in "]}":
            depth -= 1
    return at
