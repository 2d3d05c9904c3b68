"""Entry point. Subcommands are imported only when invoked, so `txcopilot decode` never pays for
web3, the signer or the model."""

from __future__ import annotations

import importlib
from typing import Any

import click

from copilot import __version__

# name -> "module:attribute"; each module owns one command or command group.
COMMANDS: dict[str, str] = {
    "decode": "copilot.cli.decode:decode",
    "abi": "copilot.cli.abi:abi",
    "review": "copilot.cli.review:review",
    "policy": "copilot.cli.policy:policy",
    "book": "copilot.cli.policy:book",
    "model": "copilot.cli.llm:model",
    "eval": "copilot.cli.llm:eval_command",
    "doctor": "copilot.cli.llm:doctor",
    "keys": "copilot.cli.sign:keys",
    "sign": "copilot.cli.sign:sign",
    "log": "copilot.cli.sign:log",
    "audit": "copilot.cli.audit:audit",
    "intel": "copilot.cli.intel:intel",
}

SHORT_HELP: dict[str, str] = {
    "decode": "Decode a transaction, call or signature request.",
    "abi": "Manage the local ABI registry.",
    "review": "Decode, risk-score and judge a request against your policy.",
    "policy": "Show and check policies.",
    "book": "Manage the local address book.",
    "model": "List, inspect and benchmark local models.",
    "eval": "Evaluate a model's explanations over the labelled fixtures.",
    "doctor": "Check the installation: model build, sandbox, node.",
    "keys": "Manage local encrypted keystores.",
    "sign": "Review, then sign with a local key if policy and you agree.",
    "log": "Show and verify the hash-chained audit log.",
    "audit": "Batch-audit a wallet's history.",
    "intel": "Import public scam lists; look addresses and domains up.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a stage not built in this checkout
            if exc.name == module_name:
                return None
            raise
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every subcommand module.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from copilot.cli.errors import run_guarded

        return run_guarded(ctx, super().invoke)


EPILOG = """\b
Examples:
  txcopilot decode 0x02f8...            decode a raw transaction
  txcopilot review request.json --json  verdict, findings and score as JSON
  txcopilot sign tx.json --account me   review, then sign with a local key
  txcopilot audit --address 0x... --file history.jsonl

\b
Exit status: 0 ok, 1 verdict matched --fail-on, 2 bad input, 3 bad policy or config,
4 environment (node, model, keystore), 5 signing refused, 70 internal error, 130 interrupted.
"""


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="txcopilot")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Review what your Ethereum wallet is about to sign, on your own machine."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
