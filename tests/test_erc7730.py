"""ERC-7730 rendering: each field format and path form on small handcrafted descriptors, plus the
registry lookups (deployments, ERC-wide fallbacks, EIP-712 domains) and the precomputed index."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot.decoding import erc7730
from copilot.decoding.erc7730 import (
    descriptor_signatures,
    render_call_with_descriptor,
    render_calldata,
    render_message_with_descriptor,
    render_typed_data,
)
from copilot.decoding.erc7730_descriptor import load_descriptor, merge
from copilot.decoding.erc7730_index import build_index, descriptor_root, load_index, render_index
from copilot.decoding.erc7730_render import MAX_CALLDATA_DEPTH, Node, RenderError, parse_path, resolve
from copilot.decoding.selectors import AbiFunction, function_from_signature
from copilot.models import TokenMeta
from copilot.resources import ROOT

USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
ALICE = to_checksum_address("0x00000000000000000000000000000000000a11ce")
BOB = to_checksum_address("0x0000000000000000000000000000000000000b0b")
TARGET = "0x1111111111111111111111111111111111111111"
MAX = 2**256 - 1


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> dict[str, TokenMeta]:
    """A token table double: the renderer asks it for a token's ticker and decimals by address."""
    table = {
        USDC.lower(): TokenMeta(address=USDC, symbol="USDC", decimals=6),
        WETH.lower(): TokenMeta(address=WETH, symbol="WETH", decimals=18),
    }
    monkeypatch.setattr(erc7730._SERVICES, "token", lambda chain_id, address: table.get(address.lower()))
    monkeypatch.setattr(erc7730._SERVICES, "name", lambda chain_id, address: None)
    return table


def call(signature: str, *args: Any) -> bytes:
    parsed = parse_signature(signature)
    return keccak(text=parsed.signature)[:4] + encode(parsed.types, list(args))


def parse_signature(signature: str) -> AbiFunction:
    return function_from_signature(signature, "erc7730")


def descriptor(key: str, fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "context": {"contract": {"deployments": [{"chainId": 1, "address": TARGET}]}},
        "metadata": {"owner": "Test Owner", **extra.pop("metadata", {})},
        "display": {"formats": {key: {"intent": "Do it", "fields": fields}}, **extra},
    }


def shown(result: erc7730.ClearSign | None) -> dict[str, str]:
    assert result is not None
    return {f.label: f.value for f in result.fields}


def render(
    key: str, fields: list[dict[str, Any]], *args: Any, value: int = 0, chain_id: int = 1, **extra: Any
):
    return render_call_with_descriptor(
        descriptor(key, fields, **extra), chain_id, TARGET, call(key, *args), value
    )


# --------------------------------------------------------------------------- signatures and includes


def test_signature_with_named_nested_tuples_and_arrays_parses_to_abi_types() -> None:
    parsed = parse_signature("swap((address tokenIn, uint fee)[] legs, bytes32[2][] proofs, address)")
    assert parsed.signature == "swap((address,uint256)[],bytes32[2][],address)"
    assert [p.name for p in parsed.inputs] == ["legs", "proofs", ""]
    components = parsed.inputs[0].components
    assert components is not None and [c.name for c in components] == ["tokenIn", "fee"]


def test_unnamed_arguments_are_reachable_by_position() -> None:
    fields: list[dict[str, Any]] = [{"path": "_1", "label": "Second", "format": "raw"}]
    assert shown(render("f(uint256,uint256)", fields, 7, 8)) == {"Second": "8"}


@pytest.mark.parametrize("bad", ["approve", "approve(address spender", "f(address a) extra"])
def test_malformed_signature_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_signature(bad)


def test_includes_merge_fields_by_path_and_the_including_file_wins() -> None:
    base = {
        "display": {"formats": {"f()": {"fields": [{"path": "a", "label": "A", "params": {"x": 1, "y": 2}}]}}}
    }
    top = {"display": {"formats": {"f()": {"fields": [{"path": "a", "params": {"y": 3}}, {"path": "b"}]}}}}
    fields = merge(base, top)["display"]["formats"]["f()"]["fields"]
    assert fields == [{"path": "a", "label": "A", "params": {"x": 1, "y": 3}}, {"path": "b"}]


