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
