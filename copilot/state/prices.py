"""USD prices: the user's own table over the coarse, dated table txcopilot ships.

The user's table is `<config dir>/prices.toml`, USD per whole unit:

    ETH = 3000
    USDC = 1
    "0x6B175474E89094C44Da98b954EedeAC495271d0F" = 1   # by token address (safer than a symbol)

Symbols match case-insensitively; an address entry wins over a symbol entry, so a fake token named
"USDC" can be priced apart. Below it lies abis/prices.json: rounded prices of the bundled tokens
(by address only) and of native coins (by symbol), with the date they are of (`as_of`), which every
USD figure drawn from them shows. Nothing fetches prices: they are as fresh as these two files.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from copilot.errors import ConfigError
from copilot.parsing import load_toml

PRICES_FILE = "prices.toml"
BUNDLED_PRICES_FILE = "prices.json"


@dataclass(frozen=True, slots=True)
class BundledPrices:
    """abis/prices.json: coarse prices of one date, enough to decide whether to ask (limits, thresholds,
    an order worth less than half its give), never a quote to trade on."""

    as_of: str  # "2025-06-30"
    by_address: dict[str, Decimal]  # lowercase token address -> USD per whole unit
    native: dict[str, Decimal]  # uppercase native coin symbol -> USD


@dataclass(frozen=True, slots=True)
class Quote:
    usd: Decimal  # per whole unit
    as_of: str | None  # the bundled table's date; None: the user's own prices.toml


def dated(as_of: str | None) -> str:
    """What a USD figure says about its prices' age: " at bundled prices of 2025-06-30", or "" for
    the user's own prices.toml."""
    return f" at bundled prices of {as_of}" if as_of else ""


class PriceTable:
    def __init__(
        self,
        by_key: dict[str, Decimal] | None = None,
        path: Path | None = None,
        bundled: BundledPrices | None = None,
    ) -> None:
        # keys: lowercase addresses and uppercase symbols (the user's prices.toml only)
        self.by_key = by_key or {}
        self.path = path
        self.bundled = bundled

    def usd(self, *, address: str | None = None, symbol: str | None = None) -> Decimal | None:
        """USD per whole unit: the user's address entry, their symbol entry, then the bundled table
        (tokens by address, native coins, asked with no address, by symbol); None when unknown."""
        quote = self.quote(address=address, symbol=symbol)
        return quote.usd if quote else None

    def quote(self, *, address: str | None = None, symbol: str | None = None) -> Quote | None:
        """`usd` with the date of a bundled price (show it next to any USD figure made with it)."""
        price = self.by_key.get(address.lower()) if address is not None else None
        if price is None and symbol is not None:
            price = self.by_key.get(symbol.upper())
        if price is not None:
            return Quote(price, None)
        if self.bundled is None:
            return None
        if address is not None:
            price = self.bundled.by_address.get(address.lower())
        elif symbol is not None:
            price = self.bundled.native.get(symbol.upper())
        return Quote(price, self.bundled.as_of) if price is not None else None

    def __bool__(self) -> bool:
        return bool(self.by_key) or self.bundled is not None


@lru_cache(maxsize=1)
def bundled_prices() -> BundledPrices:
    """The shipped table (abis/prices.json; its sources: abis/tokens.SOURCES.md)."""
    from copilot.resources import abis_dir

    document = json.loads((abis_dir() / BUNDLED_PRICES_FILE).read_text(encoding="utf-8"))
    by_address = {
        address.lower(): Decimal(str(entry["usd"]))
        for tokens in document["tokens"].values()
        for address, entry in tokens.items()
    }
    native = {symbol.upper(): Decimal(str(usd)) for symbol, usd in document["native"].items()}
    return BundledPrices(str(document["as_of"]), by_address, native)


_paths: dict[str | None, Path] = {}


def prices_path() -> Path:
    # The judge asks for every request: resolve the config dir once per TXCOPILOT_HOME value.
    import os

    home = os.environ.get("TXCOPILOT_HOME")
    path = _paths.get(home)
    if path is None:
        from copilot.state.dirs import config_dir

        path = _paths[home] = config_dir() / PRICES_FILE
    return path


_cache: dict[tuple[str, int, int], PriceTable] = {}


def load_prices(path: Path | None = None) -> PriceTable:
    """The user's price table over the bundled one (the user's part is empty without the file)."""
    path = path or prices_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return PriceTable(path=path, bundled=bundled_prices())
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    table = _cache.get(key)
    if table is None:
        table = _cache[key] = parse_prices(path.read_text(encoding="utf-8"), path)
    return table


def parse_prices(text: str, path: Path) -> PriceTable:
    from copilot.policy.lines import line_of

    try:
        data = load_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", "fix the TOML syntax at that line") from None
    prices: dict[str, Decimal] = {}
    for key, value in data.items():
        line = line_of(text, [key])
        where = f"{path}:{line}" if line else str(path)
        try:
            price = (
                Decimal(str(value))
                if isinstance(value, int | float | str) and not isinstance(value, bool)
                else None
            )
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite() or price < 0:
            raise ConfigError(
                f"{where}: {key}: {value!r} is not a price",
                'write SYMBOL = 3000 (USD per whole unit) or "0xTOKEN" = 1',
            )
        normalised = key.lower() if key.lower().startswith("0x") and len(key) == 42 else key.upper()
        prices[normalised] = price
    return PriceTable(prices, path, bundled_prices())
