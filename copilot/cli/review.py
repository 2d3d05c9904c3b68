"""`txcopilot review INPUT`: decode, find risks, judge against the policy, explain."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from copilot.cli.llmserver import llm_server_options, llm_server_target, server_line
from copilot.errors import ExitCode, InputError

if TYPE_CHECKING:
    from copilot.config import SimulateSettings
    from copilot.models import Review
    from copilot.simulation import SimulationOptions

EPILOG = """\b
Examples:
  txcopilot review fixtures/demo/unlimited-approval.json
  txcopilot review fixtures/requests/sign-raw-hash.json   a labelled corpus case
  txcopilot review 0x02f8b1...                    a raw transaction
  txcopilot review request.json --json            verdict, score, findings as JSON
  txcopilot review typed.json --policy paranoid   judge against another policy
  txcopilot review tx.json --rpc http://127.0.0.1:8545 --from 0xYourAddress
  txcopilot review tx.json --rpc http://127.0.0.1:8545 --no-simulate   decode and check only
  txcopilot review siwe.json --chain-id 1          the wallet's chain, for SIWE checks
  txcopilot review tx.json --origin https://app.example.org   the site that asked (scam lists, look-alikes)
  cat request.json | txcopilot review - --no-llm --fail-on block
  txcopilot review request.json --no-log         leave the audit log alone
  txcopilot review tx.json --intent "pay alice 50 USDC"   check it does what you mean
  txcopilot review request.json --llm-url http://127.0.0.1:8080   your llama-server explains
  txcopilot review request.json --llm-url http://localhost:11434 --llm-model qwen3:8b   Ollama

