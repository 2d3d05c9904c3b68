"""Fuzz the whole CLI in-process: decode, review, sign (up to the prompt), audit, log and keys import.

Whatever the input, a command ends with a documented exit status and, on failure, one line on stderr:
never exit 70, never a traceback. Inputs are mutations of the real fixtures (so the fuzzer reaches deep
into decoding, review and the audit) plus known-hostile texts. `sign` never gets the key's password: it
stops at the confirmation or password step, or (with a terminal that answers "y") at the unlock.

The profile is bounded for CI (2 cores); TXCOPILOT_FUZZ_EXAMPLES=500 runs a longer campaign.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import LIGHT_SCRYPT_N, PASSWORD, ROOT, import_account, light_keystore, password_file

from copilot.cli.main import cli
from copilot.decoding.abicodec import split_top_level
from copilot.errors import ExitCode
from copilot.resources import fixtures_dir
from copilot.signing.auditlog import AuditLog
from tests.test_fuzz_parsers import json_values

settings.register_profile(
    "cli-fuzz",
    max_examples=int(os.environ.get("TXCOPILOT_FUZZ_EXAMPLES", "50")),
    deadline=None,
    database=None,  # no example database to grow in the checkout; failures print their reproducer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
CLI_FUZZ = settings.get_profile("cli-fuzz")

DOCUMENTED = {ExitCode.OK, ExitCode.BAD_INPUT, ExitCode.CONFIG, ExitCode.ENVIRONMENT, ExitCode.REFUSED}
USER, KEY = ANVIL_ACCOUNTS[0]
HUGE = "9" * 4400


def check(result: Result, *, expect_json: bool = False) -> None:
    """A documented exit status, no traceback, and on failure exactly one `error:` line."""
    event(f"exit {result.exit_code}")  # --hypothesis-show-statistics: how far the inputs got
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.output[-2000:], result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    if result.exit_code != ExitCode.OK:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and result.stderr.endswith(errors[0] + "\n"), result.stderr[-2000:]
    elif expect_json:
        json.loads(result.stdout, parse_constant=_no_constants)  # --json output is strict JSON


def _no_constants(name: str) -> None:
    raise AssertionError(f"--json printed {name}")


def run(args: list[str], stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=stdin)


# --------------------------------------------------------------------------- mutations


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    return [*value[:head], _replaced(value[head], rest, new), *value[head + 1 :]]


nasty_scalars = st.sampled_from(
    [
        None, True, 0, -1, 2**256, 2**256 - 1, -(2**255), 10**80, 1.5, 1e300, "", " ", "0x", "0x0", "0x00",
        "0X" + "ff" * 32, "0x" + "11" * 20, "0x" + "11" * 19, "0x" + "A" * 40, "0x" + "1" * 41, "-1", "1e18",
        "\u202e", "\x00", "ｆｏｏ", "🙂", "Permit ", "uint256 ", "address[]", "bytes33", "0x" + "ab" * 600,
    ]
)


@st.composite
def json_mutated(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A real document with a few of its values (or whole subtrees) replaced by fuzzed ones."""
    document = draw(st.sampled_from(documents))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(list(_paths(document))))
        document = _replaced(document, path, draw(nasty_scalars | json_values))
    return document


def _spellings(value: Any) -> list[Any]:
    """Other ways wallets and dApps write the same value (a reviewer and a signer must agree on each)."""
    if isinstance(value, bool) or value is None:
        return [value, str(value).lower(), int(bool(value))]
    if isinstance(value, int):
        return [str(value), hex(value), "0X" + format(value, "x"), f" {value}", float(value) if abs(value) < 2**53 else value]
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        return [value.upper(), "0X" + value[2:], value[2:], value.lower(), value + "0"]
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return [int(value), hex(int(value)), value + " ", "-" + value]
    return [value]


