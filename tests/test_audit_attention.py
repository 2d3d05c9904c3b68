"""The audited history counts as history (first interactions, new-address limits), and the report's
short "what needs your attention" list, grouped by problem, apart from ordinary large payments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copilot.audit.engine import AuditSettings, audit_file
from copilot.audit.report import AuditReport

USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
FRIEND = "0x1234567890abcdef1234567890abcdef12345678"
POISONER = "0x9999000000000000000000000000000000004444"
ATTACKER = "0x8888000000000000000000000000000000003333"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
TOPIC_TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
ETH = 10**18


def _word(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def tx(block: int, index: int, sender: str, to: str, value: int = 0, data: str = "0x",
       logs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "hash": "0x" + format(block * 1000 + index, "064x"), "blockNumber": hex(block), "transactionIndex": hex(index),
        "timestamp": 1_704_067_200 + block * 12, "from": sender, "to": to, "value": hex(value), "input": data,
        "nonce": hex(block), "gas": hex(21_000), "maxFeePerGas": hex(30 * 10**9), "maxPriorityFeePerGas": hex(10**9),
        "chainId": "0x1", "type": "0x2",
        "receipt": {"status": "0x1", "logs": [{**log, "logIndex": hex(i)} for i, log in enumerate(logs or [])]},
    }


def zero_transfer_from_user(block: int, to: str) -> dict[str, Any]:
    """A poisoner's zero-value transferFrom(user -> lookalike): a Transfer out of the wallet it never sent."""
    log = {"address": USDC, "topics": [TOPIC_TRANSFER, _word(USER), _word(to)], "data": "0x" + "0" * 64}
    data = "0x23b872dd" + _word(USER)[2:] + _word(to)[2:] + "0" * 64
    return tx(block, 3, ATTACKER, USDC, 0, data, [log])


def audit(tmp_path: Path, rows: list[dict[str, Any]], **settings: Any) -> AuditReport:
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return audit_file(path, AuditSettings(address=USER, chain_id=1, use_cache=False, **settings))


def flagged_blocks(report: AuditReport) -> list[int | None]:
    return sorted(t.block for t in report.flagged)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXCOPILOT_HOME", str(tmp_path / "home"))


# --------------------------------------------------------------------------- history-aware checks


def test_a_counterparty_paid_earlier_in_the_history_is_not_a_first_interaction(tmp_path: Path) -> None:
    # written newest first: chain order (block, then position), not file order, decides what came first
    rows = [tx(300, 0, USER, FRIEND, ETH), tx(200, 5, USER, FRIEND, ETH), tx(200, 1, USER, FRIEND, ETH)]
    report = audit(tmp_path, rows)
    assert flagged_blocks(report) == [200]  # only the very first payment asked (0.25 ETH to a new address)
    first = report.flagged[0]
    assert first.line == 3  # block 200, position 1
    assert {f["id"] for f in first.findings} >= {"address.first_interaction"}
    assert report.finding_counts.get("address.first_interaction") == 1


def test_history_awareness_crosses_chunks_and_worker_processes(tmp_path: Path) -> None:
    rows = [tx(100 + n, 0, USER, FRIEND, ETH) for n in range(400)]
    for workers in (1, 2):
        report = audit(tmp_path, rows, workers=workers, chunk_bytes=16 * 1024)
        assert report.chunks > 4
        assert flagged_blocks(report) == [100]
        assert report.finding_counts.get("address.first_interaction") == 1


def test_an_address_that_only_sent_dust_or_planted_transfers_never_becomes_known(tmp_path: Path) -> None:
    rows = [
        tx(100, 0, POISONER, USER, 1),  # one wei in
        tx(101, 0, POISONER, USER, 0),  # a zero-value transfer in
        zero_transfer_from_user(102, POISONER),  # a Transfer *out of* the wallet that someone else's tx made
        tx(200, 0, USER, POISONER, ETH),  # the wallet's first own payment: still a first interaction
    ]
    report = audit(tmp_path, rows)
    assert flagged_blocks(report) == [200]
    assert any(f["id"] == "address.first_interaction" for f in report.flagged[0].findings)


