"""What the audit knows about addresses and tokens: the registry, the address book, the policy's
allow list and blocklist, token metadata and the user's price table. Loaded once per audit."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from copilot.audit.approvals import UNLIMITED_ERC20, UNLIMITED_PERMIT2, Grant
from copilot.models import TokenMeta


@dataclass
class Knowledge:
    chain_id: int | None
    policy_name: str
    book: dict[str, str]  # lowercase address -> label
    trusted: set[str]  # lowercase
    blocked: set[str]  # lowercase: the policy's blocklist file and denied addresses
    prices: Any  # copilot.state.prices.PriceTable
    fingerprint: str  # changes whenever anything a review depends on changes
    eoa_spenders: set[str] = field(default_factory=set)  # with --rpc: spenders with no code
    threats: Any = None  # copilot.intel.ThreatIndex: the seed list and the user's imported lists
    _tokens: dict[str, TokenMeta | None] = field(default_factory=dict)
    _labels: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def load(cls, policy_name: str | None, address: str, chain_id: int | None) -> Knowledge:
        from copilot.policy import load_policy
        from copilot.state.context import build_context
        from copilot.state.prices import load_prices

        policy = load_policy(policy_name)
        context = build_context(policy, rpc=None, user=address, decoded=None)
        prices = load_prices()
        from copilot.intel import load_index

        threats = load_index()
        # Sets serialise in hash order, which changes between processes: sort everything.
        facts = {
            "policy": policy.spec.model_dump(mode="json"),
            "blocklist": sorted(policy.blocklist),
            "context": context.model_dump(mode="json", exclude={"now", "known_addresses", "trusted"}),
            "known": sorted(context.known_addresses),
            "trusted": sorted(context.trusted),
            "prices": sorted((k, str(v)) for k, v in prices.by_key.items()),
            "bundled_prices": prices.bundled.as_of if prices.bundled else None,
            "threat_lists": [info.as_json() for info in threats.infos],
            "threat_allowed": sorted(threats.user_allowed),
        }
        fingerprint = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()
        return cls(
            chain_id=chain_id,
            policy_name=policy.name,
            book={a.lower(): label for a, label in context.address_book.items()},
            trusted={a.lower() for a in context.trusted},
            blocked=set(policy.blocklist) | set(policy.denied_addresses) | set(policy.denied_contracts),
            prices=prices,
            fingerprint=fingerprint,
            threats=threats,
        )

    # -- addresses

    @staticmethod
    def checksum(address: str) -> str:
        from copilot.policy.addresses import to_checksum

        return to_checksum(address) if len(address) == 42 else address

    def label(self, address: str) -> str | None:
        key = address.lower()
        if key not in self._labels:
            from copilot.decoding.registry import known_contract

            known = known_contract(key, self.chain_id)
            self._labels[key] = self.book.get(key) or (known.label if known else None)
        return self._labels[key]

    def _registry_knows(self, address: str) -> bool:
        from copilot.decoding.registry import known_contract

        return known_contract(address, self.chain_id) is not None

    def is_known(self, address: str) -> bool:
        key = address.lower()
        return key in self.trusted or self.label(key) is not None

    def risk_reasons(self, grant: Grant) -> list[str]:
        """Why an open approval is dangerous; empty when it is to a known, unblocked spender."""
        reasons: list[str] = []
        listings = self.threats.address(grant.spender) if self.threats is not None else []
        if grant.spender in self.blocked:
            reasons.append("spender is on your policy's blocklist")
        elif listings and not self._registry_knows(grant.spender):
            reasons.append(f"spender is {'; '.join(listing.evidence(None) for listing in listings)}")
        elif not self.is_known(grant.spender):
            reasons.append("spender is not a known contract nor in your address book")
        if grant.spender in self.eoa_spenders:
            reasons.append("spender is a plain account (no code): a person, not a contract, can move the tokens")
        if reasons and grant.unlimited:
            reasons.append("unlimited")
        return reasons

    # -- tokens

    def token(self, address: str) -> TokenMeta | None:
        key = address.lower()
        if key not in self._tokens:
            from copilot.decoding.tokens import lookup_token

            self._tokens[key] = lookup_token(key, self.chain_id)
        return self._tokens[key]

    def token_decimals(self, address: str) -> int | None:
        meta = self.token(address)
        return meta.decimals if meta else None

    def remember_token(self, meta: TokenMeta) -> None:
        self._tokens[meta.address.lower()] = meta

    @staticmethod
    def is_unlimited(amount: int, kind: str) -> bool:
        return amount >= (UNLIMITED_PERMIT2 if kind == "permit2" else UNLIMITED_ERC20)

    def format_amount(self, amount: int, token: str, *, unlimited: bool = False) -> str:
        from copilot.decoding.tokens import format_amount

        meta = self.token(token)
        if unlimited:
            return f"unlimited {meta.symbol}" if meta else "unlimited (unknown token)"
        return format_amount(amount, meta)

    def usd(
        self, token: str, symbol: str | None, amount: int | None, decimals: int | None
    ) -> tuple[Decimal, str | None] | None:
        """The amount in USD and the date of the bundled price it used (None: the user's prices.toml)."""
        if amount is None or decimals is None:
            return None
        quote = self.prices.quote(address=token, symbol=symbol)
        if quote is None:
            return None
        return (Decimal(amount).scaleb(-decimals) * quote.usd).quantize(Decimal("0.01")), quote.as_of
