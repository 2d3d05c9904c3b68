"""Canary: a full review-and-sign run never writes the private key anywhere a user or attacker could read.

The key's hex (any case, with or without 0x) and its raw bytes are searched for in every stdout and
stderr, and in every file under the run's home (config, data, cache), HOME and TMPDIR.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from nodehelpers import ANVIL_ACCOUNTS, Anvil
from signhelpers import PASSWORD, light_keystore, password_file, run_cli, run_in_terminal

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
KEY_HEX = SENDER_KEY.removeprefix("0x")
KEY_BYTES = bytes.fromhex(KEY_HEX)
KEY_PATTERN = re.compile(KEY_HEX, re.IGNORECASE)


def leaks(blob: bytes) -> bool:
    return KEY_BYTES in blob or KEY_PATTERN.search(blob.decode("latin-1")) is not None


def test_the_canary_catches_a_leak() -> None:
    assert leaks(f"oops 0X{KEY_HEX.upper()} here".encode())
    assert leaks(b"\x00" + KEY_BYTES + b"\x00")
    assert not leaks(b"0x" + b"ab" * 32)


def scan_files(*roots: Path) -> int:
    scanned = 0
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                scanned += 1
                assert not leaks(path.read_bytes()), f"key found in {path}"
    return scanned


def dirs(tmp_path: Path) -> tuple[Path, Path, Path, Path, dict[str, str]]:
    home, user_home, tmpdir, work = (tmp_path / name for name in ("txhome", "home", "tmp", "work"))
    for directory in (home, user_home, tmpdir, work):
        directory.mkdir()
    return home, user_home, tmpdir, work, {"HOME": str(user_home), "TMPDIR": str(tmpdir)}


@pytest.mark.anvil
def test_the_private_key_never_leaves_the_keystore(tmp_path: Path, anvil: Anvil) -> None:
    home, user_home, tmpdir, work, env = dirs(tmp_path)
    pw = password_file(work)
    policy = work / "limits.toml"
    policy.write_text('name = "limits"\ndefault = "allow"\n[limits]\naction = "block"\n[limits.assets.ETH]\ndaily = 1\n')
    transfer = work / "transfer.json"
    transfer.write_text(json.dumps({"from": SENDER, "to": ANVIL_ACCOUNTS[1][0], "value": hex(10**17)}))
    message = work / "message.json"
    message.write_text(json.dumps({"method": "personal_sign", "params": ["0x" + b"canary".hex(), SENDER]}))
    wrong_pw = password_file(work / "..", "wrong")
    over = work / "over.json"
    over.write_text(json.dumps({"from": SENDER, "to": ANVIL_ACCOUNTS[1][0], "value": hex(2 * 10**18)}))

    common = ["--account", "me", "--policy", str(policy), "--rpc", anvil.url]
    runs = [
        ["keys", "import", str(light_keystore(work, SENDER_KEY)), "--name", "me", "--password-file", str(pw)],
        ["keys", "list", "--json"],
        ["sign", str(transfer), *common, "--password-file", str(pw), "--broadcast", "--json", "--no-llm"],
        ["sign", str(message), *common, "--password-file", str(pw), "--no-llm"],
        ["sign", str(transfer), *common, "--password-file", str(wrong_pw), "--no-llm"],
        ["sign", str(over), *common, "--password-file", str(pw), "--no-llm"],
        ["--debug", "sign", str(message), *common, "--password-file", str(wrong_pw), "--no-llm"],
        ["log", "show", "--json"],
        ["log", "verify"],
    ]
    outcomes = []
    for args in runs:
        result = run_cli(args, home, extra_env=env, timeout=300)
        outcomes.append(result.returncode)
        assert not leaks(result.stdout.encode()), f"key in stdout of {args}"
        assert not leaks(result.stderr.encode()), f"key in stderr of {args}"

    assert outcomes == [0, 0, 0, 0, 4, 5, 4, 0, 0], outcomes  # the runs did what they should (--debug: a traceback)
    assert scan_files(home, user_home, tmpdir) >= 4  # keystore, ledger, audit log and its head at least


def test_a_key_typed_at_the_hidden_prompt_never_leaves_the_keystore(tmp_path: Path) -> None:
    from eth_keyfile import decode_keyfile_json

    home, user_home, tmpdir, _work, env = dirs(tmp_path)
    typed_key = "0X" + KEY_HEX.upper()  # any spelling of the key must stay out of sight
    terminal_env = {**os.environ, **env, "TXCOPILOT_HOME": str(home), "NO_COLOR": "1", "TERM": "dumb"}

    status, shown = run_in_terminal(
        ["keys", "import", "--private-key", "--name", "typed"],
        terminal_env,
        [(prompt, answer.encode() + b"\n") for prompt, answer in (("Private key (hidden)", typed_key), ("Password for the new keystore", PASSWORD), ("Repeat for confirmation", PASSWORD))],
    )

    assert status == 0, shown
    assert b"imported typed: " + SENDER.encode() in shown
    assert not leaks(shown), "the typed key was echoed or printed"
    assert scan_files(home, user_home, tmpdir) >= 1
    [stored] = list((home).rglob("typed.json"))
    keyfile = json.loads(stored.read_text())
    assert keyfile["crypto"]["kdf"] == "scrypt" and keyfile["address"] == SENDER[2:].lower()
    assert decode_keyfile_json(keyfile, PASSWORD.encode()) == KEY_BYTES  # encrypted, under the typed password


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TXCOPILOT_SLOW_TESTS"), reason="runs the local model (~90 s on 2 cores): set TXCOPILOT_SLOW_TESTS=1")
def test_the_private_key_never_reaches_the_model_run(tmp_path: Path) -> None:
    home, user_home, tmpdir, work, env = dirs(tmp_path)
    pw = password_file(work)
    message = work / "message.json"
    message.write_text(json.dumps({"method": "personal_sign", "params": ["0x" + b"canary".hex(), SENDER]}))

    imported = run_cli(["keys", "import", str(light_keystore(work, SENDER_KEY)), "--name", "me", "--password-file", str(pw)], home, extra_env=env)
    signed = run_cli(["sign", str(message), "--account", "me", "--password-file", str(pw)], home, extra_env=env, timeout=600)

    assert imported.returncode == 0 and signed.returncode in (0, 5)  # the model may raise the verdict to confirm
    assert "decided by" in signed.stderr  # the review, with the model's explanation, ran
    assert not leaks((signed.stdout + signed.stderr).encode())
    scan_files(home, user_home, tmpdir)
