"""`txcopilot abi ...` and selector ambiguity: user ABIs, 4byte imports, and never guessing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from calldatahelpers import BOB, USDC, calldata
from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.decoding.calldata import decode_call
from copilot.decoding.selectors import selector_of
from copilot.models import CallStatus

UNKNOWN = "0x9999999999999999999999999999999999999999"
# Real selector collisions, found on 4byte.directory; the tests check that the hashes agree.
BURN, BURN_TWIN = "burn(uint256)", "collate_propagate_storage(bytes16)"
TRANSFER, TRANSFER_TWIN = "transfer(address,uint256)", "many_msg_babbage(bytes1)"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write_abi(tmp_path: Path, name: str, functions: list[tuple[str, list[tuple[str, str]]]]) -> Path:
    entries = [
        {"type": "function", "name": fn, "inputs": [{"name": n, "type": t} for n, t in inputs], "outputs": []}
        for fn, inputs in functions
    ]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(entries))
    return path


def test_collisions_used_below_are_real() -> None:
    assert selector_of(BURN) == selector_of(BURN_TWIN) == "0x42966c68"
    assert selector_of(TRANSFER) == selector_of(TRANSFER_TWIN) == "0xa9059cbb"


def test_abi_add_makes_unknown_functions_decode_with_names(tmp_path: Path) -> None:
    data = calldata("deposit(uint256,address,bytes32)", 7, BOB, b"\x01" * 32)
    assert decode_call(UNKNOWN, 0, data, 1).status is CallStatus.UNKNOWN
    path = write_abi(
        tmp_path, "vault", [("deposit", [("assets", "uint256"), ("receiver", "address"), ("ref", "bytes32")])]
    )
    result = run("abi", "add", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["functions"][0]["signature"] == "deposit(uint256,address,bytes32)"
    call = decode_call(UNKNOWN, 0, data, 1)
    assert call.status is CallStatus.DECODED and call.param("receiver") == BOB and call.param("assets") == 7
    listed = json.loads(run("abi", "list", "--json").output)
    assert listed["user"] == {"vault": 1} and "erc20" in listed["bundled"]


def test_abi_add_rejects_a_bad_file_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"type": "function", "name": "f", "inputs": [{"name": "x", "type": "uint7"}]}]')
    result = CliRunner().invoke(cli, ["abi", "add", str(bad)])
    assert result.exit_code == 3
    assert result.output.count("\n") == 1 and "uint7" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = CliRunner().invoke(cli, ["abi", "add", str(broken)])
    assert result.exit_code == 3 and "not valid JSON" in result.output
    missing = CliRunner().invoke(cli, ["abi", "add", str(tmp_path / "nope.json")])
    assert missing.exit_code == 3 and "cannot read" in missing.output


def test_two_strictly_decoding_candidates_are_ambiguous_never_guessed(tmp_path: Path) -> None:
    run("abi", "add", str(write_abi(tmp_path, "twin", [("collate_propagate_storage", [("x", "bytes16")])])))
    # 5 << 128 is a valid uint256 and, as a word, a valid right-padded bytes16: both decode.
    call = decode_call(UNKNOWN, 0, calldata(BURN, 5 << 128), 1)
    assert call.status is CallStatus.AMBIGUOUS
    assert sorted(call.candidates) == sorted([BURN, BURN_TWIN])
    assert call.function is None and call.params == []
    assert "ambiguous (2 candidates)" in call.notes[0]
    # 1000 is not a valid bytes16 word (its padding bytes are not zero): only burn decodes.
    call = decode_call(UNKNOWN, 0, calldata(BURN, 1000), 1)
    assert call.status is CallStatus.DECODED and call.function == BURN


def test_only_the_candidate_that_re_encodes_exactly_is_kept(tmp_path: Path) -> None:
    run("abi", "add", str(write_abi(tmp_path, "babbage", [("many_msg_babbage", [("b", "bytes1")])])))
    # transfer to the zero address: the first word also decodes as bytes1(0), but re-encoding
    # bytes1 gives 32 bytes, not the 64 that were sent, so only transfer fits exactly.
    call = decode_call(UNKNOWN, 0, calldata(TRANSFER, "0x" + "00" * 20, 5), 1)
    assert call.status is CallStatus.DECODED and call.function == TRANSFER


def test_import_4byte_adds_fallback_signatures_and_skips_lies(tmp_path: Path) -> None:
    dump = {
        "d09de08a": "increment()",
        "0x12345678": "notTheRightHash(uint256)",
        "42966c68": [BURN, BURN_TWIN],
        "zz": "garbage(",
    }
    path = tmp_path / "4byte.json"
    path.write_text(json.dumps(dump))
    result = run("abi", "import-4byte", str(path), "--json")
    report = json.loads(result.output)
    assert report["read"] == 5 and report["added"] == 3 and report["skipped"] == 2
    assert run("abi", "import-4byte", str(path), "--json").exit_code == 0  # importing twice adds nothing
    assert json.loads(run("abi", "list", "--json").output)["imported_4byte"] == 3

    call = decode_call(UNKNOWN, 0, bytes.fromhex("d09de08a"), 1)
    assert call.status is CallStatus.DECODED and call.function == "increment()"
    # A bundled signature does not outrank a dump twin that fits the bytes as exactly: ambiguous.
    call = decode_call(UNKNOWN, 0, calldata(BURN, 5 << 128), 1)
    assert call.status is CallStatus.AMBIGUOUS and call.function is None
    assert sorted(call.candidates) == sorted([BURN, BURN_TWIN])
    assert "ambiguous (2 candidates)" in call.notes[0]
    # Where only one of them decodes strictly (1000 is no right-padded bytes16), that one is used.
    assert decode_call(UNKNOWN, 0, calldata(BURN, 1000), 1).function == BURN


def test_a_known_contracts_own_abi_outranks_a_dump_twin(tmp_path: Path) -> None:
    path = tmp_path / "4byte.json"
    path.write_text(json.dumps({"a9059cbb": TRANSFER_TWIN, "42966c68": BURN_TWIN}))
    assert run("abi", "import-4byte", str(path)).exit_code == 0
    # transfer(0x0000…, 0) is also a valid many_msg_babbage(bytes1) word, but USDC's ABI decides.
    call = decode_call(USDC, 0, calldata(TRANSFER, "0x" + "00" * 20, 0) + b"\xca\xfe", 1)
    assert call.status is CallStatus.DECODED and call.function == TRANSFER
    assert any("2 extra byte(s)" in note for note in call.notes)


def test_index_candidates_must_re_encode_exactly_without_trailing_bytes() -> None:
    # Tolerated for a known contract's own ABI (test_calldata), never for a selector-index guess.
    call = decode_call(UNKNOWN, 0, calldata(TRANSFER, BOB, 5) + b"\xca\xfe", 1)
    assert call.status is CallStatus.UNDECODABLE and call.function is None
    assert TRANSFER in call.candidates
    assert any("2 extra byte(s)" in note and "not an exact match" in note for note in call.notes)
    assert decode_call(UNKNOWN, 0, calldata(TRANSFER, BOB, 5), 1).function == TRANSFER


def test_abi_lookup_lists_every_source(tmp_path: Path) -> None:
    result = run("abi", "lookup", "0x095EA7B3", "--json")
    matches = json.loads(result.output)["matches"]
    assert {"signature": "approve(address,uint256)", "source": "abi:erc20"} in matches
    text = run("abi", "lookup", "approve(address, uint256)").output
    assert text.startswith("0x095ea7b3  approve(address,uint256)")
    bad = CliRunner().invoke(cli, ["abi", "lookup", "0x1234"])
    assert bad.exit_code == 2 and "4-byte selector" in bad.output
    assert "no known function" in run("abi", "lookup", "0xdeadbeef").output


def test_help_has_examples() -> None:
    assert "Examples:" in run("abi", "--help").output
    assert "Examples:" in run("abi", "import-4byte", "--help").output


def test_known_token_decoding_is_unaffected_by_user_abis(tmp_path: Path) -> None:
    run("abi", "add", str(write_abi(tmp_path, "odd", [("many_msg_babbage", [("b", "bytes1")])])))
    call = decode_call(USDC, 0, calldata(TRANSFER, BOB, 10**6), 1)
    assert call.function == TRANSFER and call.params[1].display == "1 USDC"


def test_a_user_abi_with_its_own_component_names_still_decodes_nested_calls(tmp_path: Path) -> None:
    # batchExecute((address,uint256,bytes)[]) is otherwise known only from an ERC-7730 descriptor,
    # so the user's names win; nested decoding must follow the positions, not the names.
    entries = [
        {
            "type": "function",
            "name": "batchExecute",
            "inputs": [
                {
                    "name": "txs",
                    "type": "tuple[]",
                    "components": [
                        {"name": "dest", "type": "address"},
                        {"name": "wei", "type": "uint256"},
                        {"name": "payload", "type": "bytes"},
                    ],
                }
            ],
        }
    ]
    path = tmp_path / "executor.json"
    path.write_text(json.dumps(entries))
    run("abi", "add", str(path))
    inner = calldata(TRANSFER, BOB, 1)
    call = decode_call(UNKNOWN, 0, calldata("batchExecute((address,uint256,bytes)[])", [(USDC, 3, inner)]), 1)
    assert call.param("txs") == [{"dest": USDC, "wei": 3, "payload": "0x" + inner.hex()}]
    assert call.children[0].name == "transfer" and call.children[0].to == USDC and call.children[0].value == 3


def test_binary_or_duplicate_keyed_files_are_a_one_line_config_error(tmp_path: Path) -> None:
    binary = tmp_path / "binaryfile"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00")
    duplicated = tmp_path / "dup.json"
    duplicated.write_text('{"42966c68": "burn(uint256)", "42966c68": "collate_propagate_storage(bytes16)"}')
    for args in (["abi", "add", str(binary)], ["abi", "import-4byte", str(binary)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 3, result.output
        assert (
            result.output.count("\n") == 1
            and "not UTF-8" in result.output
            and "internal" not in result.output
        )
    result = CliRunner().invoke(cli, ["abi", "import-4byte", str(duplicated)])
    assert result.exit_code == 3 and "'42966c68' twice" in result.output


def test_a_damaged_imported_dump_is_a_one_line_config_error(tmp_path: Path) -> None:
    from copilot.decoding.selectors import fourbyte_path

    fourbyte_path().parent.mkdir(parents=True, exist_ok=True)
    fourbyte_path().write_bytes(b"\x00garbage, not SQLite" * 100)
    for args in (["abi", "list"], ["decode", json.dumps({"to": UNKNOWN, "data": "0xdeadbeef"})]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 3, result.output
        assert result.output.count("\n") == 1 and "import-4byte" in result.output
