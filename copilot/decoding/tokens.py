"""The bundled token table (abis/tokens.json) and human token amounts.

"100 USDC" for known tokens; the raw integer marked "(unknown token)" otherwise, because guessing
decimals would misstate an amount by orders of magnitude. Sentinel maxima that contracts treat as
"no limit" read "unlimited".
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from copilot.models import TokenMeta

# Values wallets and dapps use for "infinite": type maxima of the integer widths that token and
# allowance contracts store amounts in (uint256 for ERC-20, uint160 for Permit2, uint96/uint128 for
# compact vote tokens and packed allowances), and anything from 2**255 up.
_SENTINEL_MAXIMA = frozenset(2**bits - 1 for bits in (96, 112, 128, 160, 192, 208, 224, 232, 240, 248))
UNLIMITED_FLOOR = 2**255

NATIVE_SYMBOLS = {1: "ETH", 10: "ETH", 42161: "ETH", 8453: "ETH", 137: "POL", 56: "BNB"}


def is_unlimited(amount: int) -> bool:
    return amount >= UNLIMITED_FLOOR or amount in _SENTINEL_MAXIMA


def lookup_token(address: str | None, chain_id: int | None) -> TokenMeta | None:
    """Symbol and decimals of a bundled token. With chain_id None, mainnet first, then any chain."""
    if not address:
        return None
    by_address = _token_index().get(address.lower())
    if not by_address:
        return None
    if chain_id is not None:
        return by_address.get(chain_id)
    return by_address.get(1) or next(iter(by_address.values()))


@lru_cache(maxsize=1)
def _token_index() -> dict[str, dict[int, TokenMeta]]:
    from copilot.decoding.registry import tokens_document

    index: dict[str, dict[int, TokenMeta]] = {}
    for chain, tokens in tokens_document().items():
        for address, meta in tokens.items():
            index.setdefault(address.lower(), {})[int(chain)] = TokenMeta(
                address=address, symbol=meta["symbol"], decimals=int(meta["decimals"]), name=meta.get("name")
            )
    return index


def scale(amount: int, decimals: int) -> str:
    """amount / 10**decimals, exact, with thousands separators and no trailing zeros: "1,234.5"."""
    negative = amount < 0
    text = f"{Decimal(abs(amount)).scaleb(-decimals):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    out = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return f"-{out}" if negative else out


def format_amount(amount: int, token: TokenMeta | None) -> str:
    """Human amount: "100 USDC", "unlimited USDC"; unknown token: "100000000 (unknown token)"."""
    if token is None:
        return f"{'unlimited' if is_unlimited(amount) else amount} (unknown token)"
    if is_unlimited(amount):
        return f"unlimited {token.symbol}"
    return f"{scale(amount, token.decimals)} {token.symbol}"


def format_native(amount: int, chain_id: int | None) -> str:
    """Wei in the chain's native currency: "1.5 ETH" (ETH when the chain is not known)."""
    symbol = NATIVE_SYMBOLS.get(chain_id or 1, "native")
    return f"{scale(amount, 18)} {symbol}"
