"""Typed models at the boundaries between pipeline stages.

inputs  -> SigningRequest   (what the wallet was asked to do, normalised)
decoding-> DecodedRequest   (what it means: transaction fields, decoded calls, typed data)
simulation-> SimulationReport (what the request does on the user's own node; copilot.simulation)
risk    -> list[Finding]    (deterministic findings)
policy  -> PolicyDecision   (verdict floor from findings + the user's policy)
pipeline-> Review           (everything above, plus the explanation)

Conventions, relied on by the JSON output documented in the README:
- addresses are EIP-55 checksummed strings;
- byte strings are 0x-prefixed lowercase hex;
- integers that can exceed 2**53 (wei, token amounts, gas, chain ids) are Python ints in memory and
  decimal strings in JSON, so no consumer loses precision.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from copilot.intent.schema import IntentCheck
from copilot.llm.schema import LLMReport

BigInt = Annotated[int, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]
"""An int that serialises to a decimal string in JSON."""


def ints_as_strings(value: Any) -> Any:
    """The same structure with every int (not bool) as a decimal string: JSON keeps full precision."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {key: ints_as_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [ints_as_strings(item) for item in value]
    return value


QuantityMap = Annotated[dict[str, Any], PlainSerializer(ints_as_strings, when_used="json")]
"""A request object whose quantities are ints in memory and decimal strings in JSON."""

JsonValue = Annotated[Any, PlainSerializer(ints_as_strings, when_used="json")]
"""A decoded value: ints in memory, decimal strings in JSON."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


# --------------------------------------------------------------------------- inputs


class RequestKind(StrEnum):
    RAW_TRANSACTION = "raw_transaction"  # RLP hex, signed or unsigned
    TRANSACTION = "transaction"  # eth_sendTransaction-style object
    TYPED_DATA = "typed_data"  # EIP-712
    PERSONAL_MESSAGE = "personal_message"  # personal_sign
    HASH = "hash"  # eth_sign of a raw 32-byte hash
    CALL_BATCH = "call_batch"  # EIP-5792 wallet_sendCalls


class SigningRequest(Model):
    """What the wallet was asked to sign, normalised but not yet interpreted."""

    kind: RequestKind
    method: str | None = None  # JSON-RPC method when the input was an RPC request
    raw: str | None = None  # RAW_TRANSACTION: the 0x hex
    transaction: QuantityMap | None = None  # TRANSACTION: the params object, quantities as ints
    typed_data: dict[str, Any] | None = None  # TYPED_DATA: the parsed EIP-712 JSON
    message: str | None = None  # PERSONAL_MESSAGE: 0x hex of the exact bytes to be signed
    hash: str | None = None  # HASH: 0x + 64 hex
    calls: list[QuantityMap] | None = None  # CALL_BATCH: the calls, quantities as ints
    chain_id: BigInt | None = None  # when the request states one (batch, typed data domain, tx)
    sender: str | None = None  # "from" / the signing account when the request states one


# --------------------------------------------------------------------------- decoding


class Param(Model):
    """One decoded argument. `value` is JSON-ready: ints as ints, bytes as 0x hex, tuples as lists."""

    name: str
    type: str
    value: JsonValue
    display: str | None = None  # human form: "100 USDC", "unlimited", "Uniswap V3 Router (0x…)"


class DisplayField(Model):
    """One ERC-7730 clear-signing line: the label and the formatted value a wallet shows."""

    label: str
    value: str
    format: str | None = None  # tokenAmount, addressName, date, ... or raw
    path: str | None = None  # the descriptor path it came from


class CallStatus(StrEnum):
    DECODED = "decoded"
    AMBIGUOUS = "ambiguous"  # several signatures decode strictly; see candidates
    UNKNOWN = "unknown"  # selector not in any bundled or user ABI
    UNDECODABLE = "undecodable"  # selector known but the arguments do not decode
    EMPTY = "empty"  # no calldata: a plain value transfer
    CREATE = "create"  # contract creation (to is None)
    TRUNCATED = "truncated"  # nested decoding cut at the depth limit


class DecodedCall(Model):
    """One call, possibly with nested calls (multicall, Safe, multiSend, Universal Router, batches)."""

    to: str | None
    value: BigInt = 0
    data: str = "0x"
    operation: Literal["call", "delegatecall"] = "call"
    contract: str | None = None  # label of the target from the known-contract registry / address book
    selector: str | None = None
    function: str | None = None  # canonical signature, e.g. "approve(address,uint256)"
    status: CallStatus = CallStatus.EMPTY
    candidates: list[str] = Field(default_factory=list)  # when AMBIGUOUS
    params: list[Param] = Field(default_factory=list)
    intent: str | None = None  # ERC-7730 intent, e.g. "Swap"
    fields: list[DisplayField] = Field(default_factory=list)  # ERC-7730 rendered fields
    children: list[DecodedCall] = Field(default_factory=list)
    path: str = "call"  # where this call sits, e.g. "call.children[1]"; findings point here
    notes: list[str] = Field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.function.split("(", 1)[0] if self.function else None

    def param(self, name: str) -> Any:
        for p in self.params:
            if p.name == name:
                return p.value
        return None

    def walk(self) -> list[DecodedCall]:
        """This call and every nested call, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


