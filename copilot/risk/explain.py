"""The deterministic plain-English explanation: what the request does, to whom, how much, what is
risky, and what the policy decided. Built only from decoded facts and findings, so it is exact; the
local LLM (copilot.llm) may rephrase it but never replaces these facts."""

from __future__ import annotations

from typing import Any

from copilot.models import CallStatus, DecodedCall, DecodedRequest, Finding, RequestKind
from copilot.risk.facts import Facts, as_address, short, to_int
from copilot.risk.messages import siwe_fields
from copilot.risk.orders import describe_order

MAX_LISTED_CALLS = 8
MAX_FIELDS = 6
MAX_TEXT = 160


def explain(facts: Facts, findings: list[Finding], verdict: str, decided_by: str, policy: str) -> str:
    lines = [_what(facts)]
    risky = [f for f in findings if f.severity.rank > 0]
    if risky:
        lines.append("Risks: " + "; ".join(f"{f.title} ({f.severity.value}): {f.evidence}" for f in risky[:6]) + ".")
        if len(risky) > 6:
            lines.append(f"…and {len(risky) - 6} more findings.")
    else:
        lines.append("No risk found by the deterministic rules.")
    lines.append(f"Verdict: {verdict.upper()}, decided by {decided_by} (policy {policy}).")
    return "\n".join(lines)


def _what(facts: Facts) -> str:
    decoded = facts.decoded
    chain = f" on chain {facts.chain_id}" if facts.chain_id is not None else ""
    kind = decoded.request.kind
    if kind == RequestKind.HASH:
        return f"Blind signature (eth_sign) of the raw hash {decoded.request.hash}{chain}: nothing says what it authorises."
    if kind == RequestKind.PERSONAL_MESSAGE and decoded.message is not None:
        return _message(decoded, facts)
    if kind == RequestKind.TYPED_DATA and decoded.typed_data is not None:
        return _typed(decoded, facts, chain)
    sender = f" from {facts.name(facts.user)}" if facts.user else ""
    if kind == RequestKind.CALL_BATCH:
        steps = [_call(c, facts) for c in decoded.calls]
        return f"Batch of {len(steps)} calls{sender}{chain}: " + _numbered(steps) + "."
    tx = decoded.transaction
    what = "Signed transaction" if tx and tx.signed else "Transaction"
    body = _call(decoded.call, facts) if decoded.call else "does nothing readable"
    auths = ""
    if tx and tx.authorization_list:
        delegates = ", ".join(facts.name(a.address) for a in tx.authorization_list)
        auths = f" It also sets the account code (EIP-7702) to {delegates}."
    return f"{what}{sender}{chain}: {body}.{auths}"


def _numbered(steps: list[str]) -> str:
    shown = [f"{i}) {s}" for i, s in enumerate(steps[:MAX_LISTED_CALLS], start=1)]
    if len(steps) > MAX_LISTED_CALLS:
        shown.append(f"…and {len(steps) - MAX_LISTED_CALLS} more")
    return "; ".join(shown)


def _call(call: DecodedCall, facts: Facts) -> str:
    value = f" with {facts.native(call.value)}" if call.value else ""
    via = " (delegatecall)" if call.operation == "delegatecall" else ""
    if call.status == CallStatus.CREATE:
        return f"deploys a new contract{value}"
    if call.status == CallStatus.EMPTY:
        return f"sends {facts.native(call.value)} to {facts.name(call.to)}"
    target = facts.name(call.to)
    if call.status in (CallStatus.UNKNOWN, CallStatus.UNDECODABLE):
        return f"calls an unreadable function {call.selector or call.data[:10]} on {target}{value}{via}"
    if call.status == CallStatus.TRUNCATED:
        return f"calls {target}{value}{via} with nested calls too deep to decode"
    summary = _known_action(call, facts)
    if summary is None and call.intent:
        shown = "; ".join(f"{f.label}: {f.value}" for f in call.fields[:MAX_FIELDS])
        summary = f"{call.intent} on {target}" + (f" ({shown})" if shown else "")
    if summary is None:
        if call.status == CallStatus.AMBIGUOUS:
            action = f"an ambiguous function ({len(call.candidates)} candidates)"
        else:
            action = call.name or "a function"
        args = ", ".join(_arg(p.display, p.value, facts) for p in call.params[:4])
        summary = f"calls {action}" + (f"({args})" if args else "") + f" on {target}"
    inner = ""
    if call.children:
        inner = f", which runs {len(call.children)} inner call(s): " + _numbered([_call(c, facts) for c in call.children])
    return f"{summary}{value}{via}{inner}"