def test_registry_descriptor_resolves_its_includes() -> None:
    vault = load_descriptor("registry/morpho/calldata-gauntlet-gtUSDT.json")
    assert "deposit(uint256 assets, address receiver)" in vault["display"]["formats"]
    assert vault["metadata"]["constants"]["vaultTicker"] == "gtUSDT"
    assert vault["metadata"]["owner"] == "Gauntlet"


# --------------------------------------------------------------------------- paths


def test_path_roots_and_selectors_parse() -> None:
    assert parse_path("#.params.path.[-20:]") == ("#", ["params", "path", "[-20:]"])
    assert parse_path("details.[].amount") == ("", ["details", "[]", "amount"])
    assert parse_path("@.value") == ("@", ["value"])
    assert parse_path("$.metadata.enums.mode") == ("$", ["metadata", "enums", "mode"])


def test_resolve_indexes_slices_and_wildcards() -> None:
    data = Node(
        "t",
        {"xs": Node("uint256[]", [Node("uint256", n) for n in (10, 20, 30)]), "b": Node("bytes", b"abcdef")},
    )
    assert [n.value for _, n in resolve(data, ["xs", "[-1]"])] == [30]
    assert [(p, n.value) for p, n in resolve(data, ["xs", "[0:2]"])] == [
        (["xs", "[0]"], 10),
        (["xs", "[1]"], 20),
    ]
    assert [n.value for _, n in resolve(data, ["xs", "[]"])] == [10, 20, 30]
    assert [n.value for _, n in resolve(data, ["b", "[-2:]"])] == [b"ef"]
    with pytest.raises(RenderError):
        list(resolve(data, ["missing"]))
    with pytest.raises(RenderError):
        list(resolve(data, ["xs", "[3]"]))


def test_token_path_slices_the_first_20_bytes_of_a_packed_path(tokens: dict[str, Any]) -> None:
    key = "exactInput((bytes path, uint256 amountIn) params)"
    path = bytes.fromhex(USDC[2:]) + (500).to_bytes(3, "big") + bytes.fromhex(WETH[2:])
    fields: list[dict[str, Any]] = [
        {
            "path": "params.amountIn",
            "label": "Send",
            "format": "tokenAmount",
            "params": {"tokenPath": "params.path.[0:20]"},
        },
        {"path": "params.path.[-20:]", "label": "Receive token", "format": "raw"},
    ]
    assert shown(render(key, fields, (path, 2_500_000))) == {"Send": "2.5 USDC", "Receive token": WETH}


def test_array_group_pairs_each_amount_with_its_own_token(tokens: dict[str, Any]) -> None:
    key = "batch((address token, uint256 amount)[] details)"
    fields: list[dict[str, Any]] = [
        {
            "path": "details.[]",
            "fields": [
                {
                    "path": "amount",
                    "label": "Amount",
                    "format": "tokenAmount",
                    "params": {"tokenPath": "token"},
                }
            ],
        }
    ]
    result = render(key, fields, [(USDC, 1_000_000), (WETH, 10**18)])
    assert result is not None
    assert [(f.value, f.path) for f in result.fields] == [
        ("1 USDC", "details.[0].amount"),
        ("1 WETH", "details.[1].amount"),
    ]


# --------------------------------------------------------------------------- formats


def test_raw_shows_each_type_naturally() -> None:
    key = "f(uint256 n, bool ok, address who, bytes data, string note, int8 delta)"
    fields: list[dict[str, Any]] = [
        {"path": name, "label": name, "format": "raw"} for name in ("n", "ok", "who", "data", "note", "delta")
    ]
    values = shown(render(key, fields, 1000, True, ALICE.lower(), b"\x12\x34", "Ledger", -5))
    assert values == {
        "n": "1000",
        "ok": "true",
        "who": ALICE,
        "data": "0x1234",
        "note": "Ledger",
        "delta": "-5",
    }


def test_amount_uses_the_chains_native_currency() -> None:
    fields: list[dict[str, Any]] = [{"path": "@.value", "label": "Value", "format": "amount"}]
    assert shown(render("stake()", fields, value=1_500_000_000_000_000_000, chain_id=137)) == {
        "Value": "1.5 POL"
    }
    assert shown(render("stake()", fields, value=2 * 10**15)) == {"Value": "0.002 ETH"}


