"""Compare what the simulation shows with what the decoding says the request does.

Here, in the policy stage, because "what the request says it spends" is `spend_of` (the same
reading the spend limits use): a simulation that moves more, moves something else, credits a swap
to a stranger or sets a grant no decoded call makes is a `sim.*` finding. Findings only ever add to
the verdict; a request that was not simulated keeps every other finding and gets an info line.
"""

from __future__ import annotations

from copilot.decoding.calldata import swap_output
from copilot.decoding.tokens import format_amount, format_native
from copilot.models import AssetChange, DecodedRequest, Finding, ReviewContext, SimulationReport, TokenMeta
from copilot.policy.extract import approvals, request_chain_id
from copilot.policy.spend import spend_of
from copilot.risk.catalogue import finding

# Functions that announce a change of owners, ownership or code: their events are shown, not hidden.
_CONTROL_FUNCTIONS = frozenset({"transferOwnership", "renounceOwnership", "acceptOwnership", "addOwnerWithThreshold",
                                "removeOwner", "swapOwner", "changeThreshold", "setup"})
_UR_SENDER, _UR_ROUTER = 1, 2  # Universal Router's recipient constants: MSG_SENDER, ADDRESS_THIS


def simulation_findings(decoded: DecodedRequest, context: ReviewContext) -> list[Finding]:
    report = context.simulation
    if report is None:
        return []
    if report.status == "not_simulated":
        return [finding("sim.not_simulated", f"not simulated: {report.error}", "simulation")]
    if report.reverted:
        return [finding("sim.would_fail", f"the simulation {report.revert_reason}", "simulation")]
    chain_id = request_chain_id(decoded) or context.chain.chain_id
    found = _outflows(decoded, report, chain_id) + _swaps(decoded, report, chain_id) + _grants(decoded, report)
    found += _control(decoded, report) + _events_vs_balances(report, chain_id)
    return found


def describe(change: AssetChange, chain_id: int | None, amount: int | None = None) -> str:
    """An amount of the change's asset in whole units with its symbol when known: "1,000 USDC"."""
    value = abs(change.amount if amount is None else amount)
    if change.asset == "native":
        return format_native(value, chain_id)
    if change.standard == "erc721":
        return f"NFT #{change.token_id} of {change.asset}"
    if change.standard == "erc1155":
        return f"{value} of token #{change.token_id} of {change.asset}"
    if change.symbol and change.decimals is not None:
        meta = TokenMeta(address=change.asset, symbol=change.symbol, decimals=change.decimals)
        return format_amount(value, meta, unlimited=f"{value} base units of") + ("" if change.symbol_source == "bundled" else f" ({change.asset})")
    return f"{value} base units of {change.asset}"


def _outflows(decoded: DecodedRequest, report: SimulationReport, chain_id: int | None) -> list[Finding]:
    predicted: dict[str, int] = {}
    for spend in spend_of(decoded):
        key = spend.asset.lower() if spend.asset.startswith("0x") else "native"
        predicted[key] = predicted.get(key, 0) + spend.amount
    moved_nfts = {(c.to or "").lower() for c in decoded.all_calls() if "transfer" in (c.name or "").lower()}
    found: list[Finding] = []
    for change in report.account_changes():
        if change.amount >= 0:
            continue
        out = -change.amount
        key = change.asset.lower()
        if change.standard in ("erc721", "erc1155"):
            if key not in moved_nfts:
                found.append(finding("sim.unpredicted_outflow", f"{describe(change, chain_id)} leaves your account", "simulation"))
            continue
        allowed = predicted.get(key, 0) + ((report.gas_cost or 0) if key == "native" else 0)
        if out <= allowed:
            continue
        if predicted.get(key, 0) == 0:
            found.append(finding("sim.unpredicted_outflow",
                                 f"{describe(change, chain_id, out - allowed)} leaves your account; no decoded call sends it",
                                 "simulation"))
        else:
            found.append(finding("sim.outflow_exceeds",
                                 f"{describe(change, chain_id, out)} leaves your account; the request says "
                                 f"{describe(change, chain_id, predicted[key])}" + (" plus gas" if key == "native" else ""),
                                 "simulation"))
    return found


