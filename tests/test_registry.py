"""Known-contract registry and bundled ABIs: labels, tags and selectors people rely on."""

from __future__ import annotations

import json

import pytest

from copilot.decoding._crypto import keccak256, to_checksum_address
from copilot.decoding.registry import TAGS, all_contracts, known_contract
from copilot.decoding.selectors import bundled_abis, function_from_signature, parse_abi, selector_of
from copilot.resources import abis_dir

# Selectors as published (Etherscan, 4byte.directory, the contracts' own interfaces).
FAMOUS_SELECTORS = {
    "approve(address,uint256)": "0x095ea7b3",
    "transfer(address,uint256)": "0xa9059cbb",
    "transferFrom(address,address,uint256)": "0x23b872dd",
    "increaseAllowance(address,uint256)": "0x39509351",
    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)": "0xd505accf",
    "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)": "0x8fcbaf0c",
    "setApprovalForAll(address,bool)": "0xa22cb465",
    "safeTransferFrom(address,address,uint256,uint256,bytes)": "0xf242432a",
    "approve(address,address,uint160,uint48)": "0x87517c45",
    "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)": "0x2b67b570",
    "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)": "0x2a2d80d1",
    "permitTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes)": "0x30f28b7a",
    "lockdown((address,address)[])": "0xcc53287f",
    "execute(bytes,bytes[],uint256)": "0x3593564c",
    "execute(bytes,bytes[])": "0x24856bc3",
    "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)": "0x38ed1739",
    "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))": "0x414bf389",
    "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))": "0x04e45aaf",
    "multicall(uint256,bytes[])": "0x5ae401dc",
    "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)": "0x6a761202",
    "addOwnerWithThreshold(address,uint256)": "0x0d582f13",
    "changeThreshold(uint256)": "0x694e80c3",
    "enableModule(address)": "0x610b5925",
    "setGuard(address)": "0xe19a9dd9",
    "multiSend(bytes)": "0x8d80ff0a",
    "aggregate3((address,bool,bytes)[])": "0x82ad56cb",
    "aggregate3Value((address,bool,uint256,bytes)[])": "0x174dea71",
    "supply(address,uint256,address,uint16)": "0x617ba037",
    "submit(address)": "0xa1903eab",
    "wrap(uint256)": "0xea598cb0",
    "requestWithdrawals(uint256[],address)": "0xd6681042",
    "commit(bytes32)": "0xf14fcbc8",
    "setText(bytes32,string,string)": "0x10f13a8c",
    "transferOwnership(address)": "0xf2fde38b",
    "upgradeToAndCall(address,bytes)": "0x4f1ef286",
    "grantRole(bytes32,address)": "0x2f2ff15d",
}
FAMOUS_BY_NAME = {  # long Seaport/1inch signatures: checked by name
    ("seaport", "fulfillBasicOrder"): "0xfb0f3ee1",
    ("seaport", "fulfillBasicOrder_efficient_6GL6yc"): "0x00000000",
    ("seaport", "fulfillOrder"): "0xb3a34c4c",
    ("seaport", "fulfillAdvancedOrder"): "0xe7acab24",
    ("seaport", "matchOrders"): "0xa8174404",
    ("seaport", "cancel"): "0xfd9f1e10",
    ("oneinch-v5", "swap"): "0x12aa3caf",
    ("oneinch-v6", "swap"): "0x07ed2379",
}


def test_selector_is_keccak_of_the_canonical_signature() -> None:
    assert selector_of("approve(address,uint256)") == "0x" + keccak256(b"approve(address,uint256)")[:4].hex()


@pytest.mark.parametrize(("signature", "selector"), sorted(FAMOUS_SELECTORS.items()))
def test_bundled_abis_contain_famous_functions_with_their_published_selectors(
    signature: str, selector: str
) -> None:
    found = {f.signature: f.selector for functions in bundled_abis().values() for f in functions}
    assert found.get(signature) == selector


@pytest.mark.parametrize(("where", "selector"), sorted(FAMOUS_BY_NAME.items()))
def test_long_signatures_hash_to_published_selectors(where: tuple[str, str], selector: str) -> None:
    abi_name, function_name = where
    assert selector in {f.selector for f in bundled_abis()[abi_name] if f.name == function_name}


def test_bundled_abi_inputs_are_named_so_rules_can_read_arguments_by_name() -> None:
    for name, functions in bundled_abis().items():
        for function in functions:
            assert function.named, f"{name}: {function.signature} has unnamed inputs"