def test_token_amount_known_unknown_threshold_and_native(tokens: dict[str, Any]) -> None:
    key = "approve(address token, uint256 value)"
    fields: list[dict[str, Any]] = [
        {
            "path": "value",
            "label": "Amount",
            "format": "tokenAmount",
            "params": {
                "tokenPath": "token",
                "threshold": "0x8000000000000000000000000000000000000000000000000000000000000000",
                "nativeCurrencyAddress": ["$.metadata.constants.eth"],
            },
        }
    ]
    extra: dict[str, Any] = {"metadata": {"constants": {"eth": "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"}}}
    assert shown(render(key, fields, USDC, 123_450_000, **extra)) == {"Amount": "123.45 USDC"}
    assert shown(render(key, fields, USDC, MAX, **extra)) == {"Amount": "Unlimited USDC"}
    assert shown(render(key, fields, BOB, 42, **extra)) == {"Amount": "42 (unknown token)"}
    native = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
    assert shown(render(key, fields, native, 10**17, **extra)) == {"Amount": "0.1 ETH"}
    fields[0]["params"]["message"] = "Max"
    assert shown(render(key, fields, USDC, MAX, **extra)) == {"Amount": "Max USDC"}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (2**160 - 1, "Unlimited USDC"),  # Permit2's max allowance: no threshold in the descriptor
        (2**256 - 1, "Unlimited USDC"),
        (123_456_789_012_345_678_901_234_567_891, "123456789012345678901234.567891 USDC"),
    ],
)
def test_token_amount_is_exact_and_reads_sentinel_maxima_as_unlimited(
    tokens: dict[str, Any], amount: int, expected: str
) -> None:
    key = "approve(address token, uint256 value)"
    fields: list[dict[str, Any]] = [
        {"path": "value", "label": "Amount", "format": "tokenAmount", "params": {"tokenPath": "token"}}
    ]
    assert shown(render(key, fields, USDC, amount)) == {"Amount": expected}


def test_permit2_max_allowance_reads_unlimited_with_the_registry_descriptor() -> None:
    request = json.loads((ROOT / "fixtures/requests/permit2-single-unlimited-router.json").read_text())
    typed_data = json.loads(request["request"]["params"][1])
    assert int(typed_data["message"]["details"]["amount"]) == 2**160 - 1
    assert shown(render_typed_data(typed_data))["Amount allowance"] == "Unlimited USDC"


def test_token_amount_with_a_constant_token(tokens: dict[str, Any]) -> None:
    fields: list[dict[str, Any]] = [
        {
            "path": "assets",
            "label": "Deposit",
            "format": "tokenAmount",
            "params": {"token": "$.metadata.constants.asset"},
        }
    ]
    extra: dict[str, Any] = {"metadata": {"constants": {"asset": USDC}}}
    assert shown(render("deposit(uint256 assets)", fields, 5_000_000, **extra)) == {"Deposit": "5 USDC"}


def test_address_name_uses_trusted_names_and_the_sender_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        erc7730._SERVICES, "name", lambda chain_id, address: "Bob's Vault" if address == BOB else None
    )
    key = "f(address to, address other, address recipient)"
    fields: list[dict[str, Any]] = [
        {"path": "to", "label": "To", "format": "addressName"},
        {"path": "other", "label": "Other", "format": "addressName"},
        {
            "path": "recipient",
            "label": "Recipient",
            "format": "addressName",
            "params": {"senderAddress": "0x0000000000000000000000000000000000000000"},
        },
    ]
    values = shown(render(key, fields, BOB, ALICE, "0x" + "00" * 20))
    assert values == {"To": f"Bob's Vault ({BOB})", "Other": ALICE, "Recipient": "Sender"}


def test_signer_reference_without_a_known_signer_names_the_role() -> None:
    fields: list[dict[str, Any]] = [{"path": "@.from", "label": "Debtor", "format": "addressName"}]
    assert shown(render("borrow()", fields)) == {"Debtor": "the signing account"}
    result = render_call_with_descriptor(
        descriptor("borrow()", fields), 1, TARGET, call("borrow()"), 0, sender=ALICE
    )
    assert shown(result) == {"Debtor": ALICE}


def test_date_timestamp_and_blockheight() -> None:
    key = "f(uint256 deadline, uint256 block)"
    fields: list[dict[str, Any]] = [
        {"path": "deadline", "label": "Deadline", "format": "date", "params": {"encoding": "timestamp"}},
        {"path": "block", "label": "Block", "format": "date", "params": {"encoding": "blockheight"}},
    ]
    values = shown(render(key, fields, 1709191632, 19332140))
    assert values == {"Deadline": "2024-02-29 07:27:12 AM UTC", "Block": "block 19332140"}
    assert shown(render(key, fields, MAX, 1))["Deadline"] == str(MAX)


