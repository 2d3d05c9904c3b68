"""Hostile input never ends in an internal error (exit 70): each case here is one clear line with a
documented exit status, wherever txcopilot reads it (requests, history exports, the audit log, config)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import ROOT, import_account, light_keystore, password_file, run_cli

from copilot.cli.main import cli
from copilot.errors import ConfigError, ExitCode
from copilot.parsing import MAX_DEPTH, JSONTextError, load_json, load_toml
from copilot.resources import fixtures_dir
from copilot.signing.auditlog import AuditLog
from copilot.state.prices import parse_prices

USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
ANVIL_KEY_0 = ANVIL_ACCOUNTS[0][1]
REQUEST = fixtures_dir() / "demo" / "unlimited-approval.json"
HUGE = "7" * 5000  # past Python's 4,300-digit int-string limit


def run(args: list[str], input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=input)


def assert_one_line(result: Result, code: ExitCode, *words: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def data_dir() -> Path:
    path = Path(os.environ["TXCOPILOT_HOME"]) / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def history(tmp_path: Path, text: str, name: str = "history.jsonl") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- the loaders


def test_json_loader_maps_every_hostile_number_and_nesting_to_a_decode_error() -> None:
    cases = {
        '{"a": ' + HUGE + "}": "more than 4300 digits",
        '{"a": 1e400}': "1e400 is out of range",
        '{"a": NaN}': "NaN is not a JSON number",
        "[" * 100_000 + "]" * 100_000: "nested too deeply",
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1): f"nested more than {MAX_DEPTH} deep",
    }
    for text, words in cases.items():
        with pytest.raises(json.JSONDecodeError) as caught:
            load_json(text)
        assert isinstance(caught.value, JSONTextError) and words in caught.value.msg
    with pytest.raises(json.JSONDecodeError) as caught:
        load_json('{"ok": 1,\n "a": -' + HUGE + "}")
    assert (caught.value.lineno, caught.value.colno) == (2, 7)  # where the long number starts
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert load_json('{"a": 1.5, "b": ' + "9" * 4300 + "}")["a"] == 1.5


def test_toml_loader_maps_a_huge_integer_to_a_decode_error() -> None:
    import tomllib

    with pytest.raises(tomllib.TOMLDecodeError, match="more than 4300 digits"):
        load_toml("a = " + HUGE)


# --------------------------------------------------------------------------- numbers past the int-string limit


def test_a_huge_integer_in_a_request_is_bad_input() -> None:
    request = '{"to": "0x' + "11" * 20 + '", "value": ' + HUGE + "}"
    for command in (["decode", "-"], ["review", "-", "--no-llm"]):
        assert_one_line(run(command, request), ExitCode.BAD_INPUT, "invalid JSON at line 1", "4300 digits")


def test_a_huge_integer_in_config_policy_prices_and_address_book_is_a_config_error(tmp_path: Path) -> None:
    config = Path(os.environ["TXCOPILOT_HOME"]) / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(f"[review]\nx = {HUGE}\n")
    assert_one_line(run(["review", str(REQUEST), "--no-llm"]), ExitCode.CONFIG, "config.toml", "4300 digits")
    (config / "config.toml").unlink()

    policy = tmp_path / "p.toml"
    policy.write_text(f"x = {HUGE}\n")
    assert_one_line(run(["review", str(REQUEST), "--no-llm", "--policy", str(policy)]), ExitCode.CONFIG, "4300 digits")

    (data_dir() / "addressbook.json").write_text('{"0x' + "11" * 20 + '": ' + HUGE + "}")
    assert_one_line(run(["review", str(REQUEST), "--no-llm"]), ExitCode.CONFIG, "address book")

    with pytest.raises(ConfigError, match="4300 digits"):
        parse_prices(f"ETH = {HUGE}\n", tmp_path / "prices.toml")


def test_a_huge_integer_in_a_keystore_file_is_bad_input(tmp_path: Path) -> None:
    keyfile = tmp_path / "key.json"
    keyfile.write_text('{"version": ' + HUGE + "}")
    result = run(["keys", "import", str(keyfile), "--name", "k", "--password-file", str(password_file(tmp_path))])
    assert_one_line(result, ExitCode.BAD_INPUT, "not a keystore")


def test_a_huge_integer_or_deep_nesting_in_a_threat_list_is_bad_input(tmp_path: Path) -> None:
    for name, text in (("huge.json", '["0x' + "11" * 20 + '", ' + HUGE + "]"), ("deep.json", "[" * 100_000 + "]" * 100_000)):
        (tmp_path / name).write_text(text)
        assert_one_line(run(["intel", "import", str(tmp_path / name)]), ExitCode.BAD_INPUT, "not valid JSON")


# --------------------------------------------------------------------------- audit --file


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
        ("deep.json", "[" + "[" * 100_000 + "]" * 100_000 + "]", "nested too deeply"),
        ("huge.jsonl", '{"hash": "0x' + "11" * 32 + '", "value": ' + HUGE + "}\n", "4300 digits"),
        ("huge.json", '[{"hash": "0x' + "11" * 32 + '", "value": ' + HUGE + "}]", "4300 digits"),
        ("garbage.jsonl", "{not json\n[1, 2]\n", "line 1: invalid JSON"),
    ],
)
def test_an_audit_in_which_no_row_can_be_read_exits_2(tmp_path: Path, name: str, text: str, reason: str) -> None:
    result = run(["audit", "--address", USER, "--file", history(tmp_path, text, name), "--no-llm", "--no-cache"])
    assert_one_line(result, ExitCode.BAD_INPUT, "no row of", "could be read", reason)


def test_an_audit_with_one_readable_row_still_reports_the_bad_ones(tmp_path: Path) -> None:
    good = json.dumps({"hash": "0x" + "22" * 32, "from": USER, "to": "0x" + "33" * 20, "value": "0x1", "input": "0x"})
    text = '{"a": ' * 100_000 + "1" + "}" * 100_000 + "\n" + good + "\n"
    result = run(["audit", "--address", USER, "--file", history(tmp_path, text), "--no-llm", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bad_rows"] == 1 and "nested too deeply" in report["bad_row_details"][0]["reason"]


def test_a_timestamp_no_date_can_show_is_a_bad_row(tmp_path: Path) -> None:
    good = json.dumps({"hash": "0x" + "22" * 32, "from": USER, "to": "0x" + "33" * 20, "value": "0x1", "input": "0x"})
    bad = json.dumps({"hash": "0x" + "44" * 32, "from": USER, "to": "0x" + "33" * 20, "value": "0x1", "timestamp": 2**255})
    result = run(["audit", "--address", USER, "--file", history(tmp_path, f"{good}\n{bad}\n"), "--no-llm", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(b["line"], "is not a date" in b["reason"]) for b in report["bad_row_details"]] == [(2, True)]


def test_a_quantity_wider_than_256_bits_is_a_bad_row(tmp_path: Path) -> None:
    """A hex block number of 4,400 digits is a number Python reads, and one a --json report could not
    carry: more than 4,300 decimal digits."""
    good = json.dumps({"hash": "0x" + "22" * 32, "from": USER, "to": "0x" + "33" * 20, "value": "0x1", "input": "0x"})
    rows = [json.dumps({"hash": "0x" + "44" * 32, "from": USER, "to": "0x" + "33" * 20, field: value})
            for field, value in (("blockNumber", "0x" + "9" * 4400), ("value", -1), ("nonce", "0x1" + "0" * 64))]
    result = run(["audit", "--address", USER, "--file", history(tmp_path, "\n".join([good, *rows]) + "\n"), "--no-llm", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(b["line"], "not a uint256 quantity" in b["reason"]) for b in report["bad_row_details"]] == [
        (2, True), (3, True), (4, True)
    ]


# --------------------------------------------------------------------------- the audit log


@pytest.mark.parametrize(
    "line",
    ["[1, 2]", '"an entry"', "17", '{"seq": 1e400}', '{"seq": NaN}', '{"seq": 0, "data": ' + HUGE + "}",
     "[" * 100_000 + "]" * 100_000],
)
def test_log_show_refuses_a_line_that_is_not_an_entry(line: str) -> None:
    (data_dir() / "audit.jsonl").write_text(line + "\n")
    for args in (["log", "show"], ["log", "show", "--json"]):
        assert_one_line(run(args), ExitCode.ENVIRONMENT, "damaged at line 1")
    result = run(["log", "verify"])
    assert result.exit_code == ExitCode.ENVIRONMENT and "line 1: not" in result.stdout and "internal" not in result.stderr


def test_log_show_takes_an_entry_whose_data_is_not_an_object() -> None:
    (data_dir() / "audit.jsonl").write_text('{"seq": 0, "time": "t", "event": "review", "data": [1, 2]}\n')
    result = run(["log", "show"])
    assert result.exit_code == 0 and result.stdout.startswith("0\tt\treview")


def test_sign_refuses_to_chain_to_an_out_of_range_last_entry(tmp_path: Path) -> None:
    pw = import_account(tmp_path, ANVIL_KEY_0, "hot")
    (data_dir() / "audit.jsonl").write_text('{"seq": 1e400, "hash": "00"}\n')
    result = run(["sign", str(REQUEST), "--account", "hot", "--no-llm", "--password-file", str(pw)])
    assert_one_line(result, ExitCode.ENVIRONMENT, "the last entry is damaged")


# --------------------------------------------------------------------------- requests


def test_eip712_type_names_with_spaces_around_them_are_refused(tmp_path: Path) -> None:
    pw = import_account(tmp_path, ANVIL_KEY_0, "hot")
    domain = [{"name": "name", "type": "string"}]
    for types, primary in (
        ({"EIP712Domain": domain, "Mail": [{"name": "from", "type": "Person "}], "Person": [{"name": "a", "type": "uint256"}]}, "Mail"),
        ({"EIP712Domain": domain, "Mail": [{"name": "n", "type": "uint256 "}]}, "Mail"),
        ({"EIP712Domain": domain, "Mail ": [{"name": "n", "type": "uint256"}]}, "Mail "),
    ):
        message = {"from": {"a": 1}} if "Person" in types else {"n": 1}
        request = json.dumps({"types": types, "primaryType": primary, "domain": {"name": "x"}, "message": message})
        for args in (["decode", "-"], ["sign", "-", "--account", "hot", "--no-llm", "--password-file", str(pw)]):
            assert_one_line(run(args, request), ExitCode.BAD_INPUT, "has spaces around it")


def test_typed_data_the_signing_library_cannot_encode_is_refused_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review reads "0X1" and "-0x1" as numbers; eth-account's encoder raises on them at signing time."""
    pw = import_account(tmp_path, ANVIL_KEY_0, "hot")
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)  # typed.blind asks: answer y
    types = {"EIP712Domain": [{"name": "name", "type": "string"}], "M": [{"name": "u", "type": "uint256"}, {"name": "i", "type": "int8"}]}
    for message in ({"u": "0X1", "i": 1}, {"u": 1, "i": "-0x1"}):
        request = tmp_path / "typed.json"
        request.write_text(json.dumps({"types": types, "primaryType": "M", "domain": {"name": "x"}, "message": message}))
        result = run(["sign", str(request), "--account", "hot", "--no-llm", "--password-file", str(pw)], "y\n")
        assert result.exit_code == ExitCode.REFUSED, result.output
        assert result.stderr.splitlines()[-1].startswith("error: eth-account cannot encode this typed data")
    assert not [e for e in AuditLog().entries() if e.get("event") == "signature"]


