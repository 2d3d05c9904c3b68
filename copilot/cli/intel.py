"""`txcopilot intel import|list|show|remove|allow`: public threat lists, imported locally."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

EPILOG = """\b
Examples:
  txcopilot intel import ~/src/scam-database            a local clone of ScamSniffer's scam-database
  txcopilot intel import blacklist/address.json --name scamsniffer --date 2026-08-22
  txcopilot intel import eth-phishing-detect/src/config.json --name metamask
  txcopilot intel import my-list.csv                    address-or-domain,label per line
  txcopilot intel list                                  every list, its date, age and size
  txcopilot intel show 0xd9A1C3788D81257612E2581A6ea0aDa244853a91
  txcopilot intel show uniswaap.org                     listed? a look-alike of a well-known site?
  txcopilot intel allow app.example.org                 your override for a false positive
  txcopilot intel allow --remove app.example.org        take it back
  txcopilot intel remove scamsniffer

\b
Nothing is downloaded: you fetch a list yourself, txcopilot imports it whole, so no lookup
reveals what you sign. Lists live in your data dir (intel/); reviews and audits use them all.
"""


@click.group(epilog=EPILOG)
def intel() -> None:
    """Import public scam lists and look addresses and domains up in them."""


def _emit(document: Any) -> None:
    from copilot.cli.output import emit_json

    emit_json(document)


def _age(info: Any, now: int) -> str:
    age = info.age_days(now)
    return f"{age} day{'s' if age != 1 else ''}" if age >= 0 else "-"


@intel.command("import", epilog=EPILOG)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Name of the list (default: the folder's or file's name); re-importing a name replaces it.")
@click.option("--date", metavar="YYYY-MM-DD", help="The data's own date, when you know it (else the import date counts).")
@click.option("--json", "as_json", is_flag=True, help="Print the imported list's record as JSON.")
def import_command(path: Path, name: str | None, date: str | None, as_json: bool) -> None:
    """Import a threat list from PATH: a file or a local clone.

    Formats are detected: ScamSniffer's blacklist/address.json, domains.json and combined.json;
    eth-phishing-detect's config.json (blacklist, whitelist, fuzzylist); plain CSV, JSON or text
    of addresses or domains with an optional label. A file that is none of these exits with 2.
    """
    from copilot.intel.store import import_list

    info = import_list(path, name, date)
    if as_json:
        _emit(info.as_json())
        return
    parts = [f"{info.addresses:,} addresses", f"{info.domains:,} domains"]
    if info.allow:
        parts.append(f"{info.allow:,} allowed domains")
    if info.fuzzy:
        parts.append(f"{info.fuzzy:,} domains protected from look-alikes")
    skipped = f"; skipped {info.skipped:,} that {'is' if info.skipped == 1 else 'are'} neither address nor domain" if info.skipped else ""
    click.echo(f"imported {info.name} ({', '.join(info.formats)}): {', '.join(parts)}{skipped}")


@intel.command("list", epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the lists as JSON.")
def list_command(as_json: bool) -> None:
    """List the threat lists in use: the bundled seed and your imports, with date, age and size."""
    from copilot.intel import load_index

    index = load_index()
    now = int(time.time())
    if as_json:
        _emit({
            "lists": [dict(info.as_json(), age_days=info.age_days(now)) for info in index.infos],
            "allowed": index.user_allowed,
        })
        return
    from rich.table import Table

    from copilot.cli.output import console

    table = Table(show_header=True, header_style="bold")
    for column in ("name", "date", "age", "addresses", "domains", "format", "from"):
        table.add_column(column, overflow="fold")
    for info in index.infos:
        table.add_row(info.name, info.date(), _age(info, now), f"{info.addresses:,}", f"{info.domains:,}",
                      ", ".join(info.formats), info.origin)
    console().print(table)
    if len(index.infos) == 1:
        click.echo("only the bundled seed list: import a public list with `txcopilot intel import PATH`")
    if index.user_allowed:
        click.echo(f"allowed by you: {', '.join(sorted(index.user_allowed))}")


@intel.command("show", epilog=EPILOG)
@click.argument("value", metavar="ADDRESS|DOMAIN")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def show(value: str, as_json: bool) -> None:
    """Which lists name ADDRESS or DOMAIN; for a domain, also whether it imitates a well-known one."""
    from copilot.intel import load_index
    from copilot.intel.store import normal_value

    key = normal_value(value)
    index = load_index()
    now = int(time.time())
    is_address = key.startswith("0x") and len(key) == 42
    listings = index.address(key) if is_address else index.domain(key)
    similar = None if is_address or listings else index.look_alike(key)
    allowed = index.user_allowed.get(key)
    if as_json:
        _emit({
            "value": key,
            "kind": "address" if is_address else "domain",
            "listed": [{"list": hit.source.name, "entry": hit.value, "label": hit.label, "date": hit.source.date(),
                        "age_days": hit.source.age_days(now)} for hit in listings],
            "look_alike_of": similar.imitates if similar else None,
            "allowed_by_you": allowed,
        })
        return
    if allowed:
        click.echo(f"{key}: allowed by you on {allowed} (`txcopilot intel allow`): no list flags it")
    for listing in listings:
        entry = f" (as {listing.value})" if listing.value != key else ""
        click.echo(f"{key}{entry}: {listing.evidence(now)}")
    if similar is not None:
        click.echo(f"{key} {similar.how} {similar.imitates}: a look-alike")
    if not listings and similar is None and not allowed:
        click.echo(f"{key}: on none of the {len(index.infos)} lists")


@intel.command("remove", epilog=EPILOG)
@click.argument("name", metavar="SOURCE")
@click.option("--json", "as_json", is_flag=True, help="Print the removed list's record as JSON.")
def remove(name: str, as_json: bool) -> None:
    """Remove an imported list by name (see `txcopilot intel list`)."""
    from copilot.intel.store import remove_source

    info = remove_source(name)
    if as_json:
        _emit(info.as_json())
    else:
        click.echo(f"removed {info.name} ({info.entries:,} entries)")


@intel.command("allow", epilog=EPILOG)
@click.argument("value", metavar="ADDRESS|DOMAIN")
@click.option("--remove", is_flag=True, help="Take your override back: the lists flag it again.")
@click.option("--json", "as_json", is_flag=True, help="Print the allowed value as JSON.")
def allow_command(value: str, remove: bool, as_json: bool) -> None:
    """Override every list for ADDRESS or DOMAIN (a false positive); a domain covers its subdomains."""
    from copilot.intel.store import allow

    key = allow(value, remove=remove)
    if as_json:
        _emit({"removed" if remove else "allowed": key})
    elif remove:
        click.echo(f"no longer allowed: {key}")
    else:
        click.echo(f"allowed {key}: no list flags it from now on")
