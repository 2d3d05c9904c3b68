"""ERC-7730 clear signing: what a wallet shows for a contract call or an EIP-712 message.

The vendored registry (abis/erc7730, CC0) describes, per contract deployment or EIP-712 domain,
the intent of each function / message and how to show each of its fields. `render_calldata` and
`render_typed_data` find the descriptor that binds to the request (chain id + address, domain
constraints, function selector or primary type; ERC-wide descriptors such as ERC-20 and
EIP-2612 apply to any address), decode the data with the descriptor's own signature and render
its fields. Nothing here touches the network: token tickers and names come from the descriptors
themselves and the bundled token table / contract registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from copilot.decoding import abicodec
from copilot.decoding._crypto import checksum_hex
from copilot.decoding.erc7730_descriptor import load_descriptor
from copilot.decoding.erc7730_index import deployment_key, load_index
from copilot.decoding.erc7730_render import (
    Container,
    Node,
    Renderer,
    RenderError,
    Services,
    comparable,
    to_int,
)
from copilot.decoding.registry import known_contract
from copilot.decoding.selectors import AbiFunction, AbiParam, function_from_signature
from copilot.decoding.tokens import lookup_token
from copilot.decoding.typed_data import encode_type, read_types
from copilot.errors import InputError
from copilot.models import DisplayField, TokenMeta


@dataclass
class ClearSign:
    """The rendered display: `intent` ("Swap"), the fields in order, and whose descriptor it was."""

    intent: str | None
    fields: list[DisplayField] = field(default_factory=list)
    owner: str | None = None  # metadata.owner of the descriptor, e.g. "Uniswap Labs"
    function: str | None = None  # canonical signature, or the EIP-712 primary type
    descriptor: str | None = None  # the descriptor file, relative to abis/erc7730


def descriptor_signatures() -> Iterable[str]:
    """Every canonical function signature the descriptors format, e.g. "approve(address,uint256)"."""
    return list(load_index()["signatures"])


def bound_function(chain_id: int | None, to: str, selector: str) -> AbiFunction | None:
    """The function a descriptor bound to this deployment (chain id, `to`) declares for `selector`:
    the contract's own ABI as far as ERC-7730 knows it."""
    if chain_id is None:
        return None
    index = load_index()
    format_id = index["calldata"].get(deployment_key(chain_id, to), {}).get(selector)
    if format_id is None:
        return None
    _, key = index["formats"][format_id]
    try:
        return function_from_signature(key, "erc7730")
    except ValueError:
        return None


def render_calldata(
    chain_id: int | None,
    to: str,
    data: bytes,
    value: int,
    *,
    sender: str | None = None,
    depth: int = 0,
) -> ClearSign | None:
    """Render a call to `to` with a descriptor bound to (chain id, `to`), else an ERC-wide one.

    None when no descriptor formats this selector, or when the calldata does not decode with the
    descriptor's signature (the descriptor does not apply). `sender` is the `@.from` of the spec.
    """
    if len(data) < 4 or not to:
        return None
    index = load_index()
    selector = "0x" + data[:4].hex()
    format_id = None
    if chain_id is not None:
        format_id = index["calldata"].get(deployment_key(chain_id, to), {}).get(selector)
    if format_id is None:
        format_id = _erc_wide_format(chain_id, to, selector)
    if format_id is None:
        return None
    relpath, key = index["formats"][format_id]
    return _render_call(load_descriptor(relpath), relpath, key, chain_id, to, data, value, sender, depth)


# approve(address,uint256) and transferFrom(address,address,uint256) mean an amount of an ERC-20 or
# a token id of an ERC-721: only a contract known to be an ERC-20 token says which.
_SELECTORS_SHARED_BY_ERC20_AND_ERC721 = frozenset({"0x095ea7b3", "0x23b872dd"})
_ERC20_DESCRIPTOR = "ercs/calldata-erc20-tokens.json"


def _erc_wide_format(chain_id: int | None, to: str, selector: str) -> int | None:
    """The ERC-wide descriptor format for a call to a contract no registry descriptor binds to."""
    index = load_index()
    candidates: list[int] = index["calldata_any"].get(selector, [])
    if selector not in _SELECTORS_SHARED_BY_ERC20_AND_ERC721:
        return candidates[0] if candidates else None
    if _SERVICES.token(chain_id, to) is None:
        return None
    return next((c for c in candidates if index["formats"][c][0] == _ERC20_DESCRIPTOR), None)


def describes_eip712_contract(chain_id: int | None, verifying_contract: str | None) -> bool:
    """An ERC-7730 descriptor names this verifying contract (for some primary type) on this chain, or on
    any chain when the domain names none. The zero address is no contract, whatever a descriptor's
    placeholder deployment says."""
    if not verifying_contract or int(verifying_contract, 16) == 0:
        return False
    deployments = load_index()["eip712"]
    if chain_id is not None:
        return deployment_key(chain_id, verifying_contract) in deployments
    suffix = deployment_key(0, verifying_contract).split(":", 1)[1]
    return any(key.split(":", 1)[1] == suffix for key in deployments)