def _known_action(call: DecodedCall, facts: Facts) -> str | None:
    """The everyday token actions, in words."""
    args = [p.value for p in call.params]
    shown = [p.display for p in call.params]
    token = call.to
    name = call.name
    if name in ("approve", "increaseAllowance") and len(args) == 2:
        amount = shown[1] or facts.amount(to_int(args[1]) or 0, token)
        if to_int(args[1]) == 0:
            return f"revokes the allowance of {facts.name(as_address(args[0]))} on {facts.name(token)}"
        return f"lets {facts.name(as_address(args[0]))} spend {amount} (token {facts.name(token)})"
    if name == "transfer" and len(args) == 2:
        amount = shown[1] or facts.amount(to_int(args[1]) or 0, token)
        return f"transfers {amount} to {facts.name(as_address(args[0]))}"
    if name == "transferFrom" and len(args) == 3:
        amount = shown[2] or facts.amount(to_int(args[2]) or 0, token)
        return f"moves {amount} from {facts.name(as_address(args[0]))} to {facts.name(as_address(args[1]))}"
    if name in ("execTransaction", "execTransactionFromModule"):
        return f"has the Safe {facts.name(token)} execute a transaction"
    if name == "setApprovalForAll" and len(args) == 2:
        verb = "lets" if args[1] is True else "stops letting"
        return f"{verb} {facts.name(as_address(args[0]))} move all your tokens of {facts.name(token)}"
    return None


def _arg(display: str | None, value: Any, facts: Facts) -> str:
    if display:
        return display
    address = as_address(value)
    if address:
        return facts.name(address)
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "…"


def _typed(decoded: DecodedRequest, facts: Facts, chain: str) -> str:
    typed = decoded.typed_data
    assert typed is not None
    contract = f" for {facts.name(typed.verifying_contract)}" if typed.verifying_contract else ""
    head = f"Off-chain signature (EIP-712 {typed.primary_type}){contract}{chain}"
    if typed.intent:
        head += f": {typed.intent}"
    fields = [f"{f.label}: {f.value}" for f in typed.fields[:MAX_FIELDS]]
    if typed.orders:
        fields = [describe_order(order, facts) for order in typed.orders[:MAX_FIELDS]]
    elif not fields:
        fields = [f"{k}: {_arg(None, v, facts)}" for k, v in typed.message.items() if not isinstance(v, dict | list)][:MAX_FIELDS]
    text = head + (" (" + "; ".join(fields) + ")" if fields else "")
    if typed.calls:
        text += ". It carries calldata that " + _numbered([_call(c, facts) for c in typed.calls])
    return text + ". Signing costs no gas, but whoever holds the signature can use it."


def _message(decoded: DecodedRequest, facts: Facts) -> str:
    message = decoded.message
    assert message is not None
    if message.siwe:
        siwe = siwe_fields(message)
        who = as_address(siwe.get("address"))
        return (
            f"Sign-In-With-Ethereum login to {siwe.get('domain', 'an unnamed site')}"
            + (f" as {short(who)}" if who else "")
            + (f" (chain {siwe.get('chain_id')})" if siwe.get("chain_id") else "")
            + ". It proves you own the account; it moves nothing."
        )
    if message.text is not None:
        text = message.text if len(message.text) <= MAX_TEXT else message.text[:MAX_TEXT] + "…"
        return f"Signs the text message {text!r} (personal_sign). A message signature moves nothing by itself."
    size = (len(message.hex) - 2) // 2
    return f"Signs {size} bytes of non-text data (personal_sign): {message.hex[:20]}…"
