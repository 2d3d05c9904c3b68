"""Helpers for the signing tests: fast keystores for anvil's well-known keys, and CLI runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from copilot.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
LIGHT_SCRYPT_N = 2**12  # test keystores only: the real default (2**18) costs ~0.7 s per use
LIMITS_POLICY = """name = "limits"
default = "allow"
[limits]
action = "block"
[limits.assets.ETH]
daily = 1.5
"""


def password_file(directory: Path, password: str | bytes = PASSWORD, name: str = "password.txt") -> Path:
    """A password file as users write them: the password, then a newline. Bytes are written as they are."""
    path = directory / name
    path.write_bytes((password if isinstance(password, bytes) else password.encode("utf-8")) + b"\n")
    return path


def light_keystore(directory: Path, private_key: str, password: str | bytes = PASSWORD, name: str = "key") -> Path:
    """A valid v3 scrypt keystore with a cheap KDF, so tests stay fast."""
    from eth_keyfile import create_keyfile_json

    secret = password if isinstance(password, bytes) else password.encode("utf-8")
    keyfile = create_keyfile_json(bytes.fromhex(private_key.removeprefix("0x")), secret, kdf="scrypt", iterations=LIGHT_SCRYPT_N)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(keyfile), encoding="utf-8")
    return path


def invoke(args: list[str], input: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=input, catch_exceptions=False)


def import_account(directory: Path, private_key: str, name: str) -> Path:
    """Import one of anvil's test keys under NAME; returns the password file."""
    pw = password_file(directory)
    result = invoke(["keys", "import", str(light_keystore(directory, private_key, name=f"src-{name}")), "--name", name, "--password-file", str(pw)])
    assert result.exit_code == 0, result.output
    return pw


def limits_setup(directory: Path) -> tuple[Path, Path]:
    """Anvil's account 0 imported as "me", and LIMITS_POLICY written: (password file, policy file)."""
    from nodehelpers import ANVIL_ACCOUNTS

    pw = import_account(directory, ANVIL_ACCOUNTS[0][1], "me")
    policy = directory / "limits.toml"
    policy.write_text(LIMITS_POLICY)
    return pw, policy


def run_cli(args: list[str], env_home: Path, *, extra_env: dict[str, str] | None = None, prelude: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m copilot ARGS` in a child process (optionally after PRELUDE python code), stdin closed."""
    env = {**os.environ, "TXCOPILOT_HOME": str(env_home), "NO_COLOR": "1", **(extra_env or {})}
    code = prelude + "\nfrom copilot.cli.main import cli\ncli(prog_name='txcopilot')\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_in_terminal(
    args: list[str], env: dict[str, str], answers: list[tuple[str, bytes]], *, typeahead: bytes = b"", timeout: float = 60
) -> tuple[int, bytes]:
    """`txcopilot ARGS` with a pseudo-terminal as its controlling terminal, stdin, stdout and stderr, as a
    user runs it. TYPEAHEAD is typed at once, before any prompt; each answer (its bytes as typed: a line
    with its newline, or a control key such as b"\\x03") once its prompt is on screen (a hidden prompt
    turns echo off before it shows). Returns the exit status and every byte the terminal showed."""
    import pty
    import select
    import signal
    import time

    code = "from copilot.cli.main import cli\ncli(prog_name='txcopilot')\n"
    pid, terminal = pty.fork()
    if pid == 0:  # the child: only exec, nothing else is safe after fork
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-c", code, *args], env)
    if typeahead:
        os.write(terminal, typeahead)
    shown, seen_up_to, waiting = b"", 0, list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if waiting and waiting[0][0].encode() in shown[seen_up_to:]:
            prompt, answer = waiting.pop(0)
            seen_up_to = shown.index(prompt.encode(), seen_up_to) + len(prompt)
            os.write(terminal, answer)
        if select.select([terminal], [], [], 0.1)[0]:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the child closed its terminal
                break
            if not chunk:
                break
            shown += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    assert not waiting, f"never prompted for {waiting[0][0]!r}; the terminal showed {shown!r}"
    return os.waitstatus_to_exitcode(status), shown


def request_file(directory: Path, value: int, nonce: int = 0) -> Path:
    """A complete type 2 transfer from anvil's account 0 to account 1 on chain 31337: signable without --rpc."""
    from nodehelpers import ANVIL_ACCOUNTS

    tx = {
        "from": ANVIL_ACCOUNTS[0][0],
        "to": ANVIL_ACCOUNTS[1][0],
        "value": hex(value),
        "chainId": hex(31337),
        "nonce": hex(nonce),
        "gas": hex(21000),
        "maxFeePerGas": hex(2 * 10**9),
        "maxPriorityFeePerGas": hex(10**9),
    }
    path = directory / f"tx-{value}-{nonce}.json"
    path.write_text(json.dumps(tx))
    return path
