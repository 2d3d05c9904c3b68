"""The policy's spend limits, applied to what the ledger says was signed in the last 24 hours.

The policy (copilot.policy.spend) says what a request spends and which limits it breaks; this module
turns that into the two checks `sign` makes:
- before the confirmation prompt, against the ledger as it is then: a limit whose action is "confirm"
  is shown and must be confirmed, one whose action is "block" refuses;
- inside the ledger's write transaction, again: anything newly broken there (another process signed
  in between) refuses, because no human can be asked while the ledger is locked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from copilot.errors import Refused
from copilot.models import Finding, Review

if TYPE_CHECKING:
    from copilot.policy.loader import Policy
    from copilot.policy.spend import RuleHit, Spend


@dataclass
class SpendPlan:
    policy: Policy
    spends: list[Spend]
    amounts: dict[str, int]
    confirmed_rules: set[str] = field(default_factory=set)

    def hits(self, spent: dict[str, int]) -> list[RuleHit]:
        from copilot.policy.spend import check_spend

        return check_spend(self.policy, self.spends, spent)

    def precheck(self, spent: dict[str, int]) -> list[Finding]:
        """Refuse on a blocking limit; return the limits that need the human's confirmation."""
        hits = self.hits(spent)
        _refuse_blocking(hits)
        self.confirmed_rules = {hit.rule for hit in hits}
        return [hit.finding for hit in hits]

    def check(self, spent: dict[str, int]) -> None:
        """The check run inside the ledger transaction."""
        hits = self.hits(spent)
        _refuse_blocking(hits)
        new = [hit for hit in hits if hit.rule not in self.confirmed_rules]
        if new:
            raise Refused(
                f"over a limit since you confirmed: {new[0].finding.evidence}",
                "another signature was recorded meanwhile; run `txcopilot sign` again",
            )


def plan_spend(review: Review, policy: Policy) -> SpendPlan:
    from copilot.policy.spend import ledger_amounts, spend_of
    from copilot.state.prices import load_prices

    spends = spend_of(review.decoded, load_prices())
    return SpendPlan(policy=policy, spends=spends, amounts=ledger_amounts(spends))


def _refuse_blocking(hits: list[RuleHit]) -> None:
    for hit in hits:
        if hit.action == "block":
            raise Refused(
                f"over the limit: {hit.finding.evidence}",
                f"nothing was signed; the limit is {hit.rule.split(':', 2)[-1]} in your policy",
            )