def render_typed_data(typed_data: dict[str, Any]) -> ClearSign | None:
    """Render an EIP-712 message with the descriptor bound to its domain and primary type."""
    try:
        domain = typed_data.get("domain") or {}
        primary_type = str(typed_data["primaryType"])
        chain_id = _optional_int(domain.get("chainId"))
        verifying_contract = domain.get("verifyingContract")
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    index = load_index()
    candidates: list[int] = []
    if chain_id is not None and isinstance(verifying_contract, str):
        candidates += (
            index["eip712"].get(deployment_key(chain_id, verifying_contract), {}).get(primary_type, [])
        )
    candidates += index["eip712_any"].get(primary_type, [])
    for format_id in candidates:
        relpath, key = index["formats"][format_id]
        descriptor = load_descriptor(relpath)
        if descriptor_binds_domain(descriptor, domain):
            rendered = _render_message(descriptor, relpath, key, typed_data)
            if rendered is not None:
                return rendered
    return None


def render_call_with_descriptor(
    descriptor: dict[str, Any],
    chain_id: int | None,
    to: str,
    data: bytes,
    value: int,
    *,
    sender: str | None = None,
) -> ClearSign | None:
    """Render a call with a given descriptor (one being written or tested), whatever its context."""
    selector = "0x" + data[:4].hex()
    for key in (descriptor.get("display") or {}).get("formats") or {}:
        try:
            function = function_from_signature(key, "erc7730")
        except ValueError:
            continue  # a key that is no function signature formats no call
        if function.selector == selector:
            return _render_call(descriptor, None, key, chain_id, to, data, value, sender, 0)
    return None


def render_message_with_descriptor(
    descriptor: dict[str, Any], typed_data: dict[str, Any]
) -> ClearSign | None:
    """Render an EIP-712 message with a given descriptor, whatever its binding context."""
    for key in (descriptor.get("display") or {}).get("formats") or {}:
        rendered = _render_message(descriptor, None, key, typed_data)
        if rendered is not None:
            return rendered
    return None


def descriptor_binds_domain(descriptor: dict[str, Any], domain: dict[str, Any]) -> bool:
    """Whether an EIP-712 domain meets the descriptor's `context.eip712` constraints: every listed
    domain value, and (chainId, verifyingContract) among the deployments when there are any."""
    context = (descriptor.get("context") or {}).get("eip712") or {}
    for name, expected in (context.get("domain") or {}).items():
        if comparable(domain.get(name)) != comparable(expected):
            return False
    deployments = context.get("deployments") or []
    if not deployments:
        return True
    try:
        chain_id = _optional_int(domain.get("chainId"))
    except ValueError:
        return False
    contract = str(domain.get("verifyingContract", "")).lower()
    return any(d["chainId"] == chain_id and d["address"].lower() == contract for d in deployments)


# --------------------------------------------------------------------------- rendering


def _render_call(
    descriptor: dict[str, Any],
    relpath: str | None,
    key: str,
    chain_id: int | None,
    to: str,
    data: bytes,
    value: int,
    sender: str | None,
    depth: int,
) -> ClearSign | None:
    function = function_from_signature(key, "erc7730")
    arguments = _decode_arguments(function.inputs, data[4:])
    if arguments is None:
        return None
    container = Container(chain_id=chain_id, to=to, value=value, sender=sender)
    return _render(descriptor, relpath, key, arguments, container, depth, function.signature)


def _render_message(
    descriptor: dict[str, Any], relpath: str | None, key: str, typed_data: dict[str, Any]
) -> ClearSign | None:
    try:
        types = typed_data["types"]
        primary_type = str(typed_data["primaryType"])
        if not _types_match(key, types, primary_type):
            return None
        root = typed_node(types, primary_type, typed_data["message"])
        domain = typed_data.get("domain") or {}
        chain_id = _optional_int(domain.get("chainId"))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    verifying_contract = domain.get("verifyingContract")
    container = Container(
        chain_id=chain_id, to=verifying_contract if isinstance(verifying_contract, str) else None
    )
    return _render(descriptor, relpath, key, root, container, 0, primary_type)


def _render(
    descriptor: dict[str, Any],
    relpath: str | None,
    key: str,
    root: Node,
    container: Container,
    depth: int,
    function: str,
) -> ClearSign | None:
    format_spec = descriptor["display"]["formats"][key]
    renderer = Renderer(descriptor, root, container, _SERVICES, depth)
    try:
        fields = renderer.render(format_spec)
    except (RenderError, ValueError, TypeError, KeyError, IndexError):
        # the descriptor does not fit this data (or is itself malformed): show no clear-sign
        # display rather than a wrong one; the plain decoding still stands
        return None
    metadata = descriptor.get("metadata") or {}
    intent = _interpolated_intent(format_spec.get("interpolatedIntent"), fields)
    return ClearSign(
        intent=intent or _intent(format_spec.get("intent")),
        fields=fields,
        owner=metadata.get("owner") or metadata.get("contractName"),
        function=function,
        descriptor=relpath,
    )


