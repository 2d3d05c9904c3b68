"""Decode one contract call: which function, which arguments, what they mean, and its nested calls.

Resolution: a known contract's own ABIs (the registry's, and the function an ERC-7730 descriptor bound
to that deployment formats) are authoritative, bytes after the arguments tolerated with a note. Otherwise the selector index (bundled ABIs, user ABIs, ERC-7730 descriptors and an imported
4byte dump, all alike) is asked, and a candidate counts only if the arguments decode strictly and
re-encode to exactly the same bytes, nothing left over; two or more distinct signatures surviving
that test make the call AMBIGUOUS: we never guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copilot.dates import utc_date
from copilot.decoding import abicodec
from copilot.decoding._crypto import checksum_hex
from copilot.decoding.registry import KnownContract, known_contract
from copilot.decoding.selectors import (
    AbiFunction,
    AbiParam,
    curated_candidates,
    functions_by_selector,
    imported_candidates,
)
from copilot.decoding.tokens import format_amount, format_native, is_unlimited, lookup_token
from copilot.errors import InputError
from copilot.models import CallStatus, DecodedCall, Param

MAX_DEPTH = 8
"""Nested calls deeper than this are not decoded: they come back TRUNCATED with a note."""

_ERC20_FUNCTIONS = frozenset(
    {
        "approve",
        "transfer",
        "transferFrom",
        "increaseAllowance",
        "decreaseAllowance",
        "permit",
        "withdraw",
        "burn",
    }
)
# ERC-20 functions whose amount is unmistakably a token amount even when the token is unknown
_ALLOWANCE_FUNCTIONS = frozenset(
    {"approve", "transfer", "transferFrom", "increaseAllowance", "decreaseAllowance", "permit"}
)
_AMOUNT_NAMES = frozenset(
    {
        "amount", "value", "wad", "addedvalue", "subtractedvalue", "rawamount", "amountin", "amountout",
        "amountoutmin", "amountinmax", "amountoutminimum", "amountinmaximum", "amountminimum", "amountmin",
        "minreturnamount", "minreturn", "startamount", "endamount", "requestedamount", "amountdesired",
        "amounttokendesired", "amounttokenmin", "amountadesired", "amountbdesired", "amountamin", "amountbmin",
        "stethamount", "wstethamount", "debttocover",
    }
)  # fmt: skip
_NATIVE_AMOUNT_NAMES = frozenset({"amountethmin", "amountethdesired", "amounteth"})
# amount argument -> the sibling argument naming its token
_AMOUNT_TOKEN_FIELD = {
    "amountin": "tokenIn", "amountinmaximum": "tokenIn", "amountout": "tokenOut", "amountoutminimum": "tokenOut",
    "amountadesired": "tokenA", "amountamin": "tokenA", "amountbdesired": "tokenB", "amountbmin": "tokenB",
    "amounttokendesired": "token", "amounttokenmin": "token", "minreturnamount": "dstToken", "amount": "srcToken",
    "debttocover": "debtAsset",
}  # fmt: skip
_TOKEN_FIELDS = ("token", "asset", "_token", "_asset", "currency", "considerationToken", "offerToken")
_DATE_NAMES = frozenset(
    {"deadline", "expiration", "sigdeadline", "expiry", "starttime", "endtime", "validto", "validafter",
     "validuntil", "validbefore"}
)  # fmt: skip
_NO_EXPIRY_FLOOR = 2**40  # beyond year 36000: a "never" sentinel, not a date


@dataclass
class _Resolution:
    status: CallStatus
    function: AbiFunction | None = None
    values: tuple[Any, ...] = ()
    candidates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def decode_call(
    to: str | None,
    value: int,
    data: bytes,
    chain_id: int | None,
    *,
    path: str = "call",
    depth: int = 0,
    operation: str = "call",
) -> DecodedCall:
    """Decode a call to `to` with `data`, nested calls included (up to MAX_DEPTH levels)."""
    target = _checksum(to) if to else None
    contract = known_contract(target, chain_id) if target else None
    call = DecodedCall(
        to=target,
        value=value,
        data="0x" + data.hex(),
        operation="delegatecall" if operation == "delegatecall" else "call",
        contract=contract.label if contract else None,
        path=path,
    )
    if target is None:
        call.status = CallStatus.CREATE
        call.notes.append(f"contract creation with {len(data)} bytes of init code")
        return call
    if not data:
        call.status = CallStatus.EMPTY
        return call
    if len(data) < 4:
        call.status = CallStatus.UNKNOWN
        call.notes.append(f"calldata is {len(data)} bytes, shorter than a 4-byte function selector")
        return call
    call.selector = "0x" + data[:4].hex()
    if depth > MAX_DEPTH:
        call.status = CallStatus.TRUNCATED
        call.notes.append(f"nested decoding stops at depth {MAX_DEPTH}: this call was not decoded")
        return call

    resolution = _resolve(call.selector, data, contract, chain_id, target)
    call.status = resolution.status
    call.candidates = list(resolution.candidates)
    call.notes.extend(resolution.notes)
    if resolution.function is not None:
        function = resolution.function
        call.function = function.signature
        context = _Context(chain_id, target, contract, function.name)
        call.params = build_params(function.inputs, resolution.values, context)
        from copilot.decoding.nested import nested_calls

        call.children = nested_calls(call, chain_id, depth)
    _clear_sign(call, chain_id, target, data, value, depth)
    return call


def _checksum(address: str) -> str:
    try:
        return checksum_hex(address)
    except ValueError as exc:
        raise InputError(f"{address!r} is not an address", "give 20 bytes as 40 hex digits") from exc


def _clear_sign(
    call: DecodedCall, chain_id: int | None, to: str, data: bytes, value: int, depth: int
) -> None:
    """Add the ERC-7730 intent and fields when a vendored descriptor formats this call."""
    try:
        from copilot.decoding.erc7730 import render_calldata
    except ImportError:  # the clear-signing renderer is optional
        return
    rendered = render_calldata(chain_id, to, data, value, depth=depth)
    if rendered is None:
        return
    call.intent = rendered.intent
    call.fields = list(rendered.fields)
    if call.function is None and rendered.function:
        call.notes.append(f"ERC-7730 descriptor formats this call as {rendered.function}")


# --------------------------------------------------------------------------- resolution


def _resolve(
    selector: str, data: bytes, contract: KnownContract | None, chain_id: int | None, to: str
) -> _Resolution:
    own = _own_functions(selector, contract, chain_id, to)
    resolution = _resolve_own(own, data)
    if resolution is not None:
        return resolution  # the contract's own ABI is authoritative
    tried = [f.signature for f in own]
    # An unknown contract: every tier of the index counts alike. Only exact encodings survive, and a
    # bundled signature does not outrank a 4byte twin that fits the bytes just as well.
    candidates = [*curated_candidates(selector), *imported_candidates(selector)]
    exact, with_trailing = _fits(candidates, data)
    if len(exact) == 1:
        function, values = next(iter(exact.values()))
        return _Resolution(CallStatus.DECODED, function, values)
    if exact:
        return _ambiguous(list(exact))
    tried.extend(f.signature for f in candidates if f.signature not in tried)
    if not tried:
        return _Resolution(
            CallStatus.UNKNOWN, notes=(f"selector {selector} is not in any bundled or user ABI",)
        )
    notes = [f"the arguments do not decode as {' or '.join(tried)}"]
    notes += [
        f"they would decode as {signature} only with {trailing} extra byte(s) after the arguments, "
        "and for a contract of unknown ABI that is not an exact match"
        for signature, (_, _, trailing) in with_trailing.items()
    ]
    return _Resolution(CallStatus.UNDECODABLE, candidates=tuple(tried), notes=tuple(notes))


def _own_functions(
    selector: str, contract: KnownContract | None, chain_id: int | None, to: str
) -> list[AbiFunction]:
    """What the contract at `to` itself declares for `selector`: its registry ABIs, and the function
    an ERC-7730 descriptor bound to this very deployment formats."""
    own = list(functions_by_selector(contract.abi).get(selector, [])) if contract and contract.abi else []
    try:
        from copilot.decoding.erc7730 import bound_function
    except ImportError:  # the clear-signing renderer is optional
        return own
    described = bound_function(chain_id, to, selector)
    if described is not None and all(f.signature != described.signature for f in own):
        own.append(described)
    return own


def _decodes(function: AbiFunction, data: bytes) -> tuple[tuple[Any, ...], int] | None:
    """(values, trailing byte count) when the arguments are exactly a canonical ABI encoding."""
    try:
        values, end = abicodec.decode(function.types, data[4:])
    except abicodec.AbiDecodeError:
        return None
    return values, len(data) - 4 - end


_Exact = dict[str, tuple[AbiFunction, tuple[Any, ...]]]
_WithTrailing = dict[str, tuple[AbiFunction, tuple[Any, ...], int]]


def _fits(functions: list[AbiFunction], data: bytes) -> tuple[_Exact, _WithTrailing]:
    """Signature -> decoding, for candidates whose canonical encoding is exactly `data`, and for those
    that match only with bytes left over after the arguments."""
    exact: _Exact = {}
    with_trailing: _WithTrailing = {}
    for function in functions:
        if function.signature in exact or function.signature in with_trailing:
            continue  # the same signature from a less specific source (first one has the best names)
        outcome = _decodes(function, data)
        if outcome is None:
            continue
        values, trailing = outcome
        if trailing == 0:
            exact[function.signature] = (function, values)
        else:
            with_trailing[function.signature] = (function, values, trailing)
    return exact, with_trailing


def _resolve_own(functions: list[AbiFunction], data: bytes) -> _Resolution | None:
    """A known contract's own ABI: exact matches first; bytes after the arguments are tolerated (some
    integrations append a referral tag the contract ignores), with a note."""
    exact, with_trailing = _fits(functions, data)
    if len(exact) == 1:
        function, values = next(iter(exact.values()))
        return _Resolution(CallStatus.DECODED, function, values)
    if len(exact) > 1:
        return _ambiguous(list(exact))
    if len(with_trailing) == 1:
        function, values, trailing = next(iter(with_trailing.values()))
        note = f"{trailing} extra byte(s) after the arguments are not part of {function.signature}"
        return _Resolution(CallStatus.DECODED, function, values, notes=(note,))
    if len(with_trailing) > 1:
        return _ambiguous(list(with_trailing))
    return None


def _ambiguous(signatures: list[str]) -> _Resolution:
    return _Resolution(
        CallStatus.AMBIGUOUS,
        candidates=tuple(signatures),
        notes=(f"ambiguous ({len(signatures)} candidates): {', '.join(signatures)}",),
    )


# --------------------------------------------------------------------------- arguments


@dataclass
class _Context:
    chain_id: int | None
    to: str
    contract: KnownContract | None
    function: str


def build_params(inputs: tuple[AbiParam, ...], values: tuple[Any, ...], context: _Context) -> list[Param]:
    """Named, JSON-ready arguments with human displays (amounts, labels, dates)."""
    json_values = [to_json(param, value) for param, value in zip(inputs, values, strict=True)]
    scope = {param.name: value for param, value in zip(inputs, json_values, strict=True) if param.name}
    params = []
    for position, (param, value) in enumerate(zip(inputs, json_values, strict=True)):
        name = param.name or f"arg{position}"
        params.append(
            Param(name=name, type=param.type, value=value, display=_display(param, value, scope, context))
        )
    return params


def to_json(param: AbiParam, value: Any) -> Any:
    """ABI value -> JSON-ready: checksummed addresses, 0x hex bytes, named tuples as objects."""
    suffix = param.array_suffix
    if suffix:
        element = AbiParam(param.name, param.type[: param.type.rindex("[")], param.components)
        return [to_json(element, item) for item in value]
    if param.components is not None:
        if param.components and all(c.name for c in param.components):
            return {c.name: to_json(c, v) for c, v in zip(param.components, value, strict=True)}
        return [to_json(c, v) for c, v in zip(param.components, value, strict=True)]
    if param.type == "address":
        return _checksum(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def _display(param: AbiParam, value: Any, scope: dict[str, Any], context: _Context) -> str | None:
    if param.components is not None and not param.array_suffix and isinstance(value, dict):
        parts = []
        for component in param.components:
            shown = _display(component, value[component.name], value, context)
            if shown is not None:
                parts.append(f"{component.name}: {shown}")
        return "; ".join(parts) or None
    if param.type == "address" and isinstance(value, str):
        return address_label(value, context.chain_id)
    if param.type == "address[]" and param.name == "path" and isinstance(value, list):
        return " → ".join(_token_name(a, context.chain_id) for a in value)
    if param.type == "bytes" and param.name == "path" and isinstance(value, str):
        return _v3_path_display(value, context)
    if param.type.startswith("uint") and isinstance(value, int):
        return _uint_display(param.name, value, scope, context)
    return None


def address_label(address: str, chain_id: int | None) -> str | None:
    """The known contract or token at `address` as "Label (0x…full address…)", else None."""
    contract = known_contract(address, chain_id)
    return f"{contract.label} ({address})" if contract else None


def _path_tokens(path: Any, function: str) -> list[str] | None:
    """Tokens of a swap path in trade order (input first): V2 address[] or V3 packed bytes.

    V3 exact-output paths are encoded output first, so they are reversed here.
    """
    if isinstance(path, list) and path and all(isinstance(a, str) for a in path):
        return path
    if isinstance(path, str) and path.startswith("0x"):
        from copilot.decoding.nested import decode_v3_path

        decoded = decode_v3_path(bytes.fromhex(path[2:]))
        if decoded:
            tokens = decoded[0]
            return tokens[::-1] if _is_exact_output(function) else tokens
    return None


def _is_exact_output(function: str) -> bool:
    return function.startswith("exactOutput") or function == "V3_SWAP_EXACT_OUT"


# Uniswap V2 Router02, V3 SwapRouter/SwapRouter02 and the Universal Router's swap commands.
_SWAP_FUNCTIONS = frozenset(
    {"swapExactTokensForTokens", "swapExactTokensForETH", "swapTokensForExactTokens", "swapTokensForExactETH",
     "swapExactTokensForTokensSupportingFeeOnTransferTokens", "swapExactTokensForETHSupportingFeeOnTransferTokens",
     "exactInputSingle", "exactInput", "exactOutputSingle", "exactOutput",
     "V2_SWAP_EXACT_IN", "V2_SWAP_EXACT_OUT", "V3_SWAP_EXACT_IN", "V3_SWAP_EXACT_OUT"}
)  # fmt: skip
_MOST_IN = ("amountIn", "amountInMax", "amountInMaximum")  # exact input, or an exact output's cap


def router_takes(call: DecodedCall, payer: str) -> list[tuple[str, int]]:
    """The tokens a Uniswap router call may take from `payer` (the account that signs), and the
    most of each: a swap's input (the exact input, or an exact output's cap) through the V2/V3
    routers or the Universal Router's V2/V3 swap commands, and the Universal Router's
    PERMIT2_TRANSFER_FROM(_BATCH). Nothing for other calls, for a Universal Router swap the router
    pays itself (`payerIsUser` false: funds it already holds, such as ETH it wrapped), or for an
    amount of 0 (SwapRouter02: "the router's balance")."""
    name = (call.function or "").split("(")[0]
    scope: dict[str, Any] = {param.name: param.value for param in call.params}
    if len(call.params) == 1 and isinstance(call.params[0].value, dict):
        scope = call.params[0].value  # the V3 routers take one struct
    taken: list[tuple[Any, Any]] = []
    if name in _SWAP_FUNCTIONS and scope.get("payerIsUser") is not False:
        amount = next((scope[key] for key in _MOST_IN if key in scope), None)
        try:
            token = scope.get("tokenIn") or next(iter(_path_tokens(scope.get("path"), name) or []), None)
        except ValueError:  # a path that is not hex
            token = None
        taken.append((token, amount))
    elif name == "PERMIT2_TRANSFER_FROM":
        taken.append((scope.get("token"), scope.get("amount")))
    elif name == "PERMIT2_TRANSFER_FROM_BATCH":
        details = next((param.value for param in call.params if isinstance(param.value, list)), [])
        taken += [
            (item.get("token"), item.get("amount"))
            for item in details
            if isinstance(item, dict) and str(item.get("from", "")).lower() == payer.lower()
        ]
    out = []
    for token, amount in taken:
        if isinstance(token, str) and isinstance(amount, int) and amount > 0:
            try:
                out.append((checksum_hex(token), amount))
            except ValueError:
                continue
    return out


_MIN_OUT = ("amountOutMin", "amountOutMinimum", "amountOut")  # exact input's floor, or an exact output


def swap_output(call: DecodedCall) -> tuple[str, int, str | None] | None:
    """What a Uniswap router swap promises: (output token, the least it must deliver, the stated
    recipient or None for "the caller"). The output token is the path's last (a V2 `...ForETH` swap
    pays native ETH: "native"). None for other calls."""
    name = (call.function or "").split("(")[0]
    if name not in _SWAP_FUNCTIONS:
        return None
    scope: dict[str, Any] = {param.name: param.value for param in call.params}
    if len(call.params) == 1 and isinstance(call.params[0].value, dict):
        scope = call.params[0].value
    try:
        tokens = _path_tokens(scope.get("path"), name) or []
    except ValueError:
        tokens = []
    token = scope.get("tokenOut") or (tokens[-1] if tokens else None)
    least = next((scope[key] for key in _MIN_OUT if key in scope), None)
    recipient = scope.get("to") or scope.get("recipient")
    if not isinstance(token, str) or not isinstance(least, int):
        return None
    if name.endswith("ForETH"):
        token = "native"
    return token, least, recipient if isinstance(recipient, str) else None


def _v3_path_display(path: str, context: _Context) -> str | None:
    """A V3 path as "USDC → 0.05% → WETH", in the order it is encoded."""
    from copilot.decoding.nested import decode_v3_path

    decoded = decode_v3_path(bytes.fromhex(path[2:]))
    if decoded is None:
        return None
    tokens, fees = decoded
    names = []
    for token in tokens:
        meta = lookup_token(token, context.chain_id)
        names.append(meta.symbol if meta else token)
    hops = [names[0]]
    for fee, name in zip(fees, names[1:], strict=True):
        hops += [f"{fee / 10_000:g}%", name]
    shown = " → ".join(hops)
    return f"{shown} (encoded output first)" if _is_exact_output(context.function) else shown


def _token_name(address: str, chain_id: int | None) -> str:
    token = lookup_token(address, chain_id)
    return f"{token.symbol} ({address})" if token else address


def _uint_display(name: str, value: int, scope: dict[str, Any], context: _Context) -> str | None:
    key = name.lstrip("_").lower()
    if key in _DATE_NAMES:
        return _date_display(value)
    if key in _NATIVE_AMOUNT_NAMES or (key == "value" and _is_call_description(scope)):
        return format_native(value, context.chain_id)
    if "itemType" in scope and key in ("startamount", "endamount"):
        return _seaport_item_amount(value, scope, context)
    if _packs_addresses(context):
        if key in ("token", "to"):
            address = _low_address(value)
            return address_label(address, context.chain_id) or address
        if key in ("amount", "minreturn") and isinstance(scope.get("token"), int):
            return format_amount(value, lookup_token(_low_address(scope["token"]), context.chain_id))
    token_field = _AMOUNT_TOKEN_FIELD.get(key)
    if token_field and isinstance(scope.get(token_field), str):
        return format_amount(value, lookup_token(scope[token_field], context.chain_id))
    tokens = _path_tokens(scope.get("path"), context.function)
    if tokens:
        if key.startswith("amountin"):
            return format_amount(value, lookup_token(tokens[0], context.chain_id))
        if key.startswith("amountout"):
            return format_amount(value, lookup_token(tokens[-1], context.chain_id))
    if key not in _AMOUNT_NAMES:
        return None
    for field_name in _TOKEN_FIELDS:
        if isinstance(scope.get(field_name), str):
            return format_amount(value, lookup_token(scope[field_name], context.chain_id))
    if (
        context.function in _ERC20_FUNCTIONS
        and context.contract is not None
        and "token" in context.contract.tags
    ):
        return format_amount(value, lookup_token(context.to, context.chain_id))
    if context.function in _ALLOWANCE_FUNCTIONS:
        return format_amount(value, None)
    return "unlimited" if is_unlimited(value) else None


def _packs_addresses(context: _Context) -> bool:
    """1inch V6 passes addresses as uint256 with flags in the high bits (its `Address` type)."""
    return context.contract is not None and "oneinch-v6" in context.contract.abi


def _low_address(value: int) -> str:
    return _checksum(f"0x{value & (2**160 - 1):040x}")


def _is_call_description(scope: dict[str, Any]) -> bool:
    """(to, value, data)-shaped arguments: the value is the native amount sent with a call."""
    return any(name in scope for name in ("to", "target")) and any(
        name in scope for name in ("data", "callData")
    )


def _seaport_item_amount(value: int, scope: dict[str, Any], context: _Context) -> str | None:
    item_type = scope.get("itemType")
    if item_type == 0:
        return format_native(value, context.chain_id)
    if item_type == 1 and isinstance(scope.get("token"), str):
        return format_amount(value, lookup_token(scope["token"], context.chain_id))
    return f"{value} item(s)" if item_type in (2, 3, 4, 5) else None


def _date_display(value: int) -> str | None:
    if value == 0:
        return None
    if value >= _NO_EXPIRY_FLOOR:
        return "never (no expiry)"
    return utc_date(value) or f"{value} (no calendar date: past the year 9999)"