PERMIT2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3"


@pytest.mark.parametrize("expiration", [300_000_000_000, 2**40 - 1])
def test_an_expiry_past_the_year_9999_decodes_without_a_date(expiration: int) -> None:
    """Permit2's uint48 expiration and 1inch's 40-bit expiry reach years datetime cannot show."""
    from eth_abi import encode
    from eth_utils import keccak

    call = keccak(text="approve(address,address,uint160,uint48)")[:4] + encode(
        ["address", "address", "uint160", "uint48"], ["0x" + "a0" * 20, "0x" + "55" * 20, 10**18, expiration]
    )
    request = json.dumps({"from": USER, "to": PERMIT2, "data": "0x" + call.hex(), "chainId": "0x1"})
    for args in (["decode", "-"], ["decode", "-", "--json"], ["review", "-", "--no-llm"]):
        result = run(args, request)
        assert result.exit_code == 0, result.output
    assert "past the year 9999" in " ".join(run(["decode", "-"], request).stdout.split())  # rich wraps lines

    order = json.loads(fixtures_dir().joinpath("requests", "benign-1inch-limit-order.json").read_text())["request"]
    typed = json.loads(order["params"][1])
    traits = int(typed["message"]["makerTraits"])
    typed["message"]["makerTraits"] = str(traits & ~((2**40 - 1) << 80) | expiration << 80)
    order["params"][1] = json.dumps(typed)
    result = run(["decode", "-"], json.dumps(order))
    assert result.exit_code == 0 and "past the year 9999" in " ".join(result.stdout.split()), result.output


