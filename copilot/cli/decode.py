"""`txcopilot decode INPUT`: what a request is, decoded locally, as a readable view or JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.tree import Tree

    from copilot.models import (
        DecodedCall,
        DecodedRequest,
        MessageInfo,
        OrderAsset,
        OrderInfo,
        TransactionInfo,
        TypedDataInfo,
    )

EPILOG = """\b
INPUT is a file path, `-` for stdin, or the request itself. Detected automatically:
  raw transactions (hex; legacy, EIP-2930, -1559, -4844, -7702; signed or unsigned),
  32-byte hashes (eth_sign), eth_sendTransaction objects, EIP-712 typed data,
  a JSON string message ("hello" or "0x68656c6c6f"), wallet_sendCalls params, and
  JSON-RPC requests: eth_sendTransaction, eth_signTransaction, eth_sendRawTransaction,
  eth_signTypedData(_v3/_v4), personal_sign, eth_sign, wallet_sendCalls.

\b
Examples:
  txcopilot decode 0x02f8b1...                     a raw signed transaction
  txcopilot decode request.json --json             a JSON-RPC request, as JSON
  pbpaste | txcopilot decode -                     from the clipboard via stdin
  txcopilot decode '{"method":"personal_sign","params":["0x48656c6c6f","0xf39F...2266"]}'
