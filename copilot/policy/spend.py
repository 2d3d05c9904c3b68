"""What a request spends, in base units and USD, and the spend-limit check the signer's ledger shares.

The ledger (copilot.signing.ledger) stores `ledger_amounts(spends)`: asset -> base units, plus
`USD_KEY` -> micro-dollars when every spend had a price. `check_spend` compares a request's spends
plus what was spent in the window against the policy's `[limits]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from copilot.decoding.tokens import native_symbol
from copilot.models import DecodedCall, DecodedRequest, Finding, Severity, TokenMeta, Verdict
from copilot.policy.addresses import to_checksum
from copilot.policy.extract import request_chain_id, request_sender, to_int
from copilot.policy.loader import Policy
from copilot.policy.schema import AssetLimit
from copilot.state.prices import PriceTable, dated

USD_KEY = "USD"
# An unknown chain's coin counts against the ETH limits: a limit must never silently stop applying.
POLICY_UNKNOWN_NATIVE = "ETH"
MICRO = Decimal(10) ** 6
NATIVE_DECIMALS = 18

@dataclass(frozen=True)
class Spend:
    asset: str  # the native coin's symbol ("ETH") or the token's checksum address
    symbol: str  # "ETH", "USDC", or the address when the token is unknown
    amount: int  # base units (wei, token base units)
    decimals: int | None  # None: unknown token, amount cannot be read in whole units
    usd: Decimal | None  # None: no price in the local table (or unknown decimals)
    as_of: str | None = None  # the date of the bundled price behind `usd`; None: the user's own price

    @property
    def units(self) -> Decimal | None:
        return None if self.decimals is None else Decimal(self.amount).scaleb(-self.decimals)

    def describe(self) -> str:
        amount = f"{self.units.normalize():f}" if self.units is not None else f"{self.amount} base units of"
        return f"{amount} {self.symbol}{self.usd_note()}"

    def usd_note(self) -> str:
        """" (≈ 12.00 USD)", with the date when the price is the bundled one; "" when unpriced."""
        if self.usd is None:
            return ""
        return f" (≈ {self.usd:.2f} USD{dated(self.as_of)})"


def token_meta(
    address: str, chain_id: int | None, tokens: Mapping[str, TokenMeta] | None = None
) -> TokenMeta | None:
    """Token metadata from the node's answers (context.chain.tokens) or the bundled token list."""
    if tokens:
        meta = tokens.get(address) or next(
            (m for a, m in tokens.items() if a.lower() == address.lower()), None
        )
        if meta:
            return meta
    try:
        from copilot.decoding.tokens import lookup_token
    except ImportError:  # the decoding stage is not built in this checkout
        return None
    return lookup_token(address, chain_id)


_TRANSFER = "transfer(address,uint256)"
_TRANSFER_FROM = "transferFrom(address,address,uint256)"


def spend_of(
    decoded: DecodedRequest, prices: PriceTable | None = None, tokens: Mapping[str, TokenMeta] | None = None
) -> list[Spend]:
    """Native value, ERC-20 transfers out of the signer's wallet and what Uniswap's routers may take
    from it (copilot.decoding.calldata.router_takes), one Spend per asset."""
    from copilot.decoding.calldata import router_takes
    from copilot.decoding.registry import known_contract

    chain_id = request_chain_id(decoded)
    prices = prices or PriceTable()
    totals: dict[str, int] = {}
    native = native_symbol(chain_id, POLICY_UNKNOWN_NATIVE)
    value = decoded.transaction.value if decoded.transaction else 0
    value += sum(call.value for call in decoded.calls)
    if decoded.typed_data:  # a Safe transaction signed as typed data spends the Safe's coins
        value += _value_sent(decoded.typed_data.calls)
    sender = (request_sender(decoded) or "").lower()
    # Native coin sent along that a router wraps for a swap whose input is the wrapped coin (ETH
    # into SwapRouter02 with tokenIn WETH): counted once, as the native value.
    wrappable = value
    for call in decoded.all_calls():
        if call.function and call.function.startswith("execTransaction("):
            value += _value_sent(call.children)
        values = [p.value for p in call.params]
        if not call.to:
            continue
        amount: int | None = None
        if call.function == _TRANSFER and len(values) == 2:
            amount = to_int(values[1])
        elif call.function == _TRANSFER_FROM and len(values) == 3 and str(values[0]).lower() == sender:
            amount = to_int(values[2])
        if amount:
            totals[to_checksum(call.to)] = totals.get(to_checksum(call.to), 0) + amount
        for token, most in router_takes(call, sender):
            contract = known_contract(token, chain_id)
            if contract is not None and "weth" in contract.abi:
                wrapped = min(most, wrappable)
                wrappable -= wrapped
                most -= wrapped
            if most:
                totals[token] = totals.get(token, 0) + most
    spends: list[Spend] = []
    if value:
        spends.append(_priced(native, native, value, NATIVE_DECIMALS, prices, address=None))
    for token, amount in totals.items():
        meta = token_meta(token, chain_id, tokens)
        spends.append(
            _priced(
                token,
                meta.symbol if meta else token,
                amount,
                meta.decimals if meta else None,
                prices,
                address=token,
            )
        )
    return spends


