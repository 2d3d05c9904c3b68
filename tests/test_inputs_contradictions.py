"""Requests that say two different things at once are refused: what is shown must be what is signed.

Each case is an InputError: `txcopilot decode` exits 2 with one line naming the conflicting fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.errors import InputError
from copilot.inputs import parse_request

TO = "0x1111111111111111111111111111111111111111"
DELEGATE = "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B"
AUTH = {"chainId": "0x1", "address": DELEGATE, "nonce": "0x0", "yParity": "0x0", "r": "0x1", "s": "0x1"}
BLOB_HASH = "0x01" + "ab" * 31
BASE = {"from": TO, "to": TO, "value": "0x0", "nonce": "0x1", "gas": "0x5208", "chainId": "0x1"}


def decode_cli(text: str) -> Any:
    return CliRunner().invoke(cli, ["decode", text])


def assert_one_line_exit_2(text: str, *names: str) -> str:
    result = decode_cli(text)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    for name in names:
        assert name in result.output
    return str(result.output)


CONTRADICTIONS = [
    ({"gasPrice": "5000000000", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"}, ("gasPrice", "maxFeePerGas")),
    ({"gasPrice": "0x1", "maxPriorityFeePerGas": "0x1"}, ("gasPrice", "maxPriorityFeePerGas")),
    ({"type": "0x2", "gasPrice": "0x1"}, ("type 0x2", "gasPrice")),
    ({"type": "0x0", "maxFeePerGas": "0x1"}, ("type 0x0", "maxFeePerGas")),
    ({"type": "0x1", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"}, ("type 0x1", "maxFeePerGas")),
    ({"type": "0x0", "gasPrice": "0x1", "accessList": [{"address": TO, "storageKeys": []}]}, ("type 0x0", "accessList")),
    ({"type": "0x2", "authorizationList": [AUTH]}, ("type 0x2", "authorizationList")),
    ({"type": "0x4", "maxFeePerGas": "0x1"}, ("type 0x4", "authorizationList")),
    ({"type": "0x4", "authorizationList": []}, ("type 0x4", "authorizationList")),
    ({"type": "0x3", "maxFeePerGas": "0x1", "maxFeePerBlobGas": "0x1"}, ("type 0x3", "blobVersionedHashes")),
    ({"authorizationList": [AUTH], "blobVersionedHashes": [BLOB_HASH]}, ("authorizationList", "blobVersionedHashes")),
    ({"gasPrice": "0x1", "maxFeePerBlobGas": "0x1"}, ("maxFeePerBlobGas", "gasPrice")),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "names"), CONTRADICTIONS)
def test_contradictory_transaction_fields_are_refused_naming_both(
    fields: dict[str, Any], names: tuple[str, ...]
) -> None:
    tx = {**BASE, **fields}
    with pytest.raises(InputError) as raised:
        parse_request(json.dumps(tx))
    for name in names:
        assert name in str(raised.value)
    # the same through a JSON-RPC request, end to end
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [tx]}
    assert_one_line_exit_2(json.dumps(request), *names)


def test_consistent_objects_still_decode() -> None:
    # The fields of each type on their own are fine, and an empty access list on a legacy tx signs the same.
    for fields in (
        {"gasPrice": "0x1"},
        {"type": "0x0", "gasPrice": "0x1", "accessList": []},
        {"gasPrice": "0x1", "accessList": [{"address": TO, "storageKeys": []}]},
        {"maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1"},
        {"type": "0x4", "maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1", "authorizationList": [AUTH]},
        {"maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1", "maxFeePerBlobGas": "0x1", "blobVersionedHashes": [BLOB_HASH]},
    ):  # fmt: skip
        result = CliRunner().invoke(cli, ["decode", json.dumps({**BASE, **fields}), "--json"])
        assert result.exit_code == 0, (fields, result.output)
        assert json.loads(result.stdout)["transaction"]["signing_hash"] is not None


DUPLICATES = [
    ('{"to": "0x1111111111111111111111111111111111111111", "to": "0x2222222222222222222222222222222222222222"}', "to"),
    ('{"jsonrpc": "2.0", "method": "eth_sendTransaction", "method": "personal_sign", "params": []}', "method"),
    ('{"method": "eth_sendTransaction", "params": [{"to": "' + TO + '", "value": "0x1", "value": "0x9"}]}', "value"),
    ('{"method": "eth_signTypedData_v4", "params": ["' + TO + '", "{\\"types\\": {}, \\"types\\": {}}"]}', "types"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key"), DUPLICATES)
def test_duplicate_json_keys_are_refused_naming_the_key(text: str, key: str) -> None:
    with pytest.raises(InputError, match=f"key '{key}' twice"):
        parse_request(text)
    assert_one_line_exit_2(text, f"key '{key}' twice")


def test_request_chain_id_must_agree_with_the_params() -> None:
    tx = {**BASE, "maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1"}
    clash = {"method": "eth_sendTransaction", "chainId": "eip155:10", "params": [tx]}
    assert_one_line_exit_2(json.dumps(clash), "chainId 10", "params chainId 1")
    calls = {
        "method": "wallet_sendCalls",
        "chainId": "0x5",
        "params": [{"chainId": "0x1", "calls": [{"to": TO}]}],
    }
    assert_one_line_exit_2(json.dumps(calls), "chainId 5")
    typed = {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}],
            "Hi": [{"name": "x", "type": "uint8"}],
        },
        "primaryType": "Hi",
        "domain": {"chainId": 1},
        "message": {"x": 1},
    }
    request = {"method": "eth_signTypedData_v4", "chainId": 137, "params": [TO, typed]}
    assert_one_line_exit_2(json.dumps(request), "domain.chainId")
    agree = {"method": "eth_sendTransaction", "chainId": "0x1", "params": [tx]}
    assert parse_request(json.dumps(agree)).chain_id == 1


def test_decode_of_binary_input_is_one_line_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "tx.json"
    binary.write_bytes(b'{"to": "\xff\xfe"}')
    assert_one_line_exit_2(str(binary), "not UTF-8")
    result = CliRunner().invoke(cli, ["decode", "-"], input=b"\x89PNG\r\n\x1a\n\x00\x00")
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "not UTF-8" in result.output
