"""Starts the inference worker (copilot.llm.worker) in a world built from an allow-list.

The worker sees only what it needs, everything read-only but a private tmpfs:
- the interpreter, the package directories the worker imports, the system libraries under /usr,
  the ld.so cache and /sys/devices/system/cpu (llama.cpp and OpenMP read the CPU topology there);
- the model file and the KV-prefix cache directory (the parent writes and validates the cache; the
  worker hands a new prefix state back over its pipe and never writes outside its tmpfs);
- a private, empty, writable tmpfs (/scratch: its working and temporary directory);
- its own /proc in a new PID namespace, a minimal /dev (null, zero, full, random, urandom; the GPU's
  nodes only when GPU offload is configured), and no network interface but a downed loopback.
Nothing else of the host: no /home, /root (but the interpreter inside it), /tmp, /run, keystores,
password files or the parent's /proc.

The world is built by bubblewrap (`bwrap`) when it is installed, else by the same mounts made here
with user, mount, PID and network namespaces and pivot_root (copilot.llm.nsinit).
TXCOPILOT_SANDBOX=bwrap|namespaces|none forces one (tests run both; `none` is the unsandboxed
baseline the benchmark compares against). Inside, before it reads a request, the worker raises
seccomp and Landlock (copilot.llm.walls) and reports them.

Layers, each reported in the review and by `txcopilot doctor` (a missing one is said, never hidden):
process, environment, limits, filesystem, pid, network, seccomp, landlock.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from copilot.errors import EnvironmentProblem
from copilot.llm.schema import IsolationLayer

ROOT = Path(__file__).resolve().parent.parent.parent
NSINIT = Path(__file__).resolve().parent / "nsinit.py"
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from copilot.llm.worker import main; main()"
NOFILE_LIMIT = 256
CPU_LIMIT_S = 3600  # a backstop for a runaway worker; each request also has a wall-clock timeout
SANDBOX_SETTING = "TXCOPILOT_SANDBOX"
SCRATCH = "/scratch"  # the worker's private tmpfs, inside its world
# What copilot.llm.worker imports, found where this interpreter finds them (a `.libs` sibling too).
WORKER_PACKAGES = (
    "llama_cpp",
    "numpy",
    "jinja2",
    "markupsafe",
    "diskcache",
    "typing_extensions",
    "pyseccomp",
    "py_landlock",
)
DEVICES = ("null", "zero", "full", "random", "urandom")
GPU_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps/*", "/dev/dri/*", "/dev/kfd")
# Layers the worker itself reports (copilot.llm.walls) once it runs.
WALLS: tuple[Literal["seccomp"], Literal["landlock"]] = ("seccomp", "landlock")


@dataclass(frozen=True)
class Mount:
    """One entry of the worker's world: `ro` binds source read-only at dest, `dev` binds a device
    node, `symlink` makes dest point at source, `tmpfs` is writable and empty, `proc` a new procfs."""

    kind: Literal["ro", "dev", "symlink", "tmpfs", "proc"]
    dest: str
    source: str = ""


@dataclass
class SandboxPlan:
    command: list[str]
    layers: list[IsolationLayer] = field(default_factory=list)
    address_space: int | None = None
    mode: str = "none"  # bwrap | namespaces | none
    scratch: str | None = None  # the private tmpfs inside the world (None: a host temp dir)

    def missing(self) -> list[IsolationLayer]:
        """Layers that should be up and are not (Landlock on a kernel without it is not required)."""
        return [layer for layer in self.layers if not layer.active and layer.required]


_probed: dict[str, tuple[bool, str]] = {}


def _probe_once(name: str, command: list[str]) -> tuple[bool, str]:
    """Runs `command` once per process, and once per boot for a success: a success is remembered in
    the cache dir under this machine's boot and the tool's identity (a probe costs ~15 ms of every
    review's start). Should that go stale, the worker fails to start and the review says so."""
    if name in _probed:
        return _probed[name]
    fingerprint = _fingerprint(command)
    remembered = _remembered_probes()
    if remembered.get(name) == fingerprint:
        _probed[name] = (True, "works")
        return _probed[name]
    try:
        probe = subprocess.run(command, capture_output=True, timeout=10, check=False)
        error = probe.stderr.decode(errors="replace").strip().splitlines()
        _probed[name] = (
            (True, "works")
            if probe.returncode == 0
            else (False, f"{name} refused: {error[-1] if error else f'status {probe.returncode}'}")
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _probed[name] = (False, f"{name} failed: {exc}")
    if _probed[name][0]:
        _remember_probe(name, fingerprint)
    return _probed[name]


def _fingerprint(command: list[str]) -> str:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        tool = os.stat(command[0]).st_mtime_ns
    except OSError:
        return ""
    return json.dumps([command, tool, os.uname().release, boot])


def _probes_file() -> Path:
    from copilot.state.dirs import cache_dir

    return cache_dir() / "sandbox-probes.json"


def _remembered_probes() -> dict[str, str]:
    try:
        remembered = json.loads(_probes_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return remembered if isinstance(remembered, dict) else {}


def _remember_probe(name: str, fingerprint: str) -> None:
    if not fingerprint:
        return
    from copilot.state.atomic import atomic_write_text

    with contextlib.suppress(OSError):  # a read-only cache only costs the next review the probe
        atomic_write_text(_probes_file(), json.dumps({**_remembered_probes(), name: fingerprint}))


def bwrap_available() -> tuple[bool, str]:
    """Whether bubblewrap is installed and may make its namespaces here (checked once per process)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, "bubblewrap (`bwrap`) is not installed"
    return _probe_once("bwrap", [bwrap, *_BWRAP_NAMESPACES, "--ro-bind", "/", "/", "true"])


def namespaces_available() -> tuple[bool, str]:
    """Whether unprivileged user, mount, PID and network namespaces work here (checked once per process)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False, "the `unshare` tool (util-linux) is not installed"
    return _probe_once(
        "user namespaces",
        [unshare, "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--", "/bin/sh", "-c",
         "mount -t tmpfs none /mnt 2>/dev/null || mount -t tmpfs none /tmp"],
    )


def sandbox_mode() -> tuple[str, str]:
    """("bwrap" | "namespaces" | "none", why): how the worker's world is built on this machine."""
    wanted = os.environ.get(SANDBOX_SETTING, "auto").strip().lower() or "auto"
    if wanted not in ("auto", "bwrap", "namespaces", "none"):
        raise EnvironmentProblem(
            f"{SANDBOX_SETTING}={wanted!r} is not a sandbox", "use auto, bwrap, namespaces or none"
        )
    if wanted == "none":
        return "none", f"turned off by {SANDBOX_SETTING}=none"
    reasons = []
    if wanted in ("auto", "bwrap"):
        usable, why = bwrap_available()
        if usable:
            return "bwrap", "bubblewrap"
        reasons.append(why)
    if wanted in ("auto", "namespaces"):
        usable, why = namespaces_available()
        if usable:
            return "namespaces", "user and mount namespaces with pivot_root"
        reasons.append(why)
    return "none", "; ".join(reasons)


def worker_environment(scratch: str) -> dict[str, str]:
    """Nothing of the user's environment: no HOME, no TXCOPILOT_HOME, no tokens, no proxies."""
    return {
        "PATH": "/usr/bin:/bin",
        "TMPDIR": scratch,
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


def worker_world(model_path: str | None, read_only: Sequence[Path], *, gpu: bool) -> list[Mount]:
    """The allow-list: every path the worker may see, in the order it is mounted."""
    mounts: list[Mount] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):  # merged-/usr links, or real dirs
        path = f"/{name}"
        if os.path.islink(path):
            mounts.append(Mount("symlink", path, os.readlink(path)))
        elif os.path.isdir(path):
            mounts.append(Mount("ro", path, path))
    shown = ["/usr", "/etc/ld.so.cache", "/sys/devices/system/cpu", os.path.realpath(sys.base_prefix)]
    executable = interpreter_path()
    if sys.prefix != sys.base_prefix:  # a virtualenv: its marker file and its interpreter link
        shown.append(os.path.join(os.path.realpath(sys.prefix), "pyvenv.cfg"))
    for name in WORKER_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        where = spec.submodule_search_locations[0] if spec.submodule_search_locations else spec.origin
        if where:
            shown += [os.path.realpath(where), *glob.glob(os.path.realpath(where) + ".libs")]
    shown.append(str(ROOT / "copilot"))
    if model_path:
        shown.append(os.path.realpath(model_path))
    shown += [os.path.realpath(path) for path in read_only]
    for path in _outermost(p for p in shown if os.path.exists(p)):
        mounts.append(Mount("ro", path, path))
    if not any(executable == m.dest or executable.startswith(m.dest + "/") for m in mounts):
        mounts.append(Mount("ro", executable, os.path.realpath(sys.executable)))
    mounts += [Mount("tmpfs", SCRATCH), Mount("proc", "/proc"), Mount("tmpfs", "/dev")]
    nodes = [f"/dev/{name}" for name in DEVICES]
    if gpu:
        nodes += sorted(path for pattern in GPU_DEVICES for path in glob.glob(pattern))
    mounts += [Mount("dev", node, node) for node in nodes if os.path.exists(node)]
    return mounts


def _outermost(paths: Iterable[str]) -> list[str]:
    """Each path once, none inside another (a bind inside a read-only bind has nowhere to go)."""
    kept: list[str] = []
    for path in sorted(dict.fromkeys(paths)):
        if not any(path == other or path.startswith(other.rstrip("/") + "/") for other in kept):
            kept.append(path)
    return kept


def bwrap_command(mounts: list[Mount], inner: list[str]) -> list[str]:
    args = [shutil.which("bwrap") or "bwrap", *_BWRAP_NAMESPACES, "--cap-drop", "ALL", "--disable-userns"]
    args += ["--die-with-parent", "--new-session"]
    flags = {"ro": "--ro-bind", "dev": "--dev-bind", "symlink": "--symlink"}
    for mount in mounts:
        if mount.kind in flags:
            args += [flags[mount.kind], mount.source, mount.dest]
        else:
            args += [f"--{mount.kind}", mount.dest]
    return [*args, "--remount-ro", "/", "--chdir", SCRATCH, "--", *inner]


# A new user namespace (no capability kept), IPC, PID, network, UTS and cgroup namespaces.
_BWRAP_NAMESPACES = ("--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                     "--unshare-cgroup-try")


def plan_sandbox(model_path: str | None, read_only: Sequence[Path] = (), *, gpu: bool) -> SandboxPlan:
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
    mounts = worker_world(model_path, read_only, gpu=gpu)
    mode, why = sandbox_mode()
    # Landlock's rules: the world's paths (on the host too, when no namespace could be made); writes
    # only into the working directory, which is the private tmpfs. Off only when asked to be.
    walls = {
        "raise": os.environ.get(SANDBOX_SETTING, "").strip().lower() != "none",
        "read": [m.dest for m in mounts if m.kind in ("ro", "symlink", "proc", "dev")],
    }
    if mode == "none":
        inner = [sys.executable, "-I", "-c", _BOOT, str(ROOT), json.dumps(walls)]
        layers += [
            IsolationLayer(name=name, active=False, detail=f"UNAVAILABLE: {why}; {consequence}")
            for name, consequence in (
                ("filesystem", "the worker sees and may write whatever you may"),
                ("pid", "the worker sees your other processes"),
                ("network", "the worker could reach the network"),
            )
        ]
        return SandboxPlan(inner, layers, address_space, mode)
    inner = [interpreter_path(), "-I", "-c", _BOOT, str(ROOT), json.dumps(walls)]
    if mode == "bwrap":
        command = bwrap_command(mounts, inner)
        builder = "bubblewrap"
    else:
        world = json.dumps([[m.kind, m.dest, m.source] for m in mounts])
        command = [sys.executable, "-I", "-S", str(NSINIT), world, SCRATCH, "--", *inner]
        builder = "user and mount namespaces with pivot_root"
    shown = [m for m in mounts if m.kind == "ro"]
    layers += [
        IsolationLayer(
            name="filesystem",
            active=True,
            detail=f"allow-list built by {builder}: the interpreter, {len(shown)} read-only paths (packages, "
            "model, KV-prefix cache, system libraries) and a private tmpfs; no home, /tmp, /run or data dirs",
        ),
        IsolationLayer(name="pid", active=True, detail="own PID namespace and /proc: no other process visible"),
        IsolationLayer(
            name="network", active=True, detail="own network namespace: no interface but a downed loopback"
        ),
    ]
    return SandboxPlan(command, layers, address_space, mode, SCRATCH)


def interpreter_path() -> str:
    """The interpreter's path inside the world: the virtualenv's `python` (not the file it links to),
    so that the interpreter finds the venv's packages."""
    return os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))


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


class IsolationMissing(WorkerError):
    """A required isolation layer is missing and the caller does not accept weaker isolation."""


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
            env=worker_environment(plan.scratch or self._workdir),
            close_fds=True,
            preexec_fn=_limit(plan.address_space),  # runs in the child before exec
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.started = time.perf_counter()
        self.loading = False  # a load request is out and its reply not read yet
        self.load_s = 0.0
        self.walls: dict[str, dict[str, Any]] = {}  # seccomp and Landlock, as the worker reports them

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
        """The plan's layers, then the walls as the worker itself reported them."""
        walls = [
            IsolationLayer(
                name=name,
                active=bool(self.walls.get(name, {}).get("active")),
                required=bool(self.walls.get(name, {}).get("required", True)),
                detail=str(self.walls.get(name, {}).get("detail", "not reported by the worker")),
            )
            for name in WALLS
        ]
        return [*self.plan.layers, *walls]

    def request(
        self,
        message: dict[str, Any],
        *,
        timeout_s: float = 120.0,
        on_message: Callable[[dict[str, Any]], None] | None = None,
        final: tuple[str, ...] = ("ready", "done", "probe", "escape", "self_check"),
    ) -> dict[str, Any]:
        """Sends one request and reads replies until a final one (or an error)."""
        self.send(message)
        return self.receive(timeout_s=timeout_s, on_message=on_message, final=final)

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        if self.process.poll() is not None:  # bwrap or nsinit gone: the worker inside dies with it
            raise WorkerError(f"the model worker exited ({self._why()})", "run `txcopilot doctor`")
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
        final: tuple[str, ...] = ("ready", "done", "probe", "escape", "self_check"),
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
                if isinstance(reply.get("walls"), dict):
                    self.walls = reply["walls"]
                if reply.get("type") == "error":
                    if reply.get("kind") == "isolation":
                        raise IsolationMissing(f"the model sandbox lacks {reply.get('message')}")
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
            return f"the sandbox could not build the worker's world{': ' + tail[-1] if tail else ''}"
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


def start_worker(
    load: dict[str, Any], *, read_only: Sequence[Path] = (), timeout_s: float = 120.0
) -> Worker:
    """Starts a worker and loads the backend described by `load` (see copilot.llm.worker)."""
    worker = launch_worker(load, read_only=read_only)
    worker.wait_loaded(timeout_s=timeout_s)
    return worker


def launch_worker(load: dict[str, Any], *, read_only: Sequence[Path] = ()) -> Worker:
    """Starts a worker and asks it to load, without waiting: the model loads while the caller works
    on (a review decodes and checks the request meanwhile). Call `wait_loaded` before a request.

    `read_only`: paths the worker may read besides its own (the KV-prefix cache). With
    `load["require_walls"]`, a missing layer stops it before the model is opened: here for the
    layers the parent builds, in the worker for seccomp and Landlock."""
    plan = plan_sandbox(
        load.get("model_path"), read_only, gpu=int(load.get("n_gpu_layers") or 0) != 0
    )
    missing = plan.missing()
    if load.get("require_walls") and missing:
        raise IsolationMissing(missing_layers_line(missing))
    if load.get("model_path"):  # the world shows the file at its real path, not through a link
        load = {**load, "model_path": os.path.realpath(load["model_path"])}
    worker = Worker(plan)
    try:
        worker.send({"type": "load", **load})
    except BaseException:
        worker.close()
        raise
    worker.loading = True
    return worker


def missing_layers_line(missing: Sequence[IsolationLayer]) -> str:
    names = ", ".join(layer.name for layer in missing)
    return f"the model sandbox lacks its {names} layer{'s' if len(missing) > 1 else ''} (`txcopilot doctor` says why)"