"""


@click.command(epilog=EPILOG)
@click.argument("input_arg", metavar="INPUT")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the DecodedRequest as JSON (schema in the README)."
)
def decode(input_arg: str, as_json: bool) -> None:
    """Decode a transaction, call or signature request, offline."""
    from copilot.decoding import decode as decode_request
    from copilot.inputs import parse_request, read_input

    decoded = decode_request(parse_request(read_input(input_arg)))
    if as_json:
        from copilot.cli.output import emit_json

        emit_json(decoded)
    else:
        render(decoded)


# --------------------------------------------------------------------------- the readable view

_KIND_TITLES = {
    "raw_transaction": "Raw transaction",
    "transaction": "Transaction request",
    "typed_data": "EIP-712 typed data signature",
    "personal_message": "Message signature (personal_sign)",
    "hash": "Raw hash signature (eth_sign)",
    "call_batch": "Batch of calls (wallet_sendCalls)",
}


def render(decoded: DecodedRequest) -> None:
    from rich.markup import escape

    from copilot.cli.output import console

    out = console()
    request = decoded.request
    title = _KIND_TITLES[request.kind.value]
    out.print(
        f"[bold]{title}[/bold]" + (f" [dim]via {escape(request.method)}[/dim]" if request.method else "")
    )
    if decoded.transaction:
        _render_transaction(decoded.transaction)
    if decoded.call:
        out.print(_call_tree(decoded.call, "Call"))
    for call in decoded.calls:
        out.print(_call_tree(call, f"Call {call.path}"))
    if decoded.typed_data:
        _render_typed_data(decoded.typed_data)
    if decoded.message:
        _render_message(decoded.message, request.kind.value == "hash")
    if request.sender and not (decoded.transaction and decoded.transaction.sender):
        out.print(f"Signer: {request.sender}")
    for finding in decoded.warnings:
        colour = "red" if finding.severity.rank >= 2 else "yellow" if finding.severity.rank == 1 else "dim"
        out.print(
            f"[{colour}]{finding.severity.value}: {escape(finding.title)}[/{colour}] "
            f"[dim]({finding.id})[/dim] {escape(finding.evidence)}"
        )
    out.print(f"[dim]Payload hash: {decoded.payload_hash}[/dim]")


def _ether(wei: int) -> str:
    text = format(Decimal(wei) / Decimal(10**18), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} ETH"


def _gwei(wei: int) -> str:
    text = format(Decimal(wei) / Decimal(10**9), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} gwei"


def _table(rows: list[tuple[str, str]]) -> Any:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def _render_transaction(tx: TransactionInfo) -> None:
    from rich.markup import escape

    from copilot.cli.output import console
    from copilot.decoding.transaction import TYPE_NAMES

    rows: list[tuple[str, str]] = [("Type", f"{tx.type} {TYPE_NAMES[tx.type]}")]
    rows.append(("Chain id", _chain_id_text(tx)))
    rows.append(("From", tx.sender or ("unrecoverable" if tx.signed else "not stated")))
    rows.append(("To", tx.to or "contract creation"))
    rows.append(("Value", _ether(tx.value)))
    if tx.nonce is not None:
        rows.append(("Nonce", str(tx.nonce)))
    if tx.gas is not None:
        rows.append(("Gas limit", f"{tx.gas:,}"))
    for label, fee in (
        ("Gas price", tx.gas_price),
        ("Max fee", tx.max_fee_per_gas),
        ("Max priority fee", tx.max_priority_fee_per_gas),
        ("Max blob fee", tx.max_fee_per_blob_gas),
    ):
        if fee is not None:
            rows.append((label, _gwei(fee)))
    data_len = (len(tx.data) - 2) // 2
    rows.append(("Data", f"{data_len:,} bytes" + (f" {tx.data[:74]}…" if data_len > 36 else f" {tx.data}")))
    for index, entry in enumerate(tx.access_list):
        rows.append((f"Access list {index}", f"{entry['address']} ({len(entry['storageKeys'])} keys)"))
    for index, blob_hash in enumerate(tx.blob_versioned_hashes):
        rows.append((f"Blob {index}", blob_hash))
    rows.append(("Signed", "yes" if tx.signed else "no"))
    if tx.hash:
        rows.append(("Tx hash", tx.hash))
    if tx.signing_hash:
        rows.append(("Signing hash", tx.signing_hash))
    out = console()
    out.print(_table([(k, escape(v)) for k, v in rows]))
    for index, auth in enumerate(tx.authorization_list):
        delegate = auth.address + (f" ({escape(auth.delegate_label)})" if auth.delegate_label else "")
        chain = (
            "[bold red]0: valid on EVERY chain; the account's code can be replaced on all of them[/bold red]"
            if auth.chain_id == 0
            else str(auth.chain_id)
        )
        out.print(
            f"[bold]Authorization {index}[/bold] (EIP-7702: the account's code will point to the delegate)"
        )
        out.print(
            _table(
                [
                    (
                        "  Authority",
                        auth.authority or "[red]invalid signature: nodes skip this authorization[/red]",
                    ),
                    ("  Delegate", delegate),
                    ("  Chain id", chain),
                    ("  Nonce", str(auth.nonce)),
                ]
            )
        )


def _chain_id_text(tx: TransactionInfo) -> str:
    if tx.chain_id is not None:
        return str(tx.chain_id)
    if tx.signed:  # only a legacy signature can leave the chain id out
        return "none (pre-EIP-155, replayable on any chain)"
    if tx.signing_hash is not None:  # a 6-field legacy payload: its signature would be pre-EIP-155
        return "none (pre-EIP-155 payload: its signature would be replayable on any chain)"
    # An object still to be completed; typed transactions carry the chain id inside what is signed.
    return "not stated yet; the wallet fills it"


def _call_tree(call: DecodedCall, title: str) -> Tree:
    from rich.tree import Tree

    tree = Tree(f"[bold]{title}[/bold]")
    _add_call(tree, call)
    return tree


def _add_call(parent: Tree, call: DecodedCall) -> None:
    from rich.markup import escape

    target = call.to or "new contract"
    if call.contract:
        target = f"{escape(call.contract)} ({target})"
    what = escape(call.function or call.selector or "") or "no calldata"
    head = f"{target} :: [bold]{what}[/bold] [dim]{call.status.value}[/dim]"
    if call.operation == "delegatecall":
        head += " [bold red]DELEGATECALL[/bold red]"
    if call.value:
        head += f"  value {_ether(call.value)}"
    node = parent.add(head)
    if call.intent:
        node.add(f"[green]Intent: {escape(call.intent)}[/green]")
    for field in call.fields:
        node.add(f"[green]{escape(field.label)}:[/green] {escape(field.value)}")
    if call.candidates:
        node.add(f"candidates: {escape(', '.join(call.candidates))}")
    for param in call.params:
        shown = param.display if param.display is not None else _short(param.value)
        node.add(f"{escape(param.name)} [dim]({escape(param.type)})[/dim]: {escape(shown)}")
    for note in call.notes:
        node.add(f"[yellow]note: {escape(note)}[/yellow]")
    for child in call.children:
        _add_call(node, child)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _render_typed_data(td: TypedDataInfo) -> None:
    import json

    from rich.markup import escape
    from rich.tree import Tree

    from copilot.cli.output import console

    out = console()
    contract = td.verifying_contract or "none"
    if td.verifying_contract_label:
        contract += f" ({td.verifying_contract_label})"
    domain_name = " ".join(str(td.domain.get(key, "")) for key in ("name", "version")).strip()
    rows = [
        ("Primary type", td.primary_type),
        ("Domain", domain_name or "unnamed"),
        ("Chain id", "none" if td.chain_id is None else str(td.chain_id)),
        ("Verifying contract", contract),
    ]
    if td.intent:
        rows.append(("Intent", td.intent))
    out.print(_table([(k, escape(v)) for k, v in rows]))
    for field in td.fields:
        out.print(f"  [green]{escape(field.label)}:[/green] {escape(field.value)}")
    tree = Tree("[bold]Message[/bold]")

    def add(node: Tree, value: Any) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(item, dict | list) and item:
                add(node.add(escape(str(key))), item)
            else:
                node.add(
                    f"{escape(str(key))}: {escape(_short(json.dumps(item) if not isinstance(item, str) else item))}"
                )

    add(tree, td.message)
    out.print(tree)
    for unsigned in td.unsigned:
        shown = _short(json.dumps(unsigned.value) if not isinstance(unsigned.value, str) else unsigned.value)
        out.print(
            f"[bold red]NOT SIGNED[/bold red] {escape(unsigned.path.removeprefix('typed_data.'))}: {escape(shown)} "
            "[dim](the types do not declare it: wallets show it, the signature does not cover it)[/dim]"
        )
    for order in td.orders:
        _render_order(order)
    for call in td.calls:
        out.print(_call_tree(call, f"Embedded call {call.path}"))
    out.print(
        _table(
            [
                ("Domain hash", td.domain_hash),
                ("Message hash", td.message_hash),
                ("Signing hash", td.signing_hash),
            ]
        )
    )


def _render_order(order: OrderInfo) -> None:
    from rich.markup import escape

    from copilot.cli.output import console
    from copilot.dates import utc_date

    def items(assets: list[OrderAsset]) -> str:
        return ", ".join(asset.display or str(asset.amount) for asset in assets) or "nothing"

    if order.expiry is None:
        expiry = "not stated in a form read here"
    elif order.expiry == 0:
        expiry = "never"
    elif order.expiry < 2**40:
        expiry = f"{utc_date(order.expiry) or 'past the year 9999'} ({order.expiry})"
    else:
        expiry = f"{order.expiry} (never, in practice)"
    rows = [
        ("Maker", order.maker or "the signer"),
        ("Gives", items(order.give)),
        ("Gets", items(order.take) if order.complete else "not read (see notes)"),
        ("Receiver", order.receiver or "the signer"),
    ]
    if order.fees:
        rows.append(("Also paid", ", ".join(f"{items([fee])} to {fee.recipient}" for fee in order.fees)))
    rows.append(("Expires", expiry))
    rows += [("Note", note) for note in order.notes]
    out = console()
    out.print(f"[bold]Order[/bold] {escape(order.protocol)} [dim]({escape(order.path)})[/dim]")
    out.print(_table([(k, escape(v)) for k, v in rows]))


def _render_message(message: MessageInfo, is_hash: bool) -> None:
    from rich.markup import escape

    from copilot.cli.output import console

    out = console()
    if is_hash:
        out.print(
            "[bold red]eth_sign of a raw 32-byte hash: it can be a transaction or permit; nothing shows what it "
            "authorises[/bold red]"
        )
        out.print(_table([("Hash", message.hex)]))
        return
    if message.text is not None:
        out.print("[bold]Text[/bold]")
        out.print(escape(message.text))
    else:
        out.print(_table([("Bytes", f"{(len(message.hex) - 2) // 2} bytes, not text: {message.hex[:130]}")]))
    if message.siwe:
        out.print("[bold]Sign-In with Ethereum[/bold]")
        out.print(_table([(key, escape(value)) for key, value in message.siwe.items()]))
    out.print(_table([("Signing hash", message.signing_hash)]))
