"""What to run for a request: the calls, from whom, and which state to set first.

- a transaction: itself; its EIP-7702 authorizations become code overrides (0xef0100 ‖ delegate) on
  their authorities, so the delegate's code runs as it will once the authorization is included;
- a wallet_sendCalls batch: each call in order, from the sender, in one simulated block;
- a Safe execTransaction, or a SafeTx signature: the call the Safe makes, sent from the Safe (the
  node impersonates it: eth_simulateV1 does not check senders). A delegatecall runs the target's
  code in the Safe's own state: the Safe's code is overridden with the target's for the call;
- other signatures (permits, orders, messages) cannot run: the plan says why, and for Permit2 and
  Seaport what a later transfer could take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from copilot.models import DecodedCall, DecodedRequest, RequestKind

_SAFE_EXEC = "execTransaction("
_TOKEN_PARAMS = ("token", "tokenIn", "tokenOut", "path")


@dataclass
class Call:
    sender: str
    to: str | None
    value: int = 0
    data: str = "0x"
    gas: int | None = None
    nonce: int | None = None
    gas_price: int | None = None
    max_fee: int | None = None
    max_priority_fee: int | None = None

    def fee_cap(self) -> int | None:
        return self.max_fee if self.max_fee is not None else self.gas_price

    def as_json(self, validation: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"from": self.sender, "value": hex(self.value), "data": self.data}
        if self.to:
            body["to"] = self.to
        if self.gas is not None:
            body["gas"] = hex(self.gas)
        if validation:  # the sign path: the nonce and fees the signer will sign
            for key, value in (("nonce", self.nonce), ("gasPrice", self.gas_price), ("maxFeePerGas", self.max_fee),
                               ("maxPriorityFeePerGas", self.max_priority_fee)):
                if value is not None:
                    body[key] = hex(value)
        return body


@dataclass
class Plan:
    account: str  # whose assets the simulation watches
    calls: list[Call]
    delegations: dict[str, str] = field(default_factory=dict)  # EOA -> EIP-7702 delegate
    code_from: dict[str, str] = field(default_factory=dict)  # account -> contract whose code it runs
    tokens: list[str] = field(default_factory=list)  # tokens whose balances are read before and after
    validation: bool = False  # every call states its nonce and fees: validate like a real block

    @property
    def safe_runs(self) -> bool:
        return bool(self.code_from) or any(call.sender.lower() != self.account.lower() for call in self.calls)


@dataclass
class NotRunnable:
    reason: str
    notes: list[str] = field(default_factory=list)


def plan_for(decoded: DecodedRequest, user: str | None) -> Plan | NotRunnable:
    request = decoded.request
    if request.kind in (RequestKind.TRANSACTION, RequestKind.RAW_TRANSACTION) and decoded.transaction:
        return _transaction_plan(decoded, user)
    if request.kind == RequestKind.CALL_BATCH:
        sender = request.sender or user
        if not sender:
            return NotRunnable("the batch names no sender: give --from")
        calls = [Call(sender, call.to, call.value, call.data) for call in decoded.calls]
        return Plan(sender, calls, tokens=_tokens(decoded.all_calls()))
    if request.kind == RequestKind.TYPED_DATA and decoded.typed_data is not None:
        typed = decoded.typed_data
        if typed.primary_type == "SafeTx" and typed.verifying_contract:
            return _safe_plan(typed.verifying_contract, _safe_call(typed.message), typed.calls)
        return NotRunnable("a signature cannot be simulated: it moves nothing until someone submits it",
                           _signature_notes(typed.primary_type, typed.message, typed.verifying_contract))
    return NotRunnable(f"a {request.kind.value.replace('_', ' ')} cannot be simulated")


def _transaction_plan(decoded: DecodedRequest, user: str | None) -> Plan | NotRunnable:
    tx = decoded.transaction
    assert tx is not None
    sender = tx.sender or user
    if not sender:
        return NotRunnable("the transaction names no sender: give --from")
    top = decoded.call
    if top is not None and top.function and top.function.startswith(_SAFE_EXEC) and top.to and top.children:
        return _safe_plan(top.to, top.children[0], top.children)
    call = Call(sender, tx.to, tx.value, tx.data, tx.gas, tx.nonce, tx.gas_price, tx.max_fee_per_gas,
                tx.max_priority_fee_per_gas)
    delegations = {auth.authority: auth.address for auth in tx.authorization_list if auth.authority}
    filled = tx.nonce is not None and (tx.gas_price is not None or tx.max_fee_per_gas is not None)
    return Plan(sender, [call], delegations, tokens=_tokens(decoded.all_calls()), validation=filled)


def _safe_plan(safe: str, inner: DecodedCall | dict[str, Any], decoded_calls: list[DecodedCall]) -> Plan:
    if isinstance(inner, dict):
        call = Call(safe, inner["to"], inner["value"], inner["data"])
        delegate = inner["operation"] == "delegatecall"
    else:
        call = Call(safe, inner.to, inner.value, inner.data)
        delegate = inner.operation == "delegatecall"
    code_from: dict[str, str] = {}
    if delegate and call.to:
        # The Safe runs the target's code in its own storage: the call goes to the Safe, wearing that code.
        code_from[safe] = call.to
        call.to = safe
    tokens = _tokens([c for root in decoded_calls for c in root.walk()])
    return Plan(safe, [call], code_from=code_from, tokens=tokens)


def _safe_call(message: dict[str, Any]) -> dict[str, Any]:
    def number(value: Any) -> int:
        return int(value, 0) if isinstance(value, str) else int(value or 0)

    return {
        "to": str(message.get("to") or ""),
        "value": number(message.get("value")),
        "data": str(message.get("data") or "0x"),
        "operation": "delegatecall" if number(message.get("operation")) == 1 else "call",
    }


def _tokens(calls: list[DecodedCall]) -> list[str]:
    """Contracts whose balanceOf is worth reading: every called contract, and tokens a swap names."""
    found: list[str] = []
    for call in calls:
        if call.to and call.data != "0x":
            found.append(call.to)
        for param in call.params:
            scope = param.value if isinstance(param.value, dict) else {param.name: param.value}
            for name in _TOKEN_PARAMS:
                value = scope.get(name)
                values = value if isinstance(value, list) else [value]
                found += [v for v in values if isinstance(v, str) and len(v) == 42 and v.startswith("0x")]
    return list({address.lower(): address for address in found}.values())


def _signature_notes(primary_type: str, message: dict[str, Any], verifying: str | None) -> list[str]:
    """What a later transfer could take with this signature (Permit2, Seaport); the decoder's
    findings keep their reading of it."""
    notes: list[str] = []
    spender = message.get("spender")
    if primary_type in ("PermitSingle", "PermitBatch"):
        details = message.get("details")
        for item in details if isinstance(details, list) else [details]:
            if isinstance(item, dict):
                notes.append(f"once signed, {spender} can transfer up to {item.get('amount')} (base units) of token "
                             f"{item.get('token')} from you through Permit2, until {item.get('expiration')}")
    elif primary_type in ("PermitTransferFrom", "PermitBatchTransferFrom", "PermitWitnessTransferFrom"):
        permitted = message.get("permitted")
        for item in permitted if isinstance(permitted, list) else [permitted]:
            if isinstance(item, dict):
                notes.append(f"once signed, {spender} can take {item.get('amount')} (base units) of token "
                             f"{item.get('token')} from you in one Permit2 transfer")
    elif primary_type in ("OrderComponents", "Order") and isinstance(message.get("offer"), list):
        for item in message["offer"]:
            if isinstance(item, dict):
                notes.append(f"once signed, whoever fulfils this order takes from you: item {item.get('token')} "
                             f"id {item.get('identifierOrCriteria')} amount {item.get('endAmount')}")
    return notes
