"""Approvals and permits: on-chain approve/increaseAllowance/setApprovalForAll, EIP-2612 and DAI
permits, Permit2 (approve, permit, PermitSingle/Batch, signature transfers), also inside batches.

Signatures are matched on the canonical function signature and arguments read by position, so any
parameter naming in the bundled ABIs works.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from copilot.models import AccountKind, DecodedCall, Finding, RequestKind
from copilot.risk.catalogue import finding
from copilot.risk.facts import Facts, as_address, is_unlimited, to_int

DAY = 86_400
LONG_EXPIRY = 30 * DAY
NO_EXPIRY = 100 * 365 * DAY  # a deadline this far out never expires in practice
EXCESSIVE_WHOLE_TOKENS = 10**12  # more than a trillion whole tokens: effectively unlimited
EXCESSIVE_RAW = 2**128  # when the token's decimals are unknown


def call_findings(call: DecodedCall, facts: Facts) -> Iterator[Finding]:
    handler = _CALL_HANDLERS.get(call.function or "")
    if handler is not None:
        # Padded so a short parameter list (a malformed decode) reads as missing values, not a crash.
        yield from handler(call, [p.value for p in call.params] + [None] * 8, facts)


def typed_data_findings(facts: Facts) -> Iterator[Finding]:
    typed = facts.decoded.typed_data
    if typed is None or facts.decoded.request.kind != RequestKind.TYPED_DATA:
        return
    handler = _TYPED_HANDLERS.get(typed.primary_type)
    if handler is not None:
        yield from handler(typed.message, typed.verifying_contract, facts)


# --------------------------------------------------------------------------- shared checks


def amount_findings(
    kind: str, amount: int, token: str | None, holder: str | None, spender: str | None, where: str, facts: Facts
) -> Iterator[Finding]:
    """`kind` is "approval" or "permit"; the amount is what `spender` may take.

    The maximum value for a well-known router or spender is how everyday apps work (the Uniswap app's
    Permit2 allowance is 2^160-1): a low `*.unlimited_known` finding that stays listed. For any other
    spender it is a medium `*.unlimited`. An odd huge amount (10^30) is no app's habit: medium always."""
    shown = facts.amount(amount, token)
    if is_unlimited(amount):
        if spender is not None and facts.is_well_known_spender(spender):
            yield finding(f"{kind}.unlimited_known", f"amount {shown} for {facts.name(spender)}", where)
        else:
            yield finding(f"{kind}.unlimited", f"amount {shown}", where)
        return
    meta = facts.token(token)
    if amount >= (EXCESSIVE_WHOLE_TOKENS * 10**meta.decimals if meta is not None else EXCESSIVE_RAW):
        yield finding(f"{kind}.excessive", f"amount {shown}", where)
        return
    balance = facts.token_balance(holder, token) if token else None
    if balance is not None and amount > balance:
        yield finding(
            "approval.exceeds_balance", f"amount {shown} but the balance is {facts.amount(balance, token)}", where
        )


def spender_findings(spender: str | None, role: str, where: str, facts: Facts) -> Iterator[Finding]:
    if spender is None:
        return
    if not facts.is_known(spender):
        yield finding("approval.unknown_spender", f"{role} {facts.name(spender)} is not a known contract", where)
    kind = facts.account_kind(spender)
    if kind in (AccountKind.EOA, AccountKind.DELEGATED_EOA):
        what = "a plain account (no code)" if kind == AccountKind.EOA else "an EIP-7702 delegated account"
        yield finding("approval.spender_is_eoa", f"{role} {facts.name(spender)} is {what}", where)


def expiry_findings(expiry: int | None, what: str, where: str, facts: Facts) -> Iterator[Finding]:
    if expiry is None:
        return
    now = facts.context.now
    if expiry - now >= NO_EXPIRY:
        yield finding("permit.no_expiry", f"{what} {expiry} never comes", where)
    elif expiry - now > LONG_EXPIRY:
        days = (expiry - now) // DAY
        yield finding("permit.long_expiry", f"{what} is {days} days from now", where)


# --------------------------------------------------------------------------- on-chain calls


