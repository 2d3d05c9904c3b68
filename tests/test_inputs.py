"""read_input and parse_request: every accepted input form, and a clear error for everything else."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from eth_account import Account

from copilot.errors import InputError
from copilot.inputs import MAX_INPUT_BYTES, SUPPORTED_METHODS, parse_request, read_input
from copilot.models import RequestKind

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
SIGNED = Account.from_key(KEY).sign_transaction(
    {
        "nonce": 0,
        "gas": 21_000,
        "to": USDC,
        "value": 1,
        "chainId": 1,
        "maxFeePerGas": 2,
        "maxPriorityFeePerGas": 1,
    }
)
RAW = "0x" + bytes(SIGNED.raw_transaction).hex()
HASH = "0x" + "ab" * 32
MAIL = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
        "Mail": [{"name": "contents", "type": "string"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "Ether Mail", "chainId": "0x89"},
    "message": {"contents": "Hello"},
}


def rpc(method: str, params: list[object]) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})


# --------------------------------------------------------------------------- read_input


def test_read_input_from_file_stdin_and_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request = tmp_path / "request.json"
    request.write_text(rpc("personal_sign", ["0x68690a", ADDRESS]))
    assert "personal_sign" in read_input(str(request))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(RAW.encode())))
    assert read_input("-") == RAW
    assert read_input(RAW) == RAW


def test_missing_file_directory_and_unreadable_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_input(str(tmp_path / "missing.json"))
    with pytest.raises(InputError, match="is a directory"):
        read_input(str(tmp_path))
    locked = tmp_path / "locked.json"
    locked.write_text("{}")
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # running as root: permissions do not apply
        return
    with pytest.raises(InputError, match="cannot read"):
        read_input(str(locked))


def test_oversized_input_is_refused_with_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.hex"
    big.write_bytes(b"0x" + b"00" * (MAX_INPUT_BYTES // 2))
    with pytest.raises(InputError, match="4 MiB") as error:
        read_input(str(big))
    assert "1 MiB" in error.value.one_line()  # the calldata cap is stated too


def test_binary_and_empty_input_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "tx.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InputError, match="not UTF-8"):
        read_input(str(binary))
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    with pytest.raises(InputError, match="empty"):
        read_input(str(empty))


# --------------------------------------------------------------------------- detection


def test_raw_transaction_and_hash() -> None:
    request = parse_request(f"  {RAW}\n")
    assert request.kind == RequestKind.RAW_TRANSACTION and request.raw == RAW
    assert parse_request(HASH.upper().replace("0X", "0x")).kind == RequestKind.HASH


def test_hex_wrapped_over_lines_and_a_byte_order_mark_are_tolerated() -> None:
    wrapped = "\n".join(RAW[i : i + 64] for i in range(0, len(RAW), 64))
    assert parse_request("\ufeff" + wrapped + "\n").raw == RAW


def test_tiny_legacy_transaction_of_32_bytes_is_not_taken_for_a_hash() -> None:
    # ethereum-tests ttRSValue/TransactionWithRSvalue1 is a complete signed transaction in 32 bytes.
    tiny = "0xdf800182520894095e7baea6a6c7c4c2dfeb977efac326af552d870b801b0101"
    assert len(bytes.fromhex(tiny[2:])) == 32
    assert parse_request(tiny).kind == RequestKind.RAW_TRANSACTION


def test_transaction_object_quantities_hex_or_decimal() -> None:
    request = parse_request(
        json.dumps(
            {
                "from": ADDRESS.lower(),
                "to": USDC,
                "value": "1000000000000000000",
                "gasLimit": "0x5208",
                "maxFeePerGas": 30_000_000_000,
                "input": "0xA9059CBB",
                "chainId": "0x1",
            }
        )
    )
    assert request.kind == RequestKind.TRANSACTION
    assert request.transaction == {
        "from": ADDRESS,
        "to": USDC,
        "value": 10**18,
        "gas": 21_000,
        "maxFeePerGas": 30_000_000_000,
        "data": "0xa9059cbb",
        "chainId": 1,
    }
    assert request.sender == ADDRESS and request.chain_id == 1


@pytest.mark.parametrize(
    ("tx", "message"),
    [
        ({"to": USDC, "value": "-1"}, "value must be 0x hex or a decimal"),
        ({"to": USDC, "value": hex(2**256)}, "above its maximum"),
        ({"to": USDC, "value": 1.5}, "value must be a number"),
        ({"to": "0x1234", "value": 1}, "20-byte address"),
        ({"to": USDC.replace("A0b", "A0B"), "value": 1}, "invalid EIP-55 checksum"),
        ({"to": USDC, "data": "0xabc"}, "odd number of hex digits"),
        ({"to": USDC, "customData": {"x": 1}}, "unknown field.*customData"),
        ({"to": USDC, "data": "0x00", "input": "0x01"}, "gives data twice"),
    ],
)
def test_bad_transaction_objects_name_the_field(tx: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_request(json.dumps(tx))


def test_typed_data_object_and_json_string() -> None:
    direct = parse_request(json.dumps(MAIL))
    assert direct.kind == RequestKind.TYPED_DATA and direct.chain_id == 137
    as_string = parse_request(rpc("eth_signTypedData_v4", [ADDRESS, json.dumps(MAIL)]))
    assert as_string.typed_data == MAIL and as_string.sender == ADDRESS
    assert as_string.method == "eth_signTypedData_v4"


@pytest.mark.parametrize("method", ["eth_signTypedData", "eth_signTypedData_v3", "eth_signTypedData_v4"])
def test_typed_data_methods_accept_either_parameter_order(method: str) -> None:
    swapped = parse_request(rpc(method, [MAIL, ADDRESS]))
    assert swapped.kind == RequestKind.TYPED_DATA and swapped.sender == ADDRESS


def test_legacy_typed_data_v1_is_refused_clearly() -> None:
    with pytest.raises(InputError, match="legacy v1"):
        parse_request(rpc("eth_signTypedData", [[{"type": "string", "name": "x", "value": "y"}], ADDRESS]))


def test_personal_sign_hex_text_and_swapped_params() -> None:
    standard = parse_request(rpc("personal_sign", ["0x48656c6c6f", ADDRESS]))
    swapped = parse_request(rpc("personal_sign", [ADDRESS, "0x48656c6c6f"]))
    text = parse_request(rpc("personal_sign", ["Hello", ADDRESS]))
    for request in (standard, swapped, text):
        assert request.kind == RequestKind.PERSONAL_MESSAGE
        assert request.message == "0x48656c6c6f" and request.sender == ADDRESS
    assert parse_request('"Hello"').message == "0x48656c6c6f"


def test_eth_sign_hash_and_non_hash_data() -> None:
    request = parse_request(rpc("eth_sign", [ADDRESS, HASH]))
    assert request.kind == RequestKind.HASH and request.hash == HASH and request.sender == ADDRESS
    other = parse_request(rpc("eth_sign", [ADDRESS, "0xdeadbeef"]))
    assert other.kind == RequestKind.PERSONAL_MESSAGE and other.message == "0xdeadbeef"


def test_send_and_sign_transaction_and_raw_methods() -> None:
    tx = {"from": ADDRESS, "to": USDC, "value": "0x1"}
    for method in ("eth_sendTransaction", "eth_signTransaction"):
        request = parse_request(rpc(method, [tx]))
        assert request.kind == RequestKind.TRANSACTION and request.method == method
    raw = parse_request(rpc("eth_sendRawTransaction", [RAW]))
    assert raw.kind == RequestKind.RAW_TRANSACTION and raw.raw == RAW


def test_wallet_send_calls_batch() -> None:
    params = {
        "version": "2.0.0",
        "chainId": "0x2105",
        "from": ADDRESS,
        "atomicRequired": True,
        "calls": [{"to": USDC, "value": "0x0", "data": "0x095ea7b3"}, {"to": ADDRESS, "value": "0x10"}],
    }
    request = parse_request(rpc("wallet_sendCalls", [params]))
    assert request.kind == RequestKind.CALL_BATCH and request.chain_id == 8453
    assert request.calls == [
        {"to": USDC, "value": 0, "data": "0x095ea7b3"},
        {"to": ADDRESS, "value": 16, "data": "0x"},
    ]


def test_a_labelled_corpus_case_reads_as_the_request_it_wraps() -> None:
    cases = Path(__file__).resolve().parent.parent / "fixtures" / "requests"
    for path in sorted(cases.glob("*.json")):
        case = json.loads(path.read_text())
        assert parse_request(path.read_text()) == parse_request(json.dumps(case["request"])), path.name
    # only a case is unwrapped: an object that merely has a "request" field is still refused
    with pytest.raises(InputError, match="unrecognised JSON object"):
        parse_request(json.dumps({"request": {"method": "personal_sign", "params": ["0x68", ADDRESS]}}))


def test_unknown_method_is_named_and_supported_ones_listed() -> None:
    with pytest.raises(InputError) as error:
        parse_request(rpc("eth_signTypedData_v9", []))
    line = error.value.one_line()
    assert "eth_signTypedData_v9" in line
    assert all(method in line for method in SUPPORTED_METHODS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello world", "neither hex nor JSON"),
        ("0x123", "odd number of hex digits"),
        ("0xzz", "unexpected 'z'"),
        ("0x", "empty hex"),
        ("{not json", "invalid JSON at line 1"),
        ("[1, 2]", "JSON array is not a request"),
        ('{"foo": 1}', "unrecognised JSON object"),
        ('{"method": "personal_sign"}', "personal_sign needs params"),
        ('{"method": "personal_sign", "params": ["0x68", "0x68"]}', "no 20-byte address"),
        ('{"types": {}, "primaryType": "X"}', "typed data has no 'domain'"),
    ],
)
def test_garbage_gets_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        parse_request(text)
    assert "\n" not in error.value.one_line()