def _swaps(decoded: DecodedRequest, report: SimulationReport, chain_id: int | None) -> list[Finding]:
    found: list[Finding] = []
    account = (report.account or "").lower()
    for call in decoded.all_calls():
        promise = swap_output(call)
        if promise is None:
            continue
        token, least, recipient = promise
        if recipient is not None and int(recipient, 16) == _UR_ROUTER:
            continue  # the router keeps the output for a later command (unwrap, sweep)
        wanted = account if recipient is None or int(recipient, 16) == _UR_SENDER else recipient.lower()
        of_token = [c for c in report.changes if c.asset.lower() == token.lower()]
        received = sum(c.amount for c in of_token if c.holder.lower() == wanted)
        if received <= 0:
            strangers = [c for c in of_token if c.amount > 0 and c.holder.lower() not in (account, (call.to or "").lower())]
            if strangers:
                top = max(strangers, key=lambda c: c.amount)
                found.append(finding("sim.inflow_elsewhere",
                                     f"the swap's output, {describe(top, chain_id)}, goes to {top.holder}, not to {wanted}",
                                     call.path))
        elif received < least:
            sample = next(c for c in of_token if c.holder.lower() == wanted)
            found.append(finding("sim.output_below_min",
                                 f"the swap delivers {describe(sample, chain_id, received)}, below its minimum "
                                 f"{describe(sample, chain_id, least)}", call.path))
    return found


def _grants(decoded: DecodedRequest, report: SimulationReport) -> list[Finding]:
    shown = {((a.token or "").lower(), (a.spender or "").lower()) for a in approvals(decoded)}
    shown |= {((c.to or "").lower(), str(c.params[0].value).lower()) for c in decoded.all_calls()
              if c.name == "setApprovalForAll" and c.params}
    account = (report.account or "").lower()
    found: list[Finding] = []
    for grant in report.approvals:
        granted = grant.approved and (grant.kind == "operator" or bool(grant.amount))
        if grant.owner.lower() != account or not granted or (grant.token.lower(), grant.spender.lower()) in shown:
            continue
        what = {"approve": f"an allowance of {grant.amount} base units", "nft_approve": f"NFT #{grant.amount}",
                "operator": "every token of the collection", "permit2": f"a Permit2 allowance of {grant.amount} base units"}
        found.append(finding("sim.unshown_approval",
                             f"{grant.spender} gets {what[grant.kind]} of {grant.token} from your account", "simulation"))
    return found


def _control(decoded: DecodedRequest, report: SimulationReport) -> list[Finding]:
    announced = any(c.name in _CONTROL_FUNCTIONS for c in decoded.all_calls())
    delegated = {(a.authority or "").lower() for a in (decoded.transaction.authorization_list if decoded.transaction else [])}
    found: list[Finding] = []
    for event in report.events:
        if event.kind == "code":
            if (event.subject or "").lower() not in delegated:
                found.append(finding("sim.code_change", event.detail, "simulation"))
        elif not announced and not (event.kind == "ownership" and "from 0x0000000000000000000000000000000000000000" in event.detail):
            found.append(finding("sim.control_change", event.detail, "simulation"))
    return found


def _events_vs_balances(report: SimulationReport, chain_id: int | None) -> list[Finding]:
    """Measured balances against the logs, for the watched account's tokens."""
    account = (report.account or "").lower()
    logged = {c.asset.lower(): c.amount for c in report.changes if c.holder.lower() == account}
    found: list[Finding] = []
    for measured in report.measured:
        if measured.asset == "native":
            continue  # gas moves ETH without a log
        said = logged.get(measured.asset.lower(), 0)
        if measured.amount == said:
            continue
        if report.log_count == 0:
            found.append(finding("sim.no_logs", f"{describe(measured, chain_id)} changes with no event logged", "simulation"))
        else:
            found.append(finding("sim.events_disagree",
                                 f"the events say {describe(measured, chain_id, said)} changes, the balance says "
                                 f"{describe(measured, chain_id)} ({'+' if measured.amount > 0 else '-'})", "simulation"))
    return found
