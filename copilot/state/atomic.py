"""Atomic file writes: write a sibling temp file, fsync, rename. A crash leaves old or new, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    _publish(path, data, mode, exclusive=False)


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def create_exclusive_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Like `atomic_write_bytes`, but raises FileExistsError when `path` exists, checked atomically:
    the complete temp file is hard-linked into place (link(2) never replaces), so of two processes
    creating the same file at once exactly one succeeds, and no reader ever sees it half written."""
    _publish(path, data, mode, exclusive=True)


def _publish(path: Path, data: bytes, mode: int, *, exclusive: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
