"""What the human must type before a reviewed request is signed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from copilot.models import DecodedCall, DecodedRequest, Finding, Review, Severity, TransactionInfo

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


ROLES = (("spender", SPENDER_PARAMS), ("recipient", RECIPIENT_PARAMS))
UINT64_MAX = 2**64 - 1


@dataclass(frozen=True)
class Delegation:
    """One EIP-7702 authorization of a transaction, as it bears on the signing account."""

    index: int
    delegate: str
    chain_id: int
    nonce: int
    ours: bool  # signed now by the account, or already signed by it
    takes_effect: bool
    why_not: str | None  # why it does not take effect


def delegations(tx: TransactionInfo, account: str) -> list[Delegation]:
    """Every authorization, and which one of the account's takes effect, by EIP-7702's rules.

    Nodes process the list in order, after the sender's nonce is incremented for the transaction:
    a tuple counts when its chain id is 0 or the transaction's, its nonce is below 2^64 - 1 and is
    the authority's current nonce (each tuple that counts increments it). So for one authority the
    last tuple that counts is the delegation left in place. The account signs the transaction, so
    it is the sender: its nonce when the list is processed is the transaction's nonce + 1.
    """
    expected = None if tx.nonce is None else tx.nonce + 1
    effective: int | None = None
    skipped: dict[int, str] = {}
    for index, auth in enumerate(tx.authorization_list):
        if not _ours(auth.r, auth.s, auth.authority, account):
            skipped[index] = f"signed by {auth.authority or 'an unrecoverable signer'}, not this account"
        elif auth.chain_id not in (0, tx.chain_id):
            skipped[index] = f"for chain {auth.chain_id}: skipped here, valid there"
        elif auth.nonce >= UINT64_MAX or (expected is not None and auth.nonce != expected):
            skipped[index] = f"nonce {auth.nonce}, but the account's will be {expected}: skipped now, valid once the account reaches it"
        else:
            expected = None if expected is None else expected + 1
            effective = index
    return [
        Delegation(
            index,
            auth.address,
            auth.chain_id,
            auth.nonce,
            _ours(auth.r, auth.s, auth.authority, account),
            index == effective,
            skipped.get(index) or (None if index == effective else f"replaced by authorization[{effective}], later in the list"),
        )
        for index, auth in enumerate(tx.authorization_list)
    ]


def effective_delegation(tx: TransactionInfo | None, account: str) -> Delegation | None:
    """The account's authorization that takes effect; failing that its last one (once signed, it can
    take effect in a later transaction, so it is still what the human must recognise)."""
    found = [d for d in delegations(tx, account) if d.ours] if tx else []
    return next((d for d in found if d.takes_effect), found[-1] if found else None)


def _ours(r: int, s: int, authority: str | None, account: str) -> bool:
    """Left for this key to sign (r and s zero), or already signed by the account."""
    return (r == 0 and s == 0) or (authority or "").lower() == account.lower()


def confirmation_for(review: Review, *, signs_delegation: bool, account: str | None = None) -> Confirmation:
    """Allow needs nothing; confirm needs "y", or the target's last 4 hex characters when high risk.

    Signing an EIP-7702 authorization hands the account's code to a delegate: always high risk, and
    the delegate asked about is the one that takes effect. Otherwise the target is a handover's new
    controller, else the counterparty of the most severe finding (a Multicall approving Permit2 and
    then an attacker asks about the attacker), else the first spender or recipient in the request.
    """
    decoded = review.decoded
    if signs_delegation:
        delegation = effective_delegation(decoded.transaction, account or decoded.request.sender or "")
        if delegation is None:
            return _high(None, "delegate", decoded)
        effect = ", the one that takes effect" if delegation.takes_effect else ""
        return _high(delegation.delegate, f"delegate in authorization[{delegation.index}]{effect}", decoded)
    if review.verdict == "allow":
        return NOT_NEEDED
    high = any(f.severity.rank >= Severity.HIGH.rank for f in review.findings) or review.risk_score >= 70
    if not high:
        return Confirmation(required=True, high_risk=False, target=None, target_role="", expected="y")
    handover = _handover(review)
    if handover is not None:
        from copilot.risk.facts import checksum

        return _high(checksum(handover.controller), f"new {handover.becomes.split(' (')[0]}", decoded)
    named = _counterparty_of_worst(review.findings, decoded)
    if named:
        return _high(named[1], named[0], decoded)
    for role, names in ROLES:
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


def _counterparty_of_worst(findings: list[Finding], decoded: DecodedRequest) -> tuple[str, str] | None:
    """(role, address) in the call of the most severe finding that points at a call naming one."""
    calls = {call.path: call for call in decoded.all_calls()}
    for finding in sorted(findings, key=lambda f: -f.severity.rank):  # stable: the first of equals wins
        call = calls.get(finding.location or "")
        for role, names in ROLES if call else ():
            address = _call_address(call, names)
            if address:
                return role, address
    return None


def _call_address(call: DecodedCall | None, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = call.param(name) if call else None
        if _is_address(value):
            return str(value)
    return None


def _param_address(decoded: DecodedRequest, names: tuple[str, ...]) -> str | None:
    for call in decoded.all_calls():
        address = _call_address(call, names)
        if address:
            return address
    if decoded.typed_data:
        for name in names:
            value = decoded.typed_data.message.get(name)
            if _is_address(value):
                return str(value)
    return None


def _is_address(value: object) -> bool:
    return isinstance(value, str) and len(value) == 42 and value.startswith("0x")
