"""The walls the inference worker raises around itself before it reads its first request.

Run inside the worker (copilot.llm.worker), after bwrap or the namespace fallback built its world and
before any untrusted byte (the model file, a prompt) reaches it:

- seccomp (libseccomp through pyseccomp): socket() and socketpair() fail with EPERM for every family,
  so no TCP, UDP, filesystem or abstract Unix socket, netlink or raw socket can be opened at all; nor
  can io_uring (which opens sockets on its own), ptrace and process_vm_*, mount, pivot_root, unshare
  and setns, new namespaces through clone(), the kernel keyring, bpf or perf events. clone3() answers
  ENOSYS so that threads fall back to clone(), whose flags the filter can read. System calls of
  another architecture kill the process (libseccomp's default for an architecture not in the filter);
- Landlock (py-landlock), where the kernel has it: reads only under the paths the world shows, writes
  only into the private tmpfs, no TCP bind or connect (ABI 4+), no abstract Unix socket or signal
  outside the worker's own domain (ABI 6+).

Each wall reports what it did; a wall that could not be raised says why, and the parent decides
(`sign` refuses to load a model behind a missing wall unless the user's config accepts it).

Both libraries find their C libraries with ctypes.util.find_library, which runs `ldconfig -p` in a
subprocess on every call: three calls cost ~40 ms of each worker's start (measured, 2-core VM). While
they load, the sonames of the two libraries they ask for are given directly; the dynamic loader
resolves those through ld.so.cache, as it would the paths ldconfig prints.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import errno
import os
from collections.abc import Iterator
from typing import Any

SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}


@contextlib.contextmanager
def _known_sonames() -> Iterator[None]:
    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: SONAMES.get(name) or original(name)
    try:
        yield
    finally:
        ctypes.util.find_library = original

# Refused with EPERM: the ways out of the box. Everything else the interpreter, llama.cpp, OpenMP and
# the GPU drivers use stays allowed (an allow-list of system calls breaks with each new libc or driver).
REFUSED_SYSCALLS = (
    "socket",
    "socketpair",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsmount",
    "fspick",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "name_to_handle_at",
    "syslog",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "quotactl",
)
# clone() flags that make new namespaces (CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET)
NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000


def raise_walls(read_paths: list[str], write_paths: list[str]) -> dict[str, dict[str, Any]]:
    """Landlock first (it needs no socket), then seccomp; returns each wall's report."""
    with _known_sonames():
        with contextlib.suppress(Exception):  # loaded before Landlock limits reads; _seccomp reports
            import pyseccomp  # noqa: F401
        landlock = _landlock(read_paths, write_paths)
        return {"landlock": landlock, "seccomp": _seccomp()}


def _seccomp() -> dict[str, Any]:
    try:
        import pyseccomp as seccomp

        refuse = seccomp.ERRNO(errno.EPERM)
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in REFUSED_SYSCALLS:
            rules.add_rule(refuse, name)
        for flag in _bits(NAMESPACE_FLAGS):
            rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        rules.load()  # also sets no_new_privs
    except Exception as exc:  # a missing libseccomp or a kernel without seccomp: reported, never hidden
        return {"active": False, "detail": f"seccomp filter not loaded: {type(exc).__name__}: {exc}"}
    return {
        "active": True,
        "detail": f"seccomp: socket() and socketpair() refused for every family, {len(REFUSED_SYSCALLS) - 2} "
        "more system calls (ptrace, mount, unshare, io_uring, bpf, ...) and namespace clones refused",
    }


def _bits(mask: int) -> list[int]:
    return [1 << bit for bit in range(mask.bit_length()) if mask >> bit & 1]


def _landlock(read_paths: list[str], write_paths: list[str]) -> dict[str, Any]:
    try:
        from py_landlock import AccessFs, Landlock, LandlockError, get_abi_version
    except ImportError as exc:
        return {"active": False, "required": True, "detail": f"Landlock library missing: {exc}"}
    try:
        abi = int(get_abi_version())
    except LandlockError as exc:  # not built into this kernel, or disabled at boot: said, not required
        return {"active": False, "required": False, "detail": f"Landlock unavailable in this kernel ({exc})"}
    file_read = AccessFs.READ_FILE | AccessFs.EXECUTE
    try:
        ruleset = Landlock(strict=False)
        for path in read_paths:
            if os.path.isdir(path):
                ruleset.add_path_rule(path, access=file_read | AccessFs.READ_DIR)
            elif os.path.exists(path):
                ruleset.add_path_rule(path, access=file_read)
        for path in write_paths:
            ruleset.allow_read_write(path)
        if os.path.isdir("/dev"):  # /dev/null and, with GPU offload, the GPU's nodes
            device = AccessFs.IOCTL_DEV if abi >= 5 else AccessFs(0)
            ruleset.add_path_rule("/dev", access=file_read | AccessFs.READ_DIR | AccessFs.WRITE_FILE | device)
        ruleset.apply()
    except (LandlockError, OSError) as exc:
        return {"active": False, "required": True, "detail": f"Landlock ruleset not applied: {exc}"}
    extras = (["no TCP bind or connect"] if abi >= 4 else []) + (
        ["abstract Unix sockets and signals scoped to the worker"] if abi >= 6 else []
    )
    return {
        "active": True,
        "required": True,
        "detail": f"Landlock ABI {abi}: reads only the world's {len(read_paths)} paths, writes only its tmpfs"
        + "".join(f", {extra}" for extra in extras),
    }
