"""`txcopilot keys`, `txcopilot sign` and `txcopilot log`.

A private key is never read from the command line or the environment: `keys import` takes a
keystore file, or a key typed at a hidden prompt. Passwords come from a hidden prompt or
--password-file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from copilot.cli.llmserver import llm_server_options, llm_server_target, server_line
from copilot.cli.output import emit_json, err_console, stdin_is_interactive
from copilot.cli.review import checked_intent, intent_lines, intent_option, simulation_options
from copilot.errors import CopilotError, EnvironmentProblem, InputError, Interrupted, Refused

if TYPE_CHECKING:
    from copilot.models import Review
    from copilot.signing.auditlog import AuditLog
    from copilot.signing.signer import Signed

PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the keystore password from the first line of this file (byte for byte) instead of a hidden prompt.",
)


MAX_PASSWORD_BYTES = 4096  # read no more of a password file: /dev/zero or a wrong path must not fill memory


def read_password(
    password_file: Path | None, *, new: bool = False, what: str = "Keystore password", unanswered: str = "nothing was signed"
) -> bytes:
    """The password as bytes, as keystores take it: a file's first line byte for byte (like geth and
    cast, any encoding), a typed one as the terminal's bytes."""
    if password_file is not None:
        try:
            with password_file.open("rb") as handle:
                lines = handle.read(MAX_PASSWORD_BYTES + 1).splitlines()
        except OSError as exc:
            raise InputError(
                f"{password_file}: cannot read the password file ({exc.strerror or type(exc).__name__})",
                "check the path and its permissions",
            ) from None
        password = lines[0] if lines else b""
        if len(password) > MAX_PASSWORD_BYTES:
            raise InputError(
                f"{password_file}: the first line is longer than {MAX_PASSWORD_BYTES} bytes, so it is not a password file",
                "put the password alone on the file's first line",
            )
    elif stdin_is_interactive():
        typed = ask(what, hidden=True, unanswered=unanswered)
        if new and ask("Repeat for confirmation", hidden=True, unanswered=unanswered) != typed:
            raise InputError("the two passwords differ; nothing was stored", "run the command again")
        password = typed.encode("utf-8", "surrogateescape")  # undecodable terminal bytes come back as they were typed
    else:
        raise InputError("a password is needed and stdin is not a terminal", "pass --password-file FILE")
    if not password:
        raise InputError("the password is empty", "use a non-empty password")
    return password


def ask(question: str, *, hidden: bool = False, unanswered: str = "nothing was signed") -> str:
    """One answer typed at the terminal, on stderr. Keys typed before the question appeared are
    discarded first (a "y" typed ahead must not answer it). Ctrl-C is `Interrupted` (exit 130), Ctrl-D
    a refusal (exit 5): both are answers, and `sign` logs them as refusals."""
    import sys
    from contextlib import redirect_stdout

    from click import termui  # its prompt functions: input() and getpass, or CliRunner's stand-ins in tests

    flush_typeahead()
    try:
        if not hidden and sys.stdin.isatty():
            click.echo(f"{question}: ", nl=False, err=True)
            return _terminal_line()
        with redirect_stdout(sys.stderr):  # as click.prompt(err=True): the question and its echo on stderr
            return (termui.hidden_prompt_func if hidden else termui.visible_prompt_func)(f"{question}: ")
    except KeyboardInterrupt:
        click.echo(err=True)
        raise Interrupted(f"interrupted at the prompt (Ctrl-C); {unanswered}") from None
    except EOFError:
        click.echo(err=True)
        raise Refused(f"no answer (end of input, Ctrl-D); {unanswered}") from None


def _terminal_line() -> str:
    """A line from the terminal, like input(), except for a Ctrl-C pressed the instant the question
    appears: input() would block in read(2) with the interrupt pending and never raise it. Waiting in
    short select(2) calls runs Python between them, so the pending KeyboardInterrupt is raised."""
    import select
    import sys

    while not select.select([sys.stdin], [], [], 0.2)[0]:
        pass
    line = sys.stdin.readline()  # canonical mode: readable means a whole line, or end of input
    if not line:
        raise EOFError
    return line.rstrip("\n")