def _approve(call: DecodedCall, args: list[Any], facts: Facts) -> Iterator[Finding]:
    spender, amount = as_address(args[0]), to_int(args[1])
    if spender is None or amount is None or amount == 0:  # approve(x, 0) revokes
        return
    yield from amount_findings("approval", amount, call.to, facts.user, spender, call.path, facts)
    yield from spender_findings(spender, "spender", call.path, facts)


def _set_approval_for_all(call: DecodedCall, args: list[Any], facts: Facts) -> Iterator[Finding]:
    operator, approved = as_address(args[0]), args[1]
    if operator is None or approved is not True:  # false revokes
        return
    yield finding("approval.operator_all", f"operator {facts.name(operator)} on {facts.name(call.to)}", call.path)
    yield from spender_findings(operator, "operator", call.path, facts)


def _eip2612_permit(call: DecodedCall, args: list[Any], facts: Facts) -> Iterator[Finding]:
    spender, value, deadline = as_address(args[1]), to_int(args[2]), to_int(args[3])
    if spender is None or not value:
        return
    yield from amount_findings("permit", value, call.to, as_address(args[0]), spender, call.path, facts)
    yield from expiry_findings(deadline, "deadline", call.path, facts)
    yield from spender_findings(spender, "spender", call.path, facts)


def _dai_permit(call: DecodedCall, args: list[Any], facts: Facts) -> Iterator[Finding]:
    yield from _dai_like(as_address(args[1]), to_int(args[3]), args[4], call.to, call.path, facts)


def _dai_like(
    spender: str | None, expiry: int | None, allowed: Any, token: str | None, where: str, facts: Facts
) -> Iterator[Finding]:
    if spender is None or allowed not in (True, "true", 1, "1"):  # allowed=false revokes
        return
    what = f"DAI-style permit: allowed=true gives {facts.name(token)} without limit"
    if facts.is_well_known_spender(spender):
        yield finding("permit.unlimited_known", f"{what} to {facts.name(spender)}", where)
    else:
        yield finding("permit.unlimited", what, where)
    if expiry == 0:
        yield finding("permit.no_expiry", "DAI-style permit with expiry 0 never expires", where)
    else:
        yield from expiry_findings(expiry, "expiry", where, facts)
    yield from spender_findings(spender, "spender", where, facts)


def _permit2_approve(call: DecodedCall, args: list[Any], facts: Facts) -> Iterator[Finding]:
    if len(args) < 4:
        return
    token, spender, amount, expiration = as_address(args[0]), as_address(args[1]), to_int(args[2]), to_int(args[3])
    if spender is None or not amount:
        return
    yield from amount_findings("approval", amount, token, facts.user, spender, call.path, facts)
    yield from _permit2_expiration(expiration, call.path, facts)
    yield from spender_findings(spender, "spender", call.path, facts)


def _permit2_expiration(expiration: int | None, where: str, facts: Facts) -> Iterator[Finding]:
    if expiration == 2**48 - 1:
        yield finding("permit.no_expiry", "Permit2 expiration 2^48-1 never comes", where)
    elif expiration:  # 0 means "this block only"
        yield from expiry_findings(expiration, "Permit2 expiration", where, facts)


def _permit2_permit(call: DecodedCall, args: list[Any], facts: Facts) -> Iterator[Finding]:
    """Permit2.permit(owner, PermitSingle|PermitBatch, signature): the tuple arrives as a list."""
    yield from _permit2_tuple(args[1], as_address(args[0]), call.path, facts)


def _router_permit2_permit(call: DecodedCall, args: list[Any], facts: Facts) -> Iterator[Finding]:
    """Universal Router PERMIT2_PERMIT(_BATCH) command: (PermitSingle|PermitBatch, signature), owner = payer."""
    yield from _permit2_tuple(args[0], facts.user, call.path, facts)


def _permit2_tuple(permit: Any, owner: str | None, where: str, facts: Facts) -> Iterator[Finding]:
    details, spender = _member(permit, "details", 0), as_address(_member(permit, "spender", 1))
    entries = details if isinstance(details, list) and details and not _is_scalar(details[0]) else [details]
    normalised = [
        {"token": _member(d, "token", 0), "amount": _member(d, "amount", 1), "expiration": _member(d, "expiration", 2)}
        for d in entries
    ]
    yield from _permit2_details(normalised, spender, owner, where, facts)


