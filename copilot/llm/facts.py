"""The facts a review states, in lines the model reads and the grounding check compares against.

Only decoded fields, findings and the policy decision go in: never keys, keystore paths or user
files. Strings a dApp or token creator controls (token names and symbols, ENS names, EIP-712
string fields, personal_sign text, labels from the user's node) are kept apart as untrusted data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from copilot.llm.grounding import FactIndex, ungrounded_terms
from copilot.models import DecodedCall, Review

_HEX = re.compile(r"^0x[0-9a-fA-F]*$")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")
# A raw integer longer than this costs the model a token per digit and says nothing its display
# ("unlimited USDC", "1,000 DAI") does not.
MAX_RAW_DIGITS = 20
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_WORD = re.compile(r"[a-z]{3,}")
# Words that phrase evidence without adding to it ("approve lets 0x… spend an unlimited amount").
_FILLER = {
    *("the", "and", "for", "with", "this", "that", "these", "lets", "let", "can", "may", "spend"),
    *("spends", "has", "have", "was", "are", "were", "from", "into", "its", "their", "any", "all"),
    *("but", "you", "your", "one", "who", "which", "what", "when", "than", "then", "there"),
    *("would", "could", "will"),
}
# Chat-template control tokens of common model families, and our own fence markers: untrusted text
# must not be able to open a new turn or close its fence.
_CONTROL = re.compile(
    r"<\|[^|>]{0,40}\|>|</?(?:s|untrusted|start_of_turn|end_of_turn)>|\[/?INST\]", re.IGNORECASE
)
MAX_UNTRUSTED_CHARS = 240
MAX_FACT_CHARS = 3600  # about 1,200 tokens: the prompt fits a 2,048-token context with room to answer

KEY_PARAM_ROLES = {
    "spender": ("spender", "operator", "guy", "usr"),
    "recipient": ("to", "recipient", "dst", "receiver", "_to"),
    "amount": ("amount", "value", "wad", "rawamount", "_value", "amountin", "allowed"),
}


@dataclass
class Untrusted:
    where: str  # what field it came from, e.g. "personal_sign text"
    text: str  # sanitised: no control tokens, bounded length: what the model sees
    raw: str  # as supplied (bounded): what the injection detector reads


@dataclass
class ReviewFacts:
    lines: list[str] = field(default_factory=list)
    untrusted: list[Untrusted] = field(default_factory=list)
    key_facts: dict[str, list[str]] = field(default_factory=dict)  # role -> values the user must hear
    # Finding evidence that only repeats the lines above: not worth the model's tokens, but the
    # grounding check still reads it.
    repeated: list[str] = field(default_factory=list)

    def key(self, role: str, value: str | None) -> None:
        if value:
            self.key_facts.setdefault(role, [])
            if value not in self.key_facts[role]:
                self.key_facts[role].append(value)

    def text(self, max_chars: int = MAX_FACT_CHARS) -> str:
        """The facts as prompt lines; past `max_chars` the middle (decoded details) is cut, never the
        findings and verdict at the end."""
        full = "\n".join(self.lines)
        if len(full) <= max_chars:
            return shorten_addresses(full)
        tail_start = next(
            (i for i, line in enumerate(self.lines) if line.startswith("- findings")), len(self.lines)
        )
        tail = self.lines[tail_start:]
        budget = max_chars - sum(len(line) + 1 for line in tail)
        head: list[str] = []
        for line in self.lines[:tail_start]:
            if len(line) + 1 > budget:
                break
            head.append(line)
            budget -= len(line) + 1
        skipped = tail_start - len(head)
        return shorten_addresses("\n".join([*head, f"- ({skipped} more decoded lines not shown)", *tail]))

    def full_text(self) -> str:
        """Every fact, addresses in full: what the grounding check compares the answer against."""
        return "\n".join([*self.lines, *self.repeated])


def shorten_addresses(text: str) -> str:
    """Every address as 0x1234…abcd, except lookalikes (address poisoning: two addresses that share
    the short form), which stay in full every time. A full address costs the model ~40 tokens, the
    short one ~12; the grounding check and the grammar accept the short form of any fact."""
    forms: dict[str, set[str]] = {}
    for address in _ADDRESS.findall(text):
        forms.setdefault(_short(address).lower(), set()).add(address.lower())
    lookalikes = {address for group in forms.values() if len(group) > 1 for address in group}
    return _ADDRESS.sub(lambda m: m.group(0) if m.group(0).lower() in lookalikes else _short(m.group(0)), text)


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def sanitise(text: str) -> str:
    """Untrusted text as inert data: control tokens and fence markers removed, one line, bounded."""
    cleaned = _CONTROL.sub(" ", text)
    cleaned = " ".join(cleaned.replace("<", "‹").replace(">", "›").split())
    if len(cleaned) > MAX_UNTRUSTED_CHARS:
        cleaned = cleaned[: MAX_UNTRUSTED_CHARS - 1] + "…"
    return cleaned


def fence(text: str) -> str:
    return f"<untrusted>{sanitise(text)}</untrusted>"


def is_free_text(value: Any) -> bool:
    """A string that could carry words (and so instructions): not hex, not a number."""
    return (
        isinstance(value, str) and bool(value.strip()) and not _HEX.match(value) and not _NUMBER.match(value)
    )


def collect_facts(review: Review) -> ReviewFacts:
    facts = ReviewFacts()
    decoded = review.decoded
    request = decoded.request
    facts.lines.append(f"- request: {request.kind.value.replace('_', ' ')}")
    chain_id = request.chain_id or (decoded.transaction.chain_id if decoded.transaction else None)
    if chain_id is not None:
        facts.lines.append(f"- chain id: {chain_id}")
    tx = decoded.transaction
    if tx is not None:
        if tx.sender:
            facts.lines.append(f"- from (your account): {tx.sender}")
        if tx.value:  # "0 ETH" only tempted small models to write "you send 0 ETH" about an approval
            facts.lines.append(f"- value sent: {_ether(tx.value)} ETH")
        for index, auth in enumerate(tx.authorization_list):
            label = f" ({auth.delegate_label})" if auth.delegate_label else ""
            facts.lines.append(
                f"- EIP-7702 authorization {index}: your account's code will point to {auth.address}{label}, "
                f"chain id {auth.chain_id}"
            )
            facts.key("delegate", auth.address)
    for call in decoded.all_calls():
        _call_facts(facts, call)
    if decoded.typed_data is not None:
        _typed_data_facts(facts, decoded.typed_data.model_dump())
    if decoded.message is not None:
        message = decoded.message
        if message.text is not None:
            facts.lines.append(
                f"- message to sign (personal_sign text): {_untrusted(facts, 'personal_sign text', message.text)}"
            )
        else:
            facts.lines.append(f"- message to sign: {len(message.hex) // 2 - 1} raw bytes, not readable text")
        for key, value in (message.siwe or {}).items():
            facts.lines.append(f"- sign-in field {key}: {_untrusted(facts, f'sign-in {key}', value)}")
    if review.simulation is not None:
        _simulation_facts(facts, review)
    if review.findings:
        facts.lines.append("- findings of the deterministic checks:")
        for finding in review.findings:
            # Titles come from the catalogue or the user's policy; evidence quotes the request
            # (token symbols, ERC-7730 texts, the injected phrase itself): fenced as untrusted.
            line = f"  - {finding.id} ({finding.severity.value}): {sanitise(finding.title)}"
            if adds_to(finding.evidence, [*facts.lines, line]):
                line += f"; {fence(finding.evidence)}"
            else:
                facts.repeated.append(finding.evidence)
            facts.lines.append(line)
    else:
        facts.lines.append("- findings of the deterministic checks: none")
    facts.lines.append(f"- policy verdict: {review.verdict}, risk score {review.risk_score}/100")
    return facts


def _simulation_facts(facts: ReviewFacts, review: Review) -> None:
    """What the simulation on the user's node showed. A revert reason and a symbol the token reported
    about itself come from the contracts: untrusted."""
    from copilot.policy.extract import request_chain_id
    from copilot.policy.simulated import describe

    report = review.simulation
    assert report is not None
    if report.status == "not_simulated":
        facts.lines.append(f"- simulation: not simulated ({sanitise(report.error or 'no reason')})")
        return
    if report.reverted:
        facts.lines.append(f"- simulation: the transaction would fail: {_untrusted(facts, 'revert reason', report.revert_reason)}")
        return
    chain_id = request_chain_id(review.decoded)
    changes = report.account_changes()
    for change in changes:
        text = describe(change, chain_id)
        if change.symbol_source == "token":
            text = _untrusted(facts, "token symbol from the simulation", text)
        facts.lines.append(f"- simulated: your account {'receives' if change.amount > 0 else 'sends'} {text}")
    for grant in report.approvals:
        facts.lines.append(f"- simulated: {grant.spender} gets a {grant.kind} grant on {grant.token} from {grant.owner}")
    if not changes and not report.approvals:
        facts.lines.append("- simulated: no asset leaves or enters your account")


def adds_to(evidence: str, lines: list[str]) -> bool:
    """Whether a finding's evidence says something the lines do not: an address, amount, token or
    protocol they lack, or a word ("has no code", "blocklist") they never use."""
    known = "\n".join(lines)
    if ungrounded_terms(evidence, FactIndex(known)):
        return True
    words = set(_WORD.findall(known.lower())) | _FILLER
    return any(word not in words for word in _WORD.findall(evidence.lower()))


def _call_facts(facts: ReviewFacts, call: DecodedCall) -> None:
    where = "" if call.path == "call" else f" [{call.path}]"
    target = call.to or "(new contract)"
    label = f" ({call.contract})" if call.contract else ""
    what = call.function or (call.selector and f"unknown function {call.selector}") or "plain transfer"
    line = f"- call{where}: {what} on {target}{label}"
    if call.operation == "delegatecall":
        line += " as DELEGATECALL (runs code with your account's power)"
    if call.value:
        line += f", sending {_ether(call.value)} ETH"
    if call.intent:
        line += f"; intent: {sanitise(call.intent)}"
    facts.lines.append(line)
    if call.contract or call.to:
        facts.key("contract", call.contract or call.to)
    shown: set[str] = set()
    for param in call.params:
        shown.update(str(v).lower() for v in (param.value, param.display) if v is not None)
        if param.display is not None:
            # Displays are built from token metadata, which the token's creator chose: fenced too.
            text = _untrusted(facts, f"parameter {param.name}", param.display)
            raw = _plain(param.value)
            if len(raw) <= MAX_RAW_DIGITS:
                text += f" (raw {raw})"
        else:
            text = _value(facts, f"parameter {param.name}", param.value)
        facts.lines.append(f"  - {param.name} ({param.type}): {text}")
        _key_param(facts, call, param.name, param.value, param.display)
    for display in call.fields:
        if str(display.value).lower() in shown:
            continue  # an ERC-7730 field that repeats a parameter above
        facts.lines.append(
            f"  - {sanitise(display.label)}: {_untrusted(facts, display.label, display.value)}"
        )


def _key_param(facts: ReviewFacts, call: DecodedCall, name: str, value: Any, display: str | None) -> None:
    lowered = name.lower().lstrip("_")
    for role, names in KEY_PARAM_ROLES.items():
        if lowered in {n.lstrip("_") for n in names}:
            if role == "amount":
                facts.key("amount", display or _plain(value))
                if call.contract:
                    facts.key("token", call.contract)
            else:
                facts.key(role, _plain(value))


def _typed_data_facts(facts: ReviewFacts, typed: dict[str, Any]) -> None:
    facts.lines.append(f"- typed data (EIP-712) of type {sanitise(str(typed['primary_type']))}")
    if typed.get("verifying_contract"):
        label = typed.get("verifying_contract_label")
        facts.lines.append(
            f"- verifying contract: {typed['verifying_contract']}{f' ({label})' if label else ''}"
        )
        facts.key("contract", label or typed["verifying_contract"])
    for key, value in typed.get("domain", {}).items():
        if key != "verifyingContract":
            facts.lines.append(f"- domain {key}: {_value(facts, f'domain {key}', value)}")
    _walk_message(facts, "message", typed.get("message", {}))
    for unsigned in typed.get("unsigned", []):
        where = str(unsigned["path"]).removeprefix("typed_data.")
        facts.lines.append(f"  - NOT SIGNED (the types do not declare it) {sanitise(where)}: {_value(facts, where, unsigned['value'])}")
    for order in typed.get("orders", []):
        facts.lines.append(f"- order ({sanitise(order['protocol'])}): {_order_line(order)}")
    for display in typed.get("fields", []):
        facts.lines.append(
            f"  - {sanitise(display['label'])}: {_untrusted(facts, display['label'], display['value'])}"
        )


def _order_line(order: dict[str, Any]) -> str:
    """'gives 100 WETH; gets 0.000001 USDC, paid to 0x…; expires at 1764086400' (decoded amounts and
    bundled token symbols: nothing the dApp names itself)."""

    def items(assets: list[dict[str, Any]]) -> str:
        return ", ".join(sanitise(str(a.get("display") or a.get("amount"))) for a in assets) or "nothing"

    gets = items(order["take"]) if order.get("complete", True) else "not read"
    expiry = order.get("expiry")
    when = "never" if expiry == 0 else "not stated" if expiry is None else f"at unix time {expiry}"
    return (
        f"gives {items(order['give'])}; gets {gets}, paid to {sanitise(str(order.get('receiver') or 'the signer'))}; "
        f"expires {when}"
    )


def _walk_message(facts: ReviewFacts, path: str, value: Any, depth: int = 0) -> None:
    if depth > 4:
        facts.lines.append(f"  - {path}: (nested deeper, not shown)")
    elif isinstance(value, dict):
        for key, child in list(value.items())[:24]:
            _walk_message(facts, f"{path}.{key}", child, depth + 1)
    elif isinstance(value, list):
        for index, child in enumerate(value[:8]):
            _walk_message(facts, f"{path}[{index}]", child, depth + 1)
    else:
        facts.lines.append(f"  - {path}: {_value(facts, f'EIP-712 field {path}', value)}")
        leaf = path.rsplit(".", 1)[-1].lower()
        for role, names in KEY_PARAM_ROLES.items():
            if leaf in names and not is_free_text(value):
                facts.key(role, _plain(value))


def _value(facts: ReviewFacts, where: str, value: Any) -> str:
    return _untrusted(facts, where, value) if is_free_text(value) else _plain(value)


def _untrusted(facts: ReviewFacts, where: str, value: Any) -> str:
    facts.untrusted.append(Untrusted(where, sanitise(str(value)), str(value)[:2000]))
    return fence(str(value))


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain(v) for v in value[:8]) + (", …" if len(value) > 8 else "") + "]"
    return sanitise(str(value))


def _ether(wei: int) -> str:
    return format((Decimal(wei) / 10**18).normalize(), "f")
