"""`txcopilot abi ...`: the local ABI registry (bundled ABIs, your own ABIs, an imported 4byte dump)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from copilot.errors import ConfigError, InputError

if TYPE_CHECKING:
    from copilot.decoding.selectors import ImportReport

EPILOG = """\b
Examples:
  txcopilot abi add MyVault.json                    import an ABI (or a Foundry/Hardhat artifact)
  txcopilot abi add out/Vault.sol/Vault.json --name vault
  txcopilot abi import-4byte 4byte.json             go-ethereum's signer/fourbyte/4byte.json
  txcopilot abi list
  txcopilot abi lookup 0x095ea7b3                   which functions have this selector
  txcopilot abi lookup 'approve(address,uint256)'   the selector of a signature
"""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@click.group(epilog=EPILOG)
def abi() -> None:
    """Manage the local ABI registry used to decode contract calls."""


def _read_json(path: Path) -> Any:
    from copilot.inputs.values import DuplicateKeyError, unique_keys
    from copilot.parsing import load_json

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}), so not a JSON file", "give a JSON file"
        ) from exc
    try:
        return load_json(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})", "fix the file") from exc
    except DuplicateKeyError as exc:
        raise ConfigError(f"{path}: {exc}", "each key may appear once; fix the file") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: JSON nested too deeply", "give a JSON ABI or selector map") from exc


@abi.command("add", epilog=EPILOG)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--name", help="Name to store it under (default: the file name without .json).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def add(path: Path, name: str | None, as_json: bool) -> None:
    """Add a JSON ABI so calls to its functions decode with argument names."""
    from copilot.decoding.selectors import parse_abi, user_abi_dir
    from copilot.state.atomic import atomic_write_text

    document = _read_json(path)
    name = name or path.name.removesuffix(".json")
    if not _NAME.match(name):
        raise InputError(
            f"{name!r} is not a usable ABI name", "pass --name with letters, digits, '.', '_' or '-'"
        )
    try:
        functions = parse_abi(document, f"user:{name}")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}", "give a JSON ABI: a list of function entries") from exc
    if not functions:
        raise ConfigError(f"{path}: the ABI has no functions", "give the ABI of a contract with functions")
    entries = document.get("abi") if isinstance(document, dict) else document
    atomic_write_text(user_abi_dir() / f"{name}.json", json.dumps(entries, indent=1) + "\n")
    signatures = sorted({f.signature for f in functions})
    if as_json:
        from copilot.cli.output import emit_json

        emit_json({"name": name, "functions": [{"selector": _sel(s), "signature": s} for s in signatures]})
        return
    click.echo(f"added {len(signatures)} function(s) as ABI {name!r}")


def _sel(signature: str) -> str:
    from copilot.decoding.selectors import selector_of

    return selector_of(signature)


@abi.command("import-4byte", epilog=EPILOG)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_4byte(path: Path, as_json: bool) -> None:
    """Import a selector dump: a JSON map of selector to signature or list of signatures.

    Signatures from the dump are a last resort: a call decodes with them only when no bundled or
    user ABI matches, and two that both decode make the call "ambiguous" instead of a guess.
    """
    from copilot.decoding.selectors import imported_count

    document = _read_json(path)
    try:
        report = _import_with_progress(document)
    except ValueError as exc:
        raise ConfigError(
            f"{path}: {exc}", 'give a JSON object like {"095ea7b3": "approve(address,uint256)"}'
        ) from exc
    total = imported_count()
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(
            {
                "read": report.total,
                "added": report.added,
                "skipped": report.skipped_count,
                "skipped_examples": report.skipped,
                "total_imported": total,
            }
        )
        return
    click.echo(f"read {report.total} signature(s): {report.added} new, {total} imported in all")
    if report.skipped_count:
        click.echo(
            f"skipped {report.skipped_count} that do not hash to their selector or do not parse, e.g.:"
        )
        for problem in report.skipped:
            click.echo(f"  {problem}")


def _import_with_progress(document: Any) -> ImportReport:
    """Import with a progress bar on stderr (shown only on a terminal: a 150k-entry dump takes seconds)."""
    from rich.progress import Progress

    from copilot.cli.output import err_console
    from copilot.decoding.selectors import import_fourbyte

    with Progress(console=err_console(), transient=True) as bar:
        task = bar.add_task("checking and importing signatures", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return import_fourbyte(document, advance)


@abi.command("list", epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the registry contents as JSON.")
def list_abis(as_json: bool) -> None:
    """List bundled ABIs, your ABIs and the size of the imported selector dump."""
    from copilot.decoding.registry import all_contracts
    from copilot.decoding.selectors import bundled_abis, descriptor_signature_count, imported_count, user_abis

    bundled = {name: len(functions) for name, functions in bundled_abis().items()}
    user = {name: len(functions) for name, functions in user_abis().items()}
    summary = {
        "bundled": bundled,
        "user": user,
        "erc7730_signatures": descriptor_signature_count(),
        "imported_4byte": imported_count(),
        "known_contracts": len(all_contracts()),
    }
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(summary)
        return
    click.echo("bundled ABIs:")
    for name, count in bundled.items():
        click.echo(f"  {name:28} {count} function(s)")
    click.echo("your ABIs:" if user else "your ABIs: none (add one with `txcopilot abi add PATH`)")
    for name, count in user.items():
        click.echo(f"  {name:28} {count} function(s)")
    click.echo(f"ERC-7730 descriptor signatures: {summary['erc7730_signatures']}")
    click.echo(f"imported 4byte signatures: {summary['imported_4byte']}")
    click.echo(f"known contract deployments: {summary['known_contracts']}")


@abi.command("lookup", epilog=EPILOG)
@click.argument("selector")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def lookup(selector: str, as_json: bool) -> None:
    """Show every known function for a 4-byte SELECTOR (or the selector of a signature)."""
    from copilot.decoding.selectors import all_candidates, function_from_signature, normalise_selector

    if "(" in selector:
        try:
            selector = function_from_signature(selector.replace(" ", ""), "lookup").selector
        except ValueError as exc:
            raise InputError(
                f"{exc}", "give a selector like 0x095ea7b3 or a signature like f(uint256)"
            ) from exc
    try:
        selector = normalise_selector(selector)
    except ValueError as exc:
        raise InputError(str(exc), "give a selector like 0x095ea7b3") from exc
    matches: list[dict[str, str]] = []
    for function in all_candidates(selector):
        entry = {"signature": function.signature, "source": function.source}
        if entry not in matches:
            matches.append(entry)
    if as_json:
        from copilot.cli.output import emit_json

        emit_json({"selector": selector, "matches": matches})
        return
    if not matches:
        click.echo(f"{selector}: no known function (import a 4byte dump or add the contract's ABI)")
        return
    for match in matches:
        click.echo(f"{selector}  {match['signature']}  [{match['source']}]")