def _intent(intent: Any) -> str | None:
    if isinstance(intent, dict):
        return "; ".join(f"{k}: {v}" for k, v in intent.items())
    return str(intent) if intent else None


def _interpolated_intent(template: Any, fields: list[DisplayField]) -> str | None:
    """`interpolatedIntent` ("Send {amount} to {to}") filled with the rendered field values; None
    when a placeholder names no rendered field, so the plain intent is shown instead."""
    if not isinstance(template, str):
        return None
    values: dict[str, str] = {}
    for rendered in fields:
        if rendered.path:
            values.setdefault(rendered.path.removeprefix("#."), rendered.value)
    try:
        return _PLACEHOLDER.sub(lambda match: values[match.group(1).strip().removeprefix("#.")], template)
    except KeyError:
        return None


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _nested_call(
    chain_id: int | None, to: str, data: bytes, value: int, sender: str | None, depth: int
) -> ClearSign | None:
    return render_calldata(chain_id, to, data, value, sender=sender, depth=depth)


@lru_cache(maxsize=4096)  # batches render the same tokens over and over
def _token_meta(chain_id: int | None, address: str) -> TokenMeta | None:
    """Ticker and decimals: from the descriptors' own token metadata, else the bundled token table."""
    if chain_id is not None:
        known = load_index()["tokens"].get(deployment_key(chain_id, address))
        if known:
            return TokenMeta(address=address, symbol=str(known[0]), decimals=int(known[1]))
    return lookup_token(address, chain_id)


@lru_cache(maxsize=4096)
def _address_label(chain_id: int | None, address: str) -> str | None:
    """A trusted name: the bundled token table, the contract registry, else a descriptor's owner."""
    token = lookup_token(address, chain_id)
    if token:
        return token.name or token.symbol
    contract = known_contract(address, chain_id)
    if contract:
        return contract.label
    if chain_id is None:
        return None
    owner = load_index()["owners"].get(deployment_key(chain_id, address))
    return str(owner) if owner else None


_SERVICES = Services(token=_token_meta, name=_address_label, nested_call=_nested_call)


# --------------------------------------------------------------------------- calldata


def _decode_arguments(params: tuple[AbiParam, ...], payload: bytes) -> Node | None:
    """The arguments as a Node tree; None unless they are a canonical ABI encoding. Bytes after the
    encoding are ignored here: the calldata decoder already notes them."""
    try:
        values, _ = abicodec.decode([p.type for p in params], payload)
    except abicodec.AbiDecodeError:
        return None
    return Node("tuple", _members(params, values))


def _members(params: tuple[AbiParam, ...], values: tuple[Any, ...]) -> dict[str, Node]:
    """Named members of a tuple; an unnamed one is `_<position>`, as descriptor paths name it."""
    return {p.name or f"_{i}": abi_node(p, v) for i, (p, v) in enumerate(zip(params, values, strict=True))}


def abi_node(param: AbiParam, value: Any) -> Node:
    """An ABI-decoded value (abicodec's shapes) as a Node tree, addresses checksummed."""
    if param.type.endswith("]"):
        element = AbiParam(param.name, param.type[: param.type.rindex("[")], param.components)
        return Node(param.type, [abi_node(element, v) for v in value])
    if param.components:
        return Node(param.type, _members(param.components, value))
    if param.type == "address":
        return Node("address", checksum_hex(value))
    return Node(param.type, value)


# --------------------------------------------------------------------------- EIP-712


def typed_node(types: dict[str, Any], type_name: str, value: Any) -> Node:
    """An EIP-712 message value as a Node tree, with ints, bytes and addresses normalised."""
    if type_name.endswith("]"):
        element = type_name[: type_name.rindex("[")]
        return Node(type_name, [typed_node(types, element, v) for v in value])
    if type_name in types:
        members = {m["name"]: m["type"] for m in types[type_name]}
        return Node(type_name, {name: typed_node(types, t, value.get(name)) for name, t in members.items()})
    if type_name.startswith(("uint", "int")):
        return Node(type_name, _optional_int(value) or 0)
    if type_name == "address":
        return Node("address", checksum_hex(value))
    if type_name == "bool":
        return Node("bool", value if isinstance(value, bool) else str(value).lower() == "true")
    if type_name.startswith("bytes"):
        return Node(type_name, bytes.fromhex(str(value).removeprefix("0x")))
    return Node(type_name, "" if value is None else str(value))


def _types_match(key: str, types: dict[str, Any], primary_type: str) -> bool:
    """A format keyed by a full encodeType applies only to messages of exactly those types."""
    if "(" not in key:
        return key == primary_type
    try:
        expected = encode_type(read_types(types), primary_type)
    except (InputError, KeyError):
        return False
    return key.replace(" ", "") == expected.replace(" ", "")


def _optional_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return to_int(value)
