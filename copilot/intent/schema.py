"""The parsed intent and the check's outcome, as the review carries them (`review --json`, the audit log).

No imports from the rest of copilot: copilot.models embeds these in `Review`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["send", "swap", "buy", "approve", "revoke", "sign_in", "mint", "stake", "bridge", "delegate"]
Outcome = Literal["match", "mismatch", "unverifiable"]
NATIVE = "native"  # the chain's coin in `IntentAsset.address`


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntentAsset(_Model):
    """A token the sentence names, resolved from the bundled token table for the chain (never from
    the request): a symbol the table lacks, or holds twice, leaves `address` None."""

    symbol: str
    address: str | None = None  # checksum address, or "native" for the chain's coin
    decimals: int | None = None


class IntentParty(_Model):
    """A counterparty or protocol the sentence names: an address-book label, an address, or a protocol
    name resolved to the registry's known contracts."""

    text: str  # as written
    source: Literal["address_book", "address", "protocol", "unresolved"]
    addresses: list[str] = Field(default_factory=list)  # checksum; several for a protocol's deployments
    label: str | None = None


class ParsedIntent(_Model):
    """The sentence read into fields: echoed back to the user, compared with the request."""

    action: Action
    amount: Decimal | None = None  # exact, in whole units of `asset`; None with `amount_kind` all/max/none
    amount_kind: Literal["exact", "all", "max", "none"] = "none"
    asset: IntentAsset | None = None  # what is sent, sold, approved, staked, bridged (buy: what is paid)
    output: IntentAsset | None = None  # swap: what is bought; buy: what is bought (`amount` is of it)
    counterparty: IntentParty | None = None  # recipient, spender, delegate
    protocol: IntentParty | None = None  # "on uniswap", "via 1inch"
    domain: str | None = None  # sign in: the site
    chain_id: int | None = None  # the chain the token symbols were resolved for
    problems: list[str] = Field(default_factory=list)  # what the parser could not resolve

    def describe(self) -> str:
        """The parsed form in words, for the echo: "send 50 USDC (0xA0b8…) to Alice (0x4Cd7…)"."""
        parts = [self.action.replace("_", " ")]
        if self.amount_kind == "exact" and self.action != "buy":
            parts.append(f"{self.amount:f}")
        elif self.amount_kind in ("all", "max"):
            parts.append(self.amount_kind)
        if self.asset is not None and self.action != "buy":
            parts.append(_asset_words(self.asset))
        if self.output is not None:
            amount = f"{self.amount:f} " if self.action == "buy" and self.amount_kind == "exact" else ""
            parts.append(("" if self.action == "buy" else "for ") + amount + _asset_words(self.output))
        if self.action == "buy" and self.asset is not None:
            parts.append(f"with {_asset_words(self.asset)}")
        if self.counterparty is not None:
            parts.append(f"{_PREPOSITION.get(self.action, 'to')} {_party_words(self.counterparty)}")
        if self.protocol is not None:
            parts.append(f"on {_party_words(self.protocol)}")
        if self.domain:
            parts.append(f"to {self.domain}")
        return " ".join(parts)


_PREPOSITION = {"approve": "for", "revoke": "from"}


def _asset_words(asset: IntentAsset) -> str:
    if asset.address is None:
        return f"{asset.symbol} (not in the token table)"
    return asset.symbol if asset.address == NATIVE else f"{asset.symbol} ({asset.address})"


def _party_words(party: IntentParty) -> str:
    if party.source == "unresolved":
        return f"{party.text} (unknown)"
    if party.source == "protocol":
        return f"{party.label or party.text} ({len(party.addresses)} known contracts)"
    return f"{party.label} ({party.addresses[0]})" if party.label else party.addresses[0]


class IntentCheck(_Model):
    """The intent, its parsed form and what the comparison with the request found."""

    text: str
    parsed: ParsedIntent | None = None  # None: the sentence could not be read
    outcome: Outcome
    reasons: list[str] = Field(default_factory=list)  # each mismatch, or why it cannot be verified
    blocks: bool = False  # the recipient or the asset differs: the review is blocked
