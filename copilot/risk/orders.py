"""Order signatures, judged on the decoded model (`TypedDataInfo.orders`, copilot.decoding.orders):
1inch, 0x, UniswapX and other Permit2 witness orders, Seaport, Blur, LooksRare, CoW.

A phishing order gives the victim's assets for nothing, for dust, or to someone else. So an order
needs a question when:
- what comes back goes to someone other than the signer (`order.foreign_recipient`; each format's
  "receiver 0x0 means the maker" is resolved by the decoder), or third parties take a large share of
  the price (royalties and fees go to third parties in every honest listing, so only more than
  `MAX_FEE_SHARE` counts, and only to addresses in neither the registry nor the address book);
- nothing comes back at all (`order.receives_little`, critical);
- both sides are priced by the offline price table and what comes back is worth less than half of
  what goes (`order.under_value`); when a side is unpriced, what comes back is at most a millionth of
  one whole token (`order.dust_take`);
- the order never expires, or stays open for more than a year (`order.no_expiry`), or has already
  expired (`order.expired`: it cannot be filled, but a dApp asking for it has a wrong clock or is
  probing; low).
Amounts are the worst the order allows for the signer (the decoder reads decaying amounts that way).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from copilot.dates import utc_date
from copilot.decoding.tokens import NATIVE_DECIMALS, native_symbol
from copilot.models import Finding, OrderAsset, OrderInfo, RequestKind
from copilot.risk.catalogue import finding
from copilot.risk.facts import Facts

DAY = 86_400
MAX_EXPIRY = 365 * DAY  # an order open longer than a year is as good as one that never expires
MAX_FEE_SHARE = Decimal("0.2")  # third parties taking more than 20% of a price send most of it elsewhere
DUST_PER_MILLION = 10**6  # a take of at most a millionth of one whole token is dust
FALLBACK_DECIMALS = 18  # a token whose decimals are unknown is read as the common 18
TRUSTED_PRICE_SOURCES = frozenset({"bundled", "user"})  # token symbols a dApp cannot choose


def order_findings(facts: Facts) -> Iterator[Finding]:
    typed = facts.decoded.typed_data
    if typed is None or facts.decoded.request.kind != RequestKind.TYPED_DATA:
        return
    for order in typed.orders:
        if order.complete:
            yield from _judge(order, facts)


def describe_order(order: OrderInfo, facts: Facts) -> str:
    """'you give NFT #1 of BAYC; you receive 29.25 ETH; also paid: 0.75 ETH to OpenSea Fees (0x0000…a719)'."""
    parts = [f"you give {_list(order.give, facts)}"]
    if not order.complete:
        parts.append("what you get is not read")
    elif _is_signer(order.receiver, order, facts):
        parts.append(f"you receive {_list(order.take, facts)}")
    else:
        parts.append(f"{facts.name(order.receiver)} receives {_list(order.take, facts)}")
    if order.fees:
        parts.append("also paid: " + ", ".join(f"{_show(fee, facts)} to {facts.name(fee.recipient)}" for fee in order.fees))
    return "; ".join(parts)


def _judge(order: OrderInfo, facts: Facts) -> Iterator[Finding]:
    where = order.path
    gives = _list(order.give, facts)
    if order.receiver is not None and not _is_signer(order.receiver, order, facts):
        yield finding(
            "order.foreign_recipient", f"you give {gives}; the {_list(order.take, facts)} in return go to {facts.name(order.receiver)}", where
        )
    yield from _fees(order, facts)
    if not any(asset.amount > 0 for asset in order.take):
        yield finding("order.receives_little", f"you give {gives} and receive nothing", where)
    else:
        yield from _value(order, facts)
    yield from _expiry(order, facts)


def _is_signer(address: str | None, order: OrderInfo, facts: Facts) -> bool:
    """Paid back to the maker (whose assets go: a Safe signing through an owner is the maker, not the
    signer), or to one of the user's own accounts (the signer, a keystore account, a book entry
    marked own). A friend in the book is someone else."""
    if address is None:
        return True  # the format pays the signer, who is not named
    if order.maker is not None and address.lower() == order.maker.lower():
        return True
    return facts.is_own(address)


def _fees(order: OrderInfo, facts: Facts) -> Iterator[Finding]:
    mine: dict[str | None, int] = {}
    for asset in order.take:
        if asset.kind != "nft":
            mine[asset.token] = mine.get(asset.token, 0) + asset.amount
    paid: dict[str | None, int] = {}  # all fees, by currency
    strangers: dict[str | None, list[OrderAsset]] = {}  # fees to unknown addresses, by currency
    for fee in order.fees:
        known = fee.recipient is None or facts.is_known(fee.recipient)
        if fee.kind == "nft":
            if not known:
                yield finding("order.foreign_recipient", f"{_show(fee, facts)} goes to {facts.name(fee.recipient)}", order.path)
            continue
        paid[fee.token] = paid.get(fee.token, 0) + fee.amount
        if not known:
            strangers.setdefault(fee.token, []).append(fee)
    for token, fees in strangers.items():
        received, taken = mine.get(token, 0), sum(fee.amount for fee in fees)
        if received and taken > MAX_FEE_SHARE * (received + paid[token]):
            who = ", ".join(f"{facts.name(fee.recipient)} receives {_show(fee, facts)}" for fee in fees)
            yield finding(
                "order.foreign_recipient", f"{who} of the price; you receive {_money(received, fees[0], facts)}", order.path
            )


def _value(order: OrderInfo, facts: Facts) -> Iterator[Finding]:
    give = _usd(order.give, facts)
    take = _usd(order.take, facts)
    if give is not None and take is not None:
        if take.usd * 2 < give.usd:
            dates = sorted({as_of for as_of in give.dates | take.dates if as_of})
            priced = f" at bundled prices of {', '.join(dates)}" if dates else ""
            yield finding(
                "order.under_value",
                f"you give {_list(order.give, facts)} (about ${give.usd:,.2f}) for {_list(order.take, facts)} "
                f"(about ${take.usd:,.2f}){priced}",
                order.path,
            )
        return
    if any(asset.kind == "nft" for asset in order.take):
        return
    if all(_is_dust(asset, facts) for asset in order.take):
        yield finding("order.dust_take", f"you give {_list(order.give, facts)} for only {_list(order.take, facts)}", order.path)


def _is_dust(asset: OrderAsset, facts: Facts) -> bool:
    decimals = NATIVE_DECIMALS if asset.kind == "native" else _decimals(asset, facts)
    return asset.amount * DUST_PER_MILLION <= 10**decimals


def _decimals(asset: OrderAsset, facts: Facts) -> int:
    meta = facts.token(asset.token)
    return meta.decimals if meta is not None else FALLBACK_DECIMALS


@dataclass(frozen=True, slots=True)
class _Value:
    usd: Decimal
    dates: frozenset[str | None]  # the bundled prices' dates it used (None: the user's own prices)


def _usd(assets: list[OrderAsset], facts: Facts) -> _Value | None:
    """The USD value of all the assets, or None when one of them has no price (NFTs never do)."""
    if facts.prices is None or not assets:
        return None
    total, dates = Decimal(0), set()
    for asset in assets:
        if asset.kind == "nft":
            return None
        decimals: int | None = NATIVE_DECIMALS
        if asset.kind == "native":
            quote = facts.prices.quote(symbol=native_symbol(facts.chain_id))
        else:
            meta = facts.token(asset.token)
            symbol = meta.symbol if meta is not None and meta.source in TRUSTED_PRICE_SOURCES else None
            quote = facts.prices.quote(address=asset.token, symbol=symbol)
            decimals = meta.decimals if meta is not None else None
        if quote is None or decimals is None:
            return None
        total += quote.usd * Decimal(asset.amount) / Decimal(10) ** decimals
        dates.add(quote.as_of)
    return _Value(total, frozenset(dates))


def _expiry(order: OrderInfo, facts: Facts) -> Iterator[Finding]:
    if order.expiry is None:
        return
    now = facts.context.now
    if order.expiry == 0:
        yield finding("order.no_expiry", "the order states no expiry: it can be filled at any time, for ever", order.path)
    elif order.expiry - now > MAX_EXPIRY:
        days = (order.expiry - now) // DAY
        yield finding("order.no_expiry", f"the order stays open until {_date(order.expiry)} ({days:,} days)", order.path)
    elif order.expiry <= now:
        yield finding("order.expired", f"the order expired on {_date(order.expiry)}; it is now {_date(now)}", order.path)


def _date(timestamp: int) -> str:
    return utc_date(timestamp, "%Y-%m-%d %H:%M UTC") or f"{timestamp} (past the year 9999)"


def _show(asset: OrderAsset, facts: Facts) -> str:
    if asset.kind == "nft":
        return asset.display or f"NFT of {facts.name(asset.token)}"
    return _money(asset.amount, asset, facts)


def _money(amount: int, like: OrderAsset, facts: Facts) -> str:
    """`amount` of the asset `like` is in: "0.1 ETH", "2,500 USDC"."""
    return facts.native(amount) if like.kind == "native" else facts.amount(amount, like.token)


def _list(assets: list[OrderAsset], facts: Facts) -> str:
    return ", ".join(_show(asset, facts) for asset in assets) or "nothing"
