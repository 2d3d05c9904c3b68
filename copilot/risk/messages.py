"""Message signatures: eth_sign of raw hashes, personal_sign text hiding a payload, and
Sign-In-With-Ethereum (EIP-4361) messages with a wrong chain, domain or field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from copilot.models import Finding, MessageInfo, RequestKind
from copilot.policy.extract import siwe_chain_id
from copilot.risk.catalogue import finding
from copilot.risk.facts import Facts, as_address, short

WHERE = "message"
_HEX_PAYLOAD = re.compile(r"(?:0x)?[0-9a-fA-F]{64,}")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")
_REQUIRED = ("domain", "address", "uri", "version", "chain_id", "nonce", "issued_at")


def message_findings(facts: Facts) -> Iterator[Finding]:
    decoded = facts.decoded
    if decoded.request.kind == RequestKind.HASH:
        yield finding("sign.raw_hash", f"eth_sign of the 32-byte hash {decoded.request.hash}", WHERE)
        return
    message = decoded.message
    if message is None or decoded.request.kind != RequestKind.PERSONAL_MESSAGE:
        return
    if message.siwe is not None:
        siwe = siwe_fields(message)
        yield from _hidden_payload(siwe.get("statement") or "", message, facts)
        yield from _siwe(siwe, facts)
    else:
        yield from _hidden_payload(message.text, message, facts)


def siwe_fields(message: MessageInfo) -> dict[str, str]:
    """The parsed SIWE fields under snake_case keys ("Chain ID" and "chainId" both read chain_id)."""
    return {_key(k): v for k, v in (message.siwe or {}).items()}


def _key(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[\s\-]+", "_", spaced).lower()


def _hidden_payload(text: str | None, message: MessageInfo, facts: Facts) -> Iterator[Finding]:
    size = (len(message.hex) - 2) // 2
    if text is None:
        what = "a 32-byte hash" if size == 32 else f"{size} bytes of binary data"
        yield finding("sign.hidden_payload", f"the message is not text but {what}: {message.hex[:20]}…", WHERE)
        return
    match = _HEX_PAYLOAD.search(text)
    if match:
        blob = match.group(0)
        yield finding("sign.hidden_payload", f"the text contains a {len(blob.removeprefix('0x')) // 2}-byte hex payload {blob[:18]}…", WHERE)


def _siwe(siwe: dict[str, str], facts: Facts) -> Iterator[Finding]:
    context = facts.context
    expected_chain = context.wallet_chain_id or context.chain.chain_id or facts.decoded.request.chain_id
    stated_chain = siwe_chain_id(facts.decoded)
    if expected_chain is not None and stated_chain is not None and stated_chain != expected_chain:
        source = "--chain-id" if context.wallet_chain_id else "your node" if context.chain.chain_id else "the request"
        yield finding(
            "siwe.chain_mismatch",
            f"the message says chain {stated_chain}, your wallet is on chain {expected_chain} ({source})",
            WHERE,
        )
    domain = (siwe.get("domain") or "").strip().lower()
    uri = siwe.get("uri") or ""
    host = (urlsplit(uri).netloc or "").lower()
    if domain and host and host != domain and not _same_site(host, domain):
        yield finding("siwe.domain_mismatch", f"domain {domain} but the sign-in URI is {uri}", WHERE)
    for problem in _bad_fields(siwe, facts):
        yield finding("siwe.bad_field", problem, WHERE)


def _same_site(host: str, domain: str) -> bool:
    """Ports and a user-info prefix aside, the URI's host is the domain (or a subdomain of it)."""
    host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    domain = domain.rsplit("@", 1)[-1].split(":", 1)[0]
    return host == domain or host.endswith("." + domain)


def _bad_fields(siwe: dict[str, str], facts: Facts) -> Iterator[str]:
    missing = [name for name in _REQUIRED if not siwe.get(name)]
    if missing:
        yield "missing field(s): " + ", ".join(missing)
    version = siwe.get("version")
    if version and version.strip() != "1":
        yield f"Version {version}: only 1 exists"
    address = siwe.get("address")
    if address and as_address(address.strip()) is None:
        yield f"Address {address} is not an address"
    elif address and facts.user and as_address(address.strip()) != facts.user:
        yield f"signs in as {short(address.strip())}, not as your account {short(facts.user)}"
    nonce = siwe.get("nonce")
    if nonce and not _NONCE.match(nonce.strip()):
        yield f"Nonce {nonce!r} is not at least 8 letters or digits (replayable)"
    now = facts.context.now
    expires = _timestamp(siwe.get("expiration_time"))
    if expires is not None and expires <= now:
        yield f"expired at {siwe.get('expiration_time')}"
    not_before = _timestamp(siwe.get("not_before"))
    if not_before is not None and not_before > now:
        yield f"not valid before {siwe.get('not_before')}"
    for name in ("issued_at", "expiration_time", "not_before"):
        if siwe.get(name) and _timestamp(siwe.get(name)) is None:
            yield f"{name.replace('_', ' ').title()} {siwe.get(name)!r} is not an RFC 3339 time"


def _timestamp(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None
