"""The deterministic intent parser: "pay alice 50 USDC" -> ParsedIntent.

Token symbols resolve through the bundled token table for the chain (abis/tokens.json), never through
anything the request or a token says about itself; counterparties through the user's address book
(exact labels only: a look-alike label is another party) or a literal address; protocols through the
known-contract registry (abis/contracts.json). Amounts are exact `Decimal`s. Hand-written rather than
a parsing library: the grammar is a verb, an amount, symbols and prepositional slots, and the parse
must stay well under 2 ms (benchmarks/bench_intent.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from copilot.decoding.registry import all_contracts, tokens_document
from copilot.decoding.tokens import NATIVE_DECIMALS, native_symbol
from copilot.intent.schema import NATIVE, Action, IntentAsset, IntentParty, ParsedIntent

_VERBS: dict[str, Action] = {
    "send": "send", "pay": "send", "transfer": "send", "give": "send",
    "swap": "swap", "sell": "swap", "trade": "swap", "exchange": "swap", "convert": "swap",
    "buy": "buy", "approve": "approve", "allow": "approve", "revoke": "revoke",
    "mint": "mint", "stake": "stake", "bridge": "bridge", "delegate": "delegate",
    "login": "sign_in", "signin": "sign_in",
}  # fmt: skip
_PREPOSITIONS = frozenset({"to", "for", "from", "with", "on", "via", "at", "into", "using", "through", "in"})
_PROTOCOL_PREPOSITIONS = frozenset({"on", "via", "using", "through", "at", "in", "with"})
_FILLER = frozenset({"my", "the", "of", "a", "an", "some", "me", "token", "tokens", "worth", "spend", "spending",
                     "please", "votes", "voting", "power", "nft", "nfts", "coins", "back", "just", "exactly"})
_ALL = frozenset({"all", "everything"})
_MAX = frozenset({"max", "unlimited", "infinite", "maximum"})
_AMOUNT = re.compile(r"^\$?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^\$?\.\d+$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_WORD = re.compile(r"[^\s;]+")


class IntentError(ValueError):
    """The sentence has no verb the parser knows: the check cannot verify anything."""


def parse_intent(text: str, chain_id: int | None = None, book: Mapping[str, str] | None = None) -> ParsedIntent:
    """Parse one sentence for the chain `chain_id` (None: mainnet) with the user's address book
    (checksum address -> label). Raises IntentError when no known verb starts it."""
    words = [w.rstrip(".!?,") for w in _WORD.findall(text)]
    words = [w for w in words if w]
    if not words:
        raise IntentError("the intent is empty")
    first = words[0].lower()
    if first == "sign" and len(words) > 1 and words[1].lower() in ("in", "on"):
        action: Action = "sign_in"
        rest = words[2:]
    elif first in ("log", "logs") and len(words) > 1 and words[1].lower() == "in":
        action, rest = "sign_in", words[2:]
    elif first in _VERBS:
        action, rest = _VERBS[first], words[1:]
    else:
        raise IntentError(f"{words[0]!r} is not a verb the intent check knows ({', '.join(sorted(_VERBS))}, sign in)")
    chain = chain_id or 1
    return _Slots(action, chain, book or {}).fill(rest)


class _Slots:
    """Fills a ParsedIntent from the words after the verb, left to right."""

    def __init__(self, action: Action, chain_id: int, book: Mapping[str, str]) -> None:
        self.parsed = ParsedIntent(action=action, chain_id=chain_id)
        self.chain_id = chain_id
        self.book = book
        self.bare: list[str] = []  # words outside any slot: "pay ALICE 50 USDC", "approve UNISWAP ..."

    def fill(self, words: list[str]) -> ParsedIntent:
        index = 0
        while index < len(words):
            word = words[index]
            lower = word.lower()
            if lower in _PREPOSITIONS:
                end = index + 1
                while end < len(words) and words[end].lower() not in _PREPOSITIONS:
                    end += 1
                self._phrase(lower, [w for w in words[index + 1 : end] if w.lower() not in _FILLER])
                index = end
                continue
            taken = self._amount_or_token(word, words[index + 1] if index + 1 < len(words) else None)
            if taken:
                index += taken
                continue
            if lower not in _FILLER:
                self.bare.append(word)
            index += 1
        if self.bare:
            self._party(" ".join(self.bare), "counterparty")
        return self.parsed

    def _amount_or_token(self, word: str, following: str | None) -> int:
        """How many words an amount (and the symbol right after it) or a lone symbol takes; 0 for others."""
        lower = word.lower()
        amount = _decimal(word)
        if amount is not None or lower in _ALL or lower in _MAX:
            if self.parsed.amount_kind == "none":
                if amount is not None:
                    self.parsed.amount, self.parsed.amount_kind = amount, "exact"
                else:
                    self.parsed.amount_kind = "all" if lower in _ALL else "max"
            if following is not None and following.lower() not in _PREPOSITIONS | _FILLER:
                return 1 + self._token(following, forced=True)
            return 1
        return int(self._token(word, forced=False))

    def _token(self, word: str, *, forced: bool) -> bool:
        """Take `word` as the next asset slot when it is a symbol (or, `forced`, right after an amount)."""
        asset = resolve_symbol(word, self.chain_id)
        if asset.address is None and not forced:
            return False
        if asset.address is None:
            self.parsed.problems.append(f"{word} is not a token in the bundled table for chain {self.chain_id}")
        if self.parsed.action == "buy" and self.parsed.output is None:
            self.parsed.output = asset  # buy 1 WETH (with USDC)
        elif self.parsed.asset is None:
            self.parsed.asset = asset
        elif self.parsed.action == "swap" and self.parsed.output is None:
            self.parsed.output = asset  # swap 100 USDC WETH
        return True

    def _phrase(self, preposition: str, words: list[str]) -> None:
        if not words:
            return
        action = self.parsed.action
        if action == "sign_in":
            self.parsed.domain = words[0].lower().removeprefix("https://").removeprefix("http://").rstrip("/")
            return
        if preposition in _PROTOCOL_PREPOSITIONS and action != "delegate" and " ".join(words).lower() in _protocols(self.chain_id):
            self._party(" ".join(words), "protocol")  # "on 1inch": the protocol, though 1INCH is a token too
            return
        symbol = resolve_symbol(words[-1], self.chain_id)
        if symbol.address is not None or (len(words) > 1 and _decimal(words[0]) is not None):
            priced = len(words) > 1 and action in ("mint", "buy", "swap") and _decimal(words[0]) is not None
            if priced and (self.parsed.amount_kind == "none" or action == "mint"):  # "mint for 0.1 ETH": the price
                self.parsed.amount, self.parsed.amount_kind = _decimal(words[0]), "exact"
            if action in ("swap",) and self.parsed.output is None and preposition in ("for", "to", "into"):
                self.parsed.output = symbol
            elif self.parsed.asset is None:
                self.parsed.asset = symbol
            elif self.parsed.output is None and action in ("swap", "buy"):
                self.parsed.output = symbol
            if symbol.address is None:
                self.parsed.problems.append(f"{words[-1]} is not a token in the bundled table for chain {self.chain_id}")
            return
        if action == "bridge" and preposition in ("to", "into"):
            return  # the destination chain: the request's own target says where it goes
        if preposition in _PROTOCOL_PREPOSITIONS and action != "delegate":
            self._party(" ".join(words), "protocol")
        else:
            self._party(" ".join(words), "counterparty")

    def _party(self, text: str, slot: str) -> None:
        party = resolve_party(text, self.chain_id, self.book, protocol_first=slot == "protocol")
        if party.source == "unresolved":
            self.parsed.problems.append(f"{text!r} is neither an address, an address-book label nor a known protocol")
        if party.source == "protocol" or slot == "protocol":
            if self.parsed.action in ("approve", "revoke") and self.parsed.counterparty is None:
                self.parsed.counterparty = party  # approve USDC on uniswap: the spender is the protocol
            else:
                self.parsed.protocol = party
        else:
            self.parsed.counterparty = party


def _decimal(word: str) -> Decimal | None:
    if not _AMOUNT.match(word):
        return None
    try:
        return Decimal(word.lstrip("$").replace(",", ""))
    except InvalidOperation:  # the pattern admits only decimals; kept for safety of Decimal's own rules
        return None


def resolve_symbol(symbol: str, chain_id: int) -> IntentAsset:
    """The token a symbol names on the chain: the chain's coin, one table entry, or unresolved (none
    or several entries: a symbol the table holds twice names no single token)."""
    upper = symbol.upper()
    if upper == native_symbol(chain_id, "").upper():
        return IntentAsset(symbol=upper, address=NATIVE, decimals=NATIVE_DECIMALS)
    found = _symbols(chain_id).get(upper, ())
    if len(found) == 1:
        address, decimals, canonical = found[0]
        return IntentAsset(symbol=canonical, address=address, decimals=decimals)
    return IntentAsset(symbol=symbol)


@lru_cache(maxsize=32)
def _symbols(chain_id: int) -> dict[str, tuple[tuple[str, int, str], ...]]:
    table: dict[str, tuple[tuple[str, int, str], ...]] = {}
    for address, meta in tokens_document().get(str(chain_id), {}).items():
        key = str(meta["symbol"]).upper()
        table[key] = (*table.get(key, ()), (address, int(meta["decimals"]), str(meta["symbol"])))
    return table


def resolve_party(text: str, chain_id: int, book: Mapping[str, str], *, protocol_first: bool = False) -> IntentParty:
    """An address, an exact address-book label (case and a trailing "(note)" aside), or a protocol."""
    if _ADDRESS.match(text):
        from copilot.decoding._crypto import checksum_hex

        address = checksum_hex(text)
        label = next((name for a, name in book.items() if a.lower() == address.lower()), None)
        return IntentParty(text=text, source="address", addresses=[address], label=label)
    key = _label_key(text)
    # An exact label wins over one whose "(note)" is dropped: "alice" is not "Alice (friend)" when both exist.
    named = sorted(a for a, label in book.items() if _label_key(label) == key) or sorted(
        a for a, label in book.items() if _label_key(label.split(" (")[0]) == key
    )
    protocol = _protocols(chain_id).get(key)
    if protocol and (protocol_first or not named):
        return IntentParty(text=text, source="protocol", addresses=list(protocol[1]), label=protocol[0])
    if len(named) == 1:
        return IntentParty(text=text, source="address_book", addresses=named, label=book[named[0]])
    return IntentParty(text=text, source="unresolved", addresses=named)


def _label_key(label: str) -> str:
    return " ".join(label.lower().split())


@lru_cache(maxsize=32)
def _protocols(chain_id: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Protocol name (a contract label's first word, or its parenthesised name) -> (name, the
    checksum addresses of its known non-token contracts on the chain)."""
    index: dict[str, tuple[str, list[str]]] = {}
    for contract in all_contracts():
        if contract.tags <= {"token"} or (contract.chains is not None and chain_id not in contract.chains):
            continue
        names = {contract.label.split()[0]} | set(re.findall(r"\((\w[\w.]*)\)", contract.label))
        for name in names:
            entry = index.setdefault(name.lower(), (name, []))
            if contract.address not in entry[1]:
                entry[1].append(contract.address)
    return {key: (name, tuple(addresses)) for key, (name, addresses) in index.items()}
