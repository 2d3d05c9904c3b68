"""Strict transaction decoding: raw RLP of every type, and eth_sendTransaction-style objects.

Structural problems (RLP, non-canonical integers, field sizes, signature values, overflows, unsupported
types, trailing bytes) raise InputError with one line naming the field. Problems that only a node's
consensus rules reject (chain id, intrinsic gas, initcode size, fee ordering, gas-limit cap) decode
normally; `consensus_warnings` turns them into findings, because a transaction for chain 5 is valid on
chain 5 and the user still needs to see what it does.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from copilot.decoding import _rlp
from copilot.decoding._crypto import (
    UINT256_MAX,
    hex0x,
    keccak256,
    recover_address,
    signature_problem,
    to_checksum_address,
)
from copilot.errors import InputError
from copilot.models import Authorization, Finding, Severity, TransactionInfo

MAX_CALLDATA_BYTES = 1 << 20  # 1 MiB: far above any real calldata (initcode is capped at 48 KiB)
MAX_INITCODE_BYTES = 49_152  # EIP-3860
TX_GAS_LIMIT_CAP = 1 << 24  # EIP-7825 (Osaka)
UINT64_MAX = 2**64 - 1

TYPE_NAMES = {
    0: "legacy",
    1: "EIP-2930 (access list)",
    2: "EIP-1559 (dynamic fee)",
    3: "EIP-4844 (blob)",
    4: "EIP-7702 (set code)",
}

# Field layouts, in RLP order, without the signature. Kinds: u64/u256 integers, "to" (address or empty
# for creation), "address" (required), "bytes", "access_list", "authorization_list", "blob_hashes".
_LEGACY = (
    ("nonce", "u64"),
    ("gas_price", "u256"),
    ("gas", "u64"),
    ("to", "to"),
    ("value", "u256"),
    ("data", "bytes"),
)
_EIP1559_HEAD = (
    ("chain_id", "u256"),
    ("nonce", "u64"),
    ("max_priority_fee_per_gas", "u256"),
    ("max_fee_per_gas", "u256"),
    ("gas", "u64"),
)
_TYPED: dict[int, tuple[tuple[str, str], ...]] = {
    1: (("chain_id", "u256"), *_LEGACY, ("access_list", "access_list")),
    2: (*_EIP1559_HEAD, ("to", "to"), ("value", "u256"), ("data", "bytes"), ("access_list", "access_list")),
    3: (
        *_EIP1559_HEAD,
        ("to", "address"),
        ("value", "u256"),
        ("data", "bytes"),
        ("access_list", "access_list"),
        ("max_fee_per_blob_gas", "u256"),
        ("blob_versioned_hashes", "blob_hashes"),
    ),
    4: (
        *_EIP1559_HEAD,
        ("to", "address"),
        ("value", "u256"),
        ("data", "bytes"),
        ("access_list", "access_list"),
        ("authorization_list", "authorization_list"),
    ),
}
_SUPPORTED = "legacy (RLP list), 0x01 EIP-2930, 0x02 EIP-1559, 0x03 EIP-4844, 0x04 EIP-7702"
_BLOB_BYTES = 131_072
_KZG_BYTES = 48


def _bad(message: str, hint: str | None = None) -> InputError:
    return InputError(f"invalid transaction: {message}", hint)


# --------------------------------------------------------------------------- field readers


def _uint(item: _rlp.Item, name: str, bits: int = 256) -> int:
    if isinstance(item, list):
        raise _bad(f"{name} must be an integer, found an RLP list")
    if item and item[0] == 0:
        raise _bad(f"{name} has leading zero bytes (non-canonical integer)")
    if len(item) * 8 > bits:
        raise _bad(f"{name} is {len(item)} bytes long and overflows {bits} bits")
    return int.from_bytes(item, "big")


def _nonce(item: _rlp.Item, name: str = "nonce") -> int:
    nonce = _uint(item, name, 64)
    if nonce == UINT64_MAX:
        raise _bad(f"{name} is 2^64-1, which EIP-2681 reserves (nonces must stay below it)")
    return nonce


def _address_bytes(item: _rlp.Item, name: str) -> bytes:
    if isinstance(item, list):
        raise _bad(f"{name} must be a 20-byte address, found an RLP list")
    if len(item) != 20:
        raise _bad(f"{name} must be 20 bytes, got {len(item)}")
    return item


def _bytes(item: _rlp.Item, name: str) -> bytes:
    if isinstance(item, list):
        raise _bad(f"{name} must be a byte string, found an RLP list")
    if len(item) > MAX_CALLDATA_BYTES:
        raise InputError(
            f"{name} is {len(item):,} bytes; txcopilot caps calldata at 1 MiB ({MAX_CALLDATA_BYTES:,} bytes)",
            "no real transaction carries that much calldata",
        )
    return item


def _list(item: _rlp.Item, name: str) -> list[_rlp.Item]:
    if not isinstance(item, list):
        raise _bad(f"{name} must be an RLP list, found a byte string")
    return item


def _access_list(item: _rlp.Item) -> list[dict[str, Any]]:
    out = []
    for index, entry in enumerate(_list(item, "access_list")):
        where = f"access_list[{index}]"
        pair = _list(entry, where)
        if len(pair) != 2:
            raise _bad(f"{where} must be [address, storageKeys], got {len(pair)} elements")
        address = _address_bytes(pair[0], f"{where}.address")
        keys = []
        for key_index, key in enumerate(_list(pair[1], f"{where}.storageKeys")):
            if isinstance(key, list) or len(key) != 32:
                size = "a list" if isinstance(key, list) else f"{len(key)} bytes"
                raise _bad(f"{where}.storageKeys[{key_index}] must be 32 bytes, got {size}")
            keys.append(hex0x(key))
        out.append({"address": to_checksum_address(address), "storageKeys": keys})
    return out


def authorization_signing_hash(chain_id: int, address: bytes, nonce: int) -> bytes:
    """EIP-7702: keccak(MAGIC 0x05 ‖ rlp([chain_id, address, nonce]))."""
    return keccak256(b"\x05" + _rlp.encode([chain_id, address, nonce]))


def make_authorization(
    chain_id: int, address: bytes, nonce: int, y_parity: int, r: int, s: int
) -> Authorization:
    """An authorization with its authority recovered; None when the signature is invalid (nodes skip it)."""
    authority = None
    if signature_problem(r, s, y_parity) is None and nonce < UINT64_MAX:
        signer = recover_address(authorization_signing_hash(chain_id, address, nonce), y_parity, r, s)
        authority = to_checksum_address(signer) if signer else None
    return Authorization(
        chain_id=chain_id,
        address=to_checksum_address(address),
        nonce=nonce,
        y_parity=y_parity,
        r=r,
        s=s,
        authority=authority,
    )


def _authorization_list(item: _rlp.Item) -> list[Authorization]:
    out = []
    for index, entry in enumerate(_list(item, "authorization_list")):
        where = f"authorization_list[{index}]"
        fields = _list(entry, where)
        if len(fields) != 6:
            raise _bad(
                f"{where} must have 6 fields [chain_id, address, nonce, y_parity, r, s], got {len(fields)}"
            )
        out.append(
            make_authorization(
                _uint(fields[0], f"{where}.chain_id"),
                _address_bytes(fields[1], f"{where}.address"),
                _uint(fields[2], f"{where}.nonce", 64),
                _uint(fields[3], f"{where}.y_parity", 8),
                _uint(fields[4], f"{where}.r"),
                _uint(fields[5], f"{where}.s"),
            )
        )
    if not out:
        raise _bad("an EIP-7702 transaction must carry at least one authorization")
    return out


def _blob_hashes(item: _rlp.Item) -> list[str]:
    out = []
    for index, entry in enumerate(_list(item, "blob_versioned_hashes")):
        where = f"blob_versioned_hashes[{index}]"
        if isinstance(entry, list) or len(entry) != 32:
            raise _bad(f"{where} must be 32 bytes")
        if entry[0] != 0x01:
            raise _bad(f"{where} has version 0x{entry[0]:02x}; only 0x01 (KZG) exists")
        out.append(hex0x(entry))
    if not out:
        raise _bad("an EIP-4844 transaction must reference at least one blob")
    return out


def _read_fields(items: list[_rlp.Item], layout: tuple[tuple[str, str], ...], tx_type: int) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for (name, kind), item in zip(layout, items, strict=False):
        if kind == "u256":
            fields[name] = _uint(item, name)
        elif kind == "u64":
            fields[name] = _nonce(item) if name == "nonce" else _uint(item, name, 64)
        elif kind == "to":
            if isinstance(item, list):
                raise _bad("to must be a 20-byte address, found an RLP list")
            fields[name] = None if item == b"" else to_checksum_address(_address_bytes(item, "to"))
        elif kind == "address":
            if item == b"":
                raise _bad(f"a type-{tx_type} transaction cannot create a contract: `to` is required")
            fields[name] = to_checksum_address(_address_bytes(item, "to"))
        elif kind == "bytes":
            fields[name] = hex0x(_bytes(item, name))
        elif kind == "access_list":
            fields[name] = _access_list(item)
        elif kind == "authorization_list":
            fields[name] = _authorization_list(item)
        else:
            fields[name] = _blob_hashes(item)
    fee = fields.get("gas_price", fields.get("max_fee_per_gas", 0))
    if fields["gas"] * fee > UINT256_MAX:
        raise _bad("gas × fee per gas overflows 256 bits")
    return fields


def _field_count_error(kind: str, count: int, unsigned: int) -> InputError:
    return _bad(
        f"{kind} transaction has {count} fields; expected {unsigned + 3} (signed) or {unsigned} (unsigned)"
    )


def _signature(items: list[_rlp.Item]) -> tuple[int, int, int]:
    v = _uint(items[0], "v")
    r = _uint(items[1], "signature r")
    s = _uint(items[2], "signature s")
    return v, r, s


def _recover(signing_hash: bytes, parity: int, r: int, s: int) -> str:
    problem = signature_problem(r, s, parity)
    if problem:
        raise _bad(problem)
    signer = recover_address(signing_hash, parity, r, s)
    if signer is None:
        raise _bad("the signature does not recover to any public key")
    return to_checksum_address(signer)


# --------------------------------------------------------------------------- raw transactions


def decode_raw_transaction(raw: bytes) -> TransactionInfo:
    """Decode a raw transaction (signed or unsigned) strictly; raises InputError naming any problem."""
    if not raw:
        raise _bad("no bytes")
    first = raw[0]
    try:
        if first >= 0xC0:
            return _decode_legacy(raw)
        if first in _TYPED:
            return _decode_typed(raw)
    except _rlp.RLPError as exc:
        raise _bad(f"malformed RLP: {exc}") from None
    if first >= 0x80:
        raise _bad(
            f"starts with 0x{first:02x}, an RLP byte string; a transaction is an RLP list or a type byte",
            f"supported: {_SUPPORTED}",
        )
    raise _bad(f"unsupported transaction type 0x{first:02x}", f"supported: {_SUPPORTED}")


def _decode_legacy(raw: bytes) -> TransactionInfo:
    items, spans = _rlp.decode_list_with_spans(raw)
    if len(items) not in (6, 9):
        raise _field_count_error("legacy", len(items), 6)
    fields = _read_fields(items, _LEGACY, 0)
    info = TransactionInfo(type=0, **fields)
    unsigned_fields = raw[spans[0][0] : spans[5][1]]
    if len(items) == 6:
        info.signing_hash = hex0x(keccak256(raw))
        return info
    v, r, s = _signature(items[6:])
    if r == 0 and s == 0 and v not in (0, 27, 28):
        # Byte for byte the EIP-155 signing payload [..., chainId, 0, 0]: what a wallet (or hardware
        # wallet) is asked to sign, so it decodes as unsigned for chain v rather than as a zero signature.
        info.chain_id = v
        info.signing_hash = hex0x(keccak256(raw))
        return info
    info.signed, info.v, info.r, info.s = True, v, r, s
    info.hash = hex0x(keccak256(raw))
    if v in (27, 28):
        parity, payload = v - 27, unsigned_fields
    elif v >= 35:
        info.chain_id, parity = divmod(v - 35, 2)
        payload = unsigned_fields + _rlp.encode(info.chain_id) + b"\x80\x80"
    elif v in (0, 1):
        raise _bad(
            f"legacy signature v={v}: expected 27/28, or chain_id*2+35/36 (EIP-155)",
            "an unsigned EIP-155 payload ends in [chainId, 0, 0]",
        )
    else:
        # v encodes no chain id: every node rejects it, but the fields are still worth showing.
        return info
    signing_hash = keccak256(_rlp.list_prefix(len(payload)) + payload)
    info.signing_hash = hex0x(signing_hash)
    info.sender = _recover(signing_hash, parity, r, s)
    return info


def _decode_typed(raw: bytes) -> TransactionInfo:
    tx_type = raw[0]
    items, spans = _rlp.decode_list_with_spans(raw, 1)
    canonical = raw
    if tx_type == 3 and items and isinstance(items[0], list):
        canonical = _unwrap_blob_network_form(raw, items, spans)
        items, spans = _rlp.decode_list_with_spans(canonical, 1)
    layout = _TYPED[tx_type]
    if len(items) not in (len(layout), len(layout) + 3):
        raise _field_count_error(f"type-{tx_type}", len(items), len(layout))
    info = TransactionInfo(type=tx_type, **_read_fields(items, layout, tx_type))
    unsigned_fields = canonical[spans[0][0] : spans[len(layout) - 1][1]]
    signing_hash = keccak256(bytes([tx_type]) + _rlp.list_prefix(len(unsigned_fields)) + unsigned_fields)
    info.signing_hash = hex0x(signing_hash)
    if len(items) == len(layout):
        return info
    y_parity, r, s = _signature(items[len(layout) :])
    info.signed, info.v, info.r, info.s = True, y_parity, r, s
    info.hash = hex0x(keccak256(canonical))
    info.sender = _recover(signing_hash, y_parity, r, s)
    return info


def _unwrap_blob_network_form(raw: bytes, items: list[_rlp.Item], spans: list[tuple[int, int]]) -> bytes:
    """EIP-4844 network form: [tx, blobs, commitments, proofs] or EIP-7594 [tx, 1, blobs, commitments, cell_proofs].

    Returns the canonical 0x03 ‖ rlp(tx) after checking sizes and that each commitment matches its
    versioned hash. KZG proofs are not verified: that needs the trusted setup and says nothing about
    what the transaction does.
    """
    if len(items) == 5 and items[1] == b"\x01":
        blobs, commitments, proofs = items[2], items[3], items[4]
    elif len(items) == 4:
        blobs, commitments, proofs = items[1], items[2], items[3]
    else:
        raise _bad("EIP-4844 network form must be [tx, blobs, commitments, proofs] (or the EIP-7594 form)")
    start, end = spans[0]
    canonical = b"\x03" + raw[start:end]
    tx_items, _ = _rlp.decode_list_with_spans(canonical, 1)
    hashes = _blob_hashes(tx_items[10]) if len(tx_items) > 10 else []
    blob_list = _list(blobs, "blobs")
    commitment_list = _list(commitments, "commitments")
    _list(proofs, "proofs")
    if not len(blob_list) == len(commitment_list) == len(hashes):
        raise _bad(
            f"blob sidecar has {len(blob_list)} blobs and {len(commitment_list)} commitments "
            f"for {len(hashes)} versioned hashes"
        )
    for index, (blob, commitment, versioned) in enumerate(
        zip(blob_list, commitment_list, hashes, strict=True)
    ):
        if isinstance(blob, list) or len(blob) != _BLOB_BYTES:
            raise _bad(f"blobs[{index}] must be {_BLOB_BYTES} bytes")
        if isinstance(commitment, list) or len(commitment) != _KZG_BYTES:
            raise _bad(f"commitments[{index}] must be {_KZG_BYTES} bytes")
        if hex0x(b"\x01" + sha256(commitment).digest()[1:]) != versioned:
            raise _bad(f"commitments[{index}] does not match blob_versioned_hashes[{index}]")
    return canonical


# --------------------------------------------------------------------------- consensus warnings


def intrinsic_gas(info: TransactionInfo) -> tuple[int, int]:
    """(intrinsic gas, EIP-7623 calldata floor) under today's mainnet rules (Prague and later)."""
    data = bytes.fromhex(info.data[2:])
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    gas = 21_000 + 4 * zeros + 16 * nonzeros
    if info.to is None:
        gas += 32_000 + 2 * ((len(data) + 31) // 32)  # creation + EIP-3860 initcode words
    for entry in info.access_list:
        gas += 2_400 + 1_900 * len(entry["storageKeys"])
    gas += 25_000 * len(info.authorization_list)
    floor = 21_000 + 10 * (zeros + 4 * nonzeros)
    return gas, floor


def consensus_warnings(info: TransactionInfo) -> list[Finding]:
    """Findings for rules a node enforces but that do not stop us from showing the transaction."""
    out: list[Finding] = []

    def warn(id_: str, severity: Severity, title: str, evidence: str, location: str = "transaction") -> None:
        out.append(Finding(id=id_, severity=severity, title=title, evidence=evidence, location=location))

    if info.signed and info.type == 0 and info.chain_id is None and info.v not in (27, 28):
        warn(
            "tx.chain_id_missing",
            Severity.MEDIUM,
            "Signature encodes no chain id",
            f"v={info.v} is neither 27/28 nor chain_id*2+35/36 (EIP-155): no node accepts it and the sender "
            "cannot be recovered",
        )
    elif info.chain_id == 0:
        warn(
            "tx.chain_id_zero",
            Severity.MEDIUM,
            "Chain id 0",
            "a transaction for chain id 0 is valid on no chain",
        )
    elif info.chain_id is not None and info.chain_id != 1:
        warn(
            "tx.other_chain",
            Severity.INFO,
            "Not an Ethereum mainnet transaction",
            f"for chain id {info.chain_id}: only that chain accepts it",
        )
    gas, floor = intrinsic_gas(info)
    limit = info.gas or 0
    if info.gas is not None and limit < gas:
        warn(
            "tx.intrinsic_gas",
            Severity.LOW,
            "Gas limit below the intrinsic cost",
            f"gas limit {limit:,} is below the intrinsic gas of {gas:,}: nodes reject it",
        )
    elif info.gas is not None and limit < floor:
        warn(
            "tx.calldata_floor",
            Severity.LOW,
            "Gas limit below the calldata floor",
            f"gas limit {limit:,} is below the EIP-7623 calldata floor of {floor:,} (since Prague): nodes reject it",
        )
    if info.gas is not None and limit > TX_GAS_LIMIT_CAP:
        warn(
            "tx.gas_limit_cap",
            Severity.LOW,
            "Gas limit above the per-transaction cap",
            f"gas limit {limit:,} exceeds 2^24 = {TX_GAS_LIMIT_CAP:,} (EIP-7825, since Osaka): mainnet rejects it",
        )
    data_length = (len(info.data) - 2) // 2
    if info.to is None and data_length > MAX_INITCODE_BYTES:
        warn(
            "tx.initcode_size",
            Severity.LOW,
            "Initcode larger than the limit",
            f"contract creation with {data_length:,} bytes of initcode; EIP-3860 allows {MAX_INITCODE_BYTES:,}",
        )
    if (
        info.max_priority_fee_per_gas is not None
        and info.max_fee_per_gas is not None
        and info.max_priority_fee_per_gas > info.max_fee_per_gas
    ):
        warn(
            "tx.fee_ordering",
            Severity.LOW,
            "Priority fee above the max fee",
            f"max priority fee {info.max_priority_fee_per_gas:,} exceeds max fee {info.max_fee_per_gas:,} per gas "
            "(EIP-1559): nodes reject it",
        )
    for index, auth in enumerate(info.authorization_list):
        if auth.authority is None:
            problem = "has no valid signature"
        elif auth.chain_id not in (0, info.chain_id) and info.chain_id is not None:
            problem = f"is for chain id {auth.chain_id} but the transaction for chain id {info.chain_id}"
        else:
            continue
        warn(
            "tx.authorization_invalid",
            Severity.LOW,
            "Authorization that nodes skip",
            f"authorization {index} (delegate {auth.address}) {problem}: nodes skip it",
            f"authorization[{index}]",
        )
    return out


# --------------------------------------------------------------------------- transaction objects

_OBJECT_FEES = {0: ("gasPrice",), 1: ("gasPrice",), 2: ("maxPriorityFeePerGas", "maxFeePerGas")}
_OBJECT_FEES[3] = _OBJECT_FEES[4] = _OBJECT_FEES[2]


# Which envelope types carry each type-specific field of an eth_sendTransaction object.
_FIELD_TYPES = {
    "gasPrice": (0, 1),
    "accessList": (1, 2, 3, 4),
    "maxFeePerGas": (2, 3, 4),
    "maxPriorityFeePerGas": (2, 3, 4),
    "maxFeePerBlobGas": (3,),
    "blobVersionedHashes": (3,),
    "authorizationList": (4,),
}
# Without an explicit `type`, the first of these fields present decides it.
_TYPE_DECIDERS = (
    ("authorizationList", 4),
    ("blobVersionedHashes", 3),
    ("maxFeePerBlobGas", 3),
    ("maxFeePerGas", 2),
    ("maxPriorityFeePerGas", 2),
    ("gasPrice", 0),
)


def infer_type(tx: dict[str, Any]) -> int:
    """The envelope type an eth_sendTransaction object asks for (explicit `type`, else from its fields).

    Raises InputError when the fields contradict each other or the type (a gas price next to EIP-1559
    fees, max fees on a legacy type, a type-4 without authorizations...): a field the chosen type does not
    carry is shown to the user but never signed, so such an object cannot be reviewed honestly.
    """
    decider = None
    if "type" in tx:
        tx_type = int(tx["type"])
        if tx_type not in TYPE_NAMES:
            raise InputError(f"unsupported transaction type {tx_type}", f"supported: {_SUPPORTED}")
        reason = f"type 0x{tx_type:x} ({TYPE_NAMES[tx_type]})"
    else:
        decider, tx_type = next(((name, t) for name, t in _TYPE_DECIDERS if name in tx), (None, 2))
        if tx_type == 0 and "accessList" in tx:
            tx_type = 1
        reason = f"{decider} (a type-{tx_type} field)"
    for name, types in _FIELD_TYPES.items():
        if name == decider or name not in tx or tx_type in types:
            continue
        if name == "accessList" and not tx[name]:
            continue  # an empty access list changes nothing that is signed
        carriers = ", ".join(str(t) for t in types)
        raise InputError(
            f"transaction object has {reason} and {name}, which only type(s) {carriers} carry: "
            "the two contradict each other",
            f"remove {name} or fix the type; what is shown must be what is signed",
        )
    if tx_type == 4 and not tx.get("authorizationList"):
        raise _bad(f"{reason} needs a non-empty authorizationList")
    if tx_type == 3 and not tx.get("blobVersionedHashes"):
        raise _bad(f"{reason} needs a non-empty blobVersionedHashes")
    return tx_type


def transaction_from_object(tx: dict[str, Any]) -> TransactionInfo:
    """TransactionInfo for a normalised eth_sendTransaction object (see copilot.inputs.normalise_transaction).

    The signing hash is computed when every field of the signing payload is present; otherwise the wallet
    would still fill some (nonce, gas, fees) and there is no single payload yet.
    """
    tx_type = infer_type(tx)
    data = bytes.fromhex(tx.get("data", "0x")[2:])
    if tx_type in (3, 4) and tx.get("to") is None:
        raise _bad(f"a type-{tx_type} transaction cannot create a contract: `to` is required")
    authorizations = [
        make_authorization(
            a["chainId"], bytes.fromhex(a["address"][2:]), a["nonce"], a["yParity"], a["r"], a["s"]
        )
        for a in tx.get("authorizationList", [])
    ]
    if "nonce" in tx and tx["nonce"] >= UINT64_MAX:
        raise _bad("nonce must stay below 2^64-1 (EIP-2681)")
    if tx.get("gas", 0) > UINT64_MAX:
        raise _bad("gas overflows 64 bits")
    fee = tx.get("gasPrice", tx.get("maxFeePerGas", 0))
    if tx.get("gas", 0) * fee > UINT256_MAX:
        raise _bad("gas × fee per gas overflows 256 bits")
    info = TransactionInfo(
        type=tx_type,
        chain_id=tx.get("chainId"),
        nonce=tx.get("nonce"),
        gas=tx.get("gas"),
        gas_price=tx.get("gasPrice"),
        max_fee_per_gas=tx.get("maxFeePerGas"),
        max_priority_fee_per_gas=tx.get("maxPriorityFeePerGas"),
        max_fee_per_blob_gas=tx.get("maxFeePerBlobGas"),
        blob_versioned_hashes=tx.get("blobVersionedHashes", []),
        to=tx.get("to"),
        value=tx.get("value", 0),
        data=hex0x(data),
        access_list=tx.get("accessList", []),
        authorization_list=authorizations,
        sender=tx.get("from"),
    )
    payload = signing_payload(tx, tx_type)
    if payload is not None:
        info.signing_hash = hex0x(keccak256(payload))
    return info


def signing_payload(tx: dict[str, Any], tx_type: int) -> bytes | None:
    """The exact bytes a signer hashes for this object, or None while a required field is missing."""
    needed = ("chainId", "nonce", "gas", *_OBJECT_FEES[tx_type])
    if tx_type == 3:
        needed += ("maxFeePerBlobGas", "blobVersionedHashes")
    if any(tx.get(name) is None for name in needed):
        return None
    to = bytes.fromhex(tx["to"][2:]) if tx.get("to") else b""
    data = bytes.fromhex(tx.get("data", "0x")[2:])
    access = [
        [bytes.fromhex(e["address"][2:]), [bytes.fromhex(k[2:]) for k in e["storageKeys"]]]
        for e in tx.get("accessList", [])
    ]
    value = tx.get("value", 0)
    if tx_type == 0:
        return _rlp.encode([tx["nonce"], tx["gasPrice"], tx["gas"], to, value, data, tx["chainId"], 0, 0])
    if tx_type == 1:
        fields: list[Any] = [tx["chainId"], tx["nonce"], tx["gasPrice"], tx["gas"], to, value, data, access]
    else:
        fields = [
            tx["chainId"],
            tx["nonce"],
            tx["maxPriorityFeePerGas"],
            tx["maxFeePerGas"],
            tx["gas"],
            to,
            value,
            data,
            access,
        ]
    if tx_type == 3:
        fields += [tx["maxFeePerBlobGas"], [bytes.fromhex(h[2:]) for h in tx["blobVersionedHashes"]]]
    if tx_type == 4:
        fields.append(
            [
                [a["chainId"], bytes.fromhex(a["address"][2:]), a["nonce"], a["yParity"], a["r"], a["s"]]
                for a in tx["authorizationList"]
            ]
        )
    return bytes([tx_type]) + _rlp.encode(fields)