def test_a_second_transaction_in_params_is_refused_not_dropped() -> None:
    tx = {"from": USER, "to": "0x" + "11" * 20, "value": "0x1"}
    for method, params in (
        ("eth_sendTransaction", [tx, {**tx, "value": "0xde0b6b3a7640000"}]),
        ("eth_signTransaction", [tx, tx]),
        ("eth_sendRawTransaction", ["0x02", "0x02"]),
        ("eth_sign", [USER, "0x" + "ab" * 32, "0x" + "cd" * 32]),
    ):
        request = json.dumps({"method": method, "params": params})
        assert_one_line(run(["decode", "-"], request), ExitCode.BAD_INPUT, f"{method} has {len(params)} params")


# --------------------------------------------------------------------------- files and folders


def test_password_file_reads_are_capped(tmp_path: Path) -> None:
    """/dev/zero is one endless line: the read stops at a bound (a memory cap makes an unbounded read fail
    fast instead of filling the machine)."""
    light_keystore(tmp_path, ANVIL_KEY_0, name="src")
    cap = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))\n"
    for args in (
        ["keys", "new", "fresh", "--password-file", "/dev/zero"],
        ["keys", "import", str(tmp_path / "src.json"), "--name", "k", "--password-file", "/dev/zero"],
    ):
        done = run_cli(args, tmp_path / "home", prelude=cap)
        assert done.returncode == ExitCode.BAD_INPUT, done.stderr
        assert done.stderr.count("\n") == 1 and "longer than 4096 bytes" in done.stderr


