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
    # The curated burn(uint256) wins over the dump, and the dump's other match is mentioned.
    call = decode_call(UNKNOWN, 0, calldata(BURN, 5 << 128), 1)
    assert call.function == BURN and any("4byte" in note for note in call.notes)


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