def test_duration_is_hours_minutes_seconds() -> None:
    fields: list[dict[str, Any]] = [{"path": "period", "label": "Lock", "format": "duration"}]
    assert shown(render("f(uint256 period)", fields, 8250)) == {"Lock": "02:17:30"}
    assert shown(render("f(uint256 period)", fields, 100 * 3600)) == {"Lock": "100:00:00"}


@pytest.mark.parametrize(
    ("value", "params", "expected"),
    [
        (3000, {"decimals": 4, "base": "%"}, "0.3 %"),
        (15, {"decimals": 1, "base": "d"}, "1.5 d"),
        (36000, {"base": "s", "prefix": True}, "36 ks"),
        (9300, {"base": "bps"}, "9300 bps"),
        (2_500_000, {"base": "$.metadata.constants.unit", "decimals": 6}, "2.5 POL"),
        (123, {"base": "g", "decimals": 6, "prefix": True}, "123 µg"),
        (10**30 + 1, {"decimals": 18, "base": "t"}, "1000000000000.000000000000000001 t"),
    ],
)
def test_unit_scales_and_prefixes(value: int, params: dict[str, Any], expected: str) -> None:
    fields: list[dict[str, Any]] = [{"path": "v", "label": "V", "format": "unit", "params": params}]
    extra: dict[str, Any] = {"metadata": {"constants": {"unit": "POL"}}}
    assert shown(render("f(uint256 v)", fields, value, **extra)) == {"V": expected}


def test_enum_maps_values_and_falls_back_to_raw() -> None:
    fields: list[dict[str, Any]] = [
        {"path": "mode", "label": "Rate", "format": "enum", "params": {"$ref": "$.metadata.enums.rate"}}
    ]
    extra: dict[str, Any] = {"metadata": {"enums": {"rate": {"1": "stable", "2": "variable"}}}}
    assert shown(render("f(uint256 mode)", fields, 2, **extra)) == {"Rate": "variable"}
    assert shown(render("f(uint256 mode)", fields, 7, **extra)) == {"Rate": "7"}


def test_nft_name_shows_the_token_id_in_its_collection() -> None:
    fields: list[dict[str, Any]] = [
        {"path": "id", "label": "NFT", "format": "nftName", "params": {"collectionPath": "@.to"}}
    ]
    assert shown(render("f(uint256 id)", fields, 1036)) == {"NFT": f"{TARGET} #1036"}


def test_nested_calldata_renders_the_inner_call_with_its_own_descriptor(tokens: dict[str, Any]) -> None:
    inner = call("transfer(address _to,uint256 _value)", BOB, 3_000_000)
    key = "execute(address target, bytes data, uint256 value)"
    fields: list[dict[str, Any]] = [
        {
            "path": "data",
            "label": "Action",
            "format": "calldata",
            "params": {"calleePath": "target", "amountPath": "value"},
        }
    ]
    result = render(key, fields, USDC, inner, 0)
    assert result is not None
    labels = [(f.label, f.value, f.path) for f in result.fields]
    # the ERC-20 descriptor from the registry (ercs/calldata-erc20-tokens.json) formats the inner call
    assert labels[0] == ("Action", "Send", "data")
    assert ("Amount", "3 USDC", "data._value") in labels
    assert any(value == BOB for _, value, _ in labels)


def test_nested_calldata_stops_at_the_depth_limit() -> None:
    # Morpho's bundler formats each bundled call with whatever descriptor the callee has: a bundle
    # that calls the bundler again, and again, is cut at the depth limit with a note
    bundler = "0x6566194141eefa99Af43Bb5Aa71460Ca2Dc90245"
    key = "multicall((address to, bytes data, uint256 value, bool skipRevert, bytes32 callbackHash)[] bundle)"
    data = call("transfer(address,uint256)", BOB, 1)
    for _ in range(MAX_CALLDATA_DEPTH + 2):
        data = call(key, [(bundler, data, 0, False, b"\0" * 32)])
    result = render_calldata(1, bundler, data, 0)
    assert result is not None
    actions = [f.value for f in result.fields if f.label == "Action"]
    assert actions[:MAX_CALLDATA_DEPTH] == ["Bundler3 Multicall"] * MAX_CALLDATA_DEPTH
    assert len(actions) == MAX_CALLDATA_DEPTH + 1
    assert actions[-1].startswith(f"call to {bundler} with ")
    assert actions[-1].endswith("(nested too deep to decode)")


