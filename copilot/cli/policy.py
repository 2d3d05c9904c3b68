"""`txcopilot policy list|show|check` and `txcopilot book add|remove|list`."""

from __future__ import annotations

from typing import Any

import click

POLICY_EPILOG = """\b
Examples:
  txcopilot policy list                    the policies you can name, the active one marked
  txcopilot policy show everyday           every rule of a policy, defaults included
  txcopilot policy show --json             the active policy as JSON
  txcopilot policy check ~/my-policy.toml  validate a file: exit 3 with file:line and the fix
  txcopilot policy check                   validate the active policy, prices.toml and the book

\b
Names resolve in <config dir>/policies/NAME.toml first, then in the shipped policies/.
The active policy is the config's [review] policy, else "default".
"""

BOOK_EPILOG = """\b
Examples:
  txcopilot book add 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 "alice"
  txcopilot book add 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC "cold wallet" --own
  txcopilot book list --json
  txcopilot book remove alice              by label, or by address

\b
The book lives in your data dir (addressbook.json, written atomically). Reviews show these labels
and treat the addresses as known; a lookalike of a booked address is flagged as poisoning. --own
marks your own accounts (your keystore's are yours already): ownership handed to them is routine.
"""


@click.group(epilog=POLICY_EPILOG)
def policy() -> None:
    """Show and check policies."""


def _active_name() -> str:
    from copilot.config import load_config
    from copilot.policy.loader import DEFAULT_POLICY

    return load_config().review.policy or DEFAULT_POLICY


