"""The user's policy: load it (TOML, validated), and judge a request's findings against it."""

from __future__ import annotations

from copilot.policy.judge import effective_findings, judge
from copilot.policy.loader import Policy, available_policies, load_policy
from copilot.policy.spend import RuleHit, Spend, check_spend, ledger_amounts, spend_of

__all__ = [
    "Policy",
    "RuleHit",
    "Spend",
    "available_policies",
    "check_spend",
    "effective_findings",
    "judge",
    "ledger_amounts",
    "load_policy",
    "spend_of",
]