def flush_typeahead() -> None:
    """Discard pending keyboard input on a terminal (termios TCIFLUSH); anything else is left alone."""
    import sys
    import termios

    if stdin_is_interactive():
        with suppress(termios.error, OSError, ValueError):
            termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)


# --------------------------------------------------------------------------- keys

KEYS_EPILOG = """\b
Examples:
  txcopilot keys new hot                       new key, password at a hidden prompt
  txcopilot keys import ~/keystore.json --name cold
  txcopilot keys import --foundry deployer     from ~/.foundry/keystores/deployer
  txcopilot keys import --private-key --name old   key typed at a hidden prompt
  txcopilot keys list --json
  txcopilot keys address hot
  txcopilot keys remove hot
"""


@click.group(epilog=KEYS_EPILOG)
def keys() -> None:
    """Manage encrypted keystores (Web3 Secret Storage v3, scrypt), kept in the data dir with mode 0600."""


def _entry_json(entry: Any) -> dict[str, Any]:
    return {"name": entry.name, "address": entry.address, "path": str(entry.path), "kdf": entry.kdf, "broken": entry.broken}


def _print_entry(entry: Any, action: str, as_json: bool) -> None:
    if as_json:
        emit_json(_entry_json(entry))
    else:
        click.echo(f"{action} {entry.name}: {entry.address or 'broken keystore'} ({entry.path})")


@keys.command("new", epilog="\b\nExample:\n  txcopilot keys new hot --password-file pw.txt")
@click.argument("name")
@PASSWORD_FILE
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keys_new(name: str, password_file: Path | None, as_json: bool) -> None:
    """Create a new random key NAME, encrypted with a password."""
    from copilot.signing import keystore

    keystore.check_name(name)
    password = read_password(password_file, new=True, what="New keystore password", unanswered="nothing was stored")
    _print_entry(keystore.create_key(name, password), "created", as_json)


@keys.command(
    "import",
    epilog="""\b
Examples:
  txcopilot keys import ~/.ethereum/keystore/UTC--2024...  --name geth
  txcopilot keys import --foundry deployer
  txcopilot keys import --private-key --name old""",
)
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="Name to store it under (default: the file or foundry name).")
@click.option("--foundry", "foundry_name", help="Import ~/.foundry/keystores/NAME (what `cast wallet import` wrote).")
@click.option("--private-key", "from_prompt", is_flag=True, help="Type the private key at a hidden prompt.")
@PASSWORD_FILE
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keys_import(
    source: Path | None, name: str | None, foundry_name: str | None, from_prompt: bool, password_file: Path | None, as_json: bool
) -> None:
    """Import a geth, cast or ape keystore file, or a private key typed at a hidden prompt.

    The keystore's password must open it; that password stays the password of the imported key.
    """
    from copilot.signing import keystore

    if sum(bool(x) for x in (source, foundry_name, from_prompt)) != 1:
        raise InputError("give exactly one of SOURCE, --foundry NAME or --private-key", "see `txcopilot keys import --help`")
    if from_prompt:
        if not name:
            raise InputError("--private-key needs --name", "e.g. `txcopilot keys import --private-key --name old`")
        keystore.check_name(name)
        if not stdin_is_interactive():
            raise InputError("--private-key reads the key at a hidden prompt, and stdin is not a terminal")
        typed = ask("Private key (hidden)", hidden=True, unanswered="nothing was stored")
        try:
            password = read_password(password_file, new=True, what="Password for the new keystore", unanswered="nothing was stored")
            entry = keystore.import_private_key(name, typed, password)
        finally:
            from copilot.signing.hygiene import scrub

            scrub(typed)
        _print_entry(entry, "imported", as_json)
        return
    if source is not None and keystore.looks_like_private_key(str(source)):
        raise InputError(
            "SOURCE looks like a private key: keys are never taken on the command line (shell history, ps)",
            "use `txcopilot keys import --private-key --name NAME` and type it at the hidden prompt",
        )
    path = keystore.foundry_keystore(foundry_name) if foundry_name else source
    assert path is not None
    if not path.is_file():
        raise InputError(f"{path}: no such keystore file", "check the path (cast keeps them in ~/.foundry/keystores)")
    target = keystore.check_name(name or foundry_name or path.stem.removesuffix(".json"))
    password = read_password(password_file, what=f"Password of {path.name}", unanswered="nothing was stored")
    _print_entry(keystore.import_keyfile(target, path, password), "imported", as_json)


