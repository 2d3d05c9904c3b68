"""Read the INPUT argument: a file path, `-` for stdin, or the request itself inline."""

from __future__ import annotations

import sys
from pathlib import Path

from copilot.errors import InputError

# Hex doubles the 1 MiB calldata cap, and an EIP-4844 network wrapper carries up to ~0.8 MiB of blobs;
# 4 MiB of text holds any real request while keeping hostile input from exhausting memory.
MAX_INPUT_BYTES = 4 << 20


def read_input(arg: str) -> str:
    """The request text from a path, stdin (`-`) or the argument itself."""
    if arg == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        source = "stdin"
    elif _is_file(arg):
        try:
            with open(arg, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read {arg}: {exc.strerror or exc}") from None
        source = arg
    elif _looks_like_path(arg) and _is_dir(arg):
        raise InputError(f"{arg} is a directory", "pass a file, `-` for stdin, or the hex/JSON itself")
    elif _looks_like_path(arg):
        raise InputError(
            f"no such file: {arg}", "pass an existing file, `-` for stdin, or the hex/JSON itself"
        )
    else:
        data = arg.encode("utf-8", "surrogateescape")
        source = "the argument"
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(
            f"input from {source} is over {MAX_INPUT_BYTES >> 20} MiB",
            "txcopilot caps input at 4 MiB and calldata at 1 MiB; no real request is that large",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"input from {source} is not UTF-8 text (byte {exc.start})",
            "pass hex or JSON text, not binary",
        ) from None
    if not text.strip():
        raise InputError(f"input from {source} is empty", "pass a raw transaction, a JSON request, or a file")
    return text


def _is_dir(arg: str) -> bool:
    try:
        return Path(arg).is_dir()
    except (OSError, ValueError):
        return False


def _is_file(arg: str) -> bool:
    # Inline hex and JSON are usually not file names; avoid stat()-ing megabytes of hex.
    if len(arg) > 4096 or arg.lstrip()[:1] in ("{", "[", '"'):
        return False
    try:
        return Path(arg).is_file()
    except (OSError, ValueError):
        return False


def _looks_like_path(arg: str) -> bool:
    text = arg.strip()
    if not text or text[0] in '{["' or text[:2] in ("0x", "0X"):
        return False
    return "/" in text or Path(text).suffix.lower() in (".json", ".txt", ".hex", ".rlp", ".jsonl")
