"""The audit report: one pydantic model, rendered as JSON, Markdown or one self-contained HTML file."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from copilot.models import BigInt, Model


class BadRowItem(Model):
    line: int
    reason: str


class ApprovalItem(Model):
    kind: str  # erc20 | permit2 | nft | nft_operator
    token: str
    token_symbol: str | None = None
    token_decimals: int | None = None  # from the registry or the node; None: unknown token
    spender: str  # spender, approved address or operator
    spender_label: str | None = None
    amount: BigInt | None = None  # allowance (erc20, permit2); None for NFT approvals
    amount_display: str
    unlimited: bool
    token_id: BigInt | None = None  # kind "nft"
    expiration: int | None = None  # Permit2
    granted_tx: str | None = None
    granted_at: int | None = None  # unix time
    granted_block: int | None = None
    source: str  # log | calldata
    on_chain: BigInt | None = None  # with --rpc: allowance() / isApprovedForAll() now (1/0 for operators)
    balance: BigInt | None = None
    balance_source: str | None = None  # rpc | history
    exposure: BigInt | None = None  # min(balance, allowance) in raw units
    exposure_display: str | None = None
    exposure_usd: float | None = None
    exposure_usd_as_of: str | None = None  # the bundled prices' date behind exposure_usd; None: your prices.toml
    risky: bool
    reasons: list[str] = Field(default_factory=list)


class PoisoningItem(Model):
    kind: str  # dust: a planted transfer; payment: the wallet paid a lookalike
    tx: str | None
    timestamp: int | None
    line: int
    lookalike: str
    resembles: str
    token: str
    amount: str
    unit: str


class ListedItem(Model):
    """An interaction with an address on a threat list (copilot.intel)."""

    line: int
    tx: str | None
    timestamp: int | None
    address: str
    role: str  # sender | recipient | spender | operator | approved address | counterparty
    evidence: str  # which lists, their dates, the entry's label


class TxItem(Model):
    line: int
    hash: str | None
    block: int | None
    timestamp: int | None
    to: str | None
    contract: str | None
    function: str | None
    verdict: str
    risk_score: int
    decided_by: str
    policy_breach: bool
    findings: list[dict[str, str]]
    explanation: str | None = None
    # risky: blocked or a finding of high severity and above; else it only needed your confirmation
    risky: bool = False
    subject: str | None = None  # whom the transaction dealt with: the spender, operator, payee or contract
    subject_role: str | None = None


class Occurrence(Model):
    line: int  # 0: not known (an open approval's grant)
    tx: str | None
    block: int | None = None
    timestamp: int | None = None


class AttentionItem(Model):
    """One problem of the "what needs your attention" list: a risky spender, operator, payee or contract
    (or all look-alike senders together), however often it occurs in the history."""

    rank: int
    severity: str  # critical | high
    role: str  # spender | operator | payee | contract | sender | ... | look-alike senders
    address: str | None  # None: a group of addresses (look-alike senders)
    problem: str
    count: int  # transactions of the history it concerns
    first: Occurrence
    last: Occurrence
    open_approvals: int = 0  # approvals to it still open


class RevokeItem(Model):
    description: str
    request: dict[str, Any]


class TimelinePoint(Model):
    day: str  # YYYY-MM-DD
    transactions: int
    flagged: int
    max_risk: int
    open_approvals: int
    risky_approvals: int


class NarrativeInfo(Model):
    """How the narrative was written: the model, and what the grounding check dropped."""

    model: str
    external: bool = False  # written by the user's own LLM server (--llm-url), not the sandboxed local model
    sentences_checked: int
    sentences_dropped: int
    grounding_rate: float
    dropped_sentences: list[str] = Field(default_factory=list)  # with the terms not in the audit
    injections: list[str] = Field(default_factory=list)  # untrusted fields that try to instruct an AI
    notes: list[str] = Field(default_factory=list)


class AuditReport(Model):
    address: str
    source: str
    format: str
    policy: str
    chain_id: BigInt | None
    generated_at: int
    rows: int
    transactions: int
    reviewed: int
    token_transfers: int
    bad_rows: int
    bad_row_details: list[BadRowItem]
    verdicts: dict[str, int]
    finding_counts: dict[str, int]
    approvals: list[ApprovalItem]
    poisoning: list[PoisoningItem]
    listed: list[ListedItem] = Field(default_factory=list)  # interactions with addresses on threat lists
    flagged: list[TxItem]
    # what needs your attention, ranked and grouped by problem (copilot.audit.attention); then the counts
    attention: list[AttentionItem] = Field(default_factory=list)
    risky_transactions: int = 0  # flagged transactions that are risky
    confirmations: int = 0  # flagged transactions that only needed your confirmation under the policy
    revoke_plan: list[RevokeItem]
    timeline: list[TimelinePoint]
    notes: list[str]
    warnings: list[str] = Field(default_factory=list)  # things that make the report untrustworthy as an all-clear
    rows_involving: int = 0  # rows sent by or to the audited address, or whose logs name it
    narrative: str | None = None  # the local model's summary (advisory, grounded), when one ran
    narrative_note: str | None = None  # why there is no narrative
    narrative_info: NarrativeInfo | None = None
    explanation_note: str | None = None  # how flagged transactions got (or did not get) model explanations
    chunks: int = 0
    chunks_reused: int = 0
    llm_calls: int = 0

    @property
    def risky_approvals(self) -> list[ApprovalItem]:
        return [a for a in self.approvals if a.risky]

    @property
    def policy_breaches(self) -> list[TxItem]:
        return [t for t in self.flagged if t.policy_breach]
