"""Token table and human amounts: what a user reads before approving or sending."""

from __future__ import annotations

import pytest

from copilot.decoding.tokens import format_amount, format_native, is_unlimited, lookup_token
from copilot.models import TokenMeta

USDC_MAINNET = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"


def test_known_tokens_on_mainnet_and_l2s_have_symbol_and_decimals() -> None:
    usdc = lookup_token(USDC_MAINNET.lower(), 1)
    assert usdc is not None and (usdc.symbol, usdc.decimals) == ("USDC", 6)
    assert usdc.address == USDC_MAINNET
    native_arbitrum = lookup_token("0xaf88d065e77c8cC2239327C5EDb3A432268e5831", 42161)
    bridged_arbitrum = lookup_token("0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8", 42161)
    assert native_arbitrum is not None and native_arbitrum.symbol == "USDC"
    assert bridged_arbitrum is not None and bridged_arbitrum.symbol == "USDC.e"
    base_weth = lookup_token("0x4200000000000000000000000000000000000006", 8453)
    assert base_weth is not None and base_weth.symbol == "WETH"
    # BNB chain's USDT has 18 decimals, unlike Ethereum's 6: a table per chain matters.
    bsc_usdt = lookup_token("0x55d398326f99059fF775485246999027B3197955", 56)
    assert bsc_usdt is not None and bsc_usdt.decimals == 18


def test_a_token_is_looked_up_on_its_own_chain_only() -> None:
    assert lookup_token(USDC_MAINNET, 10) is None
    assert lookup_token(USDC_MAINNET, None) is not None  # chain unknown: any chain, mainnet first
    assert lookup_token("0x" + "12" * 20, 1) is None


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (100_000_000, "100 USDC"),
        (1_234_567_891, "1,234.567891 USDC"),
        (1, "0.000001 USDC"),
        (0, "0 USDC"),
        (2**256 - 1, "unlimited USDC"),
        (2**160 - 1, "unlimited USDC"),
        (2**96 - 1, "unlimited USDC"),
    ],
)
def test_known_token_amounts_read_in_token_units(amount: int, expected: str) -> None:
    usdc = lookup_token(USDC_MAINNET, 1)
    assert format_amount(amount, usdc) == expected


def test_unknown_token_amounts_stay_raw_and_say_so() -> None:
    assert format_amount(5 * 10**18, None) == "5000000000000000000 (unknown token)"
    assert format_amount(2**256 - 1, None) == "unlimited (unknown token)"


def test_unlimited_covers_type_maxima_and_the_top_half_but_not_large_real_amounts() -> None:
    assert is_unlimited(2**256 - 1)
    assert is_unlimited(2**255)
    assert is_unlimited(2**160 - 1)
    assert not is_unlimited(10**30)  # a trillion 18-decimal tokens is large, but a real amount
    assert not is_unlimited(2**160)


def test_eighteen_decimals_and_native_value() -> None:
    weth = TokenMeta(address="0x" + "00" * 20, symbol="WETH", decimals=18)
    assert format_amount(1_500_000_000_000_000_000, weth) == "1.5 WETH"
    assert format_native(10**18, 137) == "1 POL"
    assert format_native(25 * 10**16, None) == "0.25 ETH"


def test_amounts_past_28_significant_digits_stay_exact() -> None:
    """Decimal's default context would round these: a reviewer must see the exact amount."""
    weth = TokenMeta(address="0x" + "00" * 20, symbol="WETH", decimals=18)
    thirty_digits = 123_456_789_012_345_678_901_234_567_891
    assert format_amount(thirty_digits, weth) == "123,456,789,012.345678901234567891 WETH"
    assert format_amount(thirty_digits, weth, grouped=False) == "123456789012.345678901234567891 WETH"
    assert format_amount(2**160 - 2, weth, grouped=False) == (
        "1461501637330902918203684832716.283019655932542974 WETH"
    )
    assert format_native(10**30 + 1, 1) == "1,000,000,000,000.000000000000000001 ETH"


def test_a_descriptor_threshold_reads_unlimited_with_its_own_word() -> None:
    usdc = lookup_token(USDC_MAINNET, 1)
    assert format_amount(10**12, usdc, threshold=10**12, unlimited="Max") == "Max USDC"
    assert format_amount(10**12 - 1, usdc, threshold=10**12) == "999,999.999999 USDC"
    assert format_amount(2**160 - 1, usdc, unlimited="Unlimited") == "Unlimited USDC"


