"""Detect what kind of request the user pasted and normalise it into a SigningRequest.

Accepted forms (documented in the README, "Decoding"):
- hex: a raw transaction (signed or unsigned, any type), or a 32-byte hash (eth_sign);
- a JSON string literal: a personal_sign message ("0x…" hex or UTF-8 text), or typed data as a string;
- JSON objects: EIP-712 typed data, an eth_sendTransaction-style object, wallet_sendCalls params, or a
  JSON-RPC request for one of SUPPORTED_METHODS; a labelled corpus case reads as the request it wraps.
"""

from __future__ import annotations

import json
import string
from typing import Any

from copilot.decoding import _rlp
from copilot.inputs.values import (
    MAX_DATA_BYTES,
    DuplicateKeyError,
    input_error,
    is_address,
    is_hex,
    parse_address,
    parse_hex,
    parse_quantity,
    unique_keys,
)
from copilot.models import RequestKind, SigningRequest
from copilot.parsing import load_json

SUPPORTED_METHODS = (
    "eth_sendTransaction",
    "eth_signTransaction",
    "eth_sendRawTransaction",
    "eth_signTypedData",
    "eth_signTypedData_v3",
    "eth_signTypedData_v4",
    "personal_sign",
    "eth_sign",
    "wallet_sendCalls",
)
_INPUT_HINT = (
    "pass a raw transaction (0x…), a 32-byte hash, a JSON transaction object, EIP-712 typed data, "
    'a JSON string message ("hello"), or a JSON-RPC request'
)

# eth_sendTransaction fields: JSON-RPC names, with the aliases some libraries use.
_QUANTITY_FIELDS = (
    "chainId",
    "nonce",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "maxFeePerBlobGas",
    "value",
    "type",
)
_ALIASES = {"gasLimit": "gas", "input": "data"}
_TX_FIELDS = frozenset(
    (*_QUANTITY_FIELDS, "from", "to", "data", "accessList", "authorizationList", "blobVersionedHashes")
)
_TX_KEYS = frozenset((*_TX_FIELDS, *_ALIASES))


def parse_request(text: str) -> SigningRequest:
    """Detect the input kind; raises InputError with one line saying what is wrong."""
    stripped = text.lstrip("\ufeff").strip()  # a byte-order mark from Windows editors is not content
    if not stripped:
        raise input_error("input is empty", _INPUT_HINT)
    if stripped[0] in '{["':
        return _from_json_value(_unwrap_case(_load_json(stripped)))
    joined = "".join(stripped.split())  # hex wrapped over several lines by a terminal or an editor
    if is_hex(joined):
        stripped = joined
    if not is_hex(stripped):
        if stripped[:2] in ("0x", "0X") or all(c in string.hexdigits for c in stripped):
            parse_hex(stripped, "input")  # raises, naming the bad character or the odd length
        raise input_error(f"input is neither hex nor JSON: {_preview(stripped)}", _INPUT_HINT)
    return _from_hex(stripped, method=None)


def _preview(text: str) -> str:
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def _unwrap_case(value: Any) -> Any:
    """A labelled corpus case (fixtures/requests/*.json: {"request", "expect", ...}) is the request it
    wraps, so `decode` and `review` take the corpus files as they are."""
    if isinstance(value, dict) and "request" in value and "expect" in value:
        return value["request"]
    return value