def test_a_file_in_place_of_the_data_dir_is_an_environment_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "data").write_text("not a folder")
    monkeypatch.setenv("TXCOPILOT_HOME", str(home))
    for args in (["keys", "list"], ["log", "show"], ["log", "verify"], ["book", "add", USER, "me"]):
        assert_one_line(run(args), ExitCode.ENVIRONMENT, "data", "a file is in the way")


def _read_only_mount_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _read_only_mount_works(), reason="needs unshare -rm (a private mount namespace)")
def test_a_read_only_data_dir_is_an_environment_error(tmp_path: Path) -> None:
    """The data dir is bind-mounted read-only in a private mount namespace (root writes through chmod)."""
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    script = (
        'mount --bind "$1/data" "$1/data" && mount -o remount,bind,ro "$1/data" || exit 99\n'
        'shift\nexec "$@"\n'
    )
    for args in (["keys", "list"], ["book", "add", USER, "me"], ["keys", "new", "k", "--password-file", str(REQUEST)]):
        done = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script, "sh", str(home), sys.executable, "-m", "copilot", *args],
            cwd=ROOT, env={**os.environ, "TXCOPILOT_HOME": str(home), "NO_COLOR": "1"},
            capture_output=True, text=True, timeout=60, check=False,
        )
        if done.returncode == 99:
            pytest.skip("read-only bind mounts are not allowed here")
        assert done.returncode == ExitCode.ENVIRONMENT, done.stderr
        assert done.stderr.count("\n") == 1 and "Read-only file system" in done.stderr and "writable" in done.stderr


def test_deep_json_is_refused_even_after_a_library_raised_the_recursion_limit() -> None:
    """py_ecc (pulled in by eth_account) sets the recursion limit to 100,000: CPython's C JSON scanner
    would then overflow the C stack on deep nesting and crash the process (SIGSEGV)."""
    code = (
        "import sys; sys.setrecursionlimit(100_000)\n"
        "from copilot.parsing import load_json, JSONTextError\n"
        "try:\n    load_json('[' * 1_000_000 + ']' * 1_000_000)\n"
        "except JSONTextError as exc:\n    print(exc.msg)\n"
        "print(sys.getrecursionlimit())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split("\n")[:2] == ["arrays or objects nested too deeply", "100000"]
