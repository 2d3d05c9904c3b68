"""Order signatures: Seaport (OrderComponents, BulkOrder), Blur (Order) and CoW Protocol (GPv2 Order).

A listing pays its offerer; phishing orders list the victim's assets for nothing, or route the
payment or the NFT to someone else. Royalties and fees go to third parties in every honest listing,
so only a third party taking more than the offerer (in the same currency) or taking an NFT counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from copilot.models import Finding, RequestKind
from copilot.risk.catalogue import finding
from copilot.risk.facts import ZERO_ADDRESS, Facts, as_address, to_int

NFT_ITEM_TYPES = {2, 3, 4, 5}  # ERC721, ERC1155 and their criteria-based forms
BLUR_SELL = 1
MAX_FEE_BPS = 2_000  # Blur fees above 20% of the price send most of it elsewhere


def order_findings(facts: Facts) -> Iterator[Finding]:
    typed = facts.decoded.typed_data
    if typed is None or facts.decoded.request.kind != RequestKind.TYPED_DATA:
        return
    if typed.primary_type == "OrderComponents":
        yield from _seaport(typed.message, "typed_data.message", facts)
    elif typed.primary_type == "BulkOrder":
        for i, order in enumerate(_bulk_orders(typed.message.get("tree"))):
            yield from _seaport(order, f"typed_data.message.tree[{i}]", facts)
    elif typed.primary_type == "Order" and "trader" in typed.message:
        yield from _blur(typed.message, facts)
    elif typed.primary_type == "Order" and "sellToken" in typed.message:
        yield from _cow(typed.message, facts)


def describe_order(primary_type: str, message: dict[str, Any], facts: Facts) -> str | None:
    """'you give NFT #1 of BAYC; you receive 29.25 ETH; others receive 0.75 ETH (…)' for a Seaport order."""
    if primary_type != "OrderComponents":
        return None
    offerer = as_address(message.get("offerer"))
    offer = [i for i in message.get("offer") or [] if isinstance(i, dict)]
    consideration = [i for i in message.get("consideration") or [] if isinstance(i, dict)]
    mine = [_describe(i, facts) for i in consideration if as_address(i.get("recipient")) == offerer]
    others = [f"{_describe(i, facts)} to {facts.name(as_address(i.get('recipient')))}"
              for i in consideration if as_address(i.get("recipient")) != offerer]
    parts = [f"you give {', '.join(_describe(i, facts) for i in offer) or 'nothing'}",
             f"you receive {', '.join(mine) or 'nothing'}"]
    if others:
        parts.append("also paid: " + ", ".join(others))
    return "; ".join(parts)


def _bulk_orders(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict) and "offerer" in tree:
        yield tree
    elif isinstance(tree, list):
        for node in tree:
            yield from _bulk_orders(node)


def _dust(amount: int, currency: str, facts: Facts) -> bool:
    """Less than a millionth of a whole unit (a 1-wei 'price')."""
    meta = facts.token(currency) if currency != ZERO_ADDRESS else None
    decimals = meta.decimals if meta else 18
    return amount * 10**6 < 10**decimals


def _money(amount: int, currency: str, facts: Facts) -> str:
    return facts.native(amount) if currency == ZERO_ADDRESS else facts.amount(amount, currency)


def _item_amount(item: dict[str, Any]) -> int:
    return max(to_int(item.get("startAmount")) or 0, to_int(item.get("endAmount")) or 0)


def _describe(item: dict[str, Any], facts: Facts) -> str:
    token = as_address(item.get("token")) or ZERO_ADDRESS
    if to_int(item.get("itemType")) in NFT_ITEM_TYPES:
        return f"NFT #{item.get('identifierOrCriteria')} of {facts.name(token)}"
    return _money(_item_amount(item), token, facts)


def _seaport(order: dict[str, Any], where: str, facts: Facts) -> Iterator[Finding]:
    offerer = as_address(order.get("offerer"))
    offer = [i for i in order.get("offer") or [] if isinstance(i, dict)]
    consideration = [i for i in order.get("consideration") or [] if isinstance(i, dict)]
    if offerer is None or not offer:
        return
    to_offerer: dict[str, int] = {}
    to_others: dict[tuple[str, str], int] = {}
    offerer_gets_nft = False
    for item in consideration:
        recipient = as_address(item.get("recipient")) or ZERO_ADDRESS
        currency = as_address(item.get("token")) or ZERO_ADDRESS
        is_nft = to_int(item.get("itemType")) in NFT_ITEM_TYPES
        if recipient == offerer and is_nft:
            offerer_gets_nft = True
        elif recipient == offerer:
            to_offerer[currency] = to_offerer.get(currency, 0) + _item_amount(item)
        elif is_nft and not facts.is_known(recipient):
            yield finding("order.foreign_recipient", f"{_describe(item, facts)} goes to {facts.name(recipient)}", where)
        elif not is_nft:
            key = (recipient, currency)
            to_others[key] = to_others.get(key, 0) + _item_amount(item)
    gives = ", ".join(_describe(item, facts) for item in offer)
    real_payment = {c: a for c, a in to_offerer.items() if not _dust(a, c, facts)}
    if not offerer_gets_nft and not real_payment:
        dust = ", ".join(_money(a, c, facts) for c, a in to_offerer.items())
        received = f"only dust ({dust})" if to_offerer else "nothing"
        yield finding("order.receives_little", f"you give {gives} and receive {received}", where)
    for (recipient, currency), amount in to_others.items():
        mine = to_offerer.get(currency, 0)
        if mine and amount > mine and not facts.is_known(recipient):
            yield finding(
                "order.foreign_recipient",
                f"{facts.name(recipient)} receives {_money(amount, currency, facts)} of the payment, "
                f"you receive {_money(mine, currency, facts)}",
                where,
            )


def _blur(order: dict[str, Any], facts: Facts) -> Iterator[Finding]:
    where = "typed_data.message"
    if to_int(order.get("side")) != BLUR_SELL:
        return
    price = to_int(order.get("price")) or 0
    currency = as_address(order.get("paymentToken")) or ZERO_ADDRESS
    nft = f"NFT #{order.get('tokenId')} of {facts.name(as_address(order.get('collection')))}"
    if _dust(price, currency, facts):
        yield finding("order.receives_little", f"you sell {nft} for {_money(price, currency, facts)}", where)
    fees = [f for f in order.get("fees") or [] if isinstance(f, dict)]
    total_bps = sum(to_int(f.get("rate")) or 0 for f in fees)
    if total_bps > MAX_FEE_BPS:
        recipients = ", ".join(facts.name(as_address(f.get("recipient"))) for f in fees)
        yield finding(
            "order.foreign_recipient", f"fees of {total_bps / 100:g}% of the price go to {recipients}", where
        )


def _cow(order: dict[str, Any], facts: Facts) -> Iterator[Finding]:
    """CoW Protocol: the bought tokens go to `receiver` (zero: the signer)."""
    where = "typed_data.message"
    sell_token, buy_token = as_address(order.get("sellToken")), as_address(order.get("buyToken"))
    sold = facts.amount(to_int(order.get("sellAmount")) or 0, sell_token)
    buy_amount = to_int(order.get("buyAmount")) or 0
    if buy_amount == 0:
        yield finding("order.receives_little", f"you sell {sold} for nothing (buyAmount 0)", where)
    receiver = as_address(order.get("receiver"))
    if receiver and receiver != ZERO_ADDRESS and receiver != facts.user and not facts.is_known(receiver):
        bought = facts.amount(buy_amount, buy_token)
        yield finding("order.foreign_recipient", f"you sell {sold}; the {bought} bought go to {facts.name(receiver)}", where)