\b
INPUT is a path, "-" for stdin, or inline hex/JSON: anything `txcopilot decode` accepts.
Exit status: 0 when the review ran, whatever the verdict; with --fail-on, 1 when the
verdict is at least that level. 2 bad input, 3 bad policy/config, 4 node or model problem.
"""

_COLOURS = {"allow": "bold white on green", "confirm": "bold black on yellow", "block": "bold white on red"}
_SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


intent_option = click.option(
    "--intent",
    metavar="TEXT",
    help='What you mean to do, e.g. "pay alice 50 USDC", "swap 1 ETH for USDC on uniswap": the request must match it.',
)


@click.command(epilog=EPILOG)
@click.argument("input_arg", metavar="INPUT")
@click.option("--json", "as_json", is_flag=True, help="Print the review as JSON (the documented output contract).")
@click.option("--policy", metavar="NAME|PATH", help="Policy name (see `txcopilot policy list`) or a .toml path.")
@click.option("--rpc", metavar="URL", help="Your own node, for account kinds, balances and token metadata.")
@click.option("--offline", is_flag=True, help="Never contact a node, even one set in the config (the default without --rpc).")
@click.option("--no-llm", is_flag=True, help="Skip the local model: deterministic explanation only.")
@click.option("--model", metavar="PATH", help="A GGUF model file for the explanation.")
@click.option("--no-simulate", is_flag=True, help="Do not simulate the request on the node (see [simulate] in the config).")
@click.option(
    "--chain-id",
    type=click.IntRange(min=1),
    metavar="N",
    help="The chain your wallet is on, for requests that state none (personal_sign, SIWE); with --rpc, "
    "the node must be on it too.",
)
@click.option("--from", "user", metavar="ADDRESS", help="Your account, when the request does not name it.")
@click.option(
    "--origin",
    metavar="URL",
    help="The site the request comes from: checked against your threat lists and for look-alikes of well-known domains.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["confirm", "block"]),
    help="Exit with status 1 when the verdict is at least this level.",
)
@click.option("--no-log", is_flag=True, help="Do not append this review to the audit log (e.g. batch checks in CI).")
@intent_option
@llm_server_options
def review(
    input_arg: str,
    as_json: bool,
    policy: str | None,
    rpc: str | None,
    offline: bool,
    no_llm: bool,
    model: str | None,
    no_simulate: bool,
    chain_id: int | None,
    user: str | None,
    origin: str | None,
    fail_on: str | None,
    no_log: bool,
    intent: str | None,
    llm_url: str | None,
    llm_dialect: str | None,
    llm_model: str | None,
) -> None:
    """Decode a signing request, find its risks, judge it against your policy and explain it."""
    from copilot.config import load_config
    from copilot.inputs import read_input
    from copilot.models import VERDICT_RANK
    from copilot.pipeline import ReviewOptions, review_input

    if rpc and offline:
        raise InputError("--rpc and --offline contradict each other", "pass one of them")
    if user is not None and not _is_address(user):
        raise InputError(f"--from {user!r} is not an address", "write 0x followed by 40 hex characters")
    if origin is not None:
        from copilot.intel.domains import is_site

        if not is_site(origin):
            raise InputError(f"--origin {origin!r} is not a URL or domain", "pass the site's URL, e.g. https://app.uniswap.org")
    config = load_config()
    settings = config.review
    options = ReviewOptions(
        policy=policy or settings.policy,
        rpc=None if offline else rpc or settings.rpc,
        user=user,
        chain_id=chain_id,
        origin=origin,
        use_llm=not no_llm,
        model=model,
        on_token=_stream if not (as_json or no_llm) and sys.stderr.isatty() else None,
        simulate=config.simulate.enabled and not no_simulate,
        simulation=simulation_options(config.simulate),
        llm_server=llm_server_target(llm_url, llm_dialect, llm_model, model_path=model, use_llm=not no_llm),
        intent=checked_intent(intent),
    )
    result = review_input(read_input(input_arg), options)
    if options.on_token is not None:
        click.echo(err=True)  # end the streamed explanation's last line
    if not no_log:
        _record(result, user)
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(result)
    else:
        render(result)
    if fail_on and VERDICT_RANK[result.verdict] >= VERDICT_RANK[fail_on]:
        raise click.exceptions.Exit(int(ExitCode.VERDICT))


def checked_intent(intent: str | None) -> str | None:
    """--intent as given; an empty one is bad usage (exit 2), not a silently skipped check."""
    if intent is not None and not intent.strip():
        raise InputError("--intent is empty", 'say what you mean to do, e.g. --intent "pay alice 50 USDC"')
    return intent


def intent_lines(result: Review) -> list[str]:
    """The intent echoed back as read, and the outcome (the findings table gives the reasons)."""
    check = result.intent
    if check is None:
        return []
    read = check.parsed.describe() if check.parsed is not None else "(not understood)"
    return [f'intent: "{check.text}"', f"  read as: {read}", f"  outcome: {check.outcome.replace('_', ' ')}"]


def simulation_options(settings: SimulateSettings) -> SimulationOptions:
    from copilot.simulation import SimulationOptions

    return SimulationOptions(timeout=settings.timeout, fork_fallback=settings.fork_fallback)


def _record(result: Review, user: str | None) -> None:
    """Append the review to the audit log; a log that cannot take it costs a warning, not the review."""
    from copilot.errors import EnvironmentProblem
    from copilot.signing.auditlog import record_review

    try:
        record_review(result, user or result.decoded.request.sender)
    except (EnvironmentProblem, OSError) as exc:
        message = exc.one_line() if isinstance(exc, EnvironmentProblem) else str(exc)
        click.echo(f"warning: the review was not added to the audit log: {message}", err=True)


def _stream(text: str) -> None:
    """The model's explanation as it arrives, on a terminal's stderr (stdout keeps the final view)."""
    click.echo(text, nl=False, err=True)


def _is_address(value: str) -> bool:
    return len(value) == 42 and value[:2].lower() == "0x" and all(c in "0123456789abcdefABCDEF" for c in value[2:])


def render(result: Review) -> None:
    """The human view: verdict banner, score, who decided, findings, explanation, decoded summary.

    Every string is a Text: plain strings would be parsed for markup and emoji codes, which costs a
    cold run the import of rich's emoji table (and would misread dApp-supplied text)."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from copilot.cli.output import console

    out = console()
    # A sandbox layer the model ran without comes first, before anything the model said.
    for layer in result.llm.isolation if result.llm is not None else []:
        if not layer.active:
            style = "bold red" if layer.required else "yellow"
            out.print(Text(f"WARNING: the model ran without its {layer.name} sandbox layer: {layer.detail}", style=style))
    banner = Text()
    banner.append(f" {result.verdict.upper()} ", style=_COLOURS[result.verdict])
    banner.append(f"  risk {result.risk_score}/100", style="bold")
    banner.append(f"  decided by {result.decided_by}  (policy {result.policy})", style="dim")
    out.print(banner)
    if result.findings:
        table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
        for column in ("severity", "finding", "evidence", "where"):
            table.add_column(Text(column), overflow="fold")
        for f in result.findings:
            # Evidence quotes dApp-supplied text (token names, messages): Text() never parses it as markup.
            table.add_row(
                Text(f.severity.value, style=_SEVERITY_STYLES[f.severity.value]),
                Text(f"{f.id}\n{f.title}"),
                Text(f.evidence),
                Text(f.location or ""),
            )
        out.print(table)
    else:
        out.print(Text("No findings."))
    for line in intent_lines(result):
        out.print(Text(line, style="bold" if line.startswith("intent") else ""))
    from copilot.cli.simulated import balance_lines

    for index, line in enumerate(balance_lines(result)):
        out.print(Text(line, style="bold" if index == 0 else ""))
    server = result.llm.server if result.llm is not None else None
    source = "deterministic"
    if result.explanation_source == "llm":
        source = "deterministic + your LLM server" if server else "deterministic + local model"
    out.print(Panel(Text(result.explanation), title=Text(f"Explanation ({source})"), title_align="left"))
    if result.explanation_note:
        out.print(Text(result.explanation_note, style="dim"))
    if server is not None:
        out.print(Text(server_line(result) or "", style="yellow"))
    if result.llm is not None:
        # Cut-off answers and other caveats are said, never silently accepted.
        for note in result.llm.notes:
            out.print(Text(f"model: {note}", style="yellow"))
    out.print(Text(_summary(result), style="dim"))
    if result.threat_lists:
        out.print(Text("threat lists: " + "; ".join(result.threat_lists), style="dim"))


def _summary(result: Review) -> str:
    decoded = result.decoded
    parts = [f"kind {decoded.request.kind.value}"]
    if decoded.request.method:
        parts.append(f"method {decoded.request.method}")
    tx = decoded.transaction
    if tx is not None:
        parts.append(f"type {tx.type}")
        if tx.chain_id is not None:
            parts.append(f"chain {tx.chain_id}")
        if tx.sender:
            parts.append(f"from {tx.sender}")
        parts.append(f"to {tx.to or '(contract creation)'}")
    if decoded.call is not None and decoded.call.function:
        parts.append(f"function {decoded.call.function}")
    if decoded.typed_data is not None:
        parts.append(f"typed data {decoded.typed_data.primary_type}")
    parts.append(f"payload {decoded.payload_hash}")
    return " · ".join(parts)
