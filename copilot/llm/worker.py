"""The inference worker: a separate process that loads the model and answers over stdin/stdout.

It is started by copilot.llm.sandbox (never by hand) inside whatever isolation the machine allows,
reads one JSON object per line and writes one per line. It knows nothing of keys, the keystore or
the user's files: it gets facts in, text out.

Requests:  {"type": "load", "backend": "llama-cpp"|"fake", ...settings}
           {"type": "generate", "system": ..., "user": ..., "grammar": ..., "max_tokens": N,
            "prefix_cache": path|null}  (a file for the KV state of the prompt before `user`)
           {"type": "probe", "connect": [host, port]} | {"type": "probe", "read": path}
           {"type": "escape", "targets": {...}}  (copilot.llm.escape: doctor --sandbox-probe)
           {"type": "self_check"}
Replies:   {"type": "ready"|"token"|"done"|"probe"|"escape"|"self_check"|"error", ...}

Started as `python -I -c BOOT ROOT WALLS`: WALLS (JSON) names the paths Landlock lets it read; it
raises seccomp and Landlock (copilot.llm.walls) before reading its first request, and reports them
in "ready" and "self_check". A load with "require_walls" is refused (kind "isolation") when a
required wall is down, before the model file is opened.

The worker writes nothing outside its working directory (its private tmpfs): a KV-prefix state it
evaluated comes back base64-encoded in "done" ("prefix_state"), and the parent validates and stores it.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import socket
import sys
import time
from typing import IO, Any

from copilot.llm.backend import Backend, BackendSettings, FakeBackend, LlamaCppBackend


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def self_check() -> dict[str, Any]:
    """What this process can observe about its own isolation."""
    try:  # /proc/net/dev, not if_nameindex(): that needs a netlink socket, which seccomp refuses
        with open("/proc/net/dev", encoding="ascii") as handle:
            interfaces = sorted(line.split(":")[0].strip() for line in handle.readlines()[2:])
    except OSError as exc:
        interfaces = [f"error: {exc}"]
    limits = {
        name: resource.getrlimit(getattr(resource, name))[1]
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_CORE")
    }
    status = {}
    if os.path.exists("/proc/self/status"):
        with open("/proc/self/status", encoding="ascii") as handle:
            status = dict(line.split(":\t", 1) for line in handle.read().splitlines() if ":\t" in line)
    return {
        "pid": os.getpid(),
        "capabilities": status.get("CapEff", "").strip(),
        "seccomp_mode": status.get("Seccomp", "").strip(),
        "interfaces": interfaces,
        "env_keys": sorted(os.environ),
        "open_fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        if os.path.isdir("/proc/self/fd")
        else [],
        "cwd": os.getcwd(),
        "cwd_entries": len(os.listdir(".")),
        "limits": limits,
        "uid": os.getuid(),
    }


def probe(request: dict[str, Any]) -> dict[str, Any]:
    """Tries something the sandbox should forbid and says what happened (doctor and tests ask)."""
    if "connect" in request:
        host, port = request["connect"]
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return {"type": "probe", "allowed": True, "detail": f"connected to {host}:{port}"}
        except OSError as exc:
            return {"type": "probe", "allowed": False, "detail": f"{type(exc).__name__}: {exc}"}
    if "read" in request:
        try:
            with open(request["read"], "rb") as handle:
                handle.read(1)
            return {"type": "probe", "allowed": True, "detail": "readable"}
        except OSError as exc:
            return {"type": "probe", "allowed": False, "detail": f"{type(exc).__name__}: {exc}"}
    return {"type": "error", "message": "unknown probe"}


def _load(request: dict[str, Any]) -> Backend:
    if request.get("backend") == "fake":
        return FakeBackend(request["answer"], delay_s=float(request.get("delay_s", 0.0)))
    return LlamaCppBackend(
        BackendSettings(
            model_path=request["model_path"],
            n_ctx=int(request.get("n_ctx", 2048)),
            threads=request.get("threads"),
            n_gpu_layers=int(request.get("n_gpu_layers", 0)),
            repeat_penalty=float(request.get("repeat_penalty", BackendSettings.repeat_penalty)),
        )
    )


def serve(stdin: IO[str], stdout: IO[str], walls: dict[str, dict[str, Any]] | None = None) -> None:
    walls = walls or {}
    backend: Backend | None = None
    for line in stdin:
        try:
            request = json.loads(line)
            kind = request.get("type")
            if kind == "load":
                down = [f"{name}: {wall['detail']}" for name, wall in walls.items() if not wall["active"] and wall.get("required", True)]
                if request.get("require_walls") and down:
                    _send(stdout, {"type": "error", "kind": "isolation", "walls": walls, "message": "; ".join(down)})
                    continue
                started = time.perf_counter()
                try:
                    backend = _load(request)
                except ValueError as exc:  # llama.cpp: "Failed to load model from file: ..."
                    _send(stdout, {"type": "error", "kind": "unloadable", "message": f"ValueError: {exc}"})
                    continue
                _send(
                    stdout,
                    {"type": "ready", "backend": backend.name, "load_s": time.perf_counter() - started, "walls": walls},
                )
            elif kind == "generate":
                if backend is None:
                    raise RuntimeError("generate before load")
                generation = backend.generate(
                    request["system"],
                    request["user"],
                    grammar=request.get("grammar"),
                    max_tokens=int(request["max_tokens"]),
                    prefix_cache=request.get("prefix_cache"),
                    on_token=lambda piece: _send(stdout, {"type": "token", "text": piece}),
                )
                _send(
                    stdout,
                    {
                        "type": "done",
                        "text": generation.text,
                        "prompt_tokens": generation.prompt_tokens,
                        "cached_prompt_tokens": generation.cached_prompt_tokens,
                        "generated_tokens": generation.generated_tokens,
                        "forced_tokens": generation.forced_tokens,
                        "first_token_s": generation.first_token_s,
                        "total_s": generation.total_s,
                        "tokens_per_s": generation.tokens_per_s,
                        "sampled_tokens_per_s": generation.sampled_tokens_per_s,
                        "stopped_by": generation.stopped_by,
                        "prefix_state": base64.b64encode(generation.prefix_state).decode("ascii")
                        if generation.prefix_state
                        else None,
                    },
                )
            elif kind == "probe":
                _send(stdout, probe(request))
            elif kind == "escape":
                from copilot.llm.escape import run_escapes

                _send(stdout, {"type": "escape", "results": run_escapes(request["targets"])})
            elif kind == "self_check":
                _send(stdout, {"type": "self_check", **self_check(), "walls": walls})
            else:
                _send(stdout, {"type": "error", "message": f"unknown request type {kind!r}"})
        except Exception as exc:  # reported to the parent, which decides; the worker keeps serving
            _send(stdout, {"type": "error", "message": f"{type(exc).__name__}: {exc}"})


def main() -> None:
    # The protocol owns stdout: anything a library prints goes to stderr instead.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    spec: dict[str, Any] = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {"raise": False}
    if spec.get("raise"):
        from copilot.llm.walls import raise_walls

        walls = raise_walls([str(path) for path in spec.get("read", [])], [os.getcwd()])
    else:
        off = {"active": False, "detail": "turned off (TXCOPILOT_SANDBOX=none)"}
        walls = {"seccomp": off, "landlock": off}
    serve(sys.stdin, protocol_out, walls)


if __name__ == "__main__":
    main()
