"""Who the request deals with: lookalike (poisoned) addresses and first interactions.

Counterparties are the addresses that receive value, tokens or rights: value recipients, token
transfer recipients, spenders and operators, and the contracts called; at every depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from copilot.models import CallStatus, DecodedCall, Finding
from copilot.risk.catalogue import finding
from copilot.risk.facts import ZERO_ADDRESS, Facts, as_address, checksum

# function signature -> (position of the argument that receives tokens or rights, its role)
_COUNTERPARTY_ARG = {
    "transfer(address,uint256)": (0, "recipient"),
    "transferFrom(address,address,uint256)": (1, "recipient"),
    "safeTransferFrom(address,address,uint256)": (1, "recipient"),
    "safeTransferFrom(address,address,uint256,bytes)": (1, "recipient"),
    "safeTransferFrom(address,address,uint256,uint256,bytes)": (1, "recipient"),
    "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)": (1, "recipient"),
    "approve(address,uint256)": (0, "spender"),
    "increaseAllowance(address,uint256)": (0, "spender"),
    "setApprovalForAll(address,bool)": (0, "operator"),
    "approve(address,address,uint160,uint48)": (1, "spender"),
}


def counterparties(facts: Facts) -> list[tuple[str, str, str]]:
    """(lowercase address, role, location), first occurrence of each address only."""
    seen: dict[str, tuple[str, str, str]] = {}

    def add(address: str | None, role: str, where: str) -> None:
        if address and address != ZERO_ADDRESS and address != facts.user and address not in seen:
            seen[address] = (address, role, where)

    for call in facts.decoded.all_calls():
        _add_call(call, add)
    typed = facts.decoded.typed_data
    if typed is not None:
        add(as_address(typed.message.get("spender")), "spender", "typed_data.message")
        add(as_address(typed.verifying_contract), "contract", "typed_data.domain")
    return list(seen.values())


def _add_call(call: DecodedCall, add: Callable[[str | None, str, str], None]) -> None:
    target = as_address(call.to)
    counterparty = _COUNTERPARTY_ARG.get(call.function or "")
    if counterparty is not None and len(call.params) > counterparty[0]:
        add(as_address(call.params[counterparty[0]].value), counterparty[1], call.path)
    if call.status == CallStatus.EMPTY:
        add(target, "recipient", call.path)
    else:
        add(target, "contract", call.path)


def address_findings(facts: Facts) -> Iterator[Finding]:
    for address, role, where in counterparties(facts):
        if facts.seen_before(address):
            continue
        lookalikes = facts.lookalikes(address)
        if lookalikes:
            other = lookalikes[0]
            known_as = facts.index.book.get(other) or "an address from your history"
            yield finding(
                "address.poisoning",
                f"{role} {checksum(address)} looks like {known_as} {checksum(other)} but is a different address",
                where,
            )
        yield finding("address.first_interaction", f"first interaction with {role} {checksum(address)}", where)
