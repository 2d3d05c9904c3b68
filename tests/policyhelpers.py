"""Small builders of decoded requests for the policy and state tests (no decoder needed)."""

from __future__ import annotations

from typing import Any

from copilot.models import (
    CallStatus,
    DecodedCall,
    DecodedRequest,
    Param,
    RequestKind,
    SigningRequest,
    TransactionInfo,
    TypedDataInfo,
)

USER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
FRIEND = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
ROUTER = "0x66a9893cC07D91D95644AEDD05D03f95e1dBA8Af"
GWEI = 10**9
ETHER = 10**18


def call(
    to: str | None,
    function: str | None = None,
    params: list[tuple[str, str, Any]] | None = None,
    value: int = 0,
    selector: str | None = None,
    children: list[DecodedCall] | None = None,
    path: str = "call",
) -> DecodedCall:
    if function and selector is None:
        from copilot.policy.addresses import selector_of

        selector = selector_of(function)
    return DecodedCall(
        to=to,
        value=value,
        function=function,
        selector=selector,
        status=CallStatus.DECODED if function else (CallStatus.UNKNOWN if selector else CallStatus.EMPTY),
        params=[Param(name=n, type=t, value=v) for n, t, v in (params or [])],
        children=children or [],
        path=path,
    )


def tx_request(
    top: DecodedCall,
    *,
    chain_id: int = 1,
    gas: int = 60_000,
    max_fee: int = 30 * GWEI,
    sender: str = USER,
    tx_type: int = 2,
) -> DecodedRequest:
    tx = TransactionInfo(
        type=tx_type,
        chain_id=chain_id,
        to=top.to,
        value=top.value,
        data=top.data,
        gas=gas,
        max_fee_per_gas=max_fee if tx_type == 2 else None,
        gas_price=max_fee if tx_type != 2 else None,
        sender=sender,
    )
    request = SigningRequest(kind=RequestKind.TRANSACTION, transaction={}, chain_id=chain_id, sender=sender)
    return DecodedRequest(request=request, transaction=tx, call=top, payload_hash="0x" + "00" * 32)


def send_eth(to: str, ether: float, **kwargs: Any) -> DecodedRequest:
    return tx_request(call(to, value=int(ether * ETHER)), gas=21_000, **kwargs)


def erc20_transfer(token: str, to: str, amount: int, **kwargs: Any) -> DecodedRequest:
    top = call(token, "transfer(address,uint256)", [("to", "address", to), ("amount", "uint256", amount)])
    return tx_request(top, **kwargs)


def erc20_approve(token: str, spender: str, amount: int, **kwargs: Any) -> DecodedRequest:
    top = call(
        token, "approve(address,uint256)", [("spender", "address", spender), ("amount", "uint256", amount)]
    )
    return tx_request(top, **kwargs)


def typed_request(
    message: dict[str, object], verifying_contract: str, primary: str, chain_id: int = 1, **domain: object
) -> DecodedRequest:
    """A decoded EIP-712 request as the decoder builds it (hashes are placeholders)."""
    info = TypedDataInfo(
        primary_type=primary,
        domain={**domain, "chainId": chain_id, "verifyingContract": verifying_contract},
        message=message,
        domain_hash="0x" + "11" * 32,
        message_hash="0x" + "22" * 32,
        signing_hash="0x" + "33" * 32,
        verifying_contract=verifying_contract,
        chain_id=chain_id,
    )
    request = SigningRequest(kind=RequestKind.TYPED_DATA, typed_data={}, chain_id=chain_id, sender=USER)
    return DecodedRequest(request=request, typed_data=info, payload_hash="0x" + "00" * 32)


def typed_permit(token: str, spender: str, value: int, deadline: int, chain_id: int = 1) -> DecodedRequest:
    message: dict[str, object] = {
        "owner": USER,
        "spender": spender,
        "value": str(value),
        "nonce": "0",
        "deadline": str(deadline),
    }
    return typed_request(message, token, "Permit", chain_id, name="Token")