@st.composite
def json_respelled(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A real document with a few leaves written another way, the meaning kept where a reader allows."""
    document = draw(st.sampled_from(documents))
    leaves = [p for p in _paths(document) if p and not isinstance(_at(document, p), dict | list)]
    for path in draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3)) if leaves else []:
        document = _replaced(document, path, draw(st.sampled_from(_spellings(_at(document, path)))))
    return document


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


TEXT_PIECES = ['"', "{", "[", "]", "}", ",", ":", "0", HUGE, "1e400", "NaN", "-", "\\", "\\u0000", "null", "0x", "\n"]


@st.composite
def text_mutated(draw: st.DrawFn, texts: list[str]) -> str:
    """A real text with a few characters inserted, deleted or replaced."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        piece = draw(st.sampled_from(TEXT_PIECES) | st.text(max_size=4))
        text = text[:at] + piece + text[at + cut :]
    return text


def _corpus_requests() -> list[Any]:
    out = []
    for path in sorted((fixtures_dir() / "requests").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        out.append(document.get("request", document))
    out.append(json.loads((fixtures_dir() / "demo" / "unlimited-approval.json").read_text(encoding="utf-8")))
    return out


REQUESTS = _corpus_requests()
REQUEST_TEXTS = [json.dumps(r) if not isinstance(r, str) else r for r in REQUESTS]
HOSTILE_REQUESTS = [
    "", " \n", "\ufeff{}", "0x", "0x" + "00" * 32, "null", "[]", "{}", '"text"', "[" * 50_000, "{" * 3000,
    '{"to": "0x' + "11" * 20 + '", "value": ' + HUGE + "}",
    '{"to": "0x' + "11" * 20 + '", "value": 1e400}',
    '{"to": "0x' + "11" * 20 + '", "value": NaN}',
    '{"to": "0x' + "11" * 20 + '", "to": "0x' + "22" * 20 + '"}',
    json.dumps({"method": "eth_signTypedData_v4", "params": [USER, "[" * 5000 + "]" * 5000]}),
    json.dumps({"method": "eth_signTypedData_v4", "params": [USER, '{"types": ' + HUGE + "}"]}),
    json.dumps({"method": "eth_sendTransaction", "params": [{"to": USER}, {"to": USER, "value": "0x1"}]}),
    json.dumps({"request": {"request": {"request": {}}}, "expect": {}}),
]
requests = (
    st.sampled_from(HOSTILE_REQUESTS)
    | json_respelled(REQUESTS).map(json.dumps)
    | json_mutated(REQUESTS).map(json.dumps)
    | text_mutated(REQUEST_TEXTS)
    | st.binary(max_size=64)
)


# --------------------------------------------------------------------------- decode, review, sign


@CLI_FUZZ
@given(requests, st.booleans())
def test_decode_any_request(stdin: str | bytes, as_json: bool) -> None:
    check(run(["decode", "-", *(["--json"] if as_json else [])], stdin), expect_json=as_json)


@CLI_FUZZ
@given(requests, st.booleans())
def test_review_any_request(stdin: str | bytes, as_json: bool) -> None:
    check(run(["review", "-", "--no-llm", *(["--json"] if as_json else [])], stdin), expect_json=as_json)


@pytest.fixture
def account(tmp_path: Path) -> str:
    import_account(tmp_path, KEY, "fuzz")
    return "fuzz"


@CLI_FUZZ
@given(stdin=requests)
def test_sign_any_request_stops_before_signing(account: str, stdin: str | bytes) -> None:
    result = run(["sign", "-", "--account", account, "--no-llm"], stdin)
    check(result)
    assert result.exit_code != ExitCode.OK  # no password file, no terminal: it can never sign
    assert not any(entry.get("event") == "signature" for entry in AuditLog().entries())


@CLI_FUZZ
@given(stdin=requests)
def test_sign_any_request_past_the_prompt_with_a_wrong_password(
    account: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdin: str | bytes
) -> None:
    """A terminal that answers "y", and a password that cannot open the key: the run gets through
    review, confirmation, the ledger and the signer's re-encoding, and still cannot sign."""
    monkeypatch.setattr("copilot.cli.sign.stdin_is_interactive", lambda: True)
    request = tmp_path / "request.json"
    request.write_bytes(stdin if isinstance(stdin, bytes) else stdin.encode("utf-8", "surrogatepass"))
    wrong = password_file(tmp_path, "not the password", name="wrong.txt")
    result = run(["sign", str(request), "--account", account, "--no-llm", "--password-file", str(wrong)], "y\n")
    check(result)
    assert result.exit_code != ExitCode.OK
    assert not any(entry.get("event") == "signature" for entry in AuditLog().entries())


# --------------------------------------------------------------------------- calls with fuzzed arguments


def _abi_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


def _values(kind: str) -> st.SearchStrategy[Any]:
    """Values of an ABI type, edge cases first: widths' limits, dates past 9999, known addresses."""
    if kind.endswith("]"):
        inner, size = kind[: kind.rindex("[")], kind[kind.rindex("[") + 1 : -1]
        items = _values(inner)
        return st.lists(items, min_size=int(size), max_size=int(size)) if size else st.lists(items, max_size=3)
    if kind.startswith("("):
        parts = split_top_level(kind[1:-1]) if kind != "()" else []
        return st.tuples(*(_values(part) for part in parts))
    if kind.startswith("uint"):
        top = 2 ** int(kind[4:] or 256) - 1
        return st.sampled_from([v for v in (0, 1, 10**18, 300_000_000_000, 2**40 - 1, 2**48 - 1, top) if v <= top]) | st.integers(0, top)
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if kind == "address":
        return st.sampled_from([USER, "0x" + "00" * 20, "0x" + "ff" * 20, PERMIT2_ADDRESS, "0x" + "55" * 20])
    if kind == "bool":
        return st.booleans()
    if kind == "string":
        return st.text(max_size=30)
    if kind == "bytes":
        return st.binary(max_size=80) | st.sampled_from([bytes.fromhex("095ea7b3") + bytes(64)])
    return st.binary(min_size=int(kind[5:]), max_size=int(kind[5:]))  # bytesN


PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3"
CONTRACTS = json.loads((ROOT / "abis" / "contracts.json").read_text())["contracts"]
FUNCTIONS = [
    (contract["address"], entry)
    for contract in CONTRACTS[:40]
    for name in contract["abi"]
    for entry in json.loads((ROOT / "abis" / "abi" / f"{name}.json").read_text())
    if entry.get("type") == "function"
]


@st.composite
def calls(draw: st.DrawFn) -> str:
    from eth_abi import encode
    from eth_utils import keccak

    address, function = draw(st.sampled_from(FUNCTIONS))
    types = [_abi_type(param) for param in function["inputs"]]
    selector = keccak(text=f"{function['name']}({','.join(types)})")[:4]
    data = selector + encode(types, [draw(_values(kind)) for kind in types])
    value = draw(st.sampled_from(["0x0", "0x1", hex(2**256 - 1)]))
    return json.dumps({"from": USER, "to": address, "data": "0x" + data.hex(), "value": value, "chainId": "0x1"})


@CLI_FUZZ
@given(calls(), st.sampled_from([["decode", "-"], ["decode", "-", "--json"], ["review", "-", "--no-llm"]]))
def test_decode_and_review_calls_to_known_contracts_with_any_arguments(request: str, command: list[str]) -> None:
    check(run(command, request), expect_json="--json" in command)


# --------------------------------------------------------------------------- audit


AUDIT = fixtures_dir() / "audit"


def _rows(text: str) -> Iterator[Any]:
    for line in text.splitlines():
        try:
            yield json.loads(line)
        except ValueError:  # the fixture's deliberately bad row
            continue


HISTORY_ROWS = list(_rows((AUDIT / "history.jsonl").read_text()))
AUDIT_TEXTS = [(AUDIT / name).read_text() for name in ("history.jsonl", "history.json", "raw.txt",
                                                       "etherscan-transactions.csv", "etherscan-tokens.csv")]
HOSTILE_ROWS = ["[" * 50_000, '{"hash": ' + HUGE + "}", '{"value": 1e400}', "[1, 2]", '"row"', "\x00", "0x02"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["jsonl", "array", "text"]))
    if kind == "text":
        return "history.txt", draw(text_mutated(AUDIT_TEXTS))
    rows = draw(st.lists(json_mutated(HISTORY_ROWS) | st.sampled_from(HISTORY_ROWS), min_size=1, max_size=4))
    texts = [json.dumps(row) for row in rows] + draw(st.lists(st.sampled_from(HOSTILE_ROWS), max_size=2))
    if kind == "array":
        return "history.json", "[" + ",\n".join(texts) + "]"
    return "history.jsonl", "\n".join(texts) + "\n"


@CLI_FUZZ
@given(histories(), st.sampled_from([[], ["--json"], ["--format", "md"]]))
def test_audit_any_history(tmp_path: Path, history: tuple[str, str], fmt: list[str]) -> None:
    name, text = history
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = run(["audit", "--address", USER, "--file", str(path), "--no-llm", "--no-cache", "--workers", "1", *fmt])
    check(result, expect_json=fmt == ["--json"])


# --------------------------------------------------------------------------- log


@pytest.fixture
def log_lines() -> list[str]:
    log = AuditLog()
    log.append("review", {"verdict": "allow", "risk_score": 3, "findings": ["approval.unlimited"], "account": USER})
    log.append("refusal", {"reason": "not confirmed", "payload_hash": "0x" + "ab" * 32})
    log.append("signature", {"reservation": 1, "transaction_hash": "0x" + "cd" * 32, "account": USER})
    return log.path.read_text(encoding="utf-8").splitlines()


@CLI_FUZZ
@given(st.data())
def test_log_commands_on_any_log(log_lines: list[str], data: st.DataObject) -> None:
    entries = [json.loads(line) for line in log_lines]
    lines = data.draw(
        st.lists(
            json_mutated(entries).map(lambda e: json.dumps(e, sort_keys=True))
            | text_mutated(log_lines)
            | st.sampled_from([*log_lines, *HOSTILE_ROWS, '{"seq": 1e400}', "{}", ""]),
            max_size=5,
        )
    )
    log = AuditLog()
    log.path.write_text("".join(line + "\n" for line in lines), encoding="utf-8", errors="surrogatepass")
    if data.draw(st.booleans()):
        log.head_path.write_text(data.draw(st.sampled_from(['{"count": 3, "hash": "00"}', "{", HUGE, "[]"])))
    for args in (["log", "show"], ["log", "show", "--json"], ["log", "show", "--last", "2"], ["log", "verify"],
                 ["log", "verify", "--json"]):
        check(run(args), expect_json="--json" in args)


# --------------------------------------------------------------------------- keys import


@pytest.fixture
def keystore_document(tmp_path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(light_keystore(tmp_path, KEY, name="base").read_text())
    return document


kdf_values = st.sampled_from([0, 1, 2, 3, 2**4, LIGHT_SCRYPT_N, 2**40, -1, 1.5, "16", None, [], {}])


@CLI_FUZZ
@given(st.data())
def test_keys_import_any_keystore(tmp_path: Path, keystore_document: dict[str, Any], data: st.DataObject) -> None:
    """Mutated keystores; KDF work stays small because sizes come from a short list (big ones are refused)."""
    document = json.loads(json.dumps(data.draw(json_mutated([keystore_document]))))  # a copy to edit below
    if isinstance(document, dict) and isinstance(document.get("crypto"), dict):
        params = document["crypto"].get("kdfparams")
        if isinstance(params, dict):
            for key in data.draw(st.lists(st.sampled_from(["n", "r", "p", "c", "dklen"]), max_size=2)):
                params[key] = data.draw(kdf_values)
    source = tmp_path / "fuzzed.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    secret = data.draw(st.sampled_from([PASSWORD.encode()]) | st.binary(min_size=1, max_size=12))
    name = data.draw(st.sampled_from(["k", "cold", "../up", ".hidden", "a b", "x" * 80, "ünï"]) | st.text(max_size=8))
    pw = password_file(tmp_path, secret, name="fuzz-password.txt")
    check(run(["keys", "import", str(source), "--name", name, "--password-file", str(pw)]))


# --------------------------------------------------------------------------- policies and ABIs


POLICY_TEXTS = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "policies").glob("*.toml"))]


@CLI_FUZZ
@given(text_mutated(POLICY_TEXTS) | st.sampled_from([f"x = {HUGE}", "a = " + "[" * 5000, "[limits]\nper_tx_usd = 1e400"]))
def test_policy_check_any_policy_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    check(run(["policy", "check", str(path)]))
    check(run(["review", str(fixtures_dir() / "demo" / "unlimited-approval.json"), "--no-llm", "--policy", str(path)]))


ABIS = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((ROOT / "abis" / "abi").glob("*.json"))[:6]]


@CLI_FUZZ
@given(json_mutated(ABIS) | json_respelled(ABIS), st.sampled_from(["add", "import-4byte"]))
def test_abi_add_and_import_any_document(tmp_path: Path, document: Any, command: str) -> None:
    path = tmp_path / "abi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    args = ["abi", command, str(path), *(["--name", "fuzzed"] if command == "add" else [])]
    check(run(args))