@dataclass(frozen=True)
class Payment:
    """Value one recipient gets from the signer's wallet."""

    recipient: str
    token: str | None  # None: the native coin
    amount: int  # base units
    location: str


def payments(decoded: DecodedRequest) -> list[Payment]:
    """Native value sent along each call, and ERC-20 `transfer`s and `transferFrom`s out of the
    signer's wallet, each with its recipient (what a mistyped or poisoned address would receive)."""
    sender = (request_sender(decoded) or "").lower()
    out: list[Payment] = []
    for call in decoded.all_calls():
        if not call.to:
            continue
        if call.value:
            out.append(Payment(call.to, None, call.value, call.path))
        values = [p.value for p in call.params]
        if call.function == _TRANSFER and len(values) == 2:
            recipient, amount = values[0], to_int(values[1])
        elif call.function == _TRANSFER_FROM and len(values) == 3 and str(values[0]).lower() == sender:
            recipient, amount = values[1], to_int(values[2])
        else:
            continue
        if amount and isinstance(recipient, str):
            out.append(Payment(recipient, call.to, amount, call.path))
    return out


def payment_spend(payment: Payment, chain_id: int | None, prices: PriceTable, tokens: Mapping[str, TokenMeta] | None = None) -> Spend:
    """One payment read like a spend: whole units and USD where the decimals and a price are known."""
    if payment.token is None:
        native = native_symbol(chain_id, POLICY_UNKNOWN_NATIVE)
        return _priced(native, native, payment.amount, NATIVE_DECIMALS, prices, address=None)
    meta = token_meta(payment.token, chain_id, tokens)
    token = to_checksum(payment.token)
    if meta is None:
        return _priced(token, token, payment.amount, None, prices, address=token)
    return _priced(token, meta.symbol, payment.amount, meta.decimals, prices, address=token)


def _value_sent(calls: Sequence[DecodedCall]) -> int:
    """Native value the calls send from the account that makes them: through a delegatecall (a Safe's
    multiSend) its inner calls are the account's own too; a plain call's inner calls are paid by
    the contract it calls."""
    return sum(c.value + (_value_sent(c.children) if c.operation == "delegatecall" else 0) for c in calls)


def _priced(
    asset: str, symbol: str, amount: int, decimals: int | None, prices: PriceTable, *, address: str | None
) -> Spend:
    quote = prices.quote(address=address, symbol=symbol) if decimals is not None else None
    if quote is None or decimals is None:
        return Spend(asset, symbol, amount, decimals, None)
    return Spend(asset, symbol, amount, decimals, Decimal(amount).scaleb(-decimals) * quote.usd, quote.as_of)


def prices_note(spends: Sequence[Spend]) -> str:
    """" at bundled prices of DATE" when a total is made with any bundled price, else ""."""
    return dated(next((s.as_of for s in spends if s.as_of), None))


