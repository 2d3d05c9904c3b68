"""What the rules know beyond the request: the registry, tokens, the user's book and history, the node.

One `Facts` per review: it resolves the chain, the user and every address the rules ask about, with
per-review memoisation (a batch of calls often names the same token or spender several times).
Lookups are by lowercase address so the checksum casing of inputs never matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from copilot.decoding.registry import KnownContract, known_contract
from copilot.decoding.tokens import format_amount, format_native, is_unlimited, lookup_token
from copilot.intel import ThreatIndex, load_index
from copilot.models import AccountKind, DecodedRequest, ReviewContext, TokenMeta
from copilot.policy.extract import request_chain_id, to_int

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_SPENDER_TAGS = frozenset({"router", "spender"})  # registry tags of contracts that spend for you
__all__ = ["ZERO_ADDRESS", "Facts", "as_address", "checksum", "is_unlimited", "short", "to_int"]


def as_address(value: Any) -> str | None:
    """The lowercase 0x address, or None when the value is not one."""
    if isinstance(value, str) and len(value) == 42 and value[:2].lower() == "0x":
        return value.lower()
    return None


def checksum(address: str) -> str:
    from copilot.decoding._crypto import checksum_hex

    return checksum_hex(address)


def short(address: str) -> str:
    """0x68b3…Fc45, in checksum case."""
    address = checksum(address)
    return f"{address[:6]}…{address[-4:]}"


# A poisoner's address matches at least the first and last three hex characters a wallet shows
# (0x123…abc); most match 4-6. Review's address.poisoning and the audit's poisoning scan share this rule.
LOOKALIKE_PREFIX = 3
LOOKALIKE_SUFFIX = 3


def lookalike_key(address: str) -> str:
    text = address.lower()
    return text[2 : 2 + LOOKALIKE_PREFIX] + text[-LOOKALIKE_SUFFIX:]


@dataclass(slots=True)
class _ContextIndex:
    """Lowercase views of the context's address sets, built once per context object."""

    book: dict[str, str]  # lowercase address -> label
    trusted: set[str]
    history: set[str]
    paid_on_chain: set[str]  # recipients of the user's own recent transfers, read from their node
    own: set[str]  # the user's own accounts
    lookalikes: dict[str, list[str]]  # lookalike_key -> addresses


_INDEX_CACHE_SIZE = 256
_index_cache: dict[int, tuple[ReviewContext, tuple[int, ...], _ContextIndex]] = {}


def _index(context: ReviewContext) -> _ContextIndex:
    """The context's index, built once per context object (again if it grew). Batch callers review
    thousands of requests against a handful of contexts; the cache holds each context, so an id is
    never reused while cached."""
    sizes = (len(context.address_book), len(context.trusted), len(context.known_addresses), len(context.own_addresses),
             len(context.history_first_dealt), len(context.chain.recent_transfers))
    cached = _index_cache.get(id(context))
    if cached is not None and cached[0] is context and cached[1] == sizes:
        return cached[2]
    book = {a.lower(): label for a, label in context.address_book.items()}
    trusted = {a.lower() for a in context.trusted}
    history = {a.lower() for a in context.known_addresses}
    own = {a.lower() for a in context.own_addresses}
    # Only whom the user paid: an address that merely sent them something (a poisoner's zero-value or
    # dust transfer) never becomes known by it.
    user = context.user.lower() if context.user else None
    paid_on_chain = {t.recipient for t in context.chain.recent_transfers if t.sender == user and t.recipient != user}
    lookalikes: dict[str, list[str]] = {}
    for address in book.keys() | trusted | history | context.history_first_dealt.keys():
        lookalikes.setdefault(lookalike_key(address), []).append(address)
    index = _ContextIndex(book, trusted, history, paid_on_chain, own, lookalikes)
    if len(_index_cache) >= _INDEX_CACHE_SIZE:
        _index_cache.pop(next(iter(_index_cache)))
    _index_cache[id(context)] = (context, sizes, index)
    return index


class UsdQuote(Protocol):
    @property
    def usd(self) -> Decimal: ...  # per whole unit

    @property
    def as_of(self) -> str | None: ...  # the date of a bundled price; None: the user's own prices.toml


class UsdPrices(Protocol):
    """What the rules need of a price table (copilot.state.prices.PriceTable, passed in by the pipeline)."""

    def quote(self, *, address: str | None = None, symbol: str | None = None) -> UsdQuote | None: ...