@pytest.mark.parametrize(
    ("address", "chain", "label_part", "tag"),
    [
        ("0x000000000022D473030F116dDEE9F6B43aC78BA3", 1, "Permit2", "spender"),
        ("0x000000000022d473030f116ddee9f6b43ac78ba3", 8453, "Permit2", "spender"),
        ("0xcA11bde05977b3631167028862bE2a173976CA11", 42161, "Multicall3", "multicall"),
        ("0x0000000000000068F116a894984e2DB1123eB395", 137, "Seaport 1.6", "nft-marketplace"),
        ("0x00000000000000ADc04C56Bf30aC9d3c0aAF14dC", 10, "Seaport 1.5", "nft-marketplace"),
        ("0x40A2aCCbd92BCA938b02010E17A5b8929b49130D", 1, "MultiSendCallOnly", "safe-delegatecall-ok"),
        ("0x9641d764fc13c8B624c04430C7356C1C7C8102e2", 10, "MultiSendCallOnly 1.4.1", "safe-delegatecall-ok"),
        ("0xd53cd0aB83D845Ac265BE939c57F53AD838012c9", 1, "SignMessageLib", "safe-delegatecall-ok"),
        ("0x526643F69b81B008F46d95CD5ced5eC0edFFDaC6", 1, "SafeMigration", "safe-delegatecall-ok"),
        ("0x66a9893cC07D91D95644AEDD05D03f95e1dBA8Af", 1, "Universal Router", "router"),
        ("0x794a61358D6845594F94dc1DB02A252b5b4814aD", 42161, "Aave V3 Pool", "lending"),
        ("0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84", 1, "stETH", "staking"),
        ("0x111111125421cA6dc452d289314280a0f8842A65", 8453, "1inch", "router"),
        ("0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B", 1, "MetaMask", "eip7702-delegate"),
        ("0x7702cb554e6bFb442cb743A7dF23154544a7176C", 8453, "Coinbase", "eip7702-delegate"),
        ("0x000000009B1D0aF20D8C6d0A44e162d11F9b8f00", 10, "Calibur", "eip7702-delegate"),
        ("0x82aF49447D8a07e3bd95BD0d56f35241523fBab1", 42161, "WETH", "token"),
    ],
)
def test_known_deployments_have_labels_and_tags(address: str, chain: int, label_part: str, tag: str) -> None:
    contract = known_contract(address, chain)
    assert contract is not None
    assert label_part in contract.label
    assert tag in contract.tags


def test_chain_specific_deployments_do_not_match_other_chains() -> None:
    mainnet_pool = "0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2"
    assert known_contract(mainnet_pool, 1) is not None
    assert known_contract(mainnet_pool, 42161) is None
    assert known_contract(mainnet_pool, None) is not None
    assert known_contract("0x" + "ab" * 20, 1) is None


def test_token_contracts_carry_their_abis() -> None:
    dai = known_contract("0x6B175474E89094C44Da98b954EedeAC495271d0F", 1)
    assert dai is not None and "dai-permit" in dai.abi and "token" in dai.tags
    weth = known_contract("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", 1)
    assert weth is not None and weth.abi[0] == "weth"
    steth = known_contract("0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84", 1)
    assert steth is not None and {"token", "staking"} <= steth.tags and "lido-steth" in steth.abi


def test_registry_data_is_consistent() -> None:
    abis = bundled_abis()
    for contract in all_contracts():
        assert contract.tags <= TAGS, contract
        assert all(name in abis for name in contract.abi), contract
        # EIP-55: a mistyped address fails its own checksum
        assert to_checksum_address(bytes.fromhex(contract.address[2:])) == contract.address, contract
    raw = json.loads((abis_dir() / "tokens.json").read_text())
    assert {"1", "10", "42161", "8453", "137"} <= set(raw)
    for tokens in raw.values():
        for address, meta in tokens.items():
            assert to_checksum_address(bytes.fromhex(address[2:])) == address
            assert isinstance(meta["symbol"], str) and 0 <= meta["decimals"] <= 36


def test_abi_parser_accepts_artifacts_and_rejects_broken_files() -> None:
    artifact = {"abi": [{"type": "function", "name": "f", "inputs": [{"name": "x", "type": "uint"}]}]}
    assert [f.signature for f in parse_abi(artifact, "user:x")] == ["f(uint256)"]
    with pytest.raises(ValueError, match="type"):
        parse_abi([{"type": "function", "name": "f", "inputs": [{"name": "x"}]}], "user:x")
    with pytest.raises(ValueError, match="unknown ABI type"):
        parse_abi([{"type": "function", "name": "f", "inputs": [{"name": "x", "type": "uint7"}]}], "user:x")
    with pytest.raises(ValueError, match="JSON ABI"):
        parse_abi("nope", "user:x")


def test_signature_parser_handles_nested_tuples() -> None:
    function = function_from_signature("f((address,(uint8,bytes)[])[],uint)", "4byte")
    assert function.signature == "f((address,(uint8,bytes)[])[],uint256)"
    with pytest.raises(ValueError):
        function_from_signature("f((address,uint256)", "4byte")
