"""Keystores: Web3 Secret Storage vectors, compatibility with cast, import paths, hygiene."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import PASSWORD, invoke, light_keystore, password_file

from copilot.resources import fixtures_dir
from copilot.signing import keystore
from copilot.state.dirs import keystore_dir

VECTORS = json.loads((fixtures_dir() / "ethereum-tests" / "KeyStoreTests" / "basic_tests.json").read_text())


def _address_of(private_key_hex: str) -> str:
    from eth_keys.datatypes import PrivateKey

    return str(PrivateKey(bytes.fromhex(private_key_hex)).public_key.to_checksum_address())


@pytest.mark.parametrize("vector_name", sorted(VECTORS))
def test_keystore_test_vectors_import_and_decrypt_to_the_expected_key(vector_name: str, tmp_path: Path) -> None:
    vector = VECTORS[vector_name]
    source = tmp_path / f"{vector_name}.json"
    source.write_text(json.dumps(vector["json"]))
    pw = password_file(tmp_path, vector["password"])

    result = invoke(["keys", "import", str(source), "--name", "v", "--password-file", str(pw), "--json"])

    assert result.exit_code == 0, result.output
    expected = _address_of(vector["priv"])
    assert json.loads(result.stdout)["address"] == expected
    stored = json.loads(keystore.keystore_path("v").read_text())
    assert stored["crypto"]["kdf"] == "scrypt"  # pbkdf2 vectors are re-encrypted with scrypt
    with keystore.unlocked("v", vector["password"].encode()) as (key, address):
        assert bytes(key).hex() == vector["priv"]
        assert address == expected
    assert bytes(key) == bytes(32)  # wiped on the way out


def test_keys_new_is_readable_by_cast_and_private_to_the_user(tmp_path: Path, cast_bin: Path) -> None:
    result = invoke(["keys", "new", "hot", "--password-file", str(password_file(tmp_path)), "--json"])

    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    path = Path(created["path"])
    assert path.parent == keystore_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cast = subprocess.run(
        [str(cast_bin), "wallet", "address", "--keystore", str(path), "--password", PASSWORD],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert cast.stdout.strip() == created["address"]
    assert invoke(["keys", "address", "hot"]).stdout.strip() == created["address"]


def test_import_from_the_foundry_keystore_dir_that_cast_wrote(tmp_path: Path, cast_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    address, private_key = ANVIL_ACCOUNTS[1]
    subprocess.run(
        [str(cast_bin), "wallet", "import", "deployer", "--private-key", private_key, "--unsafe-password", PASSWORD],
        env={**os.environ, "HOME": str(home)}, capture_output=True, text=True, timeout=60, check=True,
    )
    monkeypatch.setenv("HOME", str(home))

    result = invoke(["keys", "import", "--foundry", "deployer", "--password-file", str(password_file(tmp_path))])

    assert result.exit_code == 0, result.output
    assert invoke(["keys", "address", "deployer"]).stdout.strip() == address


def test_wrong_password_is_one_line_and_stores_nothing(tmp_path: Path) -> None:
    source = light_keystore(tmp_path, ANVIL_ACCOUNTS[0][1])
    wrong = password_file(tmp_path, "not the password")

    result = invoke(["keys", "import", str(source), "--name", "k", "--password-file", str(wrong)])

    assert result.exit_code == 4
    assert result.stderr.strip().count("\n") == 0 and "wrong password" in result.stderr
    assert invoke(["keys", "list", "--json"]).stdout.strip() == "[]"


def test_a_private_key_on_the_command_line_is_refused_without_echoing_it(tmp_path: Path) -> None:
    private_key = ANVIL_ACCOUNTS[0][1]

    result = invoke(["keys", "import", private_key, "--name", "k", "--password-file", str(password_file(tmp_path))])

    assert result.exit_code == 2
    assert "never taken on the command line" in result.stderr
    assert private_key[2:].lower() not in result.output.lower()


def test_private_key_typed_at_the_hidden_prompt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    address, private_key = ANVIL_ACCOUNTS[2]

    result = invoke(
        ["keys", "import", "--private-key", "--name", "typed", "--password-file", str(password_file(tmp_path))],
        input=private_key.upper().replace("0X", "0x") + "\n",
    )

    assert result.exit_code == 0, result.output
    assert private_key[2:].lower() not in result.output.lower()  # the hidden prompt does not echo
    assert invoke(["keys", "address", "typed"]).stdout.strip() == address


def test_private_key_prompt_rejects_garbage_and_needs_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pw = str(password_file(tmp_path))
    no_tty = invoke(["keys", "import", "--private-key", "--name", "k", "--password-file", pw], input="00\n")
    assert no_tty.exit_code == 2 and "not a terminal" in no_tty.stderr

    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    garbage = invoke(["keys", "import", "--private-key", "--name", "k", "--password-file", pw], input="0x1234zz\n")
    assert garbage.exit_code == 2 and "not a hex private key" in garbage.stderr
    zero = invoke(["keys", "import", "--private-key", "--name", "k", "--password-file", pw], input="00" * 32 + "\n")
    assert zero.exit_code == 2 and "not a valid secp256k1" in zero.stderr
    assert keystore.list_keys() == []


def test_list_address_and_remove(tmp_path: Path) -> None:
    pw = str(password_file(tmp_path))
    for index, name in enumerate(("alice", "bob")):
        assert invoke(["keys", "import", str(light_keystore(tmp_path, ANVIL_ACCOUNTS[index][1], name=name)), "--password-file", pw]).exit_code == 0

    listed = json.loads(invoke(["keys", "list", "--json"]).stdout)
    assert [(k["name"], k["address"]) for k in listed] == [("alice", ANVIL_ACCOUNTS[0][0]), ("bob", ANVIL_ACCOUNTS[1][0])]

    duplicate = invoke(["keys", "import", str(light_keystore(tmp_path, ANVIL_ACCOUNTS[2][1], name="x")), "--name", "alice", "--password-file", pw])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.stderr

    no_tty = invoke(["keys", "remove", "alice"])
    assert no_tty.exit_code == 2 and keystore.keystore_path("alice").exists()
    assert invoke(["keys", "remove", "alice", "--yes"]).exit_code == 0
    assert [k["name"] for k in json.loads(invoke(["keys", "list", "--json"]).stdout)] == ["bob"]
    missing = invoke(["keys", "address", "alice"])
    assert missing.exit_code == 4 and "no key named 'alice'" in missing.stderr


def test_a_keystore_whose_address_field_was_altered_is_rejected(tmp_path: Path) -> None:
    source = light_keystore(tmp_path, ANVIL_ACCOUNTS[0][1])
    keyfile = json.loads(source.read_text())
    keyfile["address"] = ANVIL_ACCOUNTS[1][0][2:].lower()
    source.write_text(json.dumps(keyfile))

    result = invoke(["keys", "import", str(source), "--name", "k", "--password-file", str(password_file(tmp_path))])

    assert result.exit_code == 2 and "altered" in result.stderr


def test_unlocking_disables_core_dumps(tmp_path: Path) -> None:
    import resource
    import sys

    if resource.getrlimit(resource.RLIMIT_CORE)[1] == 0:
        pytest.skip("core dumps are already impossible here (hard limit 0)")
    invoke(["keys", "import", str(light_keystore(tmp_path, ANVIL_ACCOUNTS[0][1])), "--name", "k", "--password-file", str(password_file(tmp_path))])
    code = (
        "import resource\n"
        "from copilot.signing import keystore\n"
        "from copilot.signing.hygiene import process_is_dumpable\n"
        "hard = resource.getrlimit(resource.RLIMIT_CORE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))\n"
        "before = process_is_dumpable()\n"
        f"with keystore.unlocked('k', {PASSWORD.encode()!r}):\n"
        "    during = process_is_dumpable()\n"
        "print(before, during)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["True", "False"]



def _altered_keystore(directory: Path, alter: str) -> bytes:
    keyfile = json.loads(light_keystore(directory, ANVIL_ACCOUNTS[0][1]).read_text())
    if alter == "no-cipherparams":
        del keyfile["crypto"]["cipherparams"]
    elif alter == "bad-hex":
        keyfile["crypto"]["ciphertext"] = "zz" * 32
    elif alter == "numeric-address":
        keyfile["address"] = 12345
    elif alter == "kdfparams-list":
        keyfile["crypto"]["kdfparams"] = [1, 2]
    return json.dumps(keyfile).encode()


@pytest.mark.parametrize(
    ("contents", "exit_code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary", 2),
        (b"not json at all", 2),
        (b"[1, 2, 3]", 2),
        (b'{"version": 3, "crypto": "text"}', 2),
        ("no-cipherparams", 2),
        ("bad-hex", 2),
        ("numeric-address", 2),
        ("kdfparams-list", 2),
    ],
)
def test_a_binary_or_malformed_keystore_file_is_one_line_and_stores_nothing(tmp_path: Path, contents: bytes | str, exit_code: int) -> None:
    source = tmp_path / "source.json"
    source.write_bytes(_altered_keystore(tmp_path, contents) if isinstance(contents, str) else contents)

    result = invoke(["keys", "import", str(source), "--name", "k", "--password-file", str(password_file(tmp_path))])

    assert result.exit_code == exit_code, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and "internal error" not in result.stderr
    assert keystore.list_keys() == [] and not keystore.keystore_path("k").exists()


def test_a_binary_password_file_is_the_password_byte_for_byte(tmp_path: Path) -> None:
    binary = b"\xff\xfe\x00 \xc3 not utf-8"
    source = light_keystore(tmp_path, ANVIL_ACCOUNTS[0][1], binary)

    imported = invoke(["keys", "import", str(source), "--name", "k", "--password-file", str(password_file(tmp_path, binary)), "--json"])
    created = invoke(["keys", "new", "fresh", "--password-file", str(password_file(tmp_path, binary)), "--json"])

    assert imported.exit_code == 0, imported.output
    assert created.exit_code == 0, created.output
    with keystore.unlocked("k", binary) as (_key, address):
        assert address == ANVIL_ACCOUNTS[0][0]
    with keystore.unlocked("fresh", binary) as (_key, address):
        assert address == json.loads(created.stdout)["address"]


def _keystore_with(directory: Path, *, kdf_name: str = "scrypt", **changes: Any) -> Path:
    """A light keystore whose crypto section is changed: `kdfparams__n=...` sets kdfparams.n."""
    from eth_keyfile import create_keyfile_json

    keyfile = create_keyfile_json(bytes.fromhex(ANVIL_ACCOUNTS[0][1][2:]), PASSWORD.encode(), kdf=kdf_name, iterations=16 if kdf_name == "scrypt" else 1000)
    for name, value in changes.items():
        section, _, field = name.partition("__")
        if field:
            keyfile["crypto"][section][field] = value
        else:
            keyfile["crypto"][section] = value
    path = directory / "altered.json"
    path.write_text(json.dumps(keyfile))
    return path


@pytest.mark.parametrize(
    ("kdf", "changes", "named"),
    [
        ("scrypt", {"kdfparams__n": 2**19}, "scrypt n=524288"),
        ("scrypt", {"kdfparams__n": 1000}, "scrypt n=1000"),
        ("scrypt", {"kdfparams__r": 16}, "r=16"),
        ("scrypt", {"kdfparams__p": 9}, "p=9"),
        ("scrypt", {"kdfparams__n": 2**18, "kdfparams__r": 8, "kdfparams__p": 2}, "n*r*p"),
        ("scrypt", {"kdfparams__dklen": 64}, "dklen must be 32"),
        ("scrypt", {"kdfparams__n": "16"}, "kdfparams.n is not an integer"),
        ("scrypt", {"kdfparams__salt": "ab" * 4096}, "kdfparams.salt"),
        ("scrypt", {"cipher": "aes-256-ctr"}, "cipher 'aes-256-ctr'"),
        ("scrypt", {"kdf": "argon2id"}, "kdf 'argon2id'"),
        ("pbkdf2", {"kdfparams__c": 2**20 + 1}, "pbkdf2 c=1048577"),
        ("pbkdf2", {"kdfparams__prf": "hmac-sha512"}, "prf must be hmac-sha256"),
        ("pbkdf2", {"kdfparams__dklen": 16}, "dklen must be 32"),
    ],
)
def test_keystore_kdf_parameters_outside_the_bounds_are_refused_with_one_line(
    tmp_path: Path, kdf: str, changes: dict[str, Any], named: str
) -> None:
    source = _keystore_with(tmp_path, kdf_name=kdf, **changes)

    result = invoke(["keys", "import", str(source), "--name", "k", "--password-file", str(password_file(tmp_path))])

    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "unusable keystore" in result.stderr and named in result.stderr
    assert not keystore.keystore_path("k").exists()


def test_the_bounds_accept_what_geth_cast_ape_and_the_test_vectors_write(tmp_path: Path) -> None:
    pw = password_file(tmp_path)
    for name, (kdf, changes) in {
        "geth-light": ("scrypt", {}),  # n=16 here, r=8, p=1 (eth-keyfile and geth's standard shape)
        "pbkdf2": ("pbkdf2", {}),
    }.items():
        source = _keystore_with(tmp_path, kdf_name=kdf, **changes)
        assert invoke(["keys", "import", str(source), "--name", name, "--password-file", str(pw)]).exit_code == 0
    for params in ({"n": 2**18, "r": 8, "p": 1}, {"n": 2**18, "r": 1, "p": 8}, {"n": 2**12, "r": 8, "p": 6}):
        keyfile = json.loads(_keystore_with(tmp_path).read_text())
        keyfile["crypto"]["kdfparams"].update(params)
        keystore.check_keyfile_params(keyfile, tmp_path / "standard.json")  # raises when refused


def test_a_scrypt_keystore_asking_for_gigabytes_is_refused_before_any_derivation(tmp_path: Path) -> None:
    """n=2^20, r=64 needs 8 GiB: under a 2 GiB address-space limit, deriving would fail; refusing does not."""
    import sys

    source = _keystore_with(tmp_path, kdfparams__n=2**20, kdfparams__r=64)
    pw = password_file(tmp_path)
    code = (
        "import resource\nresource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))\n"
        "from copilot.cli.main import cli\ncli(prog_name='txcopilot')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "keys", "import", str(source), "--name", "k", "--password-file", str(pw)],
        env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 2, result.stderr
    assert "unusable keystore: scrypt n=1048576" in result.stderr and result.stderr.count("\n") == 1


def test_a_mac_of_the_wrong_length_is_a_broken_keystore_not_a_wrong_password(tmp_path: Path) -> None:
    source = _keystore_with(tmp_path, mac="ab" * 31)

    result = invoke(["keys", "import", str(source), "--name", "k", "--password-file", str(password_file(tmp_path))])

    assert result.exit_code == 2 and "mac is not 32 bytes of hex" in result.stderr and "wrong password" not in result.stderr


# Both processes pass the early "name is free" check before either writes: the race is real.
NEW_KEY_BARRIER = """
import os, pathlib, time
from copilot.signing import keystore
_require_free = keystore._require_free
def require_free(name):
    _require_free(name)
    barrier = pathlib.Path(os.environ["BARRIER"])
    (barrier / str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
keystore._require_free = require_free
"""


def test_two_concurrent_keys_new_of_one_name_keep_one_key_and_fail_the_other(tmp_path: Path, isolated_home: Path) -> None:
    import sys

    from signhelpers import ROOT

    barrier = tmp_path / "barrier"
    barrier.mkdir()
    pw = password_file(tmp_path)
    env = {**os.environ, "TXCOPILOT_HOME": str(isolated_home), "BARRIER": str(barrier)}
    code = NEW_KEY_BARRIER + "\nfrom copilot.cli.main import cli\ncli(prog_name='txcopilot')\n"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, "keys", "new", "hot", "--password-file", str(pw), "--json"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]

    assert sorted(code for code, _, _ in results) == [0, 2], results
    [(_, winner, _)] = [r for r in results if r[0] == 0]
    [(_, _, loser)] = [r for r in results if r[0] == 2]
    assert loser.count("\n") == 1 and "a key named 'hot' already exists" in loser
    assert keystore.entry("hot").address == json.loads(winner)["address"]  # the key that was printed is the one kept
    assert [p.name for p in keystore_dir().iterdir()] == ["hot.json"]  # no temp file left behind


def test_existing_data_and_keystore_dirs_with_mode_0755_are_tightened_to_0700(isolated_home: Path) -> None:
    keystores = isolated_home / "data" / "keystores"
    keystores.mkdir(parents=True, mode=0o755)
    keystores.chmod(0o755)
    keystores.parent.chmod(0o755)

    assert invoke(["keys", "list"]).exit_code == 0

    assert stat.S_IMODE(keystores.stat().st_mode) == 0o700
    assert stat.S_IMODE(keystores.parent.stat().st_mode) == 0o700


def test_a_corrupt_keystore_is_listed_as_broken_and_can_be_removed(tmp_path: Path) -> None:
    pw = str(password_file(tmp_path))
    assert invoke(["keys", "import", str(light_keystore(tmp_path, ANVIL_ACCOUNTS[0][1])), "--name", "good", "--password-file", pw]).exit_code == 0
    (keystore_dir() / "torn.json").write_bytes(b'{"version": 3, "cry')

    listed = invoke(["keys", "list"])
    as_json = json.loads(invoke(["keys", "list", "--json"]).stdout)

    assert listed.exit_code == 0
    assert "torn\tbroken: not a keystore" in listed.stdout and f"good\t{ANVIL_ACCOUNTS[0][0]}" in listed.stdout
    assert [(k["name"], k["address"], bool(k["broken"])) for k in as_json] == [("good", ANVIL_ACCOUNTS[0][0], False), ("torn", None, True)]
    removed = invoke(["keys", "remove", "torn", "--yes"])
    assert removed.exit_code == 0, removed.output
    assert not (keystore_dir() / "torn.json").exists()
    assert [k["name"] for k in json.loads(invoke(["keys", "list", "--json"]).stdout)] == ["good"]


def test_a_new_password_typed_twice_differently_stores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)

    result = invoke(["keys", "new", "hot"], input="first password\nsecond password\n")

    assert result.exit_code == 2 and "the two passwords differ; nothing was stored" in result.stderr
    assert not keystore.keystore_path("hot").exists()