def _load_json(text: str) -> Any:
    try:
        return load_json(text, object_pairs_hook=unique_keys)
    except DuplicateKeyError as exc:
        raise input_error(
            str(exc), "each key may appear once: which value counts would depend on the reader"
        ) from None
    except json.JSONDecodeError as exc:
        raise input_error(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _from_hex(text: str, method: str | None) -> SigningRequest:
    raw = parse_hex(text, "input", max_bytes=MAX_DATA_BYTES * 2)
    if not raw:
        raise input_error("input is empty hex (0x)", _INPUT_HINT)
    if len(raw) == 32 and not _is_transaction_envelope(raw) and method is None:
        return SigningRequest(kind=RequestKind.HASH, hash="0x" + raw.hex())
    return SigningRequest(kind=RequestKind.RAW_TRANSACTION, method=method, raw="0x" + raw.hex())


def _is_transaction_envelope(raw: bytes) -> bool:
    """Whether 32 bytes are an RLP transaction (a tiny legacy tx fits) rather than a hash for eth_sign."""
    try:
        if raw[0] >= 0xC0:
            items, _ = _rlp.decode_list_with_spans(raw)
        elif 1 <= raw[0] <= 4:
            items, _ = _rlp.decode_list_with_spans(raw, 1)
        else:
            return False
    except _rlp.RLPError:
        return False
    return len(items) >= 6


def _from_json_value(value: Any, method: str | None = None) -> SigningRequest:
    if isinstance(value, str):
        inner = value.strip()
        if inner[:1] == "{":
            return _from_json_value(_load_json(inner), method)
        return _message_request(value, method=method or "personal_sign", sender=None)
    if isinstance(value, list):
        raise input_error("a JSON array is not a request", "pass one request object, e.g. a JSON-RPC request")
    if not isinstance(value, dict):
        raise input_error(f"JSON {type(value).__name__} is not a request", _INPUT_HINT)
    if "method" in value:
        return _from_rpc(value)
    if "types" in value or "primaryType" in value:
        return _typed_data_request(value, method=method, sender=None)
    if "calls" in value:
        return _batch_request(value, method=method)
    if value.keys() & _TX_KEYS:
        return _transaction_request(value, method=method)
    keys = ", ".join(sorted(value)[:8]) or "none"
    raise input_error(f"unrecognised JSON object (keys: {keys})", _INPUT_HINT)


# --------------------------------------------------------------------------- JSON-RPC requests


def _from_rpc(request: dict[str, Any]) -> SigningRequest:
    parsed = _from_rpc_params(request)
    if request.get("chainId") is not None:
        _check_request_chain(request["chainId"], parsed)
    return parsed


def _check_request_chain(value: Any, parsed: SigningRequest) -> None:
    """A request-level chainId (WalletConnect-style, decimal, hex or CAIP-2 "eip155:1") must agree with
    the chain id inside params: one of the two is not the chain the user would be signing for."""
    if isinstance(value, str) and value.startswith("eip155:"):
        value = value.removeprefix("eip155:")
    chain_id = parse_quantity(value, "request chainId")
    if parsed.chain_id is not None and parsed.chain_id != chain_id:
        inner = "domain.chainId" if parsed.kind == RequestKind.TYPED_DATA else "params chainId"
        raise input_error(
            f"the request's chainId {chain_id} contradicts its {inner} {parsed.chain_id}",
            "the request and its params must name the same chain",
        )


def _from_rpc_params(request: dict[str, Any]) -> SigningRequest:
    method = request.get("method")
    if not isinstance(method, str) or method not in SUPPORTED_METHODS:
        shown = method if isinstance(method, str) else json.dumps(method)
        raise input_error(
            f"unsupported JSON-RPC method {shown[:80]!r}",
            f"supported methods: {', '.join(SUPPORTED_METHODS)}",
        )
    params = request.get("params", [])
    if isinstance(params, dict):  # some wallets send a single params object
        params = [params]
    if not isinstance(params, list) or not params:
        raise input_error(f"{method} needs params, e.g. {_PARAMS_EXAMPLE[method]}")
    most = 1 if method in _ONE_PARAM else 2
    if len(params) > most:  # a second transaction or payload would be dropped unreviewed
        raise input_error(
            f"{method} has {len(params)} params; it takes {'one' if most == 1 else 'at most two'}, "
            "and the rest would not be reviewed",
            f"send one request per signature: {_PARAMS_EXAMPLE[method]}",
        )
    first = params[0]
    if method in ("eth_sendTransaction", "eth_signTransaction"):
        if not isinstance(first, dict):
            raise input_error(f"{method} params[0] must be a transaction object")
        return _transaction_request(first, method=method)
    if method == "eth_sendRawTransaction":
        if not isinstance(first, str):
            raise input_error("eth_sendRawTransaction params[0] must be the raw transaction hex")
        return _from_hex(first, method=method)
    if method == "wallet_sendCalls":
        if not isinstance(first, dict):
            raise input_error("wallet_sendCalls params[0] must be an object with calls")
        return _batch_request(first, method=method)
    if method.startswith("eth_signTypedData"):
        address, data = _split_address_param(params, method, address_first=True)
        if isinstance(data, str):
            data = _load_json(data)
        if isinstance(data, list):
            raise input_error(
                f"{method} with a legacy v1 array of {{type, name, value}} is not supported",
                "only EIP-712 v3/v4 typed data ({types, primaryType, domain, message}) can be reviewed",
            )
        if not isinstance(data, dict):
            raise input_error(f"{method} typed data must be a JSON object")
        return _typed_data_request(data, method=method, sender=address)
    if method == "personal_sign":
        address, message = _split_address_param(params, method, address_first=False)
        return _message_request(message, method=method, sender=address)
    address, data = _split_address_param(params, method, address_first=True)  # eth_sign
    if not isinstance(data, str):
        raise input_error("eth_sign data must be a hex string")
    raw = parse_hex(data, "eth_sign data")
    if len(raw) == 32:
        return SigningRequest(kind=RequestKind.HASH, method=method, hash="0x" + raw.hex(), sender=address)
    # Not a hash: clients such as geth apply the EIP-191 prefix, exactly like personal_sign.
    return SigningRequest(
        kind=RequestKind.PERSONAL_MESSAGE, method=method, message="0x" + raw.hex(), sender=address
    )


_ONE_PARAM = ("eth_sendTransaction", "eth_signTransaction", "eth_sendRawTransaction", "wallet_sendCalls")
_PARAMS_EXAMPLE = {
    "eth_sendTransaction": '[{"from": "0x…", "to": "0x…", "data": "0x…"}]',
    "eth_signTransaction": '[{"from": "0x…", "to": "0x…", "data": "0x…"}]',
    "eth_sendRawTransaction": '["0x02f8…"]',
    "eth_signTypedData": '["0xADDRESS", {typed data}]',
    "eth_signTypedData_v3": '["0xADDRESS", {typed data}]',
    "eth_signTypedData_v4": '["0xADDRESS", {typed data}]',
    "personal_sign": '["0xMESSAGE", "0xADDRESS"]',
    "eth_sign": '["0xADDRESS", "0xHASH"]',
    "wallet_sendCalls": '[{"version": "2.0.0", "chainId": "0x1", "from": "0x…", "calls": [...]}]',
}


def _split_address_param(params: list[Any], method: str, *, address_first: bool) -> tuple[str | None, Any]:
    """(address, payload) from a two-element params list, tolerating wallets that swap the order."""
    if len(params) == 1:
        return None, params[0]
    a, b = params[0], params[1]
    expected_address, payload = (a, b) if address_first else (b, a)
    if not is_address(expected_address) and is_address(payload):
        expected_address, payload = payload, expected_address  # swapped by the dapp
    if not is_address(expected_address):
        raise input_error(f"{method} params must be {_PARAMS_EXAMPLE[method]}: no 20-byte address found")
    return parse_address(expected_address, f"{method} address"), payload


# --------------------------------------------------------------------------- request kinds


def _message_request(message: Any, *, method: str, sender: str | None) -> SigningRequest:
    if not isinstance(message, str):
        raise input_error(f"{method} message must be a string (0x hex or text)")
    if message[:2] in ("0x", "0X") and is_hex(message):
        raw = parse_hex(message, "message")
    else:
        raw = message.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_DATA_BYTES:
            raise input_error(f"message is {len(raw):,} bytes; txcopilot caps messages at 1 MiB")
    return SigningRequest(
        kind=RequestKind.PERSONAL_MESSAGE, method=method, message="0x" + raw.hex(), sender=sender
    )


def _typed_data_request(data: dict[str, Any], *, method: str | None, sender: str | None) -> SigningRequest:
    for key in ("types", "primaryType", "domain", "message"):
        if key not in data:
            raise input_error(
                f"typed data has no {key!r}", "EIP-712 needs types, primaryType, domain and message"
            )
    domain = data["domain"]
    chain_id = None
    if isinstance(domain, dict) and domain.get("chainId") is not None:
        chain_id = parse_quantity(domain["chainId"], "domain.chainId")
    return SigningRequest(
        kind=RequestKind.TYPED_DATA, method=method, typed_data=data, chain_id=chain_id, sender=sender
    )


def _optional_address(value: Any, what: str) -> str | None:
    return None if value in (None, "", "0x") else parse_address(value, what)


def _transaction_request(tx: dict[str, Any], *, method: str | None) -> SigningRequest:
    from copilot.decoding.transaction import infer_type

    normalised = normalise_transaction(tx)
    infer_type(normalised)  # refuses contradictory fields before anything is shown
    return SigningRequest(
        kind=RequestKind.TRANSACTION,
        method=method,
        transaction=normalised,
        chain_id=normalised.get("chainId"),
        sender=normalised.get("from"),
    )


def normalise_transaction(tx: dict[str, Any]) -> dict[str, Any]:
    """JSON-RPC names, quantities as ints, addresses checksummed, bytes as 0x hex; unknown keys refused."""
    unknown = sorted(key for key, value in tx.items() if key not in _TX_KEYS and value is not None)
    if unknown:
        raise input_error(
            f"transaction object has unknown field(s): {', '.join(unknown)[:200]}",
            f"known fields: {', '.join(sorted(_TX_FIELDS))}",
        )
    out: dict[str, Any] = {}
    for key, value in tx.items():
        name = _ALIASES.get(key, key)
        if value is None:
            continue
        if name in out:
            raise input_error(f"transaction object gives {name} twice ({key} and its alias)")
        if name in _QUANTITY_FIELDS:
            out[name] = parse_quantity(value, name)
        elif name in ("from", "to"):
            address = _optional_address(value, name)
            if address is not None:
                out[name] = address
        elif name == "data":
            out[name] = "0x" + parse_hex(value, "data").hex()
        elif name == "accessList":
            out[name] = _access_list(value)
        elif name == "authorizationList":
            out[name] = _authorization_list(value)
        else:
            out[name] = _blob_hashes(value)
    return out


def _list_of(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise input_error(f"{what} must be an array")
    return value


def _access_list(value: Any) -> list[dict[str, Any]]:
    out = []
    for index, entry in enumerate(_list_of(value, "accessList")):
        where = f"accessList[{index}]"
        if not isinstance(entry, dict) or "address" not in entry:
            raise input_error(f"{where} must be an object with address and storageKeys")
        keys = []
        for key_index, key in enumerate(_list_of(entry.get("storageKeys", []), f"{where}.storageKeys")):
            raw = parse_hex(key, f"{where}.storageKeys[{key_index}]")
            if len(raw) != 32:
                raise input_error(f"{where}.storageKeys[{key_index}] must be 32 bytes, got {len(raw)}")
            keys.append("0x" + raw.hex())
        out.append({"address": parse_address(entry["address"], f"{where}.address"), "storageKeys": keys})
    return out


def _authorization_list(value: Any) -> list[dict[str, Any]]:
    out = []
    for index, entry in enumerate(_list_of(value, "authorizationList")):
        where = f"authorizationList[{index}]"
        if not isinstance(entry, dict):
            raise input_error(f"{where} must be an object")
        parity = entry.get("yParity", entry.get("v"))
        if parity is None:
            raise input_error(f"{where} has no yParity")
        parity = parse_quantity(parity, f"{where}.yParity")
        if parity in (27, 28):  # some libraries still write v
            parity -= 27
        out.append(
            {
                "chainId": parse_quantity(entry.get("chainId"), f"{where}.chainId"),
                "address": parse_address(entry.get("address"), f"{where}.address"),
                "nonce": parse_quantity(entry.get("nonce"), f"{where}.nonce", maximum=2**64 - 1),
                "yParity": parse_quantity(parity, f"{where}.yParity", maximum=255),
                "r": parse_quantity(entry.get("r"), f"{where}.r"),
                "s": parse_quantity(entry.get("s"), f"{where}.s"),
            }
        )
    return out


def _blob_hashes(value: Any) -> list[str]:
    out = []
    for index, item in enumerate(_list_of(value, "blobVersionedHashes")):
        raw = parse_hex(item, f"blobVersionedHashes[{index}]")
        if len(raw) != 32:
            raise input_error(f"blobVersionedHashes[{index}] must be 32 bytes, got {len(raw)}")
        out.append("0x" + raw.hex())
    return out


def _batch_request(params: dict[str, Any], *, method: str | None) -> SigningRequest:
    calls = []
    for index, call in enumerate(_list_of(params.get("calls"), "calls")):
        where = f"calls[{index}]"
        if not isinstance(call, dict):
            raise input_error(f"{where} must be an object with to, value and data")
        calls.append(
            {
                "to": _optional_address(call.get("to"), f"{where}.to"),
                "value": parse_quantity(call.get("value", 0) or 0, f"{where}.value"),
                "data": "0x" + parse_hex(call.get("data") or "0x", f"{where}.data").hex(),
            }
        )
    if not calls:
        raise input_error("wallet_sendCalls has no calls")
    chain_id = params.get("chainId")
    return SigningRequest(
        kind=RequestKind.CALL_BATCH,
        method=method or "wallet_sendCalls",
        calls=calls,
        chain_id=None if chain_id is None else parse_quantity(chain_id, "chainId"),
        sender=_optional_address(params.get("from"), "from"),
    )
