"""Requests that deal with a listed scam address or phishing domain, or a look-alike of a well-known
dapp domain (copilot.intel: the seed list, the lists the user imported, and the user's overrides).

Every address the request names is checked, wherever it stands: the same enumeration the policy's
deny lists use (`named_addresses`: targets, arguments at any depth, batch entries, typed-data fields
such as order recipients, the verifying contract, EIP-7702 delegates). Domains: a Sign-In-With-Ethereum
message's `domain` and `uri`, and the origin the wallet or `serve` passes (`review --origin`).
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.intel import Listing
from copilot.models import Finding
from copilot.policy.extract import named_addresses
from copilot.risk.catalogue import finding
from copilot.risk.facts import Facts, checksum
from copilot.risk.messages import siwe_fields


def listed_findings(facts: Facts) -> Iterator[Finding]:
    index = facts.threats
    now = facts.context.now
    seen: set[str] = set()
    for address, where in named_addresses(facts.decoded):
        key = address.lower()
        if key in seen:
            continue
        seen.add(key)
        # The bundled registry's contracts (tokens, routers) are never scams: public lists sometimes
        # name the token contract a phishing site called (ScamSniffer's combined.json names USDC).
        listings = index.address(key) if facts.known_contract(key) is None else []
        if listings:
            yield finding("address.listed_scam", f"{checksum(key)} at {where} is {_on(listings, now)}", where)
    for what, host, where in _domains(facts):
        listings = index.domain(host)
        if listings:
            listed = {listing.value for listing in listings} - {host}
            via = f" (listed: {', '.join(sorted(listed))})" if listed else ""
            yield finding("domain.listed_scam", f"{what} {host}{via} is {_on(listings, now)}", where)
            continue
        similar = index.look_alike(host)
        if similar is not None:
            yield finding(
                "domain.lookalike",
                f"{what} {host} {similar.how} {similar.imitates}, but is another site",
                where,
            )


def _on(listings: list[Listing], now: int) -> str:
    return "; ".join(listing.evidence(now) for listing in listings)


def _domains(facts: Facts) -> Iterator[tuple[str, str, str]]:
    """(what, host, location) for each distinct host the request comes from or signs in to."""
    from copilot.intel.domains import normalise_domain

    candidates: list[tuple[str, str, str]] = []
    if facts.context.origin:
        candidates.append(("origin", facts.context.origin, "origin"))
    message = facts.decoded.message
    if message is not None and message.siwe is not None:
        siwe = siwe_fields(message)
        candidates += [("SIWE domain", siwe.get("domain") or "", "message"), ("SIWE URI", siwe.get("uri") or "", "message")]
    seen: set[str] = set()
    for what, value, where in candidates:
        host = normalise_domain(value)
        if host is not None and host not in seen:
            seen.add(host)
            yield what, host, where
