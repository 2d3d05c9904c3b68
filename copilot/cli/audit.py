"""`txcopilot audit`: batch-audit a wallet's history (a file export, or the user's own node)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from copilot.cli.llmserver import llm_server_options, llm_server_target

if TYPE_CHECKING:
    from copilot.audit.engine import AuditSettings
    from copilot.audit.report import AuditReport

EPILOG = """\b
Examples:
  txcopilot audit --address 0xYou --file history.jsonl
  txcopilot audit --address 0xYou --file export.csv --format html --out audit.html
  txcopilot audit --address 0xYou --file txs.jsonl --revoke-out revokes/   then: txcopilot sign revokes/01-….json
  txcopilot audit --address 0xYou --rpc http://127.0.0.1:8545 --from-block 19000000 --json

\b
Inputs (--file, format detected): JSONL or a JSON array of eth_getTransactionByHash objects
(optionally with "receipt" or "logs"), raw signed transactions one per line, Etherscan CSV exports
(transactions, or ERC-20 token transfers). Bad rows are skipped and listed with their line numbers.
Finished work is cached: re-running after an interruption continues where it stopped.
"""


class _RichProgress:
    """A rich progress bar on stderr; rich hides the live bar when stderr is not a terminal."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int, description: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from copilot.cli.output import err_console

        if not err_console().is_terminal:  # piped or logged: a bar would only leave blank lines
            return
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err_console(), transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@click.command(epilog=EPILOG)
@click.option("--address", required=True, help="The wallet to audit (0x…).")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), help="History export to read.")
@click.option("--rpc", help="Your own node: scan it when no --file, and check allowances against it now.")
@click.option("--from-block", type=click.IntRange(min=0), default=0, show_default=True, help="First block to scan.")
@click.option("--to-block", type=click.IntRange(min=0), help="Last block to scan (default: latest).")
@click.option("--policy", help="Policy name or path (default: the config's, else the shipped default).")
@click.option("--chain-id", type=int, help="Chain of rows that do not state one (default 1, or the node's).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md", "html"]), default="text",
              show_default=True, help="Report format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file (format from --format, else from .json/.md/.html).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json, on stdout.")
@click.option("--revoke-out", type=click.Path(file_okay=False, path_type=Path),
              help="Write the revoke plan here: one eth_sendTransaction request per file, plus plan.jsonl.")
@click.option("--revoke", type=click.Choice(["risky", "all"]), default="risky", show_default=True,
              help="Which open approvals the revoke plan closes.")
@click.option("--no-llm", is_flag=True, help="No model: no narrative summary and no per-transaction explanations from the local LLM.")
@click.option("--model", help="GGUF model for the summary and explanations (default: the config's, else the bundled one).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write cached chunk results.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: every core).")
@llm_server_options
def audit(
    address: str, file: Path | None, rpc: str | None, from_block: int, to_block: int | None, policy: str | None,
    chain_id: int | None, fmt: str, out: Path | None, as_json: bool, revoke_out: Path | None, revoke: str,
    no_llm: bool, model: str | None, no_cache: bool, workers: int | None,
    llm_url: str | None, llm_dialect: str | None, llm_model: str | None,
) -> None:
    """Audit a wallet's history: open approvals, poisoning, risky transactions, and a revoke plan."""
    from copilot.audit.engine import AuditSettings, audit_file, audit_rows
    from copilot.errors import InputError

    if file is None and rpc is None:
        raise InputError("nothing to audit", "pass --file HISTORY or --rpc URL (your own node)")
    if model and not no_llm:
        from copilot.llm.discovery import require_model_file

        require_model_file(model)  # a --model that is not there: one line, exit 4, before the batch
    _refuse_conflicts(file, from_block, to_block, fmt, as_json)
    if as_json:
        fmt = "json"
    elif fmt == "text" and out is not None:  # --out audit.html: the extension names the format
        fmt = {".json": "json", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}.get(
            out.suffix.lower(), ""
        )
        if not fmt:
            raise InputError(f"--out {out}: cannot tell the format from the name", "add --format json|md|html")
    settings = AuditSettings(
        address=address, policy=policy, chain_id=chain_id, workers=workers, use_cache=not no_cache, rpc=rpc,
        revoke=revoke, llm=not no_llm, model=model,
        llm_server=llm_server_target(llm_url, llm_dialect, llm_model, model_path=model, use_llm=not no_llm),
    )
    progress = _RichProgress()
    if file is not None:
        settings.chain_id = settings.chain_id or (_node_chain_id(rpc) if rpc else 1)
        report = audit_file(file, settings, progress)
    else:
        assert rpc is not None
        from copilot.audit.onchain import scan_history
        from copilot.cli.output import err_console

        span = f"blocks {from_block}..{to_block if to_block is not None else 'latest'}"
        _warn_if_long_scan(rpc, from_block, to_block)
        with err_console().status(f"Scanning {span} on {rpc} for {address}'s transactions and logs"):
            rows, node_chain = scan_history(rpc, settings.address, from_block, to_block)
        settings.chain_id = settings.chain_id or node_chain
        report = audit_rows(rows, f"{rpc} {span}", settings, progress)
    _narrate(report, settings)
    if revoke_out is not None:
        _write_revokes(revoke_out, report)
    _emit(report, fmt, out)


def _refuse_conflicts(file: Path | None, from_block: int, to_block: int | None, fmt: str, as_json: bool) -> None:
    """A flag that would be silently ignored is a usage error: the user meant something else."""
    from click.core import ParameterSource

    from copilot.errors import InputError

    given = click.get_current_context().get_parameter_source
    if file is not None and (given("from_block") != ParameterSource.DEFAULT or to_block is not None):
        raise InputError("--from-block/--to-block scan the node; they do not apply to --file",
                         "drop them, or drop --file to scan --rpc")
    if to_block is not None and from_block > to_block:
        raise InputError(f"--from-block {from_block} is after --to-block {to_block}", "swap them")
    if as_json and given("fmt") != ParameterSource.DEFAULT and fmt != "json":
        raise InputError(f"--json conflicts with --format {fmt}", "use one of them")


