"""The policy file schema (TOML), validated by pydantic.

Every table and key is optional; an empty file is a valid policy that maps finding severities to
verdicts with the defaults below. Amounts are strings or numbers in whole units ("0.5" ETH, 100 USD).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from copilot.models import Severity
from copilot.policy.addresses import is_address, to_checksum

Action = Literal["allow", "confirm", "block"]
LimitAction = Literal["confirm", "block"]

_SELECTOR = re.compile(r"^0x[0-9a-fA-F]{8}$")
_SIGNATURE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*\(.*\)$")


def check_address(value: str) -> str:
    """Returns the EIP-55 form; rejects malformed or wrongly checksummed (mixed-case) addresses."""
    if not is_address(value):
        raise ValueError(f"{value!r} is not an address: write 0x followed by 40 hex characters")
    checksummed = to_checksum(value)
    body = value[2:]
    if body != body.lower() and body != body.upper() and value != checksummed:
        raise ValueError(f"{value} has a wrong EIP-55 checksum: did you mean {checksummed}?")
    return checksummed


def check_function(value: str) -> str:
    text = value.replace(" ", "") if isinstance(value, str) else value
    if not isinstance(text, str) or not (_SELECTOR.match(text) or _SIGNATURE.match(text)):
        raise ValueError(
            f'{value!r} is not a function: write a signature like "transfer(address,uint256)" '
            'or a 4-byte selector like "0xa9059cbb"'
        )
    return text.lower() if text.startswith("0x") else text


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Verdicts(Section):
    """Which verdict each finding severity leads to."""

    critical: Action = "block"
    high: Action = "confirm"
    medium: Action = "confirm"
    low: Action = "allow"
    info: Action = "allow"

    def for_severity(self, severity: Severity) -> Action:
        verdict: Action = getattr(self, severity.value)
        return verdict


class AddressLists(Section):
    addresses: list[str] = Field(default_factory=list)
    contracts: list[str] = Field(default_factory=list)
    functions: list[str] = Field(default_factory=list)

    @field_validator("addresses", "contracts")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [check_address(v) for v in values]

    @field_validator("functions")
    @classmethod
    def _functions(cls, values: list[str]) -> list[str]:
        return [check_function(v) for v in values]


class Allow(AddressLists):
    """Trusted counterparties count as known; `only = true` makes everything else need confirmation."""

    only: bool = False


class Deny(AddressLists):
    """Anything listed here, or in the blocklist file, blocks the request."""

    blocklist: str | None = None  # a file of known drainer addresses, relative to the policy file


class Chains(Section):
    allowed: list[int] = Field(default_factory=list)  # empty: any chain
    action: LimitAction = "block"


class Confirm(Section):
    """Confirm above X: a request worth more than this needs the human."""

    above_usd: Decimal | None = Field(default=None, ge=0)
    above_native: Decimal | None = Field(default=None, ge=0)
    # native value sent to an address you never dealt with (not in your history, address book,
    # allow list or the known-contract registry): where a mistyped or poisoned address costs most
    new_address_above_native: Decimal | None = Field(default=None, ge=0)
    # the same for any payment, native coin or token, worth more than this many USD (bundled prices
    # or your prices.toml); a token without a price asks from `new_address_unpriced_tokens` whole
    # tokens up, or (with --rpc) from `new_address_balance_share` of your balance of it
    new_address_above_usd: Decimal | None = Field(default=None, ge=0)
    new_address_unpriced_tokens: Decimal = Field(default=Decimal(1000), ge=0)
    new_address_balance_share: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)


class AssetLimit(Section):
    tx: Decimal | None = Field(default=None, ge=0)  # one request, in the asset's whole units
    daily: Decimal | None = Field(default=None, ge=0)  # everything signed today plus this request


class Limits(Section):
    """Spend limits. `sign` checks the daily ones against its ledger; `review` assumes nothing spent yet."""

    action: LimitAction = "block"
    tx_usd: Decimal | None = Field(default=None, ge=0)
    daily_usd: Decimal | None = Field(default=None, ge=0)
    assets: dict[str, AssetLimit] = Field(default_factory=dict)  # "ETH", "USDC" or a token address


class Approvals(Section):
    action: LimitAction = "confirm"
    max_usd: Decimal | None = Field(default=None, ge=0)
    max_amount: dict[str, Decimal] = Field(default_factory=dict)  # token symbol or address -> whole units
    max_permit_days: Decimal | None = Field(default=None, gt=0)


class Gas(Section):
    """Abnormal fees: absolute caps, and (with --rpc) a multiple of the node's current base fee."""

    action: LimitAction = "confirm"
    max_fee_gwei: Decimal | None = Field(default=Decimal(1000), gt=0)
    max_fee_native: Decimal | None = Field(default=Decimal("0.2"), gt=0)  # gas limit x max fee
    max_base_fee_multiple: Decimal | None = Field(default=Decimal(20), gt=1)


class IntentPolicy(Section):
    """`sign` needs an --intent the request matches: a 2-of-2 of what you say and what you sign."""

    required: bool = False


class PolicyFile(Section):
    name: str | None = None
    description: str = ""
    default: Action = "allow"  # the verdict when nothing else decides; "confirm" = confirm everything
    verdicts: Verdicts = Field(default_factory=Verdicts)
    severity: dict[str, Severity] = Field(default_factory=dict)  # finding id or "prefix.*" -> severity
    allow: Allow = Field(default_factory=Allow)
    deny: Deny = Field(default_factory=Deny)
    chains: Chains = Field(default_factory=Chains)
    confirm: Confirm = Field(default_factory=Confirm)
    limits: Limits = Field(default_factory=Limits)
    approvals: Approvals = Field(default_factory=Approvals)
    gas: Gas = Field(default_factory=Gas)
    intent: IntentPolicy = Field(default_factory=IntentPolicy)
    # address -> label; each key is checked on its own, so an error names the entry's line
    address_book: dict[Annotated[str, AfterValidator(check_address)], str] = Field(default_factory=dict)
