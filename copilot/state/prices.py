"""The local price table the user keeps: `<config dir>/prices.toml`, USD per whole unit.

    ETH = 3000
    USDC = 1
    "0x6B175474E89094C44Da98b954EedeAC495271d0F" = 1   # by token address (safer than a symbol)

Nothing fetches prices: USD limits are as fresh as this file. Symbols match case-insensitively;
an address entry wins over a symbol entry, so a fake token named "USDC" can be priced apart.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path

from copilot.errors import ConfigError

PRICES_FILE = "prices.toml"


class PriceTable:
    def __init__(self, by_key: dict[str, Decimal] | None = None, path: Path | None = None) -> None:
        # keys: lowercase addresses and uppercase symbols
        self.by_key = by_key or {}
        self.path = path

    def usd(self, *, address: str | None = None, symbol: str | None = None) -> Decimal | None:
        """USD per whole unit: by token address first, then by symbol; None when unknown."""
        if address is not None:
            price = self.by_key.get(address.lower())
            if price is not None:
                return price
        if symbol is not None:
            return self.by_key.get(symbol.upper())
        return None

    def __bool__(self) -> bool:
        return bool(self.by_key)


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
    """The user's price table (empty when the file does not exist)."""
    path = path or prices_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return PriceTable(path=path)
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    table = _cache.get(key)
    if table is None:
        table = _cache[key] = parse_prices(path.read_text(encoding="utf-8"), path)
    return table


def parse_prices(text: str, path: Path) -> PriceTable:
    from copilot.policy.lines import line_of

    try:
        data = tomllib.loads(text)
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
    return PriceTable(prices, path)