def test_a_payment_to_a_lookalike_of_a_friend_paid_earlier_is_poisoning(tmp_path: Path) -> None:
    lookalike = FRIEND[:6] + "f" * 32 + FRIEND[-4:]
    rows = [tx(100, 0, USER, FRIEND, ETH // 10), tx(150, 0, USER, lookalike, ETH // 10)]
    report = audit(tmp_path, rows)
    assert flagged_blocks(report) == [150]
    assert any(f["id"] == "address.poisoning" for f in report.flagged[0].findings)
    # before the friend was ever paid, the same look-alike resembles no one the wallet knows
    early = audit(tmp_path, [tx(100, 0, USER, lookalike, ETH // 10), tx(150, 0, USER, FRIEND, ETH // 10)])
    assert not any(f["id"] == "address.poisoning" for t in early.flagged if t.block == 100 for f in t.findings)


# --------------------------------------------------------------------------- risky is not the same as large

SPENDER = "0x5555aaaa00000000000000000000000000bbbb55"
TOPIC_APPROVAL = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"


def unlimited_approval(block: int, spender: str) -> dict[str, Any]:
    amount = "f" * 64
    log = {"address": USDC, "topics": [TOPIC_APPROVAL, _word(USER), _word(spender)], "data": "0x" + amount}
    return tx(block, 0, USER, USDC, 0, "0x095ea7b3" + _word(spender)[2:] + amount, [log])


def test_the_attention_list_groups_by_problem_and_leaves_large_payments_out(tmp_path: Path) -> None:
    rows = [unlimited_approval(100, SPENDER), tx(150, 0, USER, FRIEND, ETH // 10), unlimited_approval(200, SPENDER),
            tx(250, 0, USER, FRIEND, 7 * ETH), unlimited_approval(300, SPENDER)]
    report = audit(tmp_path, rows)
    assert len(report.attention) == 1  # three risky transactions and an open approval: one spender, one line
    item = report.attention[0]
    assert (item.rank, item.role, item.address.lower(), item.severity) == (1, "spender", SPENDER, "high")
    assert (item.count, item.first.block, item.last.block, item.open_approvals) == (3, 100, 300, 1)
    assert "unlimited USDC" in item.problem
    # the 7 ETH payment to a payee paid before asked for confirmation (policy: above 5 ETH): counted, not listed
    assert (report.risky_transactions, report.confirmations) == (3, 1)
    large = next(t for t in report.flagged if t.block == 250)
    assert not large.risky and large.verdict == "confirm"
    assert [t.risky for t in report.flagged] == [True, True, True, False]  # risky first


def test_a_clean_history_says_nothing_needs_attention(tmp_path: Path) -> None:
    report = audit(tmp_path, [tx(100, 0, USER, FRIEND, ETH // 10), tx(101, 0, USER, FRIEND, ETH // 10)])
    assert report.attention == [] and report.risky_transactions == 0

    from copilot.audit.render import to_markdown

    assert "Nothing risky found" in to_markdown(report)


# --------------------------------------------------------------------------- the synthetic "regular" history

EVERYDAY_CONTRACTS = {
    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",  # WETH
    "0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45",  # Uniswap SwapRouter02
    "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640",  # the USDC/WETH pool
    USDC,
}


@pytest.fixture(scope="module")
def regular(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditReport, dict[str, Any], Path]:
    from copilot.audit.synthetic import USER as SYNTHETIC_USER
    from copilot.audit.synthetic import generate

    directory = tmp_path_factory.mktemp("regular")
    path = directory / "history.jsonl"
    generate(3_000, path, seed=5, profile="regular")
    planted: dict[str, Any] = json.loads(path.with_name(path.name + ".planted.json").read_text())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TXCOPILOT_HOME", str(directory / "home"))
        settings = AuditSettings(address=SYNTHETIC_USER, chain_id=1, chunk_bytes=256 * 1024)
        return audit_file(path, settings), planted, path


def test_on_the_regular_history_the_attention_list_holds_every_planted_problem_and_no_everyday_traffic(
    regular: tuple[AuditReport, dict[str, Any], Path],
) -> None:
    report, planted, _ = regular
    listed = {(i.address or "").lower() for i in report.attention}
    problems = {spender for _, _, spender in planted["risky_approvals"]} | {p[2] for p in planted["poisoning"]}
    assert listed == problems  # one line per planted problem, nothing else
    assert planted["regular"] not in listed and not listed & EVERYDAY_CONTRACTS
    everyday = set(planted["everyday_payments"]) | set(planted["large_payments"])
    assert not {o.tx for i in report.attention for o in (i.first, i.last)} & everyday
    assert {t.hash for t in report.flagged if t.risky} == set(planted["flagged"])


def test_on_the_regular_history_everyday_payments_are_not_counted_as_not_allowed(
    regular: tuple[AuditReport, dict[str, Any], Path],
) -> None:
    report, planted, _ = regular
    payments = planted["everyday_payments"]
    assert len(payments) > 1_000
    flagged = {t.hash: t for t in report.flagged}
    # only the very first payment to the regular counterparty asked (a new payee above the limit)
    assert [h for h in payments if h in flagged] == [payments[0]]
    # the large ones asked as the policy says, and none is called risky
    assert all(h in flagged and not flagged[h].risky for h in planted["large_payments"])
    assert report.confirmations == len(planted["large_payments"]) + 1
    assert report.risky_transactions == len(planted["flagged"])


def test_every_format_leads_with_the_attention_list(regular: tuple[AuditReport, dict[str, Any], Path]) -> None:
    from copilot.audit.render import to_html, to_markdown

    report, _, _ = regular
    markdown = to_markdown(report)
    assert markdown.index("## What needs your attention") < markdown.index("## Counts") < markdown.index("## Open approvals")
    assert markdown.count("CRITICAL payee") == 1
    html = to_html(report)
    assert html.index("id='attention'") < html.index("<h2>Counts</h2>")
    dumped = json.loads(report.model_dump_json())
    assert [i["rank"] for i in dumped["attention"]] == list(range(1, len(report.attention) + 1))
    assert dumped["attention"][0]["severity"] == "critical" and dumped["attention"][0]["first"]["tx"]


def test_the_terminal_view_leads_with_the_attention_list(
    regular: tuple[AuditReport, dict[str, Any], Path], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from copilot.cli.main import cli

    _, planted, path = regular
    result = CliRunner().invoke(cli, ["audit", "--address", planted["address"], "--file", str(path), "--no-llm"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.index("What needs your attention") < text.index("Counts") < text.index("risky transactions")
    assert "1. CRITICAL payee" in text
