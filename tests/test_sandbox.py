"""The inference worker's isolation: no network, no data dirs, scrubbed env, limits, pipe only."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.llm.sandbox import Worker, WorkerError, namespaces_available, start_worker
from copilot.state.dirs import config_dir, data_dir, keystore_dir

needs_namespaces = pytest.mark.skipif(not namespaces_available()[0], reason=namespaces_available()[1])


@pytest.fixture
def worker() -> Iterator[Worker]:
    (keystore_dir() / "secret.json").write_text('{"crypto": "private"}')
    running = start_worker({"backend": "fake", "answer": "{}"}, [data_dir(), config_dir()])
    try:
        yield running
    finally:
        running.close()


@needs_namespaces
def test_worker_cannot_connect_to_a_socket_listening_on_the_parents_loopback(worker: Worker) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        # the same probe from this (unsandboxed) process connects: the listener is real
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        reply = worker.request({"type": "probe", "connect": ["127.0.0.1", port]})
    assert reply["allowed"] is False, reply
    assert worker.request({"type": "self_check"})["interfaces"] == ["lo"]


@needs_namespaces
def test_worker_cannot_read_the_keystore_or_data_dir(worker: Worker) -> None:
    secret = keystore_dir() / "secret.json"
    assert secret.read_text()  # readable here
    reply = worker.request({"type": "probe", "read": str(secret)})
    assert reply["allowed"] is False, reply
    # ...while the project's own files stay readable (the model must load)
    assert worker.request({"type": "probe", "read": str(Path(__file__))})["allowed"] is True


def test_worker_environment_is_scrubbed_and_limited(worker: Worker) -> None:
    check = worker.request({"type": "self_check"})
    assert set(check["env_keys"]) <= {
        "PATH",
        "LANG",
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
    assert all(home not in part for part in args[args.index("-I") :])
    assert home not in str(worker.request({"type": "self_check"}))


def test_a_dead_worker_is_a_clear_error(worker: Worker) -> None:
    worker.process.kill()
    worker.process.wait()
    with pytest.raises(WorkerError, match="exited"):
        worker.request({"type": "self_check"})


def test_missing_isolation_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copilot.llm.sandbox._unshare_ok", (False, "user namespaces refused: test"))
    running = start_worker({"backend": "fake", "answer": "{}"}, [data_dir()])
    try:
        layers = {layer.name: layer for layer in running.layers}
        assert not layers["network"].active and "UNAVAILABLE" in layers["network"].detail
        assert not layers["filesystem"].active
        assert running.request({"type": "self_check"})["cwd_entries"] == 0
    finally:
        running.close()


def test_openmp_threads_spin_on_an_idle_cpu_and_sleep_on_a_busy_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from copilot.llm import sandbox

    monkeypatch.setattr(sandbox.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(sandbox, "other_runnable_processes", lambda: 0)
    quiet = sandbox.worker_environment()
    assert quiet["GOMP_SPINCOUNT"] == "1000" and "OMP_WAIT_POLICY" not in quiet
    monkeypatch.setattr(sandbox, "other_runnable_processes", lambda: 2)
    assert sandbox.worker_environment()["OMP_WAIT_POLICY"] == "PASSIVE"


def test_runnable_processes_are_counted_from_procfs() -> None:
    import subprocess
    import sys

    from copilot.llm.sandbox import other_runnable_processes

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        assert other_runnable_processes() >= 2
    finally:
        for process in busy:
            process.kill()
