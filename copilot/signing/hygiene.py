"""Key hygiene: keep a decrypted key out of core dumps and overwrite the copies we own.

What this can promise (and what it cannot) is documented in the README, "Keys and signing":
CPython gives no control over copies made inside libraries (eth-keys, coincurve, pycryptodome),
so wiping is best effort; disabling core dumps and ptrace attach is the part that holds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_PR_SET_DUMPABLE = 4


def disable_core_dumps() -> None:
    """No core file, and (Linux) no ptrace attach or /proc/PID/mem reads by same-user processes.

    Deliberately not undone after signing: freed memory may still hold copies of the key until the
    process exits, and the process exits right after signing.
    """
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    if sys.platform.startswith("linux"):
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def process_is_dumpable() -> bool:
    """True when the kernel would write a core file for this process (for tests and `keys` doctor)."""
    import resource

    if resource.getrlimit(resource.RLIMIT_CORE)[0] == 0:
        return False
    if sys.platform.startswith("linux"):
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            libc = ctypes.CDLL(libc_name)
            return bool(libc.prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE
    return True


def scrub(buffer: bytearray | bytes | str) -> None:
    """Overwrite key material with zeros in place.

    A bytearray is overwritten through its own API. An immutable `bytes` or ASCII `str` is
    overwritten in place through its CPython object layout: only do this to an object nothing else
    will read again (a typed password prompt's answer, a decrypted key's temporary copy).
    """
    if isinstance(buffer, bytearray):
        buffer[:] = bytes(len(buffer))
        return
    if sys.implementation.name != "cpython" or len(buffer) < 2:
        return  # empty and one-character objects are shared singletons in CPython; never touch them
    if isinstance(buffer, str) and not buffer.isascii():
        return  # only compact ASCII strings keep their characters at the end of the object
    # Both layouts end with the data and a trailing NUL: the data starts len+1 bytes from the end.
    offset = sys.getsizeof(buffer) - len(buffer) - 1
    fill = ord("0") if isinstance(buffer, str) else 0  # keep a str valid ASCII
    ctypes.memset(id(buffer) + offset, fill, len(buffer))


@contextmanager
def secret(buffer: bytearray) -> Iterator[bytearray]:
    """Yield the buffer with core dumps off; zero it on the way out, whatever happens."""
    disable_core_dumps()
    try:
        yield buffer
    finally:
        scrub(buffer)