def test_unknown_inner_call_is_summarised_not_dropped() -> None:
    key = "execute(address target, bytes data)"
    fields: list[dict[str, Any]] = [
        {"path": "data", "label": "Action", "format": "calldata", "params": {"calleePath": "target"}}
    ]
    values = shown(render(key, fields, BOB, b"\xde\xad\xbe\xef\x00"))
    assert values == {"Action": f"call to {BOB} with 5 bytes of data"}


# --------------------------------------------------------------------------- field specs


def test_visibility_rules() -> None:
    key = "f(uint256 a, uint256 b, uint256 c, uint256 d)"
    fields: list[dict[str, Any]] = [
        {"path": "a", "label": "A", "visible": "never"},
        {"path": "b", "label": "B", "visible": {"ifNotIn": ["0"]}},
        {"path": "c", "label": "C", "visible": {"mustBe": [7]}},
        {"path": "d", "label": "D", "visible": "optional"},
    ]
    assert shown(render(key, fields, 1, 0, 7, 4)) == {"D": "4"}
    assert shown(render(key, fields, 1, 5, 7, 4)) == {"B": "5", "D": "4"}
    # a value the descriptor says must be fixed is not: the descriptor does not apply
    assert render(key, fields, 1, 5, 8, 4) is None


def test_required_paths_are_shown_even_without_a_format() -> None:
    key = "f(uint256 a, uint256 b, uint256 c)"
    doc = descriptor(key, [{"path": "a", "label": "A"}, {"path": "b", "label": "B", "visible": "never"}])
    doc["display"]["formats"][key]["required"] = ["a", "#.b", "c"]
    doc["display"]["formats"][key]["excluded"] = []
    result = render_call_with_descriptor(doc, 1, TARGET, call(key, 1, 2, 3), 0)
    assert result is not None
    assert [(f.label, f.value) for f in result.fields] == [("A", "1"), ("b", "2"), ("c", "3")]


def test_literal_values_definitions_and_param_overrides(tokens: dict[str, Any]) -> None:
    key = "f(uint256 amount)"
    fields: list[dict[str, Any]] = [
        {"label": "Share ticker", "value": "$.metadata.constants.ticker"},
        {"path": "amount", "$ref": "$.display.definitions.amount", "params": {"token": USDC}},
    ]
    extra: dict[str, Any] = {
        "metadata": {"constants": {"ticker": "vUSDC"}},
        "definitions": {"amount": {"label": "Amount", "format": "tokenAmount", "params": {"token": WETH}}},
    }
    assert shown(render(key, fields, 1_000_000, **extra)) == {"Share ticker": "vUSDC", "Amount": "1 USDC"}


def test_fields_over_the_same_array_show_element_by_element() -> None:
    key = "mint((address account, uint96 value)[] creators, uint256 supply)"
    fields: list[dict[str, Any]] = [
        {"path": "creators.[].account", "label": "Creator"},
        {"path": "creators.[].value", "label": "Share"},
        {"path": "supply", "label": "Supply"},
    ]
    result = render(key, fields, [(ALICE, 8500), (BOB, 1500)], 250)
    assert result is not None
    assert [(f.label, f.value, f.path) for f in result.fields] == [
        ("Creator", ALICE, "creators.[0].account"),
        ("Share", "8500", "creators.[0].value"),
        ("Creator", BOB, "creators.[1].account"),
        ("Share", "1500", "creators.[1].value"),
        ("Supply", "250", "supply"),
    ]


def test_nested_fields_groups_concatenate_paths() -> None:
    key = "f((address to, uint256 amount) order)"
    fields: list[dict[str, Any]] = [
        {"path": "order", "fields": [{"path": "to", "label": "To", "format": "raw"}]}
    ]
    result = render(key, fields, (ALICE, 5))
    assert result is not None
    assert [(f.label, f.value, f.path) for f in result.fields] == [("To", ALICE, "order.to")]


