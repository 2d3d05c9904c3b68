"""What the human must type before a reviewed request is signed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from copilot.models import DecodedRequest, Review, Severity

if TYPE_CHECKING:
    from copilot.risk.control import Handover

# Parameter names that hold the counterparty a user must recognise, most telling first.
SPENDER_PARAMS = ("spender", "operator", "delegate", "guy", "usr")
RECIPIENT_PARAMS = ("to", "recipient", "dst", "receiver", "_to", "destination")
# High findings about a handover of control (copilot.risk.control): the new controller is typed.
HANDOVER_FINDINGS = frozenset(
    {"admin.ownership_transfer", "admin.new_controller_unknown", "safe.owner_change", "safe.module_change", "safe.guard_change"}
)


@dataclass(frozen=True)
class Confirmation:
    required: bool
    high_risk: bool
    target: str | None  # the address whose last 4 hex characters must be typed (high risk)
    target_role: str  # "spender", "recipient", "delegate", "contract", "message"
    expected: str  # what the user must type: "y" or the 4 hex characters

    def accepts(self, answer: str) -> bool:
        typed = answer.strip().lower()
        if self.high_risk:
            return typed.removeprefix("0x") == self.expected
        return typed in ("y", "yes")

    @property
    def prompt(self) -> str:
        if self.high_risk:
            return f"High risk. To sign, type the last 4 hex characters of the {self.target_role} ({self.target})"
        return "Sign this request? Type y to sign"


NOT_NEEDED = Confirmation(required=False, high_risk=False, target=None, target_role="", expected="")


def confirmation_for(review: Review, *, signs_delegation: bool) -> Confirmation:
    """Allow needs nothing; confirm needs "y", or the target's last 4 hex characters when high risk.

    Signing an EIP-7702 authorization hands the account's code to a delegate: always high risk.
    """
    decoded = review.decoded
    if signs_delegation:
        delegate = _delegate(decoded)
        return _high(delegate, "delegate", decoded)
    if review.verdict == "allow":
        return NOT_NEEDED
    high = any(f.severity.rank >= Severity.HIGH.rank for f in review.findings) or review.risk_score >= 70
    if not high:
        return Confirmation(required=True, high_risk=False, target=None, target_role="", expected="y")
    handover = _handover(review)
    if handover is not None:
        from copilot.risk.facts import checksum

        return _high(checksum(handover.controller), f"new {handover.becomes.split(' (')[0]}", decoded)
    for role, names in (("spender", SPENDER_PARAMS), ("recipient", RECIPIENT_PARAMS)):
        address = _param_address(decoded, names)
        if address:
            return _high(address, role, decoded)
    if decoded.transaction and decoded.transaction.to:
        role = "recipient" if decoded.call is None or decoded.call.data in ("", "0x") else "contract"
        return _high(decoded.transaction.to, role, decoded)
    return _high(None, "message", decoded)


def _handover(review: Review) -> Handover | None:
    """The handover of control a high finding is about: its new owner/admin is who the user must
    recognise (a look-alike of their own address would pass a glance at the contract)."""
    from copilot.risk.control import handovers

    flagged = {f.location for f in review.findings if f.id in HANDOVER_FINDINGS}
    return next((h for h in handovers(review.decoded) if h.location in flagged), None)


def _high(address: str | None, role: str, decoded: DecodedRequest) -> Confirmation:
    if address is None:
        # Nothing to recognise (a message): the user must read the signing hash instead.
        digest = decoded.message.signing_hash if decoded.message else decoded.payload_hash
        return Confirmation(True, True, digest, "signing hash", digest[-4:].lower())
    return Confirmation(True, True, address, role, address[-4:].lower())


def _param_address(decoded: DecodedRequest, names: tuple[str, ...]) -> str | None:
    for call in decoded.all_calls():
        for name in names:
            value = call.param(name)
            if _is_address(value):
                return str(value)
    if decoded.typed_data:
        for name in names:
            value = decoded.typed_data.message.get(name)
            if _is_address(value):
                return str(value)
    return None


def _delegate(decoded: DecodedRequest) -> str | None:
    tx = decoded.transaction
    if tx and tx.authorization_list:
        return tx.authorization_list[0].address
    return None


def _is_address(value: object) -> bool:
    return isinstance(value, str) and len(value) == 42 and value.startswith("0x")