def _narrate(report: AuditReport, settings: AuditSettings) -> None:
    """One model call after the batch for the narrative summary (or a note saying why there is none)."""
    from copilot.audit.narrative import add_narrative

    if not settings.llm:
        add_narrative(report, settings)
        return
    from copilot.cli.output import err_console

    with err_console().status("Writing the summary (local model)"):
        add_narrative(report, settings)


LONG_SCAN_BLOCKS = 50_000
MAX_ATTENTION_SHOWN = 20  # the terminal view; the other formats list every problem


def _warn_if_long_scan(rpc: str, from_block: int, to_block: int | None) -> None:
    """Nodes have no index by address: a scan reads every block, which takes long over a wide range."""
    from copilot.chain.node import NodeClient

    last = to_block if to_block is not None else NodeClient(rpc).block_number()
    if last - from_block > LONG_SCAN_BLOCKS:
        click.echo(
            f"note: scanning {last - from_block + 1:,} blocks one by one; narrow it with --from-block/--to-block, "
            "or give --file with an export",
            err=True,
        )


def _node_chain_id(rpc: str | None) -> int | None:
    from copilot.chain.node import NodeClient

    return NodeClient(rpc).chain_id() if rpc else None


def _write_revokes(directory: Path, report: AuditReport) -> None:
    from copilot.audit.revoke import write_revoke_plan

    paths = write_revoke_plan(directory, [r.model_dump() for r in report.revoke_plan])
    click.echo(f"revoke plan: {len(paths)} unsigned transactions in {directory}/ (sign each with txcopilot sign)",
               err=True)


def _emit(report: AuditReport, fmt: str, out: Path | None) -> None:
    from copilot.audit.render import to_html, to_markdown

    if fmt == "text":
        _print_summary(report)
        return
    text = {
        "json": lambda: report.model_dump_json(indent=2),
        "md": lambda: to_markdown(report),
        "html": lambda: to_html(report),
    }[fmt]()
    if out is None:
        click.echo(text)
    else:
        from copilot.state.atomic import atomic_write_text

        atomic_write_text(out, text if text.endswith("\n") else text + "\n", mode=0o644)
        click.echo(f"report written to {out}", err=True)


def _print_summary(report: AuditReport) -> None:
    """The terminal view. Every value from the history is escaped: a token symbol is attacker-chosen
    text and must not be read as rich markup."""
    from rich.markup import escape as e
    from rich.table import Table

    from copilot.audit.render import attention_lines, headline, narrative_byline, report_notes
    from copilot.cli.output import console

    out = console()
    out.print(f"[bold]Wallet audit[/bold] {report.address}  ({e(report.source)}, policy {e(report.policy)})")
    out.print("[bold]What needs your attention[/bold]")
    shown = attention_lines(report)
    for line in shown[:MAX_ATTENTION_SHOWN]:
        out.print(f"  {e(line)}", style="red" if report.attention else None)
    if len(shown) > MAX_ATTENTION_SHOWN:
        out.print(f"  … {len(shown) - MAX_ATTENTION_SHOWN} more (use --format md|html|json for the full list)")
    out.print("[bold]Counts[/bold]")
    for line in headline(report):
        out.print(f"  • {e(line)}")
    for warning in report.warnings:
        out.print(f"[bold red]WARNING[/bold red] {e(warning)}")
    if report.narrative:
        out.print(f"[bold]Summary[/bold] {e(report.narrative)}")
        out.print(f"  [dim]{e(narrative_byline(report))}[/dim]")
    if report.approvals:
        table = Table(title="Open approvals (risky first)", show_lines=False)
        for column in ("risky", "kind", "token", "spender", "amount", "exposure", "USD"):
            table.add_column(column)
        for a in report.approvals[:25]:
            table.add_row(
                "[red]yes[/red]" if a.risky else "", a.kind, e(a.token_symbol or a.token),
                e(a.spender_label or a.spender), e(a.amount_display), e(a.exposure_display or "-"),
                f"{a.exposure_usd:,.2f}" if a.exposure_usd is not None else "-",
            )
        out.print(table)
    for p in report.poisoning[:25]:
        what = "[red]PAID a lookalike[/red]" if p.kind == "payment" else "planted transfer from"
        out.print(f"  poisoning: {what} {p.lookalike} (imitates {p.resembles}) tx {p.tx or 'line ' + str(p.line)}")
    for item in report.listed[:25]:
        out.print(f"  [red]scam list[/red]: {item.role} {item.address} tx {e(item.tx or 'line ' + str(item.line))}: {e(item.evidence)}")
    for t in report.flagged[:15]:
        ids = ", ".join(f["id"] for f in t.findings[:4])
        target = e(t.contract or t.to or "-")
        out.print(f"  {t.verdict:<7} risk {t.risk_score:>3}  {e(t.function or '-')} → {target}  {e(f'[{ids}]')}")
        if t.explanation:
            out.print(f"          {e(t.explanation)}")
    if len(report.flagged) > 15:
        out.print(f"  … {len(report.flagged) - 15} more (use --format md|html|json for the full list)")
    for bad in report.bad_row_details[:10]:
        out.print(f"  skipped line {bad.line}: {e(bad.reason)}")
    if report.bad_rows > 10:
        out.print(f"  … {report.bad_rows - 10} more skipped rows")
    for note in [*report_notes(report), *([report.narrative_note] if report.narrative_note else [])]:
        out.print(f"  note: {e(note)}")