def _member(value: Any, name: str, index: int) -> Any:
    """A tuple component, decoded either as a dict (by name) or as a list (by position)."""
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, list | tuple) and len(value) > index:
        return value[index]
    return None


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list | tuple)


def _permit2_details(
    entries: list[dict[str, Any]], spender: str | None, owner: str | None, where: str, facts: Facts, member: str = "details"
) -> Iterator[Finding]:
    """Permit2 grants (allowance `details` or transfer `permitted` entries): several tokens at once,
    then each amount and allowance expiration at its own location, then the spender."""
    if spender is None:
        return
    if len(entries) > 1:
        tokens = ", ".join(facts.name(as_address(e.get("token"))) for e in entries)
        yield finding("permit2.batch", f"{len(entries)} tokens in one permit: {tokens}", where)
    for i, entry in enumerate(entries):
        here = f"{where}.{member}[{i}]" if len(entries) > 1 else where
        amount = to_int(entry.get("amount"))
        if amount:
            yield from amount_findings("permit", amount, as_address(entry.get("token")), owner, spender, here, facts)
        yield from _permit2_expiration(to_int(entry.get("expiration")), here, facts)  # transfers have none
    yield from spender_findings(spender, "spender", where, facts)


_CALL_HANDLERS = {
    "approve(address,uint256)": _approve,
    "increaseAllowance(address,uint256)": _approve,
    "increaseApproval(address,uint256)": _approve,
    "setApprovalForAll(address,bool)": _set_approval_for_all,
    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)": _eip2612_permit,
    "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)": _dai_permit,
    "approve(address,address,uint160,uint48)": _permit2_approve,
    "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)": _permit2_permit,
    "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)": _permit2_permit,
    "PERMIT2_PERMIT(((address,uint160,uint48,uint48),address,uint256),bytes)": _router_permit2_permit,
    "PERMIT2_PERMIT_BATCH(((address,uint160,uint48,uint48)[],address,uint256),bytes)": _router_permit2_permit,
}


# --------------------------------------------------------------------------- EIP-712 signatures


def _typed_permit(message: dict[str, Any], token: str | None, facts: Facts) -> Iterator[Finding]:
    where = "typed_data.message"
    spender = as_address(message.get("spender"))
    if "allowed" in message:
        yield from _dai_like(spender, to_int(message.get("expiry")), message.get("allowed"), token, where, facts)
        return
    value = to_int(message.get("value"))
    if spender is None or not value:
        return
    yield from amount_findings("permit", value, token, as_address(message.get("owner")), spender, where, facts)
    yield from expiry_findings(to_int(message.get("deadline")), "deadline", where, facts)
    yield from spender_findings(spender, "spender", where, facts)


def _typed_permit2_allowance(message: dict[str, Any], token: str | None, facts: Facts) -> Iterator[Finding]:
    details = message.get("details")
    entries = details if isinstance(details, list) else [details] if isinstance(details, dict) else []
    owner = facts.user
    yield from _permit2_details(entries, as_address(message.get("spender")), owner, "typed_data.message", facts)


def _typed_permit2_transfer(message: dict[str, Any], token: str | None, facts: Facts) -> Iterator[Finding]:
    where = "typed_data.message"
    spender = as_address(message.get("spender"))
    permitted = message.get("permitted")
    entries = permitted if isinstance(permitted, list) else [permitted] if isinstance(permitted, dict) else []
    if spender is None:
        return
    yield from expiry_findings(to_int(message.get("deadline")), "deadline", where, facts)
    yield from _permit2_details(entries, spender, facts.user, where, facts, member="permitted")


_TYPED_HANDLERS = {
    "Permit": _typed_permit,
    "PermitSingle": _typed_permit2_allowance,
    "PermitBatch": _typed_permit2_allowance,
    "PermitTransferFrom": _typed_permit2_transfer,
    "PermitBatchTransferFrom": _typed_permit2_transfer,
    "PermitWitnessTransferFrom": _typed_permit2_transfer,
    "PermitBatchWitnessTransferFrom": _typed_permit2_transfer,
}
