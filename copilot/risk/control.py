"""Handing over control: owners, admins, authorities, implementations, roles, Safe owners, modules
and guards.

A call that makes an address the new controller of a contract is a handover: DSAuth/DSProxy
`setOwner` and `setAuthority` (the 2024 theft of $55M in DAI was a `setOwner` on a Maker DSProxy),
Ownable(2Step) `transferOwnership`, proxy admin `changeAdmin`, `upgradeTo(AndCall)`, AccessControl
`grantRole`, Safe `addOwnerWithThreshold`, `swapOwner`, `enableModule` and `setGuard`; and, beyond
the list, any call whose single address argument becomes an owner, admin or authority, by the
function's name or by its ERC-7730 field label ("New owner"). EIP-7702 delegations are
`copilot.risk.calls.authorization_findings`' job.

Handing control to one of the user's own accounts (the signer, a keystore account, a book entry
marked own) is routine; to anyone else it is high, and to a fresh account with no code (per the
user's node) that the user never dealt with it is critical.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from copilot.decoding._crypto import keccak256
from copilot.models import AccountKind, DecodedCall, DecodedRequest, Finding
from copilot.risk.catalogue import finding
from copilot.risk.facts import Facts, as_address

# signature -> (position of the address argument that gets control, what it becomes)
_HANDOVERS: dict[str, tuple[int, str]] = {
    "setOwner(address)": (0, "owner"),
    "setAuthority(address)": (0, "authority"),
    "transferOwnership(address)": (0, "owner"),
    "changeOwner(address)": (0, "owner"),
    "changeAdmin(address)": (0, "admin"),
    "setAdmin(address)": (0, "admin"),
    "transferAdmin(address)": (0, "admin"),
    "beginDefaultAdminTransfer(address)": (0, "admin"),
    "upgradeTo(address)": (0, "implementation"),
    "upgradeToAndCall(address,bytes)": (0, "implementation"),
    "upgrade(address,address)": (1, "implementation"),  # ProxyAdmin.upgrade(proxy, implementation)
    "upgradeAndCall(address,address,bytes)": (1, "implementation"),
    "changeProxyAdmin(address,address)": (1, "admin"),
    "grantRole(bytes32,address)": (1, "role"),
    "addOwnerWithThreshold(address,uint256)": (0, "Safe owner"),
    "swapOwner(address,address,address)": (2, "Safe owner"),
    "enableModule(address)": (0, "Safe module"),
    "setGuard(address)": (0, "Safe guard"),
    "setModuleGuard(address)": (0, "Safe guard"),
}
# Functions of one address argument named like a handover: setGovernance, nominateNewOwner, ...
_HANDOVER_NAME = re.compile(
    r"^(?:set|change|transfer|update|nominate|propose|begin|add|grant)_?(?:new|pending)?_?"
    r"(owner|admin|authority|governance|governor|controller|guardian)",
    re.IGNORECASE,
)
# ERC-7730 field labels that say the argument becomes the controller: "New owner", "Pending admin".
_HANDOVER_LABEL = re.compile(
    r"\b(?:new|next|pending|proposed)\s+(owner|admin|administrator|authority|governor|controller)\b", re.IGNORECASE
)
DEFAULT_ADMIN_ROLE = "0x" + "00" * 32
_ROLE_NAMES = {
    "0x" + keccak256(name.encode()).hex(): name
    for name in ("MINTER_ROLE", "PAUSER_ROLE", "UPGRADER_ROLE", "BURNER_ROLE", "ADMIN_ROLE", "OPERATOR_ROLE", "GOVERNOR_ROLE")
}


@dataclass(frozen=True, slots=True)
class Handover:
    controller: str  # lowercase: the address that gets control
    becomes: str  # "owner", "admin", "DEFAULT_ADMIN_ROLE holder", "Safe module", ...
    function: str  # the function's name
    contract: str | None  # whose control changes
    location: str

    @property
    def is_safe(self) -> bool:
        return self.becomes.startswith("Safe ")


def handovers(decoded: DecodedRequest) -> list[Handover]:
    """Every handover of control in the request, at any depth, in call order."""
    return [h for call in decoded.all_calls() if (h := _handover(call)) is not None]


def _handover(call: DecodedCall) -> Handover | None:
    if call.function is None or call.name is None:
        return None
    known = _HANDOVERS.get(call.function)
    if known is not None:
        position, becomes = known
    else:
        addresses = [i for i, p in enumerate(call.params) if p.type == "address"]
        if len(addresses) != 1:
            return None
        named = _HANDOVER_NAME.match(call.name) or next(
            (m for f in call.fields if (m := _HANDOVER_LABEL.search(f.label))), None
        )
        if named is None:
            return None
        position, becomes = addresses[0], named.group(1).lower()
    if len(call.params) <= position:
        return None
    controller = as_address(call.params[position].value)
    if controller is None:
        return None
    if becomes == "role":
        role = str(call.params[0].value).lower()
        becomes = (
            "DEFAULT_ADMIN_ROLE holder (full admin: it can grant every role)"
            if role == DEFAULT_ADMIN_ROLE
            else f"{_ROLE_NAMES.get(role, f'role {role[:10]}…')} holder"
        )
    return Handover(controller, becomes, call.name, call.to, call.path)


def control_findings(facts: Facts) -> Iterator[Finding]:
    for handover in handovers(facts.decoded):
        if facts.is_own(handover.controller):
            if not handover.is_safe:
                yield finding(
                    "admin.handover_own",
                    f"{handover.function} makes your own account {facts.name(handover.controller)} the "
                    f"{handover.becomes} of {facts.name(handover.contract)}",
                    handover.location,
                )
            continue
        yield from _foreign(handover, facts)


def _foreign(handover: Handover, facts: Facts) -> Iterator[Finding]:
    who = facts.name(handover.controller)
    what = f"{handover.function} makes {who} the {handover.becomes} of {facts.name(handover.contract)}"
    kind = facts.account_kind(handover.controller)
    seen = facts.seen_before(handover.controller)
    if kind == AccountKind.EOA and not seen:
        yield finding(
            "admin.new_controller_unknown",
            f"{what}: per your node it is a plain account with no code, and you never dealt with it",
            handover.location,
        )
        return
    if handover.is_safe:
        return  # the safe.* finding names the change; the controller is checked above
    if kind is None:
        checked = "without a node (--rpc), whether it has code is unknown"
    else:
        checked = "it is " + ("one you dealt with before" if seen else f"a {kind.value.replace('_', ' ')}")
    note = " (with Ownable2Step it takes control once it calls acceptOwnership)" if handover.function == "transferOwnership" else ""
    yield finding(
        "admin.ownership_transfer",
        f"{what}, not one of your accounts; {checked}{note}",
        handover.location,
    )


def is_handover_function(call: DecodedCall) -> bool:
    """Whether `call` hands over control (to check that other rules leave it to this one)."""
    return _handover(call) is not None
