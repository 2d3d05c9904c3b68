"""`txcopilot doctor`: is this installation fit to run the model safely?

- the llama.cpp build: a native build (GGML_NATIVE) compiled AVX-512/AMX kernels that crashed
  during prompt evaluation on the machines this project targets; a build using an instruction the
  CPU lacks dies with SIGILL. Both are detected from llama.cpp's system info and the CPU flags, and
  a tiny evaluation runs in a separate worker process so a crash is reported, not suffered;
- every isolation layer of the worker, proven by probes (a connection to a socket listening here,
  a read of a file in the data dir, the worker's own seccomp mode and PID), not assumed;
- with --sandbox-probe, escape attempts inside the exact sandbox a review's worker gets (sockets,
  writes, reads of secrets, ptrace), each `blocked` or `open`;
- the model file;
- the simulation's fork fallback (anvil), and, with --rpc, whether the node has eth_simulateV1;
- the user's node, only with --rpc.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# llama.cpp system-info feature -> /proc/cpuinfo flag the CPU needs for it
_FEATURE_FLAGS = {
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
    "AVX_VNNI": "avx_vnni",
}
_RISKY_NATIVE = ("AVX512", "AMX_INT8", "AMX_BF16")
REBUILD_HINT = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir llama-cpp-python'


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failed required check makes `doctor` exit non-zero


def build_features(system_info: str) -> set[str]:
    return {name for name, value in re.findall(r"(\w+) = (\d)", system_info) if value == "1"}


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def check_build() -> Check:
    try:
        import llama_cpp
    except ImportError as exc:
        return Check("llama.cpp build", False, f"llama-cpp-python is not importable ({exc}); run ./setup.sh")
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    features = build_features(info)
    flags = cpu_flags()
    missing = sorted(f for f in features if f in _FEATURE_FLAGS and flags and _FEATURE_FLAGS[f] not in flags)
    if missing:
        return Check(
            "llama.cpp build",
            False,
            f"built for CPU features this CPU lacks ({', '.join(missing)}): it will crash; rebuild: {REBUILD_HINT}",
        )
    risky = sorted(f for f in features if f.startswith(_RISKY_NATIVE))
    if risky:
        return Check(
            "llama.cpp build",
            False,
            f"native build with {', '.join(risky)} kernels, which crashed during prompt evaluation on "
            f"AVX-512/AMX CPUs; rebuild portable: {REBUILD_HINT}",
        )
    return Check(
        "llama.cpp build", True, f"llama-cpp-python {llama_cpp.__version__}, portable kernels: {info.strip()}"
    )


def check_model(explicit: str | None) -> tuple[Check, Path | None]:
    from copilot.errors import CopilotError
    from copilot.llm.discovery import resolve_model

    try:
        path, source = resolve_model(explicit)
    except CopilotError as exc:
        return Check("model", False, exc.one_line()), None
    if path is None:
        return Check("model", False, source), None
    return Check("model", True, f"{path} ({path.stat().st_size / 2**20:.0f} MiB, {source})"), path


def check_tiny_eval(path: Path) -> Check:
    """Load the model and generate a few tokens in a worker: a crash kills the worker, not us."""
    from copilot.errors import CopilotError
    from copilot.llm.discovery import model_settings
    from copilot.llm.explain import load_message
    from copilot.llm.sandbox import start_worker

    try:
        worker = start_worker(load_message(path, model_settings()), timeout_s=120)
    except CopilotError as exc:
        return Check("tiny evaluation", False, f"{exc.message}; rebuild: {REBUILD_HINT}")
    try:
        done = worker.request(
            {"type": "generate", "system": "Say hello.", "user": "Hello", "grammar": None, "max_tokens": 4},
            timeout_s=120,
        )
        return Check(
            "tiny evaluation",
            True,
            f"{done['generated_tokens']} tokens in {done['total_s']:.2f} s in a worker",
        )
    except CopilotError as exc:
        return Check("tiny evaluation", False, f"{exc.message}; rebuild: {REBUILD_HINT}")
    finally:
        worker.close()


def check_sandbox() -> list[Check]:
    """Each isolation layer, proven by what the worker can and cannot do (not assumed from the plan)."""
    from copilot.llm.explain import kv_prefix_dir
    from copilot.llm.sandbox import start_worker

    with tempfile.TemporaryDirectory(prefix="txcopilot-doctor-") as hidden:
        secret = Path(hidden) / "secret"
        secret.write_text("x")
        worker = start_worker({"backend": "fake", "answer": "{}"}, read_only=[kv_prefix_dir()])
        try:
            with socket.socket() as server:
                server.bind(("127.0.0.1", 0))
                server.listen()
                net = worker.request({"type": "probe", "connect": ["127.0.0.1", server.getsockname()[1]]})
            read = worker.request({"type": "probe", "read": str(secret)})
            own = worker.request({"type": "self_check"})
            layers = {layer.name: layer for layer in worker.layers}
        finally:
            worker.close()
    proven: dict[str, bool] = {
        "filesystem": not read["allowed"],
        "pid": own["pid"] <= 2,  # bwrap is PID 1 of the namespace, the fallback's worker is
        "network": not net["allowed"],
        "seccomp": own["seccomp_mode"] == "2",
        "landlock": layers["landlock"].active,
    }
    checks = [
        Check("sandbox: process", True, layers["process"].detail),
        Check(
            "sandbox: environment",
            len(own["env_keys"]) <= 8 and own["cwd_entries"] == 0,
            f"worker sees {len(own['env_keys'])} environment variables, an empty working directory",
        ),
        Check("sandbox: limits", own["limits"]["RLIMIT_CORE"] == 0, layers["limits"].detail),
    ]
    for name, ok in proven.items():
        layer = next(layer for layer in layers.values() if layer.name == name)
        detail = layer.detail if layer.active else f"MISSING: {layer.detail}"
        if name == "network":
            detail = f"{'blocked' if ok else 'OPEN'}: {detail} (probe: {net['detail']})"
        checks.append(Check(f"sandbox: {name}", ok and layer.active, detail, required=False))
    return checks


def escape_targets(folder: Path, password_file: Path | None = None) -> dict[str, Any]:
    """What the escape attempts aim at: listeners in `folder` (started by `listeners`), this
    process, and the user's directories."""
    from copilot.llm.sandbox import ROOT
    from copilot.state.dirs import cache_dir, config_dir, data_dir, keystore_dir

    decoy = password_file or folder / "password.txt"
    if password_file is None:
        decoy.write_text("a decoy password\n")
    return {
        "unix_socket": str(folder / "agent.sock"),
        "abstract_socket": f"txcopilot-probe-{os.getpid()}",
        "public_ip": "1.1.1.1",
        "resolver": _resolver(),
        "parent_pid": os.getpid(),
        "writes": {
            "the install dir": str(ROOT / "copilot"),
            "the home": str(Path.home()),
            "the cache": str(cache_dir()),
            "/tmp": tempfile.gettempdir(),
        },
        "reads": {
            "the parent's cmdline": f"/proc/{os.getpid()}/cmdline",
            "the parent's environ": f"/proc/{os.getpid()}/environ",
            "the data dir": str(data_dir()),
            "the config dir": str(config_dir()),
            "the keystore dir": str(keystore_dir()),
            "a password file": str(decoy),
        },
    }


