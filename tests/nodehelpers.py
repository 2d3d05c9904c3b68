"""A real anvil node for tests: its dev accounts, a JSON-RPC client, and a starter on a free loopback port.

The `anvil` fixture in conftest.py starts one per test; tests import these names from here, never from conftest.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
CAST = ROOT / "node_modules" / ".bin" / "cast"

# anvil's default mnemonic ("test test ... junk"): well-known throwaway keys, funded with 10,000 ETH.
ANVIL_ACCOUNTS = [
    ("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    ("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process
        self.accounts = ANVIL_ACCOUNTS
        self.chain_id = 31337

    def rpc(self, method: str, params: list[object] | None = None) -> object:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]


def start_anvil() -> Anvil:
    if not ANVIL.exists():
        pytest.fail(f"anvil not found at {ANVIL}: run the README's set-up command (npm install)")
    port = free_port()
    process = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    anvil = Anvil(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            anvil.rpc("eth_chainId")
            return anvil
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"anvil exited with status {process.returncode}")
            time.sleep(0.05)
    process.kill()
    pytest.fail("anvil did not answer within 20 s")
