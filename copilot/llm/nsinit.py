"""The namespace fallback: builds the worker's world without bubblewrap, then runs the worker in it.

    python -I -S nsinit.py WORLD_JSON WORKDIR -- COMMAND...

Run by copilot.llm.sandbox (as a file, before any package import) with the worker's empty temporary
directory as its working directory. It makes the same world bwrap makes from the same list of mounts:

1. new user (this uid mapped to itself), mount, PID, network, IPC, UTS and cgroup namespaces;
2. a fork: the child is PID 1 of the new PID namespace (the parent only waits and passes on its status);
3. a tmpfs over the working directory becomes the new root; each allowed path is bind-mounted into it
   read-only (not recursively: a mount below an allowed path stays hidden), the device nodes bound
   into a tmpfs /dev, a new /proc mounted, and an empty tmpfs made at WORKDIR;
4. pivot_root into it, the old root detached, the new root remounted read-only;
5. a new session, no capability left (bounding set dropped, no_new_privs), death with the parent,
   then exec COMMAND.

Why not the library: bubblewrap is the library, and it is used when installed; this is its stand-in
for machines without it, kept to the mount(2) calls bwrap itself makes (tests run both on one machine
and check the same escapes are blocked).
Exits 97 when the world cannot be built (the parent says so).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
# statvfs flag -> mount flag: flags the kernel locks on a bind made in a user namespace must be kept
_LOCKED = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME,
           4096: MS_RELATIME}
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}

libc = ctypes.CDLL(None, use_errno=True)


class SetupFailed(Exception):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise SetupFailed(f"{what}: {os.strerror(error)}")


def _c(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        libc.mount(_c(source), _c(target), _c(fstype), ctypes.c_ulong(flags), _c(data)),
        f"mount {source or fstype} on {target}",
    )


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def _enter_namespaces() -> None:
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    _check(libc.unshare(flags), "unshare")
    libc.unshare(CLONE_NEWCGROUP)  # best effort, as bwrap's --unshare-cgroup-try
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _place(root: str, dest: str, *, directory: bool) -> str:
    target = root + dest
    os.makedirs(target if directory else os.path.dirname(target), exist_ok=True)
    if not directory and not os.path.exists(target):
        open(target, "w").close()
    return target


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND)
    kept = os.statvfs(target).f_flag
    locked = sum(flag for bit, flag in _LOCKED.items() if kept & bit)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | locked)


def build_world(root: str, world: list[list[str]]) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for kind, dest, source in world:
        if kind == "symlink":
            os.makedirs(os.path.dirname(root + dest), exist_ok=True)
            os.symlink(source, root + dest)
        elif kind == "ro":
            _bind_read_only(source, _place(root, dest, directory=os.path.isdir(source)))
        elif kind == "dev":
            _mount(source, _place(root, dest, directory=False), None, MS_BIND)
        elif kind == "tmpfs":
            _mount("tmpfs", _place(root, dest, directory=True), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        elif kind == "proc":
            _mount("proc", _place(root, dest, directory=True), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    number = _PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise SetupFailed(f"pivot_root: unknown system call number on {os.uname().machine}")
    _check(libc.syscall(number, b".", b"."), "pivot_root")  # the old root ends up stacked under the new
    _check(libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def drop_privileges() -> None:
    os.setsid()
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "die with the parent")
    last = int(open("/proc/sys/kernel/cap_last_cap", encoding="ascii").read())  # noqa: SIM115
    for capability in range(last + 1):
        _check(libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "drop capabilities")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def main(argv: list[str]) -> None:
    world, workdir, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: nsinit.py WORLD_JSON WORKDIR -- COMMAND...")
    root = os.getcwd()
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _enter_namespaces()
        child = os.fork()
    except (OSError, SetupFailed) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        os._exit(97)
    if child:
        os.close(0)
        os.close(1)
        _, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:  # killed by a signal: die by the same one, so the parent reads the same status
            signal.signal(-code, signal.SIG_DFL)
            os.kill(os.getpid(), -code)
        os._exit(code)
    try:
        build_world(root, json.loads(world))
        os.chdir(workdir)
        drop_privileges()
        os.execv(command[0], command)
    except (OSError, SetupFailed, ValueError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        os._exit(97)


if __name__ == "__main__":
    main(sys.argv[1:])