def test_intent_objects_read_as_label_value_pairs() -> None:
    doc = descriptor("withdraw()", [])
    doc["display"]["formats"]["withdraw()"]["intent"] = {
        "Native Staking": "Withdraw",
        "Rewards": "Consensus & Exec",
    }
    result = render_call_with_descriptor(doc, 1, TARGET, call("withdraw()"), 0)
    assert result is not None
    assert result.intent == "Native Staking: Withdraw; Rewards: Consensus & Exec"
    assert result.owner == "Test Owner"


def test_interpolated_intent_embeds_rendered_values(tokens: dict[str, Any]) -> None:
    key = "transfer(address to, uint256 amount)"
    fields: list[dict[str, Any]] = [
        {"path": "to", "label": "To", "format": "raw"},
        {"path": "amount", "label": "Amount", "format": "tokenAmount", "params": {"token": USDC}},
    ]
    doc = descriptor(key, fields)
    doc["display"]["formats"][key]["interpolatedIntent"] = "Send {amount} to {#.to}"
    result = render_call_with_descriptor(doc, 1, TARGET, call(key, BOB, 2_000_000), 0)
    assert result is not None
    assert result.intent == f"Send 2 USDC to {BOB}"
    doc["display"]["formats"][key]["interpolatedIntent"] = "Send {missing}"
    fallback = render_call_with_descriptor(doc, 1, TARGET, call(key, BOB, 1), 0)
    assert fallback is not None
    assert fallback.intent == "Do it"


def test_calldata_that_does_not_decode_is_not_rendered() -> None:
    doc = descriptor("f(uint256 a, bytes b)", [{"path": "a", "label": "A"}])
    data = keccak(text="f(uint256,bytes)")[:4] + b"\x01" * 7
    assert render_call_with_descriptor(doc, 1, TARGET, data, 0) is None


# --------------------------------------------------------------------------- registry lookups


def test_registry_call_bound_to_its_deployment() -> None:
    router = "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45"
    data = call(
        "exactInputSingle((address tokenIn, address tokenOut, uint24 fee, address recipient, uint256 amountIn, uint256 amountOutMinimum, uint160 sqrtPriceLimitX96) params)",
        (WETH, USDC, 3000, ALICE, 10**18, 3_000_000_000, 0),
    )
    result = render_calldata(1, router, data, 0)
    assert result is not None
    assert (result.intent, result.owner, result.descriptor) == (
        "swap",
        "Uniswap Labs",
        "registry/uniswap/calldata-UniswapV3Router02.json",
    )
    assert shown(result)["Uniswap fee"] == "0.3 %"
    # the same call on another chain is not bound to that descriptor
    assert render_calldata(10, router, data, 0) is None


def test_erc20_calls_fall_back_to_the_erc_wide_descriptor_for_any_address() -> None:
    data = call("transfer(address,uint256)", BOB, 10)
    result = render_calldata(1, "0x9999999999999999999999999999999999999999", data, 0)
    assert result is not None
    assert (result.descriptor, result.function) == (
        "ercs/calldata-erc20-tokens.json",
        "transfer(address,uint256)",
    )
    assert render_calldata(1, TARGET, b"\x12\x34\x56\x78", 0) is None
    assert render_calldata(1, TARGET, b"", 0) is None


def test_selectors_shared_by_erc20_and_erc721_need_a_known_token(tokens: dict[str, Any]) -> None:
    unknown = "0x9999999999999999999999999999999999999999"
    approve = call("approve(address,uint256)", BOB, MAX)
    transfer_from = call("transferFrom(address,address,uint256)", ALICE, BOB, 5)
    # an amount or an NFT id? Without knowing the contract, no clear-sign display at all
    assert render_calldata(1, unknown, approve, 0) is None
    assert render_calldata(1, unknown, transfer_from, 0) is None
    # a known ERC-20 token: its approve is an amount, and its transferFrom is never an NFT transfer
    on_token = render_calldata(1, USDC, approve, 0)
    assert on_token is not None
    assert on_token.descriptor == "ercs/calldata-erc20-tokens.json"
    assert shown(on_token)["Amount"] == "Unlimited USDC"
    assert render_calldata(1, USDC, transfer_from, 0) is None
    # selectors only ERC-721 has still get the NFT display anywhere
    nft = render_calldata(1, unknown, call("safeTransferFrom(address,address,uint256)", ALICE, BOB, 7), 0)
    assert nft is not None
    assert nft.descriptor == "ercs/calldata-erc721-nfts.json"