class Authorization(Model):
    """An EIP-7702 authorization tuple with its recovered authority."""

    chain_id: BigInt
    address: str  # the delegate the EOA's code will point to
    nonce: BigInt
    y_parity: int
    r: BigInt
    s: BigInt
    authority: str | None = None  # recovered signer; None when recovery fails
    delegate_label: str | None = None


class TransactionInfo(Model):
    type: int  # 0 legacy, 1 EIP-2930, 2 EIP-1559, 3 EIP-4844, 4 EIP-7702
    chain_id: BigInt | None = None
    nonce: BigInt | None = None
    gas: BigInt | None = None
    gas_price: BigInt | None = None
    max_fee_per_gas: BigInt | None = None
    max_priority_fee_per_gas: BigInt | None = None
    max_fee_per_blob_gas: BigInt | None = None
    blob_versioned_hashes: list[str] = Field(default_factory=list)
    to: str | None = None
    value: BigInt = 0
    data: str = "0x"
    access_list: list[dict[str, Any]] = Field(default_factory=list)
    authorization_list: list[Authorization] = Field(default_factory=list)
    signed: bool = False
    sender: str | None = None  # recovered from the signature, or "from" of a tx object
    hash: str | None = None  # tx hash when signed
    signing_hash: str | None = None  # the hash the sender signs / will sign
    v: BigInt | None = None
    r: BigInt | None = None
    s: BigInt | None = None


class OrderAsset(Model):
    """One item of an order: a fungible amount (the worst case for the signer when it decays over
    time) or an NFT."""

    kind: Literal["native", "token", "nft"]
    token: str | None = None  # checksum address; None for the chain's native coin
    amount: BigInt = 0  # raw units; for an NFT the number of items
    token_id: str | None = None  # NFT id, or a criteria root when the order takes any item of a collection
    recipient: str | None = None  # fees: who is paid; gives and takes: the order's maker / receiver
    display: str | None = None  # "100 WETH", "NFT #4321 of BAYC (0xBC4C…f13D)"


class OrderInfo(Model):
    """An off-chain order the signature authorises, read into one model whatever its format: what the
    maker gives, what the maker gets (the worst the order allows), who receives it, until when."""

    protocol: str  # "1inch v6", "0x v4 LimitOrder", "UniswapX ExclusiveDutchOrder", "Seaport", "CoW", ...
    maker: str | None = None  # who gives; None: the signer (the format does not name them)
    give: list[OrderAsset] = Field(default_factory=list)
    take: list[OrderAsset] = Field(default_factory=list)  # what the receiver gets
    receiver: str | None = None  # who gets `take`, with the format's "0x0 means the maker" resolved
    fees: list[OrderAsset] = Field(default_factory=list)  # paid to third parties (royalties, fees)
    expiry: BigInt | None = None  # unix seconds; 0: never; None: the format states none that can be read
    path: str = "typed_data.message"  # where the order sits in the message (bulk orders: tree[i])
    complete: bool = True  # False: what the maker gets is in a part no decoder here reads
    notes: list[str] = Field(default_factory=list)


class UnsignedField(Model):
    """A field the request carries but its types do not declare: wallets show it, nobody signs it."""

    path: str  # "typed_data.message.totalOriginalConsiderationItems"
    value: JsonValue


class TypedDataInfo(Model):
    primary_type: str
    domain: dict[str, Any]  # the declared (signed) fields only
    message: dict[str, Any]  # the declared (signed) fields only: what the rules judge
    domain_hash: str
    message_hash: str
    signing_hash: str  # keccak(0x1901 ‖ domain ‖ message)
    verifying_contract: str | None = None
    verifying_contract_label: str | None = None
    chain_id: BigInt | None = None
    intent: str | None = None  # ERC-7730
    fields: list[DisplayField] = Field(default_factory=list)
    calls: list[DecodedCall] = Field(default_factory=list)  # calldata embedded in the message, decoded
    orders: list[OrderInfo] = Field(default_factory=list)  # the orders a known order format signs
    standard: Literal["order", "permit", "permit2", "safe", "login"] | None = None  # a recognised standard
    described: bool = False  # an ERC-7730 descriptor covers the verifying contract or this message
    unsigned: list[UnsignedField] = Field(default_factory=list)  # undeclared fields: shown, never signed


