"""`txcopilot audit` as a user runs it: formats, self-contained HTML, revoke plan files, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.resources import fixtures_dir

HISTORY = str(fixtures_dir() / "audit" / "history.jsonl")
USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_report_on_stdout() -> None:
    code, out, _ = run("--address", USER, "--file", HISTORY, "--json", "--no-llm")
    assert code == 0
    report = json.loads(out)
    assert report["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert report["bad_rows"] == 1 and report["bad_row_details"][0]["line"] == 4
    risky = [a for a in report["approvals"] if a["risky"]]
    assert {a["kind"] for a in risky} == {"erc20", "nft_operator"}
    unlimited = next(a for a in risky if a["kind"] == "erc20")
    assert unlimited["amount"] == str(2**256 - 1)  # big ints are decimal strings
    assert report["narrative_note"] == "no narrative: --no-llm"


def test_html_report_is_one_self_contained_file(tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    code, _, err = run("--address", USER, "--file", HISTORY, "--format", "html", "--out", str(out), "--no-llm")
    assert code == 0 and "report written" in err
    html = out.read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "sortable" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "http" not in html.lower()  # no external asset, link, font or script of any kind
    assert "<link" not in html and "@import" not in html
    assert "0x5555AAAA00000000000000000000000000BbbB55" in html  # the risky spender is listed


def test_out_file_extension_picks_the_format(tmp_path: Path) -> None:
    assert run("--address", USER, "--file", HISTORY, "--no-llm", "--out", str(tmp_path / "a.md"))[0] == 0
    assert (tmp_path / "a.md").read_text().startswith("# Wallet audit")
    assert run("--address", USER, "--file", HISTORY, "--no-llm", "--out", str(tmp_path / "a.json"))[0] == 0
    assert json.loads((tmp_path / "a.json").read_text())["bad_rows"] == 1
    code, _, err = run("--address", USER, "--file", HISTORY, "--no-llm", "--out", str(tmp_path / "a.txt"))
    assert code == 2 and "--format" in err


def test_markdown_report_lists_every_section() -> None:
    code, out, _ = run("--address", USER, "--file", HISTORY, "--format", "md", "--no-llm")
    assert code == 0
    for heading in ("## Open approvals", "## Address poisoning", "## Transactions the policy would not allow",
                    "## Revoke plan", "## Skipped rows (1)"):
        assert heading in out
    assert "line 4: invalid JSON" in out


def test_terminal_summary_and_revoke_files(tmp_path: Path) -> None:
    code, out, err = run("--address", USER, "--file", HISTORY, "--no-llm", "--revoke-out", str(tmp_path / "r"))
    assert code == 0
    assert "open approvals, 2 risky" in out and "skipped line 4" in out
    assert "[approval.unknown_spender" in out or "approval.unknown_spender," in out  # finding IDs are shown
    assert "2 unsigned transactions" in err
    files = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert files[-1] == "plan.jsonl" and len(files) == 3


def test_bad_usage_is_one_line_with_exit_status_2(tmp_path: Path) -> None:
    code, out, err = run("--address", USER, "--file", str(tmp_path / "missing.jsonl"))
    assert code == 2 and err.count("\n") == 1 and "no such file" in err and out == ""
    code, _, err = run("--address", USER)
    assert code == 2 and "--file" in err and err.count("\n") == 1
    code, _, err = run("--address", "0x1234", "--file", HISTORY)
    assert code == 2 and "not a 20-byte" in err
    weird = tmp_path / "notes.txt"
    weird.write_text("hello\n")
    code, _, err = run("--address", USER, "--file", str(weird))
    assert code == 2 and "unrecognised history format" in err


def test_help_has_examples() -> None:
    result = CliRunner().invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout and "--revoke-out" in result.stdout


def test_revoke_all_also_closes_approvals_to_known_spenders(tmp_path: Path) -> None:
    code, out, _ = run("--address", USER, "--file", HISTORY, "--no-llm", "--json", "--revoke", "all")
    assert code == 0
    descriptions = [r["description"] for r in json.loads(out)["revoke_plan"]]
    assert len(descriptions) == 3 and any("Uniswap" in d for d in descriptions)


def test_the_chart_is_proportional_to_time_and_steps_between_changes() -> None:
    from copilot.audit.render import timeline_svg
    from copilot.audit.report import TimelinePoint

    points = [
        TimelinePoint(day=day, transactions=1, flagged=0, max_risk=0, open_approvals=count, risky_approvals=0)
        for day, count in [("2024-01-01", 1), ("2024-01-02", 2), ("2024-12-31", 3)]
    ]
    svg = timeline_svg(points, width=1100)
    first_line = re.findall(r"<path d='([^']*)'", svg)[0]
    assert first_line.startswith("M40.0,") and "H1060.0" in first_line  # the last day sits at the right edge
    second_x = float(first_line.split("H")[1].split()[0])
    assert 40 < second_x < 45  # one day after the first of 365: near the left edge, not in the middle
    assert " L" not in first_line  # steps, no slopes between changes
