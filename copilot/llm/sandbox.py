"""Starts the inference worker (copilot.llm.worker) in as much isolation as this machine allows.

Layers, each reported in the review and by `txcopilot doctor` (a missing one is said, never hidden):
- process: a separate process that talks to us only over its stdin/stdout pipe (no other fd is
  inherited), started in an empty working directory;
- environment: a scrubbed environment (no HOME, no TXCOPILOT_HOME, no tokens or proxies);
- limits: RLIMIT_CORE=0, RLIMIT_NOFILE, RLIMIT_CPU and (CPU-only) RLIMIT_AS;
- network: a fresh Linux network namespace with only a downed loopback (`unshare --net`);
- filesystem: the data and config dirs (keystores, address book, history, logs) covered by an
  empty read-only tmpfs in a private mount namespace, locked by a second user namespace so the
  worker cannot unmount it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.errors import EnvironmentProblem
from copilot.llm.schema import IsolationLayer

ROOT = Path(__file__).resolve().parent.parent.parent
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from copilot.llm.worker import main; main()"
# Hides each "$@" dir, then drops into a nested user namespace: mounts made by a more privileged
# namespace become locked, so the worker cannot unmount the cover.
_HIDE_SCRIPT = (
    'for d; do [ "$d" = -- ] && break; mount -t tmpfs -o ro,size=4k,mode=000 none "$d" || exit 97; done; '
    'while [ "$1" != -- ]; do shift; done; shift; exec unshare --user --mount -- "$@"'
)
NOFILE_LIMIT = 256
CPU_LIMIT_S = 3600  # a backstop for a runaway worker; each request also has a wall-clock timeout


@dataclass
class SandboxPlan:
    command: list[str]
    layers: list[IsolationLayer] = field(default_factory=list)
    address_space: int | None = None


_unshare_ok: tuple[bool, str] | None = None


# A user namespace (root inside, the caller outside), a network namespace with only a downed loopback,
# and a private mount namespace in which the data dirs are covered: the probe and the worker use the same.
UNSHARE_FLAGS = ("--user", "--map-root-user", "--net", "--mount", "--")


def namespaces_available() -> tuple[bool, str]:
    """Whether unprivileged user+network+mount namespaces work here (checked once per process)."""
    global _unshare_ok
    if _unshare_ok is None:
        unshare = shutil.which("unshare")
        if unshare is None:
            _unshare_ok = (False, "the `unshare` tool (util-linux) is not installed")
        else:
            try:
                probe = subprocess.run(
                    [
                        unshare,
                        *UNSHARE_FLAGS,
                        "/bin/sh",
                        "-c",
                        "mount -t tmpfs none /mnt 2>/dev/null || mount -t tmpfs none /tmp; exec unshare --user true",
                    ],
                    capture_output=True,
                    timeout=10,
                    check=False,
                )
                error = probe.stderr.decode(errors="replace").strip().splitlines()
                _unshare_ok = (
                    (True, "unshare --user --net --mount works")
                    if probe.returncode == 0
                    else (False, f"user namespaces refused: {error[-1] if error else probe.returncode}")
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                _unshare_ok = (False, f"unshare failed: {exc}")
    return _unshare_ok


def worker_environment() -> dict[str, str]:
    """Nothing of the user's environment: no HOME, no TXCOPILOT_HOME, no tokens, no proxies."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        **omp_environment(),
    }