class MessageInfo(Model):
    hex: str  # the exact bytes signed
    text: str | None = None  # UTF-8 text when the bytes are printable text
    signing_hash: str  # EIP-191 hash for personal_sign, the hash itself for eth_sign
    siwe: dict[str, str] | None = None  # parsed Sign-In-With-Ethereum fields


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Finding(Model):
    id: str  # stable, documented, e.g. "approval.unlimited"
    severity: Severity
    title: str
    evidence: str  # the facts that triggered it, in words a user can check
    location: str | None = None  # DecodedCall.path, "typed_data", "authorization[0]", ...


class DecodedRequest(Model):
    request: SigningRequest
    transaction: TransactionInfo | None = None
    call: DecodedCall | None = None  # the top-level call of a transaction
    calls: list[DecodedCall] = Field(default_factory=list)  # CALL_BATCH: one per batch entry
    typed_data: TypedDataInfo | None = None
    message: MessageInfo | None = None
    warnings: list[Finding] = Field(default_factory=list)  # decoding-level findings (consensus rules)
    payload_hash: str  # keccak of the canonical payload: what-you-see-is-what-you-sign binds to this

    def all_calls(self) -> list[DecodedCall]:
        roots = ([self.call] if self.call else []) + self.calls
        if self.typed_data:
            roots += self.typed_data.calls
        out: list[DecodedCall] = []
        for root in roots:
            out.extend(root.walk())
        return out


# --------------------------------------------------------------------------- policy and review

Verdict = Literal["allow", "confirm", "block"]
VERDICT_RANK: dict[str, int] = {"allow": 0, "confirm": 1, "block": 2}


class PolicyDecision(Model):
    verdict: Verdict
    decided_by: str  # "finding:approval.unlimited", "policy:everyday.toml:deny.addresses", ...
    findings: list[Finding] = Field(default_factory=list)  # policy-level findings (limits, chains)
    policy_name: str


class Review(Model):
    verdict: Verdict
    risk_score: int = Field(ge=0, le=100)
    findings: list[Finding]
    decided_by: str
    decoded: DecodedRequest
    explanation: str
    explanation_source: Literal["deterministic", "llm"] = "deterministic"
    llm: LLMReport | None = None  # the LLM report (copilot.llm), when a model ran
    explanation_note: str | None = None  # why the explanation is deterministic (--no-llm, no model, ...)
    policy: str  # name of the policy that judged it
    threat_lists: list[str] = Field(default_factory=list)  # the scam lists looked up, each with its date and age
    simulation: SimulationReport | None = None  # None: no node configured, or --no-simulate
    intent: IntentCheck | None = None  # review/sign --intent: the sentence, its parsed form, the outcome


# --------------------------------------------------------------------------- context for rules and policy


class AccountKind(StrEnum):
    EOA = "eoa"
    CONTRACT = "contract"
    DELEGATED_EOA = "delegated_eoa"  # EIP-7702: code is 0xef0100 ‖ delegate


class TokenMeta(Model):
    address: str
    symbol: str
    decimals: int
    name: str | None = None
    source: Literal["bundled", "rpc", "user"] = "bundled"


class RecentTransfer(Model):
    """A transfer to or from the user in recent blocks, read from their own node (--rpc)."""

    token: str  # lowercase token contract, or "native"
    sender: str  # lowercase
    recipient: str  # lowercase
    amount: BigInt  # raw units
    block: int
    tx: str


class ChainFacts(Model):
    """What the user's own node (--rpc) told us. Empty when offline."""

    chain_id: BigInt | None = None
    account_kinds: dict[str, AccountKind] = Field(default_factory=dict)
    delegates: dict[str, str] = Field(default_factory=dict)  # delegated EOA -> delegate
    tokens: dict[str, TokenMeta] = Field(default_factory=dict)  # token address -> metadata
    balances: dict[str, dict[str, BigInt]] = Field(default_factory=dict)  # holder -> token|"native" -> amount
    nonce: BigInt | None = None  # the sender's current nonce
    base_fee: BigInt | None = None
    # the user's recent ERC-20 (and, where the node traces, native) transfers: their real counterparties
    recent_transfers: list[RecentTransfer] = Field(default_factory=list)
    recent_blocks: tuple[int, int] | None = None  # the block range those were read from


