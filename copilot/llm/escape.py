"""Escape attempts, run inside the worker's sandbox by `txcopilot doctor --sandbox-probe` (and tests).

Each attempt is reported `blocked` or `open`. For the network attempts, `by_sandbox` says whether the
refusal came from the sandbox itself (EPERM from seccomp, EACCES from Landlock, or no such address
family) rather than from a network that happens to be absent: a machine without internet fails
those attempts anyway, so only a refusal by the sandbox proves a wall.

The same functions run outside the sandbox in the tests, where the attempts that can succeed there
(a listening Unix socket, a loopback server, a writable directory) are seen to be `open`.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
from typing import Any

REFUSED_BY_SANDBOX = {errno.EPERM, errno.EACCES, errno.EAFNOSUPPORT}
PTRACE_SEIZE, PTRACE_DETACH = 0x4206, 17
_DNS_QUERY = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")  # example.com A


def _result(name: str, opened: bool, detail: str, *, network: bool = False, error: int | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"probe": name, "status": "open" if opened else "blocked", "detail": detail}
    if network:
        result["by_sandbox"] = (not opened) and error in REFUSED_BY_SANDBOX
    return result


def _failure(exc: OSError) -> str:
    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return f"{code}: {exc.strerror or exc}"


def _connect(name: str, family: int, kind: int, address: Any, *, send: bytes | None = None) -> dict[str, Any]:
    try:
        with socket.socket(family, kind) as sock:
            sock.settimeout(2)
            if send is None:
                sock.connect(address)
                return _result(name, True, f"connected to {address!r}", network=True)
            sock.sendto(send, address)
            return _result(name, True, f"a query left for {address!r}", network=True)
    except OSError as exc:
        return _result(name, False, _failure(exc), network=True, error=exc.errno)


def _write(name: str, folder: str) -> dict[str, Any]:
    path = os.path.join(folder, f".txcopilot-escape-{os.getpid()}")
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        return _result(name, False, _failure(exc))
    os.close(descriptor)
    os.unlink(path)
    return _result(name, True, f"created {path}")


def _read(name: str, path: str) -> dict[str, Any]:
    try:
        if os.path.isdir(path):
            entries = os.listdir(path)
            return _result(name, True, f"listed {len(entries)} entries")
        with open(path, "rb") as handle:
            handle.read(1)
        return _result(name, True, "read")
    except OSError as exc:
        return _result(name, False, _failure(exc))


def _ptrace(name: str, pid: int) -> dict[str, Any]:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(PTRACE_SEIZE, pid, None, None) == 0:  # SEIZE: attaches without stopping it
        libc.ptrace(PTRACE_DETACH, pid, None, None)
        return _result(name, True, f"attached to process {pid}")
    code = ctypes.get_errno()
    return _result(name, False, f"{errno.errorcode.get(code, code)}: {os.strerror(code)}")


def run_escapes(targets: dict[str, Any]) -> list[dict[str, Any]]:
    """Every attempt named in `targets` (built by copilot.llm.doctor.escape_targets)."""
    results = [
        _connect("unix socket (filesystem)", socket.AF_UNIX, socket.SOCK_STREAM, targets["unix_socket"]),
        _connect("unix socket (abstract)", socket.AF_UNIX, socket.SOCK_STREAM, "\0" + targets["abstract_socket"]),
        _connect("tcp to 127.0.0.1", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", targets["loopback_port"])),
        _connect("tcp to a public IP", socket.AF_INET, socket.SOCK_STREAM, (targets["public_ip"], 443)),
        _connect("dns lookup", socket.AF_INET, socket.SOCK_DGRAM, (targets["resolver"], 53), send=_DNS_QUERY),
    ]
    results += [_write(f"write into {label}", folder) for label, folder in targets["writes"].items()]
    results += [_read(f"read {label}", path) for label, path in targets["reads"].items()]
    results.append(_ptrace("ptrace the parent", int(targets["parent_pid"])))
    return results