def omp_environment() -> dict[str, str]:
    """How llama.cpp's OpenMP threads wait between steps, chosen by how busy the CPU is now.

    Measured on a 2-core VM with SmolLM2-135M: idle, threads that spin briefly give 101-110 tok/s and
    sleeping ones 35; with two other busy processes, spinning gives 21 and sleeping 39-52. The spin is
    kept short (not OMP_WAIT_POLICY=ACTIVE, which spins forever) so a worker kept between requests,
    as the audit keeps it, leaves the CPU to the rest of the process.
    """
    cores = os.cpu_count() or 1
    if other_runnable_processes() >= max(1, cores // 2):
        return {"OMP_WAIT_POLICY": "PASSIVE"}
    return {"GOMP_SPINCOUNT": "1000"}


def other_runnable_processes() -> float:
    """Processes wanting a CPU right now besides this one: the median of a few instant samples of
    /proc/loadavg's running count (the 1-minute load average lags, and counts our own past inference)."""
    samples = []
    for _ in range(5):
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return os.getloadavg()[0]  # no procfs (macOS): the 1-minute average will do
        samples.append(running - 1)
        time.sleep(0.005)
    return sorted(samples)[len(samples) // 2]


def plan_sandbox(model_path: str | None, hidden_dirs: list[Path], *, gpu: bool) -> SandboxPlan:
    inner = [sys.executable, "-I", "-c", _BOOT, str(ROOT)]
    layers = [
        IsolationLayer(
            name="process",
            active=True,
            detail="separate worker process; stdin/stdout pipe only, no other fds",
        ),
        IsolationLayer(
            name="environment", active=True, detail="scrubbed environment; empty working directory"
        ),
    ]
    size = os.path.getsize(model_path) if model_path and os.path.exists(model_path) else 0
    address_space = None if gpu else 3 * 2**30 + 2 * size
    layers.append(
        IsolationLayer(
            name="limits",
            active=True,
            detail=f"core dumps off, {NOFILE_LIMIT} files, {CPU_LIMIT_S} s CPU, "
            + (
                f"{address_space // 2**20} MiB address space"
                if address_space
                else "no address-space cap (GPU drivers need it)"
            ),
        )
    )
    usable, why = namespaces_available()
    if not usable:
        layers.append(
            IsolationLayer(
                name="network", active=False, detail=f"UNAVAILABLE: {why}; the worker could reach the network"
            )
        )
        layers.append(
            IsolationLayer(
                name="filesystem",
                active=False,
                detail=f"UNAVAILABLE: {why}; data and config dirs are readable",
            )
        )
        return SandboxPlan(inner, layers, address_space)
    resolved_model = Path(model_path).resolve() if model_path else None
    hide = [
        d
        for d in dict.fromkeys(p.resolve() for p in hidden_dirs if p.exists())
        if resolved_model is None or not resolved_model.is_relative_to(d)
    ]
    kept = [str(d) for d in dict.fromkeys(p.resolve() for p in hidden_dirs if p.exists()) if d not in hide]
    command = [
        "unshare",
        *UNSHARE_FLAGS,
        "/bin/sh",
        "-c",
        _HIDE_SCRIPT,
        "sh",
        *map(str, hide),
        "--",
        *inner,
    ]
    layers.append(
        IsolationLayer(
            name="network", active=True, detail="own network namespace: no interface but a downed loopback"
        )
    )
    layers.append(
        IsolationLayer(
            name="filesystem",
            active=not kept,
            detail=f"data and config dirs hidden ({len(hide)} covered)"
            + (f"; NOT hidden because the model file is inside: {', '.join(kept)}" if kept else ""),
        )
    )
    return SandboxPlan(command, layers, address_space)


def _limit(address_space: int | None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE_LIMIT, NOFILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return apply


class WorkerError(EnvironmentProblem):
    """The worker died, timed out or reported an error."""


class ModelUnloadable(WorkerError):
    """llama.cpp in the worker could not load the model file (damaged, truncated, unsupported)."""


class Worker:
    """One running worker. Not thread-safe: one request at a time."""

    def __init__(self, plan: SandboxPlan) -> None:
        self.plan = plan
        self._workdir = tempfile.mkdtemp(prefix="txcopilot-worker-")
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self.process = subprocess.Popen(
            plan.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=self._workdir,
            env=worker_environment(),
            close_fds=True,
            preexec_fn=_limit(plan.address_space),  # runs in the child before exec
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.started = time.perf_counter()
        self.loading = False  # a load request is out and its reply not read yet
        self.load_s = 0.0

    def wait_loaded(self, *, timeout_s: float = 120.0, since: float | None = None) -> None:
        """Reads the reply to the load request; load_s is the time from `since` (default: the
        worker's start) to the model ready."""
        if not self.loading:
            return
        try:
            self.receive(timeout_s=timeout_s)
        except BaseException:
            self.close()
            raise
        finally:
            self.loading = False
        self.load_s = time.perf_counter() - (self.started if since is None else since)

    @property
    def layers(self) -> list[IsolationLayer]:
        return self.plan.layers

    def request(
        self,
        message: dict[str, Any],
        *,
        timeout_s: float = 120.0,
        on_message: Callable[[dict[str, Any]], None] | None = None,
        final: tuple[str, ...] = ("ready", "done", "probe", "self_check"),
    ) -> dict[str, Any]:
        """Sends one request and reads replies until a final one (or an error)."""
        self.send(message)
        return self.receive(timeout_s=timeout_s, on_message=on_message, final=final)

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message) + "\n")
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerError(f"the model worker exited ({self._why()})", "run `txcopilot doctor`") from None

    def receive(
        self,
        *,
        timeout_s: float = 120.0,
        on_message: Callable[[dict[str, Any]], None] | None = None,
        final: tuple[str, ...] = ("ready", "done", "probe", "self_check"),
    ) -> dict[str, Any]:
        """Reads replies to the request sent last until a final one (or an error)."""
        stdout = self.process.stdout
        assert stdout is not None
        timer = threading.Timer(timeout_s, self.process.kill)
        timer.start()
        try:
            while True:
                line = stdout.readline()
                if not line:
                    if not timer.is_alive():
                        raise WorkerError(
                            f"the model worker took longer than {timeout_s:.0f} s and was stopped"
                        )
                    raise WorkerError(f"the model worker exited ({self._why()})", "run `txcopilot doctor`")
                reply = json.loads(line)
                if reply.get("type") == "error":
                    failure = ModelUnloadable if reply.get("kind") == "unloadable" else WorkerError
                    raise failure(f"the model worker failed: {reply.get('message')}")
                if reply.get("type") in final:
                    return dict(reply)
                if on_message:
                    on_message(reply)
        finally:
            timer.cancel()

    def _why(self) -> str:
        code = self.process.wait(timeout=5) if self.process.poll() is None else self.process.returncode
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode(errors="replace").strip().splitlines()
        signal = f"signal {-code}" if code is not None and code < 0 else f"status {code}"
        if code == 97:
            return "the sandbox could not hide the data dirs"
        return f"{signal}{': ' + tail[-1] if tail else ''}"

    def close(self) -> None:
        if self.process.poll() is None and self.loading:
            self.process.kill()  # still loading a model nobody will ask for: do not wait for it
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout,):
            if stream:
                stream.close()
        self._stderr.close()
        shutil.rmtree(self._workdir, ignore_errors=True)


def start_worker(load: dict[str, Any], hidden_dirs: list[Path], *, timeout_s: float = 120.0) -> Worker:
    """Starts a worker and loads the backend described by `load` (see copilot.llm.worker)."""
    worker = launch_worker(load, hidden_dirs)
    worker.wait_loaded(timeout_s=timeout_s)
    return worker


def launch_worker(load: dict[str, Any], hidden_dirs: list[Path]) -> Worker:
    """Starts a worker and asks it to load, without waiting: the model loads while the caller works
    on (a review decodes and checks the request meanwhile). Call `wait_loaded` before a request."""
    plan = plan_sandbox(load.get("model_path"), hidden_dirs, gpu=int(load.get("n_gpu_layers") or 0) > 0)
    worker = Worker(plan)
    try:
        worker.send({"type": "load", **load})
    except BaseException:
        worker.close()
        raise
    worker.loading = True
    return worker
