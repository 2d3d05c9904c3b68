"""EIP-712 messages judged as a whole, whatever their primary type:
- `typed.blind`: the counterpart of `call.blind`. Nothing says what the message does: its verifying
  contract is in neither the registry, an ERC-7730 descriptor nor the address book (no verifying
  contract, or 0x0, counts as unknown), and its primary type is no standard a reviewer recognises
  (permits, Permit2, the order formats of copilot.decoding.orders, Safe transactions, logins);
- `typed.any_chain`: a domain without a chainId is valid on every chain;
- `typed.unsigned_field`: fields the types do not declare are shown by wallets but never signed.
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.models import Finding, RequestKind
from copilot.risk.catalogue import finding
from copilot.risk.facts import ZERO_ADDRESS, Facts

WHERE = "typed_data"
MAX_SHOWN = 3


def typed_findings(facts: Facts) -> Iterator[Finding]:
    typed = facts.decoded.typed_data
    if typed is None or facts.decoded.request.kind != RequestKind.TYPED_DATA:
        return
    contract = typed.verifying_contract
    if typed.standard is None and not typed.described and (
        contract is None or contract.lower() == ZERO_ADDRESS or not facts.is_known(contract)
    ):
        where = f"verifying contract {facts.name(contract)}" if contract and contract.lower() != ZERO_ADDRESS else "no verifying contract"
        yield finding("typed.blind", f"{typed.primary_type} message for {where}, a type no standard defines", WHERE)
    if typed.chain_id is None:
        yield finding("typed.any_chain", f"the {typed.primary_type} domain signs no chainId", "typed_data.domain")
    if typed.unsigned:
        shown = ", ".join(f"{field.path.removeprefix('typed_data.')} = {field.value!r}"[:80] for field in typed.unsigned[:MAX_SHOWN])
        more = f" and {len(typed.unsigned) - MAX_SHOWN} more" if len(typed.unsigned) > MAX_SHOWN else ""
        yield finding("typed.unsigned_field", f"not signed: {shown}{more}", WHERE)
