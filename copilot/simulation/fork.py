"""The fallback for a node without eth_simulateV1: a private anvil fork of it, on loopback.

`anvil --fork-url RPC --accounts 1` on a free 127.0.0.1 port, started on the first simulation that
needs it and reused for the rest of the process (a batch review forks once). anvil answers
eth_simulateV1 itself and fetches the state it needs from the user's node, so the fork is sent the
same payload. anvil comes from PATH, else from the npm package setup.sh installs.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import time
from pathlib import Path

from copilot.resources import ROOT
from copilot.simulation.rpc import Node, NodeFailure

_forks: dict[str, tuple[subprocess.Popen[bytes], str]] = {}


def anvil_path() -> Path | None:
    """anvil on PATH, else node_modules/.bin/anvil in the checkout; None when neither exists."""
    found = shutil.which("anvil")
    if found:
        return Path(found)
    bundled = ROOT / "node_modules" / ".bin" / "anvil"
    return bundled if bundled.exists() else None


def fork_url(rpc: str, deadline: float) -> str:
    """The URL of a running fork of `rpc`, starting one if this process has none."""
    running = _forks.get(rpc)
    if running is not None and running[0].poll() is None:
        return running[1]
    anvil = anvil_path()
    if anvil is None:
        raise NodeFailure("the node has no eth_simulateV1 and anvil is not installed for a fork")
    port = _free_port()
    process = subprocess.Popen(
        [str(anvil), "--fork-url", rpc, "--accounts", "1", "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while not _answers(url):
        if process.poll() is not None:
            raise NodeFailure(f"the anvil fork exited at start (status {process.returncode})")
        if time.monotonic() > deadline:
            _stop(process)
            raise NodeFailure("the anvil fork did not start in time")
        time.sleep(0.01)
    _forks[rpc] = (process, url)
    return url


def _answers(url: str) -> bool:
    """The fork answers JSON-RPC yet (asked through the stage's own client, half a second at most)."""
    try:
        Node(url, time.monotonic() + 0.5).call("eth_chainId", [])
    except NodeFailure:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()


@atexit.register
def stop_forks() -> None:
    """Stop every fork this process started."""
    while _forks:
        _, (process, _) = _forks.popitem()
        _stop(process)
