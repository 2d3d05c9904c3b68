"""`txcopilot policy list|show|check` and `txcopilot book add|remove|list`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from copilot.cli.main import cli
from copilot.state.dirs import config_dir

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_policy_list_marks_the_active_policy() -> None:
    rows = json.loads(run("policy", "list", "--json").output)
    assert {r["name"] for r in rows} >= {"default", "paranoid", "everyday", "daily-limit"}
    assert [r["name"] for r in rows if r["active"]] == ["default"]
    (config_dir() / "config.toml").write_text('[review]\npolicy = "paranoid"\n')
    rows = json.loads(run("policy", "list", "--json").output)
    assert [r["name"] for r in rows if r["active"]] == ["paranoid"]
    assert "paranoid" in run("policy", "list").output


def test_policy_list_shows_a_broken_user_policy_instead_of_failing() -> None:
    (config_dir() / "policies").mkdir()
    (config_dir() / "policies" / "mine.toml").write_text("default = 3\n")
    rows = {r["name"]: r for r in json.loads(run("policy", "list", "--json").output)}
    assert rows["mine"]["source"] == "user"
    assert "mine.toml:1: default" in rows["mine"]["error"]


def test_policy_show_includes_defaults() -> None:
    shown = json.loads(run("policy", "show", "daily-limit", "--json").output)
    assert shown["name"] == "daily-limit"
    assert shown["limits"]["daily_usd"] == "100"
    assert shown["verdicts"]["critical"] == "block"
    assert shown["gas"]["max_fee_gwei"] == "1000"  # a default, not written in the file
    text = run("policy", "show", "daily-limit").output
    assert "limit per 24 h: 100 USD (over: confirm)" in text


def test_policy_check_ok_and_error_with_line(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[chains]\nallowed = [1]\n")
    result = run("policy", "check", str(good))
    assert result.exit_code == 0
    assert f"ok: {good}" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[chains]\nallowed = [1]\n[limits]\ndaily_usd = "lots"\n')
    result = run("policy", "check", str(bad))
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: {bad}:4: limits.daily_usd")


def test_policy_check_without_arguments_checks_prices_and_book() -> None:
    (config_dir() / "prices.toml").write_text("ETH = 3000\n")
    report = json.loads(run("policy", "check", "--json").output)
    assert [c["kind"] for c in report["checked"]] == ["policy", "prices", "address book"]
    (config_dir() / "prices.toml").write_text("ETH = 3000\nUSDC = []\n")
    result = run("policy", "check")
    assert result.exit_code == 3
    assert "prices.toml:2: USDC" in result.stderr


def test_book_add_list_remove() -> None:
    assert "empty" in run("book", "list").output
    assert run("book", "add", ALICE.lower(), "alice").output.strip() == f"added {ALICE} = alice"
    assert json.loads(run("book", "list", "--json").output) == {ALICE: "alice"}
    assert "alice" in run("book", "list").output
    assert json.loads(run("book", "remove", "alice", "--json").output) == {"removed": ALICE}
    assert json.loads(run("book", "list", "--json").output) == {}


def test_book_bad_address_is_one_line_exit_2() -> None:
    result = run("book", "add", "0x1234", "x")
    assert result.exit_code == 2
    assert result.stderr == "error: '0x1234' is not an address; write 0x followed by 40 hex characters\n"


def test_every_command_has_help_with_examples() -> None:
    for args in (
        ["policy"],
        ["policy", "show"],
        ["policy", "check"],
        ["policy", "list"],
        ["book"],
        ["book", "add"],
    ):
        assert "Examples:" in run(*args, "--help").output
