"""The bundled token table (abis/tokens.json) and human token amounts.

"100 USDC" for known tokens; the raw integer marked "(unknown token)" otherwise, because guessing
decimals would misstate an amount by orders of magnitude. Sentinel maxima that contracts treat as
"no limit" read "unlimited".
"""

from __future__ import annotations

from functools import lru_cache

from copilot.models import TokenMeta

# Values wallets and dapps use for "infinite": type maxima of the integer widths that token and
# allowance contracts store amounts in (uint256 for ERC-20, uint160 for Permit2, uint96/uint128 for
# compact vote tokens and packed allowances), and anything from 2**255 up.
_SENTINEL_MAXIMA = frozenset(2**bits - 1 for bits in (96, 112, 128, 160, 192, 208, 224, 232, 240, 248))
UNLIMITED_FLOOR = 2**255
ZERO_ADDRESS = "0x" + "00" * 20

NATIVE_DECIMALS = 18
NATIVE_SYMBOLS = {
    1: "ETH", 10: "ETH", 56: "BNB", 100: "xDAI", 130: "ETH", 137: "POL", 146: "S", 250: "FTM",
    324: "ETH", 1116: "CORE", 1329: "SEI", 5000: "MNT", 8453: "ETH", 14: "FLR", 19: "SGB",
    42161: "ETH", 42220: "CELO", 43114: "AVAX", 59144: "ETH", 81457: "ETH", 534352: "ETH",
    17000: "ETH", 11155111: "ETH", 97: "BNB", 80002: "POL",
    1337: "ETH", 31337: "ETH",  # geth --dev / ganache, and anvil / hardhat local dev chains
}  # fmt: skip


def native_symbol(chain_id: int | None, unknown: str = "native units") -> str:
    """The chain's native currency ("ETH" when the request names no chain, `unknown` for other chains)."""
    return NATIVE_SYMBOLS.get(chain_id or 1, unknown)


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


def scale(amount: int, decimals: int, *, grouped: bool = True) -> str:
    """amount / 10**decimals, exact at any size, no trailing zeros: "1,234.5" (grouped) or "1234.5".

    Integer arithmetic, not Decimal: Decimal rounds to 28 significant digits, and a 2**160-1
    allowance has 49."""
    if decimals < 0:
        return scale(amount * 10**-decimals, 0, grouped=grouped)
    whole, fraction = divmod(abs(amount), 10**decimals)
    digits = f"{fraction:0{decimals}d}".rstrip("0") if fraction else ""
    shown = f"{whole:,}" if grouped else str(whole)
    sign = "-" if amount < 0 else ""
    return f"{sign}{shown}.{digits}" if digits else f"{sign}{shown}"


def format_amount(
    amount: int,
    token: TokenMeta | None,
    *,
    grouped: bool = True,
    threshold: int | None = None,
    unlimited: str = "unlimited",
) -> str:
    """Human amount: "100 USDC", "unlimited USDC"; unknown token: "100000000 (unknown token)".

    `threshold`: amounts from there up also read `unlimited` (an ERC-7730 descriptor's own
    threshold, shown with its own `unlimited` message)."""
    limitless = is_unlimited(amount) or (threshold is not None and amount >= threshold)
    if token is None:
        return f"{unlimited if limitless else amount} (unknown token)"
    if limitless:
        return f"{unlimited} {token.symbol}"
    return f"{scale(amount, token.decimals, grouped=grouped)} {token.symbol}"


def native_token(chain_id: int | None) -> TokenMeta:
    """The chain's native currency as a token (no contract: the zero address)."""
    return _native_token(native_symbol(chain_id))


@lru_cache(maxsize=64)
def _native_token(symbol: str) -> TokenMeta:
    return TokenMeta(address=ZERO_ADDRESS, symbol=symbol, decimals=NATIVE_DECIMALS)


def format_native(amount: int, chain_id: int | None, *, grouped: bool = True) -> str:
    """Wei in the chain's native currency: "1.5 ETH" (ETH when the request names no chain)."""
    return f"{scale(amount, NATIVE_DECIMALS, grouped=grouped)} {native_symbol(chain_id)}"
