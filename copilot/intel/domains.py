"""Domains: one normal form (lowercase ASCII, punycode for IDNs), parent-domain matching, and
look-alikes of well-known dapp domains, after eth-phishing-detect's fuzzylist: a small edit distance,
look-alike characters (Cyrillic and Greek letters, digits for letters, "rn" for "m"), or the brand's
name with extra words around it ("uniswap-claim.xyz", "app.uniswap.org.example.com").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")
# Most list entries are already bare lowercase domains: one match, no URL parsing (imports 100k in budget).
_PLAIN = re.compile(r"(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")
_SEPARATORS = re.compile(r"[-_]")
# Letters other scripts draw like Latin ones, and digits used for letters; domains are lowercase.
_LOOKALIKE_LETTERS = str.maketrans("аеорсухіјѕԁһӏԛԝɡոսνοαρτκι0135", "aeopcyxijsdhlqwgnuvoaptkioies")
_LOOKALIKE_PAIRS = (("rn", "m"), ("vv", "w"), ("l", "i"))  # "l" and "i" (and "1") read alike: one class


def normalise_domain(value: str) -> str | None:
    """The host of a domain or URL in lowercase ASCII (IDNs as punycode), without `www.` and the
    trailing dot; None when the value is no domain name (no dot, a bad label, an address)."""
    text = value.strip()
    if _PLAIN.match(text) and not text.startswith("www."):
        return text
    if not text or (text.startswith("0x") and len(text) == 42):
        return None
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    host = host.removeprefix("www.")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    return host


_LOCAL_HOST = re.compile(r"[0-9a-z.:_-]+\Z")  # localhost, IPv4 and IPv6 literals: dev servers


def is_site(value: str) -> bool:
    """A URL or host a request can come from: a domain name, or a local host or IP (never on a list)."""
    if normalise_domain(value) is not None:
        return True
    text = value.strip()
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname
    except ValueError:
        return False
    return host is not None and _LOCAL_HOST.match(host) is not None


def parents(domain: str) -> Iterator[str]:
    """The domain and every parent that is still a registrable name: a.b.example.com, b.example.com,
    example.com (never the bare TLD). A listed domain covers its subdomains."""
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        yield ".".join(labels[start:])


def display(domain: str) -> str:
    """The Unicode form of a punycode domain, for people (and for look-alike checks)."""
    try:
        return domain.encode("ascii").decode("idna")
    except UnicodeError:
        return domain


def skeleton(text: str) -> str:
    """What a reader sees: accents dropped, look-alike letters and digits mapped to one Latin letter."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LOOKALIKE_LETTERS)
    for pair, letter in _LOOKALIKE_PAIRS:
        plain = plain.replace(pair, letter)
    return plain


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 once it is certain to exceed limit.

    Why not a library (rapidfuzz, python-Levenshtein): both are compiled extensions, for a distance
    between two host labels of at most 63 characters against a few dozen brands per review; this
    two-row dynamic programme with an early exit takes microseconds. Tested against the textbook
    definition (tests/test_intel.py)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)


@dataclass(frozen=True, slots=True)
class LookAlike:
    imitates: str  # the well-known domain
    how: str  # in words, between the domain and the one it imitates: "is 1 character away from"


def brand(domain: str) -> str:
    """The name a domain is known by: its registrable label (uniswap of app.uniswap.org)."""
    labels = domain.split(".")
    return labels[-2] if len(labels) >= 2 else labels[0]


def _tolerance(name: str) -> int:
    """Edits still read as the same name: none for short names (aave vs wave), 1 up to 7 letters, 2 above."""
    return 0 if len(name) < 5 else 1 if len(name) < 8 else 2


def look_alike(domain: str, well_known: Iterable[str]) -> LookAlike | None:
    """The well-known domain this one imitates, if any. A well-known domain and its subdomains are
    not look-alikes of anything (the caller checks its allow list first)."""
    known = list(well_known)
    if any(parent in known for parent in parents(domain)):
        return None
    readable = display(domain)
    own = brand(readable)
    own_skeleton = _SEPARATORS.sub("", skeleton(own))
    # Everything left of the TLD, as one string: catches the brand inside any label, with extra words.
    whole = _SEPARATORS.sub("", skeleton(".".join(readable.split(".")[:-1])))
    for target in known:
        name = brand(target)
        name_skeleton = skeleton(name)
        if own_skeleton == name_skeleton:
            how = "spells with look-alike characters" if own != name else "has the same name as"
            return LookAlike(target, how)
        if len(name) >= 5:
            distance = edit_distance(own_skeleton, name_skeleton, _tolerance(name))
            if distance <= _tolerance(name):
                return LookAlike(target, f"is {distance} character{'s' if distance > 1 else ''} away from")
            if name_skeleton in whole:
                return LookAlike(target, "wraps other words around")
    return None
