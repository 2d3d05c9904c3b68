"""The inference worker's sandbox: an allow-list world (bwrap, or the namespace fallback), seccomp and
Landlock, a scrubbed environment, limits and a pipe as its only channel. Each test runs under both
ways of building the world, forced with TXCOPILOT_SANDBOX."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.llm import sandbox
from copilot.llm.sandbox import Worker, WorkerError, bwrap_available, namespaces_available, start_worker
from copilot.llm.worker import serve
from copilot.state.dirs import config_dir, data_dir, keystore_dir

BUILDERS = [
    pytest.param(
        "bwrap", marks=pytest.mark.skipif(not bwrap_available()[0], reason=bwrap_available()[1])
    ),
    pytest.param(
        "namespaces",
        marks=pytest.mark.skipif(not namespaces_available()[0], reason=namespaces_available()[1]),
    ),
]


@pytest.fixture(params=BUILDERS)
def builder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, request.param)
    return str(request.param)


@pytest.fixture
def worker(builder: str) -> Iterator[Worker]:
    (keystore_dir() / "secret.json").write_text('{"crypto": "private"}')
    running = start_worker({"backend": "fake", "answer": "{}"})
    try:
        yield running
    finally:
        running.close()


def test_the_world_is_built_the_way_it_was_asked_and_every_layer_is_up(worker: Worker, builder: str) -> None:
    assert worker.plan.mode == builder
    layers = {layer.name: layer for layer in worker.layers}
    assert list(layers) == ["process", "environment", "limits", "filesystem", "pid", "network", "seccomp", "landlock"]
    assert all(layer.active for layer in layers.values()), layers
    check = worker.request({"type": "self_check"})
    assert check["pid"] <= 2  # its own PID namespace: bwrap is PID 1 there, the fallback's worker is
    assert check["capabilities"] == "0000000000000000"
    assert check["seccomp_mode"] == "2"  # a filter is loaded
    assert check["cwd"] == sandbox.SCRATCH


def test_worker_cannot_connect_to_a_socket_listening_on_the_parents_loopback(worker: Worker) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        # the same probe from this (unsandboxed) process connects: the listener is real
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        reply = worker.request({"type": "probe", "connect": ["127.0.0.1", port]})
    assert reply["allowed"] is False and "Operation not permitted" in reply["detail"], reply
    assert worker.request({"type": "self_check"})["interfaces"] == ["lo"]


def test_worker_sees_only_its_allow_list(worker: Worker) -> None:
    secret = keystore_dir() / "secret.json"
    assert secret.read_text()  # readable here
    assert worker.request({"type": "probe", "read": str(secret)})["allowed"] is False
    for hidden in ("/home", "/root/.bashrc", "/tmp", "/run", "/var/run", "/etc/passwd", "/etc/shadow", str(Path(__file__))):
        assert worker.request({"type": "probe", "read": hidden})["allowed"] is False, hidden
    # ...while the code it runs stays readable (the model must load)
    assert worker.request({"type": "probe", "read": sandbox.__file__})["allowed"] is True
    assert worker.request({"type": "probe", "read": "/sys/devices/system/cpu/online"})["allowed"] is True


def test_worker_environment_is_scrubbed_and_limited(worker: Worker) -> None:
    check = worker.request({"type": "self_check"})
    assert set(check["env_keys"]) <= {
        "PATH",
        "LANG",
        "TMPDIR",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONNOUSERSITE",
        "OMP_WAIT_POLICY",
        "GOMP_SPINCOUNT",
        "PWD",
    }
    assert "TXCOPILOT_HOME" in os.environ and "TXCOPILOT_HOME" not in check["env_keys"]
    assert check["cwd_entries"] == 0
    assert check["limits"]["RLIMIT_CORE"] == 0
    assert 0 < check["limits"]["RLIMIT_NOFILE"] <= 256
    assert check["limits"]["RLIMIT_CPU"] > 0
    assert check["limits"]["RLIMIT_AS"] > 0
    # stdin, stdout, stderr, the protocol's copy of stdout and the fd listing itself: nothing inherited
    assert len(check["open_fds"]) <= 5


def test_data_dir_path_is_not_passed_to_the_worker(worker: Worker) -> None:
    home = os.environ["TXCOPILOT_HOME"]
    args = [str(part) for part in worker.process.args]  # type: ignore[union-attr]  # a list: Popen got one
    assert all(home not in part for part in args)
    assert home not in str(worker.request({"type": "self_check"}))


def test_a_dead_worker_is_a_clear_error(worker: Worker) -> None:
    worker.process.kill()
    worker.process.wait()
    with pytest.raises(WorkerError, match="exited"):
        worker.request({"type": "self_check"})


def test_a_sandbox_turned_off_is_reported_layer_by_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, "none")
    running = start_worker({"backend": "fake", "answer": "{}"})
    try:
        layers = {layer.name: layer for layer in running.layers}
        for name in ("filesystem", "pid", "network", "seccomp", "landlock"):
            assert not layers[name].active, name
        assert "UNAVAILABLE" in layers["network"].detail
        assert [layer.name for layer in running.plan.missing()] == ["filesystem", "pid", "network"]
        assert running.request({"type": "self_check"})["cwd_entries"] == 0
    finally:
        running.close()


def test_without_namespaces_the_walls_still_go_up_and_the_rest_is_said_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        sandbox,
        "_probed",
        {"bwrap": (False, "bwrap refused: test"), "user namespaces": (False, "user namespaces refused: test")},
    )
    running = start_worker({"backend": "fake", "answer": "{}"})
    try:
        layers = {layer.name: layer for layer in running.layers}
        assert running.plan.mode == "none"
        assert not layers["filesystem"].active and "user namespaces refused: test" in layers["filesystem"].detail
        assert layers["seccomp"].active and layers["landlock"].active
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            reply = running.request({"type": "probe", "connect": ["127.0.0.1", server.getsockname()[1]]})
        assert reply["allowed"] is False and "Operation not permitted" in reply["detail"]
        # Landlock alone keeps the reads to the allow-list
        assert running.request({"type": "probe", "read": str(keystore_dir())})["allowed"] is False
    finally:
        running.close()


def test_a_worker_refuses_to_open_the_model_behind_a_missing_wall_when_told_to(tmp_path: Path) -> None:
    walls = {"seccomp": {"active": False, "detail": "seccomp filter not loaded: test"}}
    requests = tmp_path / "requests"
    requests.write_text(
        json.dumps({"type": "load", "backend": "fake", "answer": "{}", "require_walls": True})
        + "\n"
        + json.dumps({"type": "load", "backend": "fake", "answer": "{}"})
        + "\n"
    )
    replies = tmp_path / "replies"
    with requests.open() as stdin, replies.open("w") as stdout:
        serve(stdin, stdout, walls)
    strict, lenient = (json.loads(line) for line in replies.read_text().splitlines())
    assert strict["type"] == "error" and strict["kind"] == "isolation" and "seccomp" in strict["message"]
    assert lenient["type"] == "ready" and lenient["walls"] == walls


def test_a_strict_load_never_starts_a_worker_without_the_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, "none")
    started: list[object] = []
    monkeypatch.setattr(sandbox.subprocess, "Popen", lambda *args, **kwargs: started.append(args))
    with pytest.raises(sandbox.IsolationMissing, match="filesystem"):
        sandbox.launch_worker({"backend": "fake", "answer": "{}", "require_walls": True})
    assert started == []


def test_an_unknown_sandbox_setting_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, "chroot")
    with pytest.raises(sandbox.EnvironmentProblem, match="not a sandbox"):
        sandbox.sandbox_mode()


def test_openmp_threads_spin_on_an_idle_cpu_and_sleep_on_a_busy_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(sandbox, "other_runnable_processes", lambda: 0)
    quiet = sandbox.worker_environment("/scratch")
    assert quiet["GOMP_SPINCOUNT"] == "1000" and "OMP_WAIT_POLICY" not in quiet
    monkeypatch.setattr(sandbox, "other_runnable_processes", lambda: 2)
    assert sandbox.worker_environment("/scratch")["OMP_WAIT_POLICY"] == "PASSIVE"


def test_runnable_processes_are_counted_from_procfs() -> None:
    from copilot.llm.sandbox import other_runnable_processes

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        assert other_runnable_processes() >= 2
    finally:
        for process in busy:
            process.kill()


def test_the_data_and_config_dirs_are_never_in_the_world() -> None:
    world = sandbox.worker_world(None, [], gpu=False)
    shown = [mount.source for mount in world] + [mount.dest for mount in world]
    for secret in (data_dir(), config_dir(), keystore_dir()):
        assert not any(path == str(secret.resolve()) or path.startswith(f"{secret.resolve()}/") for path in shown if path.startswith("/"))


def test_a_working_sandbox_is_probed_once_per_boot_and_a_failing_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not namespaces_available()[0]:
        pytest.skip(namespaces_available()[1])
    runs: list[list[str]] = []
    real_run = subprocess.run

    def counting(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        runs.append(command)
        return real_run(command, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(sandbox.subprocess, "run", counting)
    monkeypatch.setattr(sandbox, "_probed", {})
    assert namespaces_available()[0] and len(runs) == 1
    monkeypatch.setattr(sandbox, "_probed", {})  # the next review's process
    assert namespaces_available()[0] and len(runs) == 1  # remembered for this boot
    failing = ["/bin/false"]
    assert not sandbox._probe_once("failing", failing)[0]
    monkeypatch.setattr(sandbox, "_probed", {})
    assert not sandbox._probe_once("failing", failing)[0] and runs.count(failing) == 2


def test_gpu_device_nodes_join_the_world_only_with_gpu_offload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "GPU_DEVICES", ("/dev/tty*",))  # stands in for /dev/nvidia* here
    def devices(*, gpu: bool) -> set[str]:
        return {m.dest for m in sandbox.worker_world(None, [], gpu=gpu) if m.kind == "dev"}
    plain = devices(gpu=False)
    assert plain == {f"/dev/{name}" for name in sandbox.DEVICES}
    if os.path.exists("/dev/tty"):
        assert "/dev/tty" in devices(gpu=True) - plain


def test_only_a_llama_cpp_state_from_the_worker_is_stored(tmp_path: Path) -> None:
    import base64

    from copilot.llm.explain import store_prefix_state

    path = tmp_path / "prefix.state"
    tokens = [1, 2, 3]
    state = b"qsgg" + (2).to_bytes(4, "little") + len(tokens).to_bytes(4, "little")
    state += b"".join(t.to_bytes(4, "little") for t in tokens) + b"kv tensors"
    for bad in ("not base64!", base64.b64encode(b"#!/bin/sh\nrm -rf ~\n").decode(),
                base64.b64encode(state[:4] + (2).to_bytes(4, "little") + (10**6).to_bytes(4, "little")).decode()):
        assert not store_prefix_state(str(path), bad, 2048) and not path.exists()
    assert store_prefix_state(str(path), base64.b64encode(state).decode(), 2048)
    assert path.read_bytes() == state and path.stat().st_mode & 0o777 == 0o600
