"""Reading wallet histories: every input format, streaming chunks, bad rows with their line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot.audit.history import (
    BadRow,
    HistoryFormat,
    HistoryTx,
    TokenTransfer,
    detect_format,
    plan_chunks,
    read_chunk,
)
from copilot.errors import InputError
from copilot.resources import fixtures_dir

AUDIT = fixtures_dir() / "audit"
USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"


def read_all(path: Path, chunk_bytes: int = 1 << 20) -> list[object]:
    plan = plan_chunks(path, chunk_bytes)
    source = plan.read_path or path
    return [row for chunk in plan.chunks for row in read_chunk(source, plan.format, plan.header, chunk)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("history.jsonl", HistoryFormat.JSONL),
        ("history.json", HistoryFormat.JSON_ARRAY),
        ("raw.txt", HistoryFormat.RAW),
        ("etherscan-transactions.csv", HistoryFormat.CSV_NORMAL),
        ("etherscan-tokens.csv", HistoryFormat.CSV_TOKEN),
    ],
)
def test_format_is_detected_from_content(name: str, expected: HistoryFormat) -> None:
    assert detect_format(AUDIT / name) is expected


def test_unknown_format_and_empty_file_are_one_clear_error(tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("hello world\n")
    with pytest.raises(InputError, match="unrecognised history format"):
        detect_format(odd)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="empty"):
        detect_format(empty)


def test_jsonl_rows_carry_fields_logs_and_the_bad_line_number() -> None:
    rows = read_all(AUDIT / "history.jsonl")
    bad = [r for r in rows if isinstance(r, BadRow)]
    txs = [r for r in rows if isinstance(r, HistoryTx)]
    assert [b.line for b in bad] == [4]
    assert len(txs) == 7
    first = txs[0]
    assert first.line == 1 and first.sender == USER and first.block == 20000001 and first.timestamp == 1717203600
    assert first.logs is not None and first.logs[0].topics[0].startswith("0x8c5be1e5")
    assert txs[1].logs is None  # no receipt: calldata is all there is
    assert [t.line for t in txs] == [1, 2, 3, 5, 6, 7, 8]


def test_json_array_streams_elements_with_their_line_numbers() -> None:
    rows = read_all(AUDIT / "history.json", chunk_bytes=600)  # many chunks of the one-element-per-line spool
    bad = [r for r in rows if isinstance(r, BadRow)]
    txs = [r for r in rows if isinstance(r, HistoryTx)]
    assert len(txs) == 7 and len(bad) == 1
    text = (AUDIT / "history.json").read_text().splitlines()
    assert "not-an-address" in "".join(text[bad[0].line - 1 : bad[0].line + 2])
    assert "from" in bad[0].reason


def test_a_broken_json_array_keeps_the_elements_before_the_break(tmp_path: Path) -> None:
    good = {"from": USER, "to": USER, "value": "0x1"}
    path = tmp_path / "broken.json"
    path.write_text("[\n" + ",\n".join(json.dumps(good) for _ in range(3)) + ',\n{"from": "0x12",\n')
    rows = read_all(path)
    assert [type(r).__name__ for r in rows] == ["HistoryTx", "HistoryTx", "HistoryTx", "BadRow"]
    assert [r.line for r in rows] == [2, 3, 4, 5]
    assert isinstance(rows[3], BadRow) and rows[3].reason == "truncated JSON array at line 5: the last element is cut off"


def test_a_json_array_broken_in_the_middle_says_invalid_json(tmp_path: Path) -> None:
    good = json.dumps({"from": USER, "to": USER, "value": "0x1"})
    path = tmp_path / "broken.json"
    path.write_text("[\n" + good + ',\n{"from" "0x12"},\n' + good + "\n]\n")
    rows = read_all(path)
    assert [type(r).__name__ for r in rows] == ["HistoryTx", "BadRow"]
    assert isinstance(rows[1], BadRow) and rows[1].line == 3 and rows[1].reason.startswith("invalid JSON")


def test_chunking_keeps_every_line_once_and_numbers_them(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    lines = [json.dumps({"from": USER, "to": USER, "value": hex(i), "hash": "0x" + format(i, "064x")}) for i in range(500)]
    lines[123] = "{not json"
    path.write_text("\n".join(lines))  # no trailing newline: the last line still counts
    plan = plan_chunks(path, chunk_bytes=1000)
    assert len(plan.chunks) > 10
    rows = [row for c in plan.chunks for row in read_chunk(path, plan.format, plan.header, c)]
    assert len(rows) == 500
    assert [r.line for r in rows] == list(range(1, 501))
    assert isinstance(rows[123], BadRow) and rows[123].line == 124
    assert isinstance(rows[499], HistoryTx) and rows[499].value == 499


def test_file_hash_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps({"from": USER}) + "\n")
    first = plan_chunks(path).file_hash
    path.write_text(json.dumps({"from": USER, "value": "0x1"}) + "\n")
    assert plan_chunks(path).file_hash != first


def test_raw_lines_are_kept_for_decoding_and_bad_hex_is_reported() -> None:
    rows = read_all(AUDIT / "raw.txt")
    assert [type(r).__name__ for r in rows] == ["HistoryTx", "HistoryTx", "BadRow", "HistoryTx"]
    assert isinstance(rows[0], HistoryTx) and rows[0].raw is not None and rows[0].raw.startswith("0x02")
    assert isinstance(rows[2], BadRow) and rows[2].line == 3


def test_etherscan_transactions_csv() -> None:
    rows = read_all(AUDIT / "etherscan-transactions.csv")
    bad = [r for r in rows if isinstance(r, BadRow)]
    txs = [r for r in rows if isinstance(r, HistoryTx)]
    assert [b.line for b in bad] == [4]  # the header is line 1
    approve, payment, incoming, router = txs
    assert approve.input.startswith("0x095ea7b3") and approve.method == "Approve" and approve.has_input
    assert payment.value == 10**17 and payment.input == "0x"
    assert incoming.value == 15 * 10**17 and incoming.sender != USER
    assert router.line == 6


def test_etherscan_csv_without_input_column_marks_rows_without_calldata(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        '"Txhash","Blockno","UnixTimestamp","DateTime (UTC)","From","To","ContractAddress","Value_IN(ETH)",'
        '"Value_OUT(ETH)","CurrentValue @ $3500/Eth","TxnFee(ETH)","TxnFee(USD)","Historical $Price/Eth","Status",'
        '"ErrCode","Method"\n'
        f'"0x{"ab" * 32}","1","1700000000","x","{USER}","{USER[:-1]}0","","0","0","0","0","0","0","","","Approve"\n'
    )
    (row,) = read_all(path)
    assert isinstance(row, HistoryTx) and not row.has_input and row.method == "Approve"


def test_failed_etherscan_rows_are_marked_reverted(tmp_path: Path) -> None:
    header = (AUDIT / "etherscan-transactions.csv").read_text().splitlines()[0]
    row = (AUDIT / "etherscan-transactions.csv").read_text().splitlines()[1].split('","')
    failed = row.copy()
    failed[13] = "Error(0)"  # Status column
    path = tmp_path / "export.csv"
    path.write_text("\n".join([header, '","'.join(row), '","'.join(failed)]) + "\n")
    ok, reverted = read_all(path)
    assert isinstance(ok, HistoryTx) and ok.status == 1
    assert isinstance(reverted, HistoryTx) and reverted.status == 0


def test_etherscan_token_csv() -> None:
    rows = read_all(AUDIT / "etherscan-tokens.csv")
    bad = [r for r in rows if isinstance(r, BadRow)]
    transfers = [r for r in rows if isinstance(r, TokenTransfer)]
    assert [b.line for b in bad] == [5]
    assert "columns" in bad[0].reason
    assert len(transfers) == 5
    assert str(transfers[3].amount) == "1000.5"  # thousands separators are accepted
    assert transfers[2].symbol == "USDC" and transfers[2].token == "0x" + "44" * 20


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=80),
            st.dictionaries(st.sampled_from(["from", "to", "value", "input", "hash", "logs", "receipt", "nonce"]),
                            st.one_of(st.none(), st.integers(), st.text(max_size=50), st.lists(st.integers(), max_size=3)),
                            max_size=6).map(json.dumps),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_no_line_ever_aborts_reading(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.jsonl"
    text = "\n".join(['{"from": "' + USER + '"}', *lines]) + "\n"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")  # lone surrogates: bytes that are not UTF-8
    rows = read_all(path, chunk_bytes=64)
    expected = 1 + sum(1 for line in lines if line.strip())
    assert len(rows) == expected
    assert all(isinstance(r, HistoryTx | BadRow) for r in rows)