def test_erc4626_vault_without_a_descriptor_shows_amounts_of_an_unknown_token() -> None:
    vault = "0x2222222222222222222222222222222222222222"
    result = render_calldata(1, vault, call("deposit(uint256,address)", 10**18, BOB), 0)
    assert result is not None
    assert result.descriptor == "ercs/calldata-erc4626-vaults.json"
    # the template's "Share ticker" names a constant only vault descriptors define: left out
    assert shown(result) == {"Deposit asset": f"{10**18} (unknown token)", "Send shares to": BOB}


def sample_argument(abi_type: str, components: tuple[Any, ...] | None = ()) -> Any:
    if abi_type.endswith("]"):
        return []
    if components:
        return tuple(sample_argument(c.type, c.components) for c in components)
    samples = {"address": BOB, "bool": True, "string": "x", "bytes": b""}
    return samples.get(abi_type, b"\x01" * int(abi_type[5:]) if abi_type.startswith("bytes") else 1)


@pytest.mark.parametrize("format_ids", load_index()["calldata_any"].values(), ids=lambda ids: str(ids))
def test_every_erc_wide_format_renders_on_an_unknown_contract(format_ids: list[int]) -> None:
    relpath, key = load_index()["formats"][format_ids[0]]
    parsed = parse_signature(key)
    data = keccak(text=parsed.signature)[:4] + encode(
        parsed.types, [sample_argument(p.type, p.components) for p in parsed.inputs]
    )
    result = render_calldata(1, "0x2222222222222222222222222222222222222222", data, 0)
    if "0x" + data[:4].hex() in erc7730._SELECTORS_SHARED_BY_ERC20_AND_ERC721:
        assert result is None  # an amount or an NFT id: unknowable without knowing the contract
    else:
        assert result is not None
        assert result.descriptor == relpath


PERMIT_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


def permit(domain: dict[str, Any]) -> dict[str, Any]:
    message = {"owner": ALICE, "spender": BOB, "value": "1000000", "nonce": 0, "deadline": "0x6a445880"}
    return {"types": PERMIT_TYPES, "primaryType": "Permit", "domain": domain, "message": message}


def test_typed_data_bound_by_domain_and_deployment(tokens: dict[str, Any]) -> None:
    domain = {"name": "USD Coin", "version": "2", "chainId": "0x1", "verifyingContract": USDC.lower()}
    result = render_typed_data(permit(domain))
    assert result is not None
    assert result.descriptor == "registry/permit/eip712-permit-ethereum-usdc.json"
    assert shown(result) == {
        "Spender": BOB,
        "Max spending amount": "1 USDC",
        "Valid until": "2026-07-01 12:00:00 AM UTC",
    }


def test_typed_data_with_a_foreign_domain_gets_only_the_generic_permit_display() -> None:
    domain = {"name": "Not USDC", "version": "2", "chainId": 1, "verifyingContract": USDC}
    result = render_typed_data(permit(domain))
    assert result is not None
    assert result.descriptor == "ercs/eip712-erc2612-permit.json"
    assert render_typed_data({"primaryType": "Unknown", "types": {}, "domain": {}, "message": {}}) is None
    assert render_typed_data({"garbage": True}) is None


def test_safe_transaction_message_renders_its_inner_call(tokens: dict[str, Any]) -> None:
    types = {
        "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
        "SafeTx": [
            {"name": n, "type": t}
            for n, t in [
                ("to", "address"), ("value", "uint256"), ("data", "bytes"), ("operation", "uint8"),
                ("safeTxGas", "uint256"), ("baseGas", "uint256"), ("gasPrice", "uint256"),
                ("gasToken", "address"), ("refundReceiver", "address"), ("nonce", "uint256"),
            ]
        ],
    }  # fmt: skip
    zero = "0x" + "00" * 20
    inner = call("transfer(address,uint256)", BOB, 5_000_000)
    message = {
        "to": USDC, "value": 0, "data": "0x" + inner.hex(), "operation": 0, "safeTxGas": 0, "baseGas": 0,
        "gasPrice": 0, "gasToken": zero, "refundReceiver": zero, "nonce": 7,
    }  # fmt: skip
    domain = {"chainId": 1, "verifyingContract": "0x41675C099F32341bf84BFc5382aF534df5C7461a"}
    result = render_typed_data(
        {"types": types, "primaryType": "SafeTx", "domain": domain, "message": message}
    )
    assert result is not None
    assert (result.intent, result.owner) == ("Safe", "Safe 1.4.1")
    values = [(f.label, f.value) for f in result.fields]
    assert values[:4] == [("Operation type", "0"), ("Transaction", "Send"), ("Amount", "5 USDC"), ("To", BOB)]


