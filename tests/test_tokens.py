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