class ReviewContext(Model):
    """Everything beyond the request that rules and policy may look at. Built by copilot.state."""

    user: str | None = None  # the signing account, when known
    address_book: dict[str, str] = Field(default_factory=dict)  # checksum address -> label
    known_addresses: set[str] = Field(default_factory=set)  # history: addresses interacted with before
    trusted: set[str] = Field(default_factory=set)  # policy allow-listed addresses: treated as known
    # the user's own accounts: the keystore's and address-book entries marked as theirs (`book add --own`)
    own_addresses: set[str] = Field(default_factory=set)
    chain: ChainFacts = Field(default_factory=ChainFacts)
    wallet_chain_id: BigInt | None = None  # the chain the wallet is on, when the user said (review --chain-id)
    origin: str | None = None  # the site the request comes from, when the wallet or serve says (review --origin)
    now: int  # unix time the review runs at: expiry checks are relative to it
    simulation: SimulationReport | None = None  # the simulation stage's report, when it ran
    # An audit's own history (copilot.audit): address -> chain order (block, position, log, line) of the
    # wallet's first dealing with it; with history_position (the order of the request under review),
    # addresses dealt with earlier in that history count as seen before.
    history_first_dealt: dict[str, tuple[int, int, int, int]] = Field(default_factory=dict)
    history_position: tuple[int, int, int, int] | None = None


# --------------------------------------------------------------------------- simulation


class AssetChange(Model):
    """One holder's net change of one asset in a simulated execution."""

    holder: str
    asset: str  # "native" or the token's checksum address: compare addresses, never symbols
    standard: Literal["native", "erc20", "erc721", "erc1155"]
    token_id: BigInt | None = None  # ERC-721 / ERC-1155
    amount: BigInt  # signed net change in base units (an ERC-721 token: +1 or -1)
    symbol: str | None = None  # bundled, or read from the token itself (then untrusted text)
    decimals: int | None = None
    symbol_source: Literal["bundled", "token"] | None = None
    source: Literal["logs", "balance"] = "logs"  # balance: measured by reading balances before and after


class SimulatedGrant(Model):
    """An approval, operator grant or Permit2 allowance the simulated execution sets."""

    kind: Literal["approve", "nft_approve", "operator", "permit2"]
    owner: str
    token: str
    spender: str
    amount: BigInt | None = None  # ERC-20 / Permit2 allowance; ERC-721 token id
    approved: bool = True  # operator grants: false when revoked
    expiration: BigInt | None = None  # Permit2


class SimulatedEvent(Model):
    """A change of control the simulated execution makes: owners, thresholds, code."""

    kind: Literal["ownership", "safe_owner_added", "safe_owner_removed", "safe_threshold", "code"]
    contract: str
    subject: str | None = None  # the new owner, the added/removed Safe owner, the account whose code changes
    detail: str


class SimulationReport(Model):
    """What the request does when run on the user's own node (copilot.simulation)."""

    status: Literal["simulated", "not_simulated"]
    method: Literal["eth_simulateV1", "anvil_fork"] | None = None
    account: str | None = None  # whose assets are watched: the sender, or the Safe that executes
    block: BigInt | None = None  # the simulated block's number
    validated: bool = False  # nonce, fees and balance checked as a real block would (the sign path)
    reverted: bool = False
    revert_reason: str | None = None
    gas_used: BigInt | None = None
    gas_cost: BigInt | None = None  # the most the account pays for gas at the simulated block's fees, in wei
    changes: list[AssetChange] = Field(default_factory=list)  # every holder's, from the logs
    measured: list[AssetChange] = Field(default_factory=list)  # the account's, from balance reads
    approvals: list[SimulatedGrant] = Field(default_factory=list)
    events: list[SimulatedEvent] = Field(default_factory=list)
    log_count: int = 0
    error: str | None = None  # why it was not simulated, or what the node said
    notes: list[str] = Field(default_factory=list)  # e.g. what a signature lets a later transfer take

    def account_changes(self) -> list[AssetChange]:
        """The watched account's changes: measured balances where read (they catch lying events),
        else the logs."""
        if self.account is None:
            return []
        account = self.account.lower()
        measured = {(c.asset.lower(), c.token_id) for c in self.measured}
        logged = [c for c in self.changes if c.holder.lower() == account and (c.asset.lower(), c.token_id) not in measured]
        return [c for c in self.measured if c.amount] + logged


Review.model_rebuild()  # both name SimulationReport, defined after them
ReviewContext.model_rebuild()