def test_native_currency_of_the_main_chains() -> None:
    assert format_native(10**18, 43114) == "1 AVAX"
    assert format_native(10**18, 8453) == "1 ETH"
    assert format_native(3 * 10**17, 999_999) == "0.3 native units"  # a chain the table does not know


def _bundled_tables() -> tuple[dict[str, dict[str, dict[str, object]]], dict[str, object]]:
    import json

    from copilot.resources import abis_dir

    tokens = json.loads((abis_dir() / "tokens.json").read_text(encoding="utf-8"))
    prices = json.loads((abis_dir() / "prices.json").read_text(encoding="utf-8"))
    return tokens, prices


def test_every_bundled_token_has_a_checksummed_address_integer_decimals_and_a_recorded_source() -> None:
    from copilot.decoding._crypto import checksum_hex
    from copilot.resources import abis_dir

    tokens, _ = _bundled_tables()
    sources_doc = (abis_dir() / "tokens.SOURCES.md").read_text(encoding="utf-8")
    for chain, table in tokens.items():
        for address, meta in table.items():
            assert checksum_hex(address) == address, (chain, address)
            decimals = meta["decimals"]
            assert type(decimals) is int and 0 <= decimals <= 36, (chain, address)
            assert isinstance(meta["symbol"], str) and meta["symbol"].isascii(), (chain, address)
            sources = meta["source"]
            assert isinstance(sources, list) and sources, (chain, address)
            assert all(f"`{source}`" in sources_doc for source in sources), (chain, address, sources)


def test_the_table_covers_mainnet_top_tokens_and_the_main_ones_on_each_l2() -> None:
    tokens, _ = _bundled_tables()
    mainnet = {meta["symbol"] for meta in tokens["1"].values()}
    assert len(tokens["1"]) >= 100
    must = {"WBTC", "cbBTC", "tBTC", "USDT", "USDC", "DAI", "USDS", "USDe", "PYUSD", "FRAX", "GHO", "stETH", "wstETH",
            "rETH", "cbETH", "weETH", "LINK", "UNI", "AAVE", "SHIB", "PEPE", "LDO"}  # fmt: skip
    assert must <= mainnet
    for chain in ("10", "56", "137", "8453", "42161", "43114", "59144", "534352"):
        symbols = {str(meta["symbol"]) for meta in tokens[chain].values()}
        assert any(s.startswith("USDC") for s in symbols), chain
        assert {"WETH", "WETH.e", "ETH"} & symbols, chain


@pytest.mark.parametrize(
    ("chain", "address", "symbol", "decimals"),
    [  # facts any block explorer shows for these contracts
        (1, "0xdAC17F958D2ee523a2206206994597C13D831ec7", "USDT", 6),
        (1, "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599", "WBTC", 8),
        (1, "0xcbB7C0000aB88B473b1f5aFd9ef808440eed33Bf", "cbBTC", 8),
        (1, "0x056Fd409E1d7A124BD7017459dFEa2F387b6d5Cd", "GUSD", 2),
        (1, "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0", "wstETH", 18),
        (10, "0x4200000000000000000000000000000000000042", "OP", 18),
        (42161, "0x912CE59144191C1204E64559FE8253a0e49E6548", "ARB", 18),
        (56, "0x7130d2A12B9BCbFAe4f2634d864A1Ee1Ce3Ead9c", "BTCB", 18),
    ],
)
def test_bundled_entries_match_on_chain_facts(chain: int, address: str, symbol: str, decimals: int) -> None:
    meta = lookup_token(address, chain)
    assert meta is not None and (meta.symbol, meta.decimals) == (symbol, decimals)


def test_bundled_prices_are_dated_and_name_bundled_tokens_by_address() -> None:
    from copilot.state.prices import PriceTable, bundled_prices

    tokens, prices = _bundled_tables()
    assert isinstance(prices["as_of"], str) and len(prices["as_of"]) == 10  # an ISO date
    for chain, table in prices["tokens"].items():  # type: ignore[attr-defined]
        for address, entry in table.items():
            assert tokens[chain][address]["symbol"] == entry["symbol"], (chain, address)
    table = PriceTable(bundled=bundled_prices())
    quote = table.quote(address="0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", symbol="WBTC")
    assert quote is not None and quote.usd > 10_000 and quote.as_of == prices["as_of"]
    assert table.usd(address="0x" + "12" * 20, symbol="WBTC") is None  # a fake "WBTC" is not priced
    assert table.usd(symbol="ETH") is not None  # the native coin, asked by symbol
