"""The "Balance changes" block: what the simulation on the user's node shows, in lines for a terminal.

Shared by `review` (stdout) and `sign` (stderr). Amounts are in whole units with the bundled symbol;
a symbol the token itself reported is shown with the token's address, as it is untrusted text.
"""

from __future__ import annotations

from copilot.models import Review


def balance_lines(review: Review) -> list[str]:
    """The block's lines, title first; [] when no simulation ran (no node, or --no-simulate)."""
    from copilot.decoding.tokens import format_native
    from copilot.policy.extract import request_chain_id
    from copilot.policy.simulated import describe

    report = review.simulation
    if report is None:
        return []
    if report.status == "not_simulated":
        return [f"Not simulated: {report.error}", *[f"  {note}" for note in report.notes]]
    chain_id = request_chain_id(review.decoded)
    where = "the node" if report.method == "eth_simulateV1" else "an anvil fork of the node"
    lines = [f"Balance changes of {report.account} (simulated on {where}, block {report.block})"]
    if report.reverted:
        lines.append(f"  would fail: {report.revert_reason}")
    changes = report.account_changes()
    for change in changes:
        if change.asset == "native" and change.source == "balance" and -(report.gas_cost or 0) <= change.amount <= 0:
            continue  # only gas: shown on its own line
        lines.append(f"  {'+' if change.amount > 0 else '-'} {describe(change, chain_id)}")
    if not report.reverted and len(lines) == 1:
        lines.append("  no asset leaves or enters your account (besides gas)")
    for grant in report.approvals:
        amount = "every token" if grant.kind == "operator" else f"{grant.amount}"
        state = "" if grant.approved else " (revoked)"
        lines.append(f"  approval: {grant.spender} may move {amount} of {grant.token} for {grant.owner}{state}")
    lines += [f"  {event.detail}" for event in report.events]
    if report.gas_cost:
        lines.append(f"  gas: at most {format_native(report.gas_cost, chain_id)} ({report.gas_used} gas)")
    lines += [f"  note: {note}" for note in report.notes]
    return lines
