"""Reviews built by hand for the LLM tests: they need no decoder, rules or policy from other stages."""

from __future__ import annotations

from typing import Any

from copilot.models import (
    CallStatus,
    DecodedCall,
    DecodedRequest,
    Finding,
    MessageInfo,
    Param,
    RequestKind,
    Review,
    Severity,
    SigningRequest,
    TransactionInfo,
    TypedDataInfo,
    Verdict,
)

USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
SPENDER = "0x1111111111111111111111111111111111111111"
RECIPIENT = "0x2222222222222222222222222222222222222222"
USER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
MAX_UINT = 2**256 - 1
HASH = "0x" + "ab" * 32


def _review(
    decoded: DecodedRequest, findings: list[Finding], verdict: Verdict, score: int, explanation: str
) -> Review:
    return Review(
        verdict=verdict,
        risk_score=score,
        findings=findings,
        decided_by=f"finding:{findings[0].id}" if findings else "policy:default",
        decoded=decoded,
        explanation=explanation,
        policy="everyday",
    )


def approval_review(
    *, symbol_display: str = "unlimited USDC", verdict: Verdict = "confirm", score: int = 70
) -> Review:
    """approve(spender, max) on USDC: the classic drainer set-up."""
    call = DecodedCall(
        to=USDC,
        contract="USD Coin",
        selector="0x095ea7b3",
        function="approve(address,uint256)",
        status=CallStatus.DECODED,
        params=[
            Param(name="spender", type="address", value=SPENDER),
            Param(name="amount", type="uint256", value=MAX_UINT, display=symbol_display),
        ],
    )
    request = SigningRequest(kind=RequestKind.TRANSACTION, transaction={"to": USDC}, chain_id=1, sender=USER)
    decoded = DecodedRequest(
        request=request,
        transaction=TransactionInfo(type=2, chain_id=1, to=USDC, sender=USER, data="0x095ea7b3"),
        call=call,
        payload_hash=HASH,
    )
    finding = Finding(
        id="approval.unlimited",
        severity=Severity.HIGH,
        title="Unlimited token approval",
        evidence=f"approve lets {SPENDER} spend an unlimited amount of USDC",
        location="call",
    )
    explanation = f"You allow {SPENDER} to spend an unlimited amount of your USDC (USD Coin, {USDC})."
    return _review(decoded, [finding], verdict, score, explanation)


def transfer_review(*, verdict: Verdict = "allow", score: int = 5) -> Review:
    """A plain 50 USDC transfer: benign."""
    call = DecodedCall(
        to=USDC,
        contract="USD Coin",
        selector="0xa9059cbb",
        function="transfer(address,uint256)",
        status=CallStatus.DECODED,
        params=[
            Param(name="to", type="address", value=RECIPIENT),
            Param(name="amount", type="uint256", value=50_000_000, display="50 USDC"),
        ],
    )
    request = SigningRequest(kind=RequestKind.TRANSACTION, transaction={"to": USDC}, chain_id=1, sender=USER)
    decoded = DecodedRequest(
        request=request,
        transaction=TransactionInfo(type=2, chain_id=1, to=USDC, sender=USER, data="0xa9059cbb"),
        call=call,
        payload_hash=HASH,
    )
    return _review(decoded, [], verdict, score, f"You send 50 USDC to {RECIPIENT}.")


def message_review(text: str, *, verdict: Verdict = "allow", score: int = 0) -> Review:
    """personal_sign of `text`."""
    raw = "0x" + text.encode().hex()
    decoded = DecodedRequest(
        request=SigningRequest(kind=RequestKind.PERSONAL_MESSAGE, message=raw),
        message=MessageInfo(hex=raw, text=text, signing_hash=HASH),
        payload_hash=HASH,
    )
    return _review(decoded, [], verdict, score, "You sign a text message; it cannot move funds by itself.")


def typed_data_review(
    message: dict[str, Any], domain_name: str = "Seaport", *, verdict: Verdict = "allow"
) -> Review:
    """An EIP-712 signature over `message`."""
    typed = TypedDataInfo(
        primary_type="Order",
        domain={"name": domain_name, "chainId": 1},
        message=message,
        domain_hash=HASH,
        message_hash=HASH,
        signing_hash=HASH,
        chain_id=1,
    )
    decoded = DecodedRequest(
        request=SigningRequest(kind=RequestKind.TYPED_DATA, typed_data={"domain": {}, "message": message}),
        typed_data=typed,
        payload_hash=HASH,
    )
    return _review(decoded, [], verdict, 0, "You sign an off-chain order.")
