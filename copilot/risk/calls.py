"""Rules on every call, at any depth: Safe administration and delegatecalls, ownership transfers,
contract creation, blind calls, native value sent where it does not belong; and EIP-7702
authorizations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from copilot.models import CallStatus, DecodedCall, Finding, RequestKind
from copilot.risk.catalogue import finding
from copilot.risk.control import is_handover_function
from copilot.risk.facts import ZERO_ADDRESS, Facts, as_address, to_int

_SAFE_ADMIN = {
    "addOwnerWithThreshold": "safe.owner_change",
    "removeOwner": "safe.owner_change",
    "swapOwner": "safe.owner_change",
    "changeThreshold": "safe.threshold_change",
    "enableModule": "safe.module_change",
    "disableModule": "safe.module_change",
    "setGuard": "safe.guard_change",
    "setModuleGuard": "safe.guard_change",
    "setFallbackHandler": "safe.fallback_handler_change",
}
_ADMIN = {
    "transferOwnership", "setOwner", "changeOwner", "renounceOwnership", "changeAdmin", "transferAdmin",
    "setAdmin", "upgradeTo", "upgradeToAndCall", "changeProxyAdmin", "beginDefaultAdminTransfer",
}
_EXEC_TRANSACTION = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
_SAFE_DISPATCH = {_EXEC_TRANSACTION, "execTransactionFromModule(address,uint256,bytes,uint8)", "multiSend(bytes)"}
_BAIT_NAME = re.compile(r"claim|securityupdate|secureupdate|airdrop|connect|verify|networkmerge|activate|reward|bonus|gift", re.I)
# Selectors of bait functions that no bundled ABI knows: the contract is unknown, so is its ABI.
_BAIT_SELECTORS = {
    "0x4e71d92d": "claim()", "0x3158952e": "Claim()", "0x5fba79f5": "SecurityUpdate()",
    "0xaf347b61": "securityUpdate()", "0x1e2b5773": "SecureUpdate()", "0x3884d635": "airdrop()",
    "0x3f6b6f2e": "Airdrop()", "0x372500ab": "claimRewards()", "0x12798972": "ClaimRewards()",
    "0x79372f9a": "ClaimReward()", "0xb88a802f": "claimReward()", "0x5b88349d": "claimAirdrop()",
    "0x48c54b9d": "claimTokens()", "0x948cb719": "connect()", "0xa16f15c3": "Connect()",
    "0xfc735e99": "verify()", "0x9c9316c5": "NetworkMerge()", "0x59d3ce47": "Activate()",
    "0x99c8055d": "Enable()", "0x9cad7b18": "Multicall()",
}
_WRAPPED_NATIVE = {"WETH", "WMATIC", "WPOL", "WBNB", "WAVAX", "WXDAI", "WFTM"}
_TOKEN_STANDARD = {
    "transfer", "transferFrom", "approve", "increaseAllowance", "decreaseAllowance", "permit",
    "safeTransferFrom", "safeBatchTransferFrom", "setApprovalForAll",
}
_BLIND = {CallStatus.UNKNOWN, CallStatus.UNDECODABLE, CallStatus.AMBIGUOUS}


def call_findings(call: DecodedCall, facts: Facts) -> Iterator[Finding]:
    where = call.path
    name = call.name
    if call.status == CallStatus.CREATE or (call.to is None and call.status != CallStatus.EMPTY):
        yield finding("tx.contract_creation", f"deploys {max(0, len(call.data) - 2) // 2} bytes of code", where)
        return
    if call.status == CallStatus.TRUNCATED:
        yield finding("call.truncated", f"calls nested inside {facts.name(call.to)} were not decoded", where)
    if call.function in _SAFE_DISPATCH:  # a Safe runs these children, some by delegatecall
        for child in call.children:
            yield from _delegatecall(child, facts)
    if name in _SAFE_ADMIN:
        args = ", ".join(_show(p.value, facts) for p in call.params)
        yield finding(_SAFE_ADMIN[name], f"{name}({args}) on {facts.name(call.to)}", where)
    elif name in _ADMIN and not is_handover_function(call):  # handovers: copilot.risk.control
        args = ", ".join(_show(p.value, facts) for p in call.params if p.type == "address")
        yield finding("admin.ownership_transfer", f"{name}({args}) on {facts.name(call.to)}", where)
    if call.function == _EXEC_TRANSACTION:
        values = [p.value for p in call.params] + [None] * 10
        yield from _gas_refund(to_int(values[6]), as_address(values[7]), as_address(values[8]), where, facts)
    if call.status in _BLIND and call.to and not facts.is_known(call.to):
        what = call.selector or call.data[:10]
        if call.status == CallStatus.AMBIGUOUS:
            what += f" (ambiguous: {', '.join(call.candidates[:3])})"
        yield finding("call.blind", f"function {what} on unknown contract {facts.name(call.to)}", where)
    if call.value > 0 and call.to:
        yield from _value_findings(call, facts)


def safe_tx_findings(facts: Facts) -> Iterator[Finding]:
    """An off-chain SafeTx signature: the same checks as execTransaction, on the message."""
    typed = facts.decoded.typed_data
    if typed is None or typed.primary_type != "SafeTx" or facts.decoded.request.kind != RequestKind.TYPED_DATA:
        return
    message, where = typed.message, "typed_data.message"
    for call in typed.calls:  # the decoder turns the SafeTx's to/data/operation into a call
        yield from _delegatecall(call, facts)
    yield from _gas_refund(
        to_int(message.get("gasPrice")), as_address(message.get("gasToken")), as_address(message.get("refundReceiver")), where, facts
    )


def authorization_findings(facts: Facts) -> Iterator[Finding]:
    tx = facts.decoded.transaction
    if tx is None:
        return
    for i, auth in enumerate(tx.authorization_list):
        where = f"authorization[{i}]"
        if auth.chain_id == 0:
            yield finding("eip7702.any_chain", f"authorization for {facts.name(auth.address)} has chain_id 0: valid on every chain", where)
        delegate = auth.address.lower()
        if delegate == ZERO_ADDRESS:  # delegating to zero clears the account's code
            continue
        if not facts.has_tag(delegate, "eip7702-delegate") and delegate not in facts.index.trusted:
            whose = facts.name(auth.authority) if auth.authority else "the signer's account"
            yield finding("eip7702.untrusted_delegate", f"{whose} would run the code of {facts.name(auth.address)}", where)


def _delegatecall(call: DecodedCall, facts: Facts) -> Iterator[Finding]:
    target = call.to
    if call.operation != "delegatecall" or target is None:
        return
    if facts.has_tag(target, "safe-delegatecall-ok") or target.lower() in facts.index.trusted:
        return
    yield finding(
        "safe.delegatecall_untrusted",
        f"delegatecall to {facts.name(target)}, which is not allowlisted for Safe delegatecalls",
        call.path,
    )


def _gas_refund(
    gas_price: int | None, gas_token: str | None, refund_receiver: str | None, where: str, facts: Facts
) -> Iterator[Finding]:
    parts = []
    if gas_token and gas_token != ZERO_ADDRESS:
        parts.append(f"gas token {facts.name(gas_token)}")
    if refund_receiver and refund_receiver != ZERO_ADDRESS:
        parts.append(f"refund receiver {facts.name(refund_receiver)}")
    if parts:
        yield finding("safe.gas_refund", f"pays a gas refund at gas price {gas_price or 0} via {' and '.join(parts)}", where)


def _value_findings(call: DecodedCall, facts: Facts) -> Iterator[Finding]:
    assert call.to is not None
    sent = facts.native(call.value)
    token = facts.token(call.to)
    if token is not None or facts.has_tag(call.to, "token"):
        # A plain send or a token-standard function cannot take value; a decoded payable function
        # of the token itself (WETH deposit, Lido submit) can.
        wraps = token is not None and token.symbol in _WRAPPED_NATIVE and call.status == CallStatus.EMPTY
        if not wraps and (call.status != CallStatus.DECODED or call.name in _TOKEN_STANDARD):
            yield finding("value.to_token_contract", f"{sent} sent to token contract {facts.name(call.to)}", call.path)
    if facts.is_known(call.to):
        return
    bait = call.function if call.name and _BAIT_NAME.search(call.name) else _BAIT_SELECTORS.get(call.selector or "")
    if bait:
        yield finding("value.bait_function", f"{sent} sent to {bait} on unknown contract {facts.name(call.to)}", call.path)


def _show(value: Any, facts: Facts) -> str:
    address = as_address(value)
    return facts.name(address) if address else str(value)
