"""Local state: the address book, the interaction history and the price table, all in the user's dirs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from policyhelpers import FRIEND, ROUTER, USDC, USER, call, erc20_approve, send_eth, tx_request

from copilot.errors import ConfigError, InputError
from copilot.policy import load_policy
from copilot.state.addressbook import add_entry, book_path, load_book, remove_entry
from copilot.state.context import build_context
from copilot.state.history import history_path, known_addresses, record_addresses, record_interactions
from copilot.state.prices import load_prices, prices_path


def test_address_book_add_relabel_remove(isolated_home: Path) -> None:
    assert load_book() == {}
    assert add_entry(FRIEND.lower(), "alice") == FRIEND
    add_entry(ROUTER, "router")
    add_entry(FRIEND, "alice (work)")
    assert load_book() == {FRIEND: "alice (work)", ROUTER: "router"}
    assert book_path().is_relative_to(isolated_home)
    assert stat.S_IMODE(book_path().stat().st_mode) == 0o600
    assert remove_entry("router") == ROUTER
    assert remove_entry(FRIEND.upper().replace("0X", "0x")) == FRIEND
    assert load_book() == {}
    assert [p.name for p in book_path().parent.iterdir() if p.name.endswith(".tmp")] == []


def test_address_book_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="wrong EIP-55 checksum"):
        add_entry("0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266", "x")
    with pytest.raises(InputError, match="not an address"):
        add_entry("0x1234", "x")
    with pytest.raises(InputError, match="label is empty"):
        add_entry(FRIEND, "  ")
    with pytest.raises(InputError, match="not in the address book"):
        remove_entry(FRIEND)


def test_a_failed_write_keeps_the_old_book(monkeypatch: pytest.MonkeyPatch) -> None:
    add_entry(FRIEND, "alice")

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        add_entry(ROUTER, "router")
    assert load_book() == {FRIEND: "alice"}


def test_a_corrupt_book_is_a_config_error_with_its_line() -> None:
    book_path().write_text('{\n  "0xabc": \n}')
    with pytest.raises(ConfigError, match=r"addressbook.json:3"):
        load_book()


def test_history_records_counterparties_not_the_sender() -> None:
    assert known_addresses() == set()
    recorded = record_interactions(erc20_approve(USDC, ROUTER.lower(), 10))
    assert recorded == {USDC, ROUTER}
    record_interactions(send_eth(FRIEND, 1))
    assert known_addresses() == {USDC, ROUTER, FRIEND}
    assert USER not in known_addresses()
    assert stat.S_IMODE(history_path().stat().st_mode) == 0o600


def test_history_keeps_first_and_last_seen_and_counts() -> None:
    import sqlite3

    record_addresses([FRIEND], when=100)
    record_addresses([FRIEND], when=50)
    record_addresses([FRIEND], when=300)
    row = (
        sqlite3.connect(history_path())
        .execute("SELECT first_seen, last_seen, count FROM interactions")
        .fetchone()
    )
    assert row == (50, 300, 3)


def test_history_survives_concurrent_writers() -> None:
    code = (
        "import sys; from copilot.state.history import record_addresses;"
        "record_addresses(['0x' + format(int(sys.argv[1]) * 1000 + i, '040x') for i in range(200)])"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(n)], env=os.environ.copy()) for n in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert len(known_addresses()) == 600


def test_price_table_by_symbol_and_address_with_line_errors() -> None:
    assert not load_prices().by_key  # no prices.toml yet: only the bundled table
    prices_path().write_text(f'eth = 3000\n"{USDC.lower()}" = "1.00"\n')
    table = load_prices()
    assert table.usd(symbol="ETH") == 3000
    assert table.usd(address=USDC, symbol="FAKE") == 1
    assert table.usd(address=FRIEND, symbol="usdc") is None
    assert table.usd(address=FRIEND, symbol="WBTC") is None  # bundled prices name tokens by address only
    assert table.usd(symbol="WBTC") is None and table.usd(symbol="BNB") is not None  # natives by symbol
    prices_path().write_text("ETH = 3000\n\nDAI = -1\n")
    with pytest.raises(ConfigError, match=r"prices.toml:3: DAI"):
        load_prices()


def test_context_merges_books_history_and_policy_trust(tmp_path: Path) -> None:
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(
        f'[allow]\ncontracts = ["{ROUTER}"]\n[address_book]\n"{FRIEND}" = "policy label"\n"{USDC}" = "USDC"\n'
    )
    policy = load_policy(str(policy_file))
    add_entry(FRIEND, "alice")
    record_addresses([USDC])
    context = build_context(policy, decoded=send_eth(FRIEND, 1))
    assert context.user == USER
    assert context.address_book == {FRIEND: "alice", USDC: "USDC"}  # the user's own label wins
    assert context.known_addresses == {USDC}
    assert context.trusted == {ROUTER}
    assert abs(context.now - time.time()) < 5
    assert context.chain.chain_id is None  # offline: nothing from a node
    assert build_context(policy, user=FRIEND.lower()).user == FRIEND


def test_offline_context_never_imports_web3() -> None:
    # Its speed is measured in benchmarks/bench_policy.py, not asserted here.
    code = (
        "import sys; from copilot.policy import load_policy; from copilot.state.context import build_context;"
        "p = load_policy('everyday'); build_context(p);"
        "print('web3' in sys.modules or 'eth_account' in sys.modules)"
    )
    record_addresses(["0x" + format(i, "040x") for i in range(1000)])  # a busy wallet's history
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ.copy()
    )
    assert out.stdout.strip() == "False"


def test_context_with_batch_names_every_address() -> None:
    inner = call(USDC, "transfer(address,uint256)", [("to", "address", FRIEND), ("amount", "uint256", 1)])
    request = tx_request(call(ROUTER, "multicall(bytes[])", [("data", "bytes[]", ["0x"])], children=[inner]))
    assert record_interactions(request) == {ROUTER, USDC, FRIEND}


def test_recording_into_a_corrupt_history_names_the_file_and_the_fix() -> None:
    from copilot.errors import EnvironmentProblem

    history_path().parent.mkdir(parents=True, exist_ok=True)
    history_path().write_bytes(b"garbage" * 200)
    with pytest.raises(EnvironmentProblem) as err:
        record_addresses([FRIEND])
    assert str(history_path()) in err.value.one_line() and "move it aside" in err.value.one_line()
    assert known_addresses() == frozenset()  # reading it warns and goes on without history


def test_a_corrupt_address_book_says_to_move_it_aside() -> None:
    book_path().parent.mkdir(parents=True, exist_ok=True)
    book_path().write_bytes(b"\xff\xfe{not json")
    with pytest.raises(ConfigError) as err:
        load_book()
    assert str(book_path()) in err.value.one_line() and "move it aside" in err.value.one_line()


def test_an_address_book_key_with_a_trailing_newline_is_a_config_error_not_a_crash() -> None:
    import json

    book_path().parent.mkdir(parents=True, exist_ok=True)
    book_path().write_text(json.dumps({FRIEND + "\n": "friend"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="must map 0x addresses"):
        load_book()