@keys.command("list", epilog="\b\nExample:\n  txcopilot keys list --json")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def keys_list(as_json: bool) -> None:
    """List stored keys: name, address, file. Nothing is decrypted. A file that is not a usable keystore
    is listed as broken, with the reason (`keys remove NAME` deletes it)."""
    from copilot.signing import keystore

    entries = keystore.list_keys()
    if as_json:
        emit_json([_entry_json(e) for e in entries])
        return
    if not entries:
        click.echo("no keys yet: `txcopilot keys new NAME` or `txcopilot keys import`")
    for e in entries:
        click.echo(f"{e.name}\tbroken: {e.broken}\t{e.path}" if e.broken else f"{e.name}\t{e.address}\t{e.path}")


@keys.command("address", epilog="\b\nExample:\n  txcopilot keys address hot")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keys_address(name: str, as_json: bool) -> None:
    """Print the address of key NAME (from the keystore file; nothing is decrypted)."""
    from copilot.signing import keystore

    entry = keystore.entry(name)
    if as_json:
        emit_json(_entry_json(entry))
    else:
        click.echo(entry.address)


@keys.command("remove", epilog="\b\nExample:\n  txcopilot keys remove hot --yes")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keys_remove(name: str, yes: bool, as_json: bool) -> None:
    """Delete key NAME's keystore, a broken one too. Without a backup the key is gone for good."""
    from copilot.signing import keystore

    entry = keystore.listed_entry(name)
    if not yes:
        if not stdin_is_interactive():
            raise InputError("removing a key needs confirmation and stdin is not a terminal", "pass --yes")
        what = f"broken: {entry.broken}" if entry.broken else entry.address
        typed = ask(f"Delete {name} ({what}) for good? Type its name to confirm", unanswered="the key was kept")
        if typed.strip() != name:
            raise Refused("not confirmed; the key was kept")
    _print_entry(keystore.remove_key(name), "removed", as_json)


# --------------------------------------------------------------------------- sign

SIGN_EPILOG = """\b
Examples:
  txcopilot sign tx.json --account hot --rpc http://127.0.0.1:8545
  txcopilot sign tx.json --account hot --rpc http://127.0.0.1:8545 --broadcast
  txcopilot sign tx.json --account hot --rpc http://127.0.0.1:8545 --broadcast --receipt-timeout 600
  txcopilot sign permit.json --account hot --json --password-file pw.txt
  cat request.json | txcopilot sign - --account hot --no-llm --password-file pw.txt
  txcopilot sign tx.json --account hot --rpc http://127.0.0.1:8545 --intent "pay alice 50 USDC"

\b
The verdict decides: block refuses (only a policy edit changes that), confirm asks you to type
"y" (or, for high risk, the last 4 hex characters of the spender or recipient), allow signs within
the policy's daily limits. eth_sign of raw hashes is always refused. --broadcast refuses, before
signing, a nonce that is not the account's next one at --rpc (a gap, or already used).
--intent "..." says what you mean to do: a mismatch blocks or asks, as in `review`; a policy with
[intent] required = true refuses to sign without an --intent the request matches.
Exit status 5 means nothing was signed.
"""