@policy.command("list", epilog=POLICY_EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_policies(as_json: bool) -> None:
    """List the policies you can name with --policy."""
    from copilot.policy import available_policies, load_policy
    from copilot.policy.loader import resolve_policy_path
    from copilot.resources import policies_dir

    active = _active_name()
    rows: list[dict[str, Any]] = []
    for name in available_policies():
        path = resolve_policy_path(name)
        entry: dict[str, Any] = {
            "name": name,
            "path": str(path),
            "source": "shipped" if path.parent == policies_dir() else "user",
            "active": name == active,
        }
        try:
            entry["description"] = load_policy(name).spec.description
        except Exception as exc:  # a broken user policy is listed, not fatal, so the user can find it
            entry["error"] = getattr(exc, "message", str(exc))
        rows.append(entry)
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(rows)
        return
    from rich.table import Table

    from copilot.cli.output import console

    table = Table(show_header=True, header_style="bold")
    for column in ("", "name", "source", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        description = row.get("description") or f"[red]invalid: {row.get('error')}[/red]"
        table.add_row("*" if row["active"] else "", row["name"], row["source"], description)
    console().print(table)
    console().print(f"[dim]* active (config \\[review] policy, else default): {active}[/dim]")


@policy.command("show", epilog=POLICY_EPILOG)
@click.argument("name", required=False, metavar="[NAME|PATH]")
@click.option("--json", "as_json", is_flag=True, help="Print the full policy, defaults included, as JSON.")
def show(name: str | None, as_json: bool) -> None:
    """Show every rule of a policy (the active one by default), defaults included."""
    from copilot.policy import load_policy

    loaded = load_policy(name)
    document = {
        "name": loaded.name,
        "file": loaded.file,
        "path": str(loaded.path) if loaded.path else None,
        "blocklist_entries": len(loaded.blocklist),
        **loaded.spec.model_dump(mode="json", exclude={"name"}),
    }
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(document)
        return
    from copilot.cli.output import console

    out = console()
    out.print(f"[bold]{loaded.name}[/bold]  [dim]{loaded.path}[/dim]")
    if loaded.spec.description:
        out.print(loaded.spec.description)
    for line in _describe(loaded):
        out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)


def _describe(loaded: Any) -> list[str]:
    """One line per rule, in the words the README uses."""
    spec = loaded.spec
    lines = [f"default verdict: {spec.default}"]
    lines.append(
        "verdicts: "
        + ", ".join(
            f"{s} -> {getattr(spec.verdicts, s)}" for s in ("critical", "high", "medium", "low", "info")
        )
    )
    for finding_id, severity in spec.severity.items():
        lines.append(f"severity override: {finding_id} -> {severity.value}")
    if spec.chains.allowed:
        lines.append(
            f"chains allowed: {', '.join(map(str, spec.chains.allowed))} (else {spec.chains.action})"
        )
    if spec.confirm.above_usd is not None:
        lines.append(f"confirm above {spec.confirm.above_usd} USD")
    if spec.confirm.above_native is not None:
        lines.append(f"confirm above {spec.confirm.above_native} of the native coin")
    limits = spec.limits
    if limits.tx_usd is not None:
        lines.append(f"limit per transaction: {limits.tx_usd} USD (over: {limits.action})")
    if limits.daily_usd is not None:
        lines.append(f"limit per 24 h: {limits.daily_usd} USD (over: {limits.action})")
    for asset, limit in limits.assets.items():
        parts = [
            f"{limit.tx} per transaction" if limit.tx is not None else "",
            f"{limit.daily} per 24 h" if limit.daily is not None else "",
        ]
        lines.append(f"limit {asset}: {', '.join(p for p in parts if p)} (over: {limits.action})")
    approvals = spec.approvals
    if approvals.max_usd is not None:
        lines.append(f"max approval: {approvals.max_usd} USD ({approvals.action})")
    for token, amount in approvals.max_amount.items():
        lines.append(f"max approval of {token}: {amount} ({approvals.action})")
    if approvals.max_permit_days is not None:
        lines.append(f"max permit lifetime: {approvals.max_permit_days} days ({approvals.action})")
    gas = spec.gas
    gas_parts = [
        f"{gas.max_fee_gwei} gwei per gas" if gas.max_fee_gwei is not None else "",
        f"{gas.max_fee_native} native in fees" if gas.max_fee_native is not None else "",
        f"{gas.max_base_fee_multiple}x the base fee" if gas.max_base_fee_multiple is not None else "",
    ]
    lines.append(f"abnormal gas above: {', '.join(p for p in gas_parts if p) or 'never'} ({gas.action})")
    for kind in ("addresses", "contracts", "functions"):
        if getattr(spec.allow, kind):
            lines.append(f"allow {kind}: {', '.join(getattr(spec.allow, kind))}")
        if getattr(spec.deny, kind):
            lines.append(f"deny {kind}: {', '.join(getattr(spec.deny, kind))}")
    if spec.allow.only:
        lines.append("allow only: anything off the allow lists needs confirmation")
    if spec.deny.blocklist:
        lines.append(f"blocklist: {spec.deny.blocklist} ({len(loaded.blocklist)} addresses)")
    for address, label in spec.address_book.items():
        lines.append(f"address book: {address} = {label}")
    return lines


@policy.command("check", epilog=POLICY_EPILOG)
@click.argument("names", nargs=-1, metavar="[NAME|PATH]...")
@click.option("--json", "as_json", is_flag=True, help="Print what was checked as JSON.")
def check(names: tuple[str, ...], as_json: bool) -> None:
    """Validate policy files; without arguments, the active policy, prices.toml and the address book.

    The first invalid file stops the check with exit status 3 and one line: file:line, what is wrong
    and how to fix it.
    """
    from copilot.policy import load_policy

    checked: list[dict[str, str]] = []
    for name in names or (_active_name(),):
        loaded = load_policy(name)
        checked.append({"kind": "policy", "name": loaded.name, "path": str(loaded.path)})
    if not names:
        from copilot.state.addressbook import book_path, load_book
        from copilot.state.prices import load_prices, prices_path

        prices = load_prices()
        checked.append({"kind": "prices", "path": str(prices_path()), "entries": str(len(prices.by_key))})
        checked.append({"kind": "address book", "path": str(book_path()), "entries": str(len(load_book()))})
    if as_json:
        from copilot.cli.output import emit_json

        emit_json({"ok": True, "checked": checked})
        return
    for item in checked:
        extra = f" ({item['entries']} entries)" if "entries" in item else f" (policy {item['name']})"
        click.echo(f"ok: {item['path']}{extra}")


@click.group(epilog=BOOK_EPILOG)
def book() -> None:
    """Manage the local address book."""


@book.command("add", epilog=BOOK_EPILOG)
@click.argument("address")
@click.argument("label")
@click.option("--own", is_flag=True, help="Mark it as one of your own accounts: handing control to it is routine.")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")
def book_add(address: str, label: str, own: bool, as_json: bool) -> None:
    """Add ADDRESS with LABEL (or relabel it; without --own it is no longer marked yours)."""
    from copilot.state.addressbook import add_entry

    checksummed = add_entry(address, label, own=own)
    if as_json:
        from copilot.cli.output import emit_json

        emit_json({"address": checksummed, "label": label.strip(), "own": own})
    else:
        click.echo(f"added {checksummed} = {label.strip()}{' (yours)' if own else ''}")


@book.command("remove", epilog=BOOK_EPILOG)
@click.argument("address_or_label", metavar="ADDRESS|LABEL")
@click.option("--json", "as_json", is_flag=True, help="Print the removed address as JSON.")
def book_remove(address_or_label: str, as_json: bool) -> None:
    """Remove an entry by address or by its exact label."""
    from copilot.state.addressbook import remove_entry

    removed = remove_entry(address_or_label)
    if as_json:
        from copilot.cli.output import emit_json

        emit_json({"removed": removed})
    else:
        click.echo(f"removed {removed}")


@book.command("list", epilog=BOOK_EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print the book as JSON (address -> label).")
def book_list(as_json: bool) -> None:
    """List the address book."""
    from copilot.state.addressbook import load_book

    entries = load_book()
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(entries)
        return
    if not entries:
        click.echo("the address book is empty: add one with `txcopilot book add ADDRESS LABEL`")
        return
    from rich.table import Table

    from copilot.cli.output import console

    table = Table(show_header=True, header_style="bold")
    table.add_column("label")
    table.add_column("address")
    for address, label in sorted(entries.items(), key=lambda kv: kv[1].lower()):
        table.add_row(label, address)
    console().print(table)