def test_typed_data_keyed_by_encode_type_requires_those_exact_types() -> None:
    doc = {
        "display": {
            "formats": {
                "Mail(address to,string contents)": {
                    "intent": "Mail",
                    "fields": [{"path": "contents", "label": "Text"}],
                }
            }
        }
    }
    types = {
        "EIP712Domain": [],
        "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}],
    }
    message = {
        "types": types,
        "primaryType": "Mail",
        "domain": {},
        "message": {"to": ALICE, "contents": "hi"},
    }
    assert shown(render_message_with_descriptor(doc, message)) == {"Text": "hi"}
    types["Mail"].append({"name": "extra", "type": "uint256"})
    assert render_message_with_descriptor(doc, message) is None


# --------------------------------------------------------------------------- index and cost


def test_the_precomputed_index_is_up_to_date() -> None:
    stored = (descriptor_root() / "index.json").read_text(encoding="utf-8")
    assert stored == render_index(build_index()), "run: python -m copilot.decoding.erc7730_index"


def test_descriptor_signatures_are_canonical_and_cover_the_registry() -> None:
    signatures = set(descriptor_signatures())
    assert {"approve(address,uint256)", "transfer(address,uint256)"} <= signatures
    assert all(" " not in s for s in signatures)
    index = json.loads((descriptor_root() / "index.json").read_text(encoding="utf-8"))
    assert len(signatures) == len(index["signatures"]) > 300


def test_importing_the_renderer_loads_no_heavy_libraries() -> None:
    code = "import sys, copilot.decoding.erc7730; print(sorted(m for m in ('web3', 'eth_abi', 'eth_account', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- fuzzing


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    selector=st.sampled_from(sorted({s for t in load_index()["calldata"].values() for s in t})),
    payload=st.binary(max_size=400),
    words=st.lists(st.integers(min_value=0, max_value=2**256 - 1), max_size=12),
    chain_id=st.sampled_from([1, 10, 137, 8453, 42161, None]),
)
def test_any_calldata_for_a_known_selector_renders_or_declines(
    selector: str, payload: bytes, words: list[int], chain_id: int | None
) -> None:
    targets = [k.split(":")[1] for k, sels in load_index()["calldata"].items() if selector in sels]
    data = bytes.fromhex(selector[2:]) + b"".join(w.to_bytes(32, "big") for w in words) + payload
    result = render_calldata(chain_id, targets[0], data, 0)
    assert result is None or all(isinstance(f.value, str) for f in result.fields)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    message=st.dictionaries(st.sampled_from(["owner", "spender", "value", "nonce", "deadline"]), json_values)
)
def test_any_permit_message_renders_or_declines(message: dict[str, Any]) -> None:
    domain = {"name": "USD Coin", "version": "2", "chainId": 1, "verifyingContract": USDC}
    typed = {"types": PERMIT_TYPES, "primaryType": "Permit", "domain": domain, "message": message}
    result = render_typed_data(typed)
    assert result is None or result.function == "Permit"


@settings(max_examples=300, deadline=None)
@given(typed=st.dictionaries(st.sampled_from(["types", "primaryType", "domain", "message"]), json_values))
def test_any_typed_data_shape_renders_or_declines(typed: dict[str, Any]) -> None:
    assert render_typed_data(typed) is None or isinstance(typed.get("primaryType"), str)


@given(text=st.text(alphabet="fuint8256addressbyte()[], _", max_size=50) | st.text(max_size=50))
def test_signature_parser_rejects_with_value_error_or_round_trips(text: str) -> None:
    try:
        parsed = parse_signature(text)
    except ValueError:
        return
    assert parse_signature(parsed.signature).signature == parsed.signature


@given(text=st.text(max_size=60))
def test_path_parser_accepts_any_text(text: str) -> None:
    root, tokens = parse_path(text)
    assert root in ("", "#", "$", "@")
    assert all(isinstance(t, str) for t in tokens)