@click.command(epilog=SIGN_EPILOG)
@click.argument("input_arg", metavar="INPUT")
@click.option("--account", required=True, help="Name of the local key to sign with (see `txcopilot keys list`).")
@click.option("--policy", help="Policy name or path (default: config's [review] policy).")
@click.option("--rpc", help="Your own node: fills nonce, gas and fees, and --broadcast sends there.")
@click.option("--no-llm", is_flag=True, help="Skip the local model's explanation.")
@click.option("--model", help="GGUF model path for the explanation.")
@click.option("--no-simulate", is_flag=True, help="Do not simulate the transaction on --rpc before signing.")
@PASSWORD_FILE
@click.option("--broadcast", is_flag=True, help="Send the signed transaction to --rpc and wait for the receipt.")
@click.option(
    "--receipt-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="With --broadcast: how long to wait for the receipt before leaving the transaction to the node.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the signed result as JSON (the review goes to stderr).")
@intent_option
@llm_server_options
def sign(
    input_arg: str,
    account: str,
    policy: str | None,
    rpc: str | None,
    no_llm: bool,
    model: str | None,
    no_simulate: bool,
    password_file: Path | None,
    broadcast: bool,
    receipt_timeout: float,
    as_json: bool,
    intent: str | None,
    llm_url: str | None,
    llm_dialect: str | None,
    llm_model: str | None,
) -> None:
    """Review INPUT, then sign it with key ACCOUNT if the policy and you agree."""
    from copilot.config import load_config
    from copilot.inputs import parse_request, read_input
    from copilot.models import RequestKind
    from copilot.pipeline import ReviewOptions, review_request
    from copilot.policy.loader import load_policy
    from copilot.signing import keystore
    from copilot.signing.auditlog import AuditLog, payload_record, review_record
    from copilot.signing.confirmation import confirmation_for
    from copilot.signing.ledger import SpendLedger
    from copilot.signing.limits import plan_spend
    from copilot.signing.signer import Signer, SignJob, check_signable, unsigned_authorizations

    config = load_config()
    settings = config.review
    policy = policy or settings.policy
    rpc = rpc or settings.rpc
    if broadcast and not rpc:
        raise InputError("--broadcast needs --rpc URL (your own node)")
    llm_server = llm_server_target(llm_url, llm_dialect, llm_model, model_path=model, use_llm=not no_llm)
    entry = keystore.entry(account)
    request = parse_request(read_input(input_arg))
    if broadcast and request.kind in (RequestKind.TYPED_DATA, RequestKind.PERSONAL_MESSAGE):
        raise InputError(f"--broadcast sends transactions; this request is a {request.kind.value} signature", "drop --broadcast")
    if rpc:
        from copilot.signing.fill import fill_transaction

        request = fill_transaction(request, rpc, entry.address)
    options = ReviewOptions(
        policy=policy,
        rpc=rpc,
        user=entry.address,
        use_llm=not no_llm,
        model=model,
        require_isolation=not config.model.accept_weaker_isolation,
        simulate=config.simulate.enabled and not no_simulate,
        simulation=simulation_options(config.simulate),
        llm_server=llm_server,
        intent=checked_intent(intent),
    )
    review = review_request(request, options)
    log = AuditLog()
    log.append("review", review_record(review, entry.address))
    try:
        check_signable(review.decoded, entry.address)
        if review.verdict == "block":
            raise Refused(
                f"blocked by {review.decided_by}; nothing was signed",
                f"no flag overrides a block: only editing the policy ({review.policy}) can",
            )
        if broadcast and rpc:
            _check_nonce_is_next(review, rpc, entry.address)
        policy_obj = load_policy(policy)
        _check_intent_required(review, policy_obj.spec.intent.required)
        plan = plan_spend(review, policy_obj)
        ledger = SpendLedger(logged=log.signatures_since)  # the log's signatures vouch for the ledger
        limit_findings = plan.precheck(ledger.spent(entry.address))
        delegation = bool(unsigned_authorizations(review.decoded.transaction))
        need = confirmation_for(review, signs_delegation=delegation, account=entry.address)
        if limit_findings and not need.required:
            need = confirmation_for(review.model_copy(update={"verdict": "confirm"}), signs_delegation=delegation, account=entry.address)
        _show_review(review, limit_findings, delegation, entry.address)
        if need.required:
            if not stdin_is_interactive():
                raise Refused(
                    f"this request needs your typed confirmation ({review.verdict}), and stdin is not a terminal; nothing was signed",
                    "run `txcopilot sign` in a terminal",
                )
            answer = ask(need.prompt)
            if not need.accepts(answer):
                raise Refused("not confirmed; nothing was signed")
            log.append("confirmation", {**payload_record(review), "typed": need.expected, "target": need.target})
        password = read_password(password_file)
        job = SignJob.from_review(review, account, entry.address, plan.amounts)
        signed = Signer(ledger, log).sign(job, password, plan.check)
    except CopilotError as exc:  # refused, wrong password, unsignable: the log says why nothing was signed
        _log_refusal(log, review, exc.one_line())
        raise
    except Exception as exc:  # a bug: still on record; only the type, as a library's message may quote its inputs
        _log_refusal(log, review, f"internal error ({type(exc).__name__})")
        raise
    _remember_counterparties(review)
    if broadcast and signed.raw_transaction and rpc:
        _broadcast(signed, signed.raw_transaction, rpc, receipt_timeout, log, as_json)
    _print_signed(signed, as_json)


def _check_intent_required(review: Review, required: bool) -> None:
    """[intent] required = true: no signature without an --intent the request matches (exit 5)."""
    if not required or (review.intent is not None and review.intent.outcome == "match"):
        return
    if review.intent is None:
        raise Refused(
            f"the policy ({review.policy}) requires --intent; nothing was signed",
            'say what you mean to do, e.g. --intent "pay alice 50 USDC"',
        )
    raise Refused(
        f"the policy ({review.policy}) requires a matching --intent, and this one is {review.intent.outcome}; nothing was signed",
        "see the intent.* finding for why",
    )


def _check_nonce_is_next(review: Review, rpc: str, address: str) -> None:
    """Refuse, before signing, a nonce the node cannot mine now: after a gap it would wait unmined in the
    pool with no word to the user; a used one never mines (or replaces a pending transaction)."""
    from copilot.chain.node import NodeClient

    tx = review.decoded.transaction
    if tx is None or tx.nonce is None:
        return
    next_nonce = NodeClient(rpc).nonce(address, "pending")
    if tx.nonce > next_nonce:
        raise Refused(
            f"nonce {tx.nonce} leaves a gap: the account's next nonce is {next_nonce} (pending, at {rpc}), "
            "so the node would hold the transaction unmined; nothing was signed",
            "send the missing transactions first, or drop --broadcast to sign it for later",
        )
    if tx.nonce < next_nonce:
        raise Refused(
            f"nonce {tx.nonce} is already used: the account's next nonce is {next_nonce} (pending, at {rpc}); nothing was signed",
            f"leave the nonce out of the request and --rpc fills in {next_nonce}",
        )


def _broadcast(signed: Signed, raw_transaction: str, rpc: str, timeout: float, log: AuditLog, as_json: bool) -> None:
    """Send to the user's node and wait for the receipt, saying so on stderr. Signed and recorded already:
    whatever goes wrong, the signed transaction is still printed so the user does not lose it."""
    import time

    from copilot.chain.node import NodeClient
    from copilot.errors import EnvironmentProblem
    from copilot.signing.fill import receipt_summary

    node = NodeClient(rpc)
    try:
        tx_hash = node.send_raw_transaction(raw_transaction)
    except EnvironmentProblem as exc:
        log.append("broadcast", {"transaction_hash": signed.transaction_hash, "error": exc.one_line()})
        _print_signed(signed, as_json)
        raise EnvironmentProblem(f"signed, but not sent: {exc.message}", "the signed transaction is on stdout; send it later") from None
    started = time.monotonic()
    try:
        with _waiting(f"waiting up to {timeout:g} s for the receipt of {tx_hash}"):
            receipt = node.wait_for_receipt(tx_hash, timeout=timeout)
    except EnvironmentProblem as exc:
        signed.broadcast = {"transaction_hash": tx_hash, "status": "pending"}
        log.append("broadcast", {**signed.broadcast, "error": exc.one_line()})
        _print_signed(signed, as_json)
        waited = time.monotonic() - started
        reason = f"it is not yet mined after {timeout:g} s" if waited >= timeout else f"no receipt yet ({exc.message})"
        raise EnvironmentProblem(
            f"sent {tx_hash}, but {reason}",
            f"the node may still mine it: check with `cast receipt {tx_hash} --rpc-url {rpc}`; do not sign it again",
        ) from None
    signed.broadcast = receipt_summary(tx_hash, receipt)
    log.append("broadcast", signed.broadcast)


@contextmanager
def _waiting(message: str) -> Iterator[None]:
    """A spinner on a terminal, one plain line otherwise (logs, CI): a wait is never silent."""
    out = err_console()
    if out.is_terminal:
        with out.status(message):
            yield
    else:
        click.echo(f"{message} ...", err=True)
        yield


def _print_signed(signed: Signed, as_json: bool) -> None:
    """The signature on stdout (the receipt line on stderr), or all of it as JSON."""
    if as_json:
        emit_json(signed)
        return
    click.echo(signed.raw_transaction or signed.signature or "")
    if signed.broadcast and signed.broadcast["status"] != "pending":
        receipt = signed.broadcast
        click.echo(
            f"sent {signed.transaction_hash}: {receipt['status']} in block {receipt['block_number']}, gas used {receipt['gas_used']}",
            err=True,
        )


def _remember_counterparties(review: Review) -> None:
    """Signed (logged, then ledgered): later reviews know these addresses, offline.

    Only a convenience for first-interaction and poisoning checks, so a history that cannot be written
    is a warning: it must never cost the user a signature that is already recorded.
    """
    import sqlite3

    from copilot.state.history import record_interactions

    try:
        record_interactions(review.decoded)
    except (OSError, sqlite3.Error) as exc:
        click.echo(f"warning: the interaction history was not updated ({exc})", err=True)


def _log_refusal(log: AuditLog, review: Review, reason: str) -> None:
    """Record why nothing was signed. A log that cannot take it does not change the refusal, and the
    error that caused the refusal (maybe this very log failing) is the one the user must see."""
    from copilot.signing.auditlog import payload_record

    with suppress(EnvironmentProblem):
        log.append("refusal", {**payload_record(review), "verdict": review.verdict, "reason": reason})


def _show_review(review: Review, limit_findings: list[Any], delegation: bool, account: str) -> None:
    """The review, on stderr: stdout stays for the signature (and JSON)."""
    from copilot.llm.explain import MODEL_NOT_RUN
    from copilot.llm.server import SERVER_NOTE

    out = err_console()
    colour = {"allow": "green", "confirm": "yellow", "block": "red"}[review.verdict]
    out.print(f"[bold {colour}]{review.verdict.upper()}[/] risk {review.risk_score}/100 - decided by {review.decided_by}")
    for finding in [*review.findings, *limit_findings]:
        out.print(f"  [{finding.severity.value}] {finding.title}: {finding.evidence}", markup=False)
    for line in intent_lines(review):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    from copilot.cli.simulated import balance_lines

    for line in balance_lines(review):
        out.print(line, markup=False)
    if review.explanation:
        out.print(review.explanation, markup=False)
    if review.explanation_note and review.explanation_note.startswith((MODEL_NOT_RUN, SERVER_NOTE)):
        out.print(review.explanation_note, style="yellow", markup=False, highlight=False, soft_wrap=True)
    if (server := server_line(review)) is not None:
        out.print(server, style="yellow", markup=False, highlight=False, soft_wrap=True)
    if delegation:
        from copilot.signing.confirmation import delegations, effective_delegation

        tx = review.decoded.transaction
        chosen = effective_delegation(tx, account)
        out.print(
            "[bold red]WARNING: EIP-7702 delegation.[/] Signing this authorization makes your account run the code at "
            f"{chosen.delegate if chosen else '?'}. That code can move every asset the account holds, on every future "
            "transaction, until you delegate again. Only continue if you wrote or fully trust that contract."
        )
        for d in delegations(tx, account) if tx else []:
            state = "TAKES EFFECT" if d.takes_effect else d.why_not
            out.print(f"  authorization[{d.index}]: delegate {d.delegate}, chain {d.chain_id}, nonce {d.nonce}: {state}", markup=False, soft_wrap=True)


# --------------------------------------------------------------------------- log

LOG_EPILOG = """\b
Examples:
  txcopilot log show
  txcopilot log show --json --last 20
  txcopilot log verify
  txcopilot log rebuild-ledger
"""


@click.group("log", epilog=LOG_EPILOG)
def log() -> None:
    """The hash-chained audit log of reviews, confirmations, refusals and signatures."""


@log.command("show", epilog="\b\nExample:\n  txcopilot log show --last 10")
@click.option("--last", type=click.IntRange(min=1), help="Only the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def log_show(last: int | None, as_json: bool) -> None:
    """Show the audit log's entries, oldest first."""
    from copilot.signing.auditlog import AuditLog

    entries = AuditLog().entries()
    if last:
        entries = entries[-last:]
    if as_json:
        emit_json(entries)
        return
    if not entries:
        click.echo("the audit log is empty")
    for entry in entries:
        data = entry["data"] if isinstance(entry.get("data"), dict) else {}
        detail = ", ".join(f"{k}={v}" for k, v in data.items() if k in ("verdict", "reason", "transaction_hash", "status", "error", "payload_hash", "account"))
        click.echo(f"{entry.get('seq')}\t{entry.get('time')}\t{entry.get('event')}\t{detail}")


@log.command("rebuild-ledger", epilog="\b\nExample:\n  txcopilot log rebuild-ledger --json")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def log_rebuild_ledger(as_json: bool) -> None:
    """Rebuild the spend ledger from the audit log's signatures, when `sign` says it does not match.

    The log must verify first. Every logged signature becomes a signed reservation under its own id,
    at the time it was logged, with the amounts it recorded; the old ledger file is kept beside the
    new one (ledger.sqlite3.replaced-TIME). Reservations that never reached the log (refused, or
    stopped before logging) were never released, so they are not carried over.
    """
    import time

    from copilot.errors import EnvironmentProblem
    from copilot.signing.auditlog import AuditLog
    from copilot.signing.ledger import WINDOW_SECONDS, SpendLedger

    log = AuditLog()
    verified = log.verify()
    if not verified.ok:
        raise EnvironmentProblem(
            f"the audit log fails verification ({verified.problems[0]}), so the ledger cannot be rebuilt from it",
            "see `txcopilot log verify`",
        )
    signatures = log.signatures()
    cutoff = time.time() - WINDOW_SECONDS
    for signature in signatures:
        if signature.amounts is None and signature.created_at >= cutoff:
            ready = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(signature.created_at + WINDOW_SECONDS))
            raise EnvironmentProblem(
                f"log entry {signature.seq} is a signature of the last 24 hours written by an older txcopilot, "
                "which did not record its amounts, so the ledger cannot count it",
                f"nothing was changed; run `txcopilot log rebuild-ledger` again after {ready}",
            )
    ledger = SpendLedger()
    kept = ledger.rebuild(signatures)
    recent = sum(1 for s in signatures if s.created_at >= cutoff)
    if as_json:
        emit_json({"ledger": str(ledger.path), "signatures": len(signatures), "last_24_hours": recent, "previous": str(kept) if kept else None})
        return
    click.echo(f"rebuilt {ledger.path} from the audit log: {len(signatures)} signatures, {recent} of them in the last 24 hours")
    if kept:
        click.echo(f"the previous ledger is kept as {kept}")


@log.command("verify", epilog="\b\nExample:\n  txcopilot log verify --json")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def log_verify(as_json: bool) -> None:
    """Check the hash chain (any edited, reordered, inserted or deleted entry) and match it to the ledger (exit 4)."""
    from copilot.errors import EnvironmentProblem
    from copilot.signing.auditlog import AuditLog, check_against_ledger
    from copilot.signing.ledger import SpendLedger

    log = AuditLog()
    result = log.verify()
    if result.ok:
        problems, notes = check_against_ledger(log.entries(), SpendLedger().reservations())
        result.problems += problems
        result.notes += notes
        result.ok = not problems
    if as_json:
        emit_json({"ok": result.ok, "entries": result.entries, "head": result.head, "problems": result.problems, "notes": result.notes})
    else:
        for problem in result.problems:
            click.echo(f"problem: {problem}")
        for note in result.notes:
            click.echo(f"note: {note}")
        if result.ok:
            click.echo(f"ok: {result.entries} entries, head {result.head}")
    if not result.ok:
        raise EnvironmentProblem(f"the audit log failed verification ({len(result.problems)} problems)", "see the lines above")