def ledger_amounts(spends: Sequence[Spend]) -> dict[str, int]:
    """What the ledger records for a request: base units per asset, and micro-USD when all are priced."""
    amounts: dict[str, int] = {}
    for spend in spends:
        amounts[spend.asset] = amounts.get(spend.asset, 0) + spend.amount
    if spends and all(s.usd is not None for s in spends):
        amounts[USD_KEY] = int(sum((s.usd or Decimal(0)) for s in spends) * MICRO)
    return amounts


@dataclass(frozen=True)
class RuleHit:
    """A policy rule that fired: its decided_by name, what it demands, and the finding to show."""

    rule: str  # "policy:daily-limit.toml:limits.daily_usd"
    action: Verdict
    finding: Finding


def check_spend(
    policy: Policy, spends: Sequence[Spend], spent_today: Mapping[str, int] | None = None
) -> list[RuleHit]:
    """The policy's `[limits]` this request breaks, given what was spent in the window.

    `spent_today` is the ledger's sum of `ledger_amounts` over the window (empty for a review, which
    therefore checks the request alone). Each hit's action is the policy's `limits.action`.
    """
    limits = policy.spec.limits
    spent_today = spent_today or {}
    findings: list[RuleHit] = []
    if not spends:
        return findings
    if limits.tx_usd is not None or limits.daily_usd is not None:
        unpriced = [s for s in spends if s.usd is None]
        if unpriced:
            finding = Finding(
                id="policy.price_unknown",
                severity=Severity.MEDIUM,
                title="Value unknown: no local price for an asset this request spends",
                evidence=f"{', '.join(s.describe() for s in unpriced)}: the policy's USD limits cannot be "
                "checked; add the asset to prices.toml in the config dir",
            )
            findings.append(RuleHit(policy.rule("limits"), limits.action, finding))
        else:
            total = sum((s.usd or Decimal(0)) for s in spends)
            if limits.tx_usd is not None and total > limits.tx_usd:
                findings.append(
                    _over(
                        policy,
                        "limits.tx_usd",
                        f"this request is worth ≈ {total:.2f} USD{prices_note(spends)}, over the per-transaction limit of {limits.tx_usd} USD",
                    )
                )
            if limits.daily_usd is not None:
                before = Decimal(spent_today.get(USD_KEY, 0)) / MICRO
                if before + total > limits.daily_usd:
                    findings.append(
                        _over(
                            policy,
                            "limits.daily_usd",
                            f"≈ {before:.2f} USD spent in the last 24 h plus ≈ {total:.2f} USD now{prices_note(spends)} exceeds the daily limit of {limits.daily_usd} USD",
                        )
                    )
    for spend in spends:
        limit = _asset_limit(policy, spend)
        if limit is None:
            continue
        key, asset_limit = limit
        if spend.decimals is None:
            continue
        units = spend.units or Decimal(0)
        before = Decimal(spent_today.get(spend.asset, 0)).scaleb(-spend.decimals)
        if asset_limit.tx is not None and units > asset_limit.tx:
            findings.append(
                _over(
                    policy,
                    f"limits.assets.{key}.tx",
                    f"{spend.describe()} is over the per-transaction limit of {asset_limit.tx} {spend.symbol}",
                )
            )
        if asset_limit.daily is not None and before + units > asset_limit.daily:
            findings.append(
                _over(
                    policy,
                    f"limits.assets.{key}.daily",
                    f"{before.normalize():f} {spend.symbol} spent in the last 24 h plus {spend.describe()} exceeds the daily limit of {asset_limit.daily} {spend.symbol}",
                )
            )
    return findings


def _asset_limit(policy: Policy, spend: Spend) -> tuple[str, AssetLimit] | None:
    assets = policy.spec.limits.assets
    for key, limit in assets.items():
        if key.lower() == spend.asset.lower() or key.upper() == spend.symbol.upper():
            return key, limit
    return None


def _over(policy: Policy, rule: str, evidence: str) -> RuleHit:
    daily = rule.endswith("daily") or rule.endswith("daily_usd")
    finding = Finding(
        id="policy.daily_limit" if daily else "policy.value_over_limit",
        severity=Severity.MEDIUM,
        title="Over the policy's daily spend limit" if daily else "Over the policy's per-transaction limit",
        evidence=evidence,
    )
    return RuleHit(policy.rule(rule), policy.spec.limits.action, finding)
