"""What the policy looks at in a decoded request: its chain, every address it names, its approvals.

Pure functions over `DecodedRequest`, shared by the judge, the spend check and the context builder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from copilot.models import DecodedRequest
from copilot.policy.addresses import is_address

UINT256_MAX = 2**256 - 1
# Deadlines at or beyond this are "never" in practice (uint48/uint64/uint256 max and friends).
FOREVER = 2**40


def to_int(value: Any) -> int | None:
    """An integer from a decoded or EIP-712 value: int, bool, decimal or 0x-hex string."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value[:2].lower() == "0x" else int(value)
        except ValueError:
            return None
    return None


def request_chain_id(decoded: DecodedRequest) -> int | None:
    if decoded.transaction and decoded.transaction.chain_id is not None:
        return decoded.transaction.chain_id
    if decoded.typed_data:  # only a chainId the types declare is signed
        return decoded.typed_data.chain_id
    return decoded.request.chain_id


def siwe_chain_id(decoded: DecodedRequest) -> int | None:
    """The `Chain ID` a Sign-In-With-Ethereum message states (parsed as "Chain ID" or "chainId")."""
    siwe = decoded.message.siwe if decoded.message else None
    if not siwe:
        return None
    for key, value in siwe.items():
        if key.replace(" ", "").replace("_", "").lower() == "chainid":
            return to_int(value.strip())
    return None


def request_sender(decoded: DecodedRequest) -> str | None:
    if decoded.transaction and decoded.transaction.sender:
        return decoded.transaction.sender
    return decoded.request.sender


def _addresses_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if is_address(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _addresses_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _addresses_in(item)


def named_addresses(decoded: DecodedRequest) -> list[tuple[str, str]]:
    """(address, where) for every address the request names: targets, arguments, delegates, domain."""
    found: list[tuple[str, str]] = []
    tx = decoded.transaction
    if tx:
        if tx.to:
            found.append((tx.to, "transaction.to"))
        for index, auth in enumerate(tx.authorization_list):
            found.append((auth.address, f"authorization[{index}]"))
    for call in decoded.all_calls():
        if call.to:
            found.append((call.to, call.path))
        for param in call.params:
            found.extend((address, call.path) for address in _addresses_in(param.value))
    if decoded.typed_data:
        td = decoded.typed_data
        if td.verifying_contract:
            found.append((td.verifying_contract, "typed_data.domain"))
        found.extend((address, "typed_data") for address in _addresses_in(td.message))
    return found


@dataclass(frozen=True)
class Approval:
    """A grant of spending power: an approve call, an on-chain or signed permit."""

    token: str | None
    spender: str | None
    amount: int | None  # base units; None when the grant has no amount
    expiry: int | None  # unix time; None when it never expires; absent for plain approve
    has_expiry: bool  # False for approve/increaseAllowance, which have no lifetime at all
    location: str


_APPROVE = {"approve(address,uint256)", "increaseAllowance(address,uint256)"}
_PERMIT2_APPROVE = "approve(address,address,uint160,uint48)"
_PERMIT_2612 = "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"


def _expiry(value: Any) -> int | None:
    number = to_int(value)
    return None if number is None or number >= FOREVER else number


def approvals(decoded: DecodedRequest) -> list[Approval]:
    found: list[Approval] = []
    for call in decoded.all_calls():
        values = [p.value for p in call.params]
        if call.function in _APPROVE and len(values) == 2:
            found.append(Approval(call.to, values[0], to_int(values[1]), None, False, call.path))
        elif call.function == _PERMIT2_APPROVE and len(values) == 4:
            found.append(
                Approval(values[0], values[1], to_int(values[2]), _expiry(values[3]), True, call.path)
            )
        elif call.function == _PERMIT_2612 and len(values) == 7:
            found.append(Approval(call.to, values[1], to_int(values[2]), _expiry(values[3]), True, call.path))
    if decoded.typed_data:
        found.extend(_typed_permits(decoded.typed_data.message, decoded.typed_data.verifying_contract))
    # Typed data is untrusted JSON: a "token" or "spender" that is not an address names nothing.
    return [
        replace(grant, token=_address_or_none(grant.token), spender=_address_or_none(grant.spender))
        for grant in found
    ]


def _address_or_none(value: Any) -> str | None:
    return value if is_address(value) else None


def _typed_permits(message: dict[str, Any], verifying_contract: str | None) -> list[Approval]:
    spender = message.get("spender")
    where = "typed_data"
    if "details" in message:  # Permit2 PermitSingle / PermitBatch: allowances with an expiration
        details = message["details"]
        items = details if isinstance(details, list) else [details]
        return [
            Approval(
                d.get("token"),
                spender,
                to_int(d.get("amount")),
                _zero_is_now(d.get("expiration"), message),
                True,
                where,
            )
            for d in items
            if isinstance(d, dict)
        ]
    if "permitted" in message:  # Permit2 signature transfers: valid until the deadline
        permitted = message["permitted"]
        items = permitted if isinstance(permitted, list) else [permitted]
        deadline = _expiry(message.get("deadline"))
        return [
            Approval(p.get("token"), spender, to_int(p.get("amount")), deadline, True, where)
            for p in items
            if isinstance(p, dict)
        ]
    if "allowed" in message and spender:  # DAI-style permit: unlimited when allowed, expiry 0 = never
        expiry = to_int(message.get("expiry"))
        amount = UINT256_MAX if message.get("allowed") in (True, 1, "true", "1") else 0
        return [
            Approval(
                verifying_contract, spender, amount, None if not expiry else _expiry(expiry), True, where
            )
        ]
    if "value" in message and spender:  # EIP-2612
        return [
            Approval(
                verifying_contract,
                spender,
                to_int(message.get("value")),
                _expiry(message.get("deadline")),
                True,
                where,
            )
        ]
    return []


def _zero_is_now(value: Any, message: dict[str, Any]) -> int | None:
    # Permit2: an expiration of 0 means "this block only"; the signature deadline bounds it instead.
    number = to_int(value)
    if number == 0:
        return _expiry(message.get("sigDeadline"))
    return _expiry(number)