@dataclass(slots=True)
class Facts:
    decoded: DecodedRequest
    context: ReviewContext
    chain_id: int | None
    user: str | None  # lowercase
    index: _ContextIndex
    prices: UsdPrices | None = None  # the offline price table (copilot.state.prices), when the caller has it
    _known: dict[str, KnownContract | None] = field(default_factory=dict)
    _tokens: dict[str, TokenMeta | None] = field(default_factory=dict)
    _threats: ThreatIndex | None = None

    @classmethod
    def of(cls, decoded: DecodedRequest, context: ReviewContext, prices: UsdPrices | None = None) -> Facts:
        chain_id = request_chain_id(decoded) or context.wallet_chain_id or context.chain.chain_id
        return cls(decoded, context, chain_id, _user(decoded, context), _index(context), prices)

    @property
    def threats(self) -> ThreatIndex:
        """Scam lists: the seed, the user's imports and overrides (copilot.intel). Loaded on first use:
        a caller that only asks about history (the policy's new-address rule) never stats the list files."""
        if self._threats is None:
            self._threats = load_index()
        return self._threats

    # -- addresses

    def known_contract(self, address: str) -> KnownContract | None:
        key = address.lower()
        if key not in self._known:
            self._known[key] = known_contract(address, self.chain_id)
        return self._known[key]

    def is_known(self, address: str) -> bool:
        """In the registry, the address book or the policy's trusted list."""
        key = address.lower()
        return key in self.index.book or key in self.index.trusted or self.known_contract(key) is not None

    def seen_before(self, address: str) -> bool:
        key = address.lower()
        return (
            self.is_known(key)
            or key in self.index.history
            or key in self.index.paid_on_chain
            or self._dealt_with_earlier(key)
        )

    def _dealt_with_earlier(self, key: str) -> bool:
        """An audit: the wallet dealt with it earlier in the history being audited."""
        position = self.context.history_position
        first = self.context.history_first_dealt.get(key)
        return position is not None and first is not None and first < position

    def is_own(self, address: str) -> bool:
        """One of the user's own accounts: the signer, a keystore account, a book entry marked own."""
        key = address.lower()
        return key == self.user or key in self.index.own

    def has_tag(self, address: str, tag: str) -> bool:
        known = self.known_contract(address)
        return known is not None and tag in known.tags

    def is_well_known_spender(self, address: str) -> bool:
        """A registry contract whose job is to spend for you (a DEX router, Permit2, a lending pool,
        a marketplace's transfer proxy): unlimited allowances to it are how everyday apps work."""
        known = self.known_contract(address)
        return known is not None and not known.tags.isdisjoint(_SPENDER_TAGS)

    def label(self, address: str) -> str | None:
        key = address.lower()
        if key in self.index.book:
            return self.index.book[key]
        known = self.known_contract(key)
        return known.label if known else None

    def name(self, address: str | None) -> str:
        """'Uniswap SwapRouter02 (0x68b3…Fc45)'; an unlabelled address in full, so it can be checked."""
        if not address:
            return "nobody (contract creation)"
        label = self.label(address)
        return f"{label} ({short(address)})" if label else checksum(address)

    def account_kind(self, address: str) -> AccountKind | None:
        kinds = self.context.chain.account_kinds
        kind: AccountKind | None = _get_ci(kinds, address)
        return kind

    def lookalikes(self, address: str) -> list[str]:
        key = address.lower()
        candidates = self.index.lookalikes.get(lookalike_key(key), [])
        index = self.index
        return [
            c for c in candidates
            if c != key and (c in index.book or c in index.trusted or c in index.history or self._dealt_with_earlier(c))
        ]

    # -- tokens and amounts

    def token(self, address: str | None) -> TokenMeta | None:
        if not address:
            return None
        key = address.lower()
        if key not in self._tokens:
            meta = _get_ci(self.context.chain.tokens, address)
            if meta is None:
                meta = lookup_token(address, self.chain_id)
            self._tokens[key] = meta
        return self._tokens[key]

    def amount(self, amount: int, token_address: str | None) -> str:
        return format_amount(amount, self.token(token_address))

    def native(self, wei: int) -> str:
        """'1.5 ETH' in the request chain's native currency."""
        return format_native(wei, self.chain_id)

    def token_balance(self, holder: str | None, token: str) -> int | None:
        """The holder's balance of a token, when the node (--rpc) reported it."""
        balances = _get_ci(self.context.chain.balances, holder) if holder else None
        balance: int | None = _get_ci(balances, token) if balances else None
        return balance


def _get_ci(mapping: dict[str, Any], address: str) -> Any:
    """dict lookup by address whatever the key's casing (node facts are keyed by checksum address)."""
    if address in mapping:
        return mapping[address]
    key = address.lower()
    for k, v in mapping.items():
        if k.lower() == key:
            return v
    return None


def _user(decoded: DecodedRequest, context: ReviewContext) -> str | None:
    for candidate in (
        context.user,
        decoded.request.sender,
        decoded.transaction.sender if decoded.transaction else None,
    ):
        address = as_address(candidate)
        if address:
            return address
    return None