def _resolver() -> str:
    try:
        text = Path("/etc/resolv.conf").read_text(encoding="ascii", errors="replace")
    except OSError:
        return "1.1.1.1"
    match = re.search(r"^nameserver\s+(\d+\.\d+\.\d+\.\d+)", text, re.MULTILINE)
    return match.group(1) if match else "1.1.1.1"


@contextlib.contextmanager
def listeners(targets: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Real listeners for the socket attempts: a filesystem and an abstract Unix socket, and a
    loopback TCP server (its port is added to `targets`)."""
    with contextlib.ExitStack() as stack:
        for address in (targets["unix_socket"], "\0" + targets["abstract_socket"]):
            unix = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            unix.bind(address)
            unix.listen()
        tcp = stack.enter_context(socket.socket())
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        yield {**targets, "loopback_port": tcp.getsockname()[1]}


def sandbox_probe(model: str | None = None, password_file: Path | None = None) -> dict[str, Any]:
    """Escape attempts inside the exact sandbox a review's worker gets (same model file, KV-prefix
    cache and GPU setting; a stand-in backend answers instead of the model)."""
    from copilot.errors import CopilotError
    from copilot.llm.discovery import model_settings, resolve_model
    from copilot.llm.explain import kv_prefix_dir
    from copilot.llm.sandbox import sandbox_mode, start_worker

    settings = model_settings()
    try:
        path, _ = resolve_model(model, settings)
    except CopilotError:
        path = None
    load = {"backend": "fake", "answer": "{}", "n_gpu_layers": settings.n_gpu_layers}
    if path is not None:
        load["model_path"] = str(path)
    with (
        tempfile.TemporaryDirectory(prefix="txcopilot-probe-") as folder,
        listeners(escape_targets(Path(folder), password_file)) as targets,
    ):
        worker = start_worker(load, read_only=[kv_prefix_dir()])
        try:
            results = worker.request({"type": "escape", "targets": targets})["results"]
            layers = worker.layers
        finally:
            worker.close()
    return {
        "sandbox": sandbox_mode()[0],
        "all_blocked": all(r["status"] == "blocked" for r in results),
        "layers": [layer.model_dump() for layer in layers],
        "probes": results,
    }


def check_rpc(url: str) -> Check:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            chain_id = int(json.loads(response.read())["result"], 16)
    except (OSError, ValueError, KeyError) as exc:
        return Check("node", False, f"{url} unreachable: {exc}")
    return Check("node", True, f"{url} answers, chain id {chain_id}")


def check_simulation(rpc: str | None) -> list[Check]:
    """Not required: without eth_simulateV1 and anvil, reviews say "not simulated" and keep their verdict."""
    from copilot.simulation.fork import anvil_path
    from copilot.simulation.rpc import MethodUnsupported, Node, NodeFailure

    anvil = anvil_path()
    checks = [Check("simulation fork", anvil is not None,
                    f"anvil at {anvil}" if anvil else "anvil not found: a node without eth_simulateV1 cannot simulate "
                    "(install Foundry, or run ./setup.sh with Node.js)", required=False)]
    if rpc:
        try:
            Node(rpc, time.monotonic() + 5).call("eth_simulateV1", [{"blockStateCalls": []}, "latest"])
            checks.append(Check("node simulation", True, "eth_simulateV1 available", required=False))
        except MethodUnsupported:
            checks.append(Check("node simulation", anvil is not None, "no eth_simulateV1: simulations run on an anvil fork"
                                if anvil else "no eth_simulateV1 and no anvil: reviews are not simulated", required=False))
        except NodeFailure as exc:
            checks.append(Check("node simulation", False, str(exc), required=False))
    return checks


def run_doctor(model: str | None, rpc: str | None, llm_server: Any = None) -> list[Check]:
    """`llm_server`: the user's own LLM server (copilot.llm.server.ServerTarget); reviews use it, so
    the in-process model's checks are reported but no longer fail the doctor."""
    checks = [check_build()]
    model_check, path = check_model(model)
    checks.append(model_check)
    if path is not None:
        checks.append(check_tiny_eval(path))
    if llm_server is not None:
        from copilot.llm.server import diagnose

        for check in checks:
            check.required = False
        checks.extend(Check(name, ok, detail, required) for name, ok, detail, required in diagnose(llm_server))
    checks.extend(check_sandbox())
    checks.extend(check_simulation(rpc))
    if rpc:
        checks.append(check_rpc(rpc))
    checks.append(check_threat_lists())
    return checks


def check_threat_lists() -> Check:
    """Each scam list and the age of its data: a review knows only what the lists knew when imported."""
    from copilot.errors import CopilotError
    from copilot.intel import load_index
    from copilot.intel.store import STALE_DAYS

    try:
        infos = load_index().infos
    except CopilotError as exc:
        return Check("threat lists", False, exc.one_line(), required=False)
    now = int(time.time())
    detail = "; ".join(info.summary(now) for info in infos)
    imported = [info for info in infos if not info.bundled]
    if not imported:
        return Check("threat lists", False, f"{detail}; no public list imported: `txcopilot intel import PATH` "
                     "(README: Threat lists)", required=False)
    newest = min(info.age_days(now) for info in imported)
    if newest > STALE_DAYS:
        return Check("threat lists", False, f"{detail}; the newest list is {newest} days old: import a fresh copy",
                     required=False)
    return Check("threat lists", True, detail, required=False)
