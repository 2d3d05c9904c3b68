"""What the model must answer (LLMAnswer) and what the review records about the run (LLMReport).

Imports only pydantic: copilot.models imports this module, so it stays on the cold path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RiskLevel = Literal["low", "medium", "high", "critical"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("low", "medium", "high", "critical")
NEW_CONCERN = "new"  # a risk the model raises that no deterministic finding covers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerRisk(_Strict):
    finding: str  # a finding ID from the review, or "new" for a concern of the model's own
    text: str


class LLMAnswer(_Strict):
    """The JSON object the grammar forces the model to produce (keys in this order)."""

    summary: str = Field(description="1 to 2 sentences")
    what_happens: list[str] = Field(description="the steps, in order")  # may be empty when salvaged
    risks: list[AnswerRisk]
    risk_level: RiskLevel
    questions: list[str]


class ReportRisk(_Strict):
    finding: str | None  # None: marked as a new concern by the model
    text: str


class Grounding(_Strict):
    """Sentences of the model's text checked against the facts it was given."""

    checked: int = 0
    dropped: int = 0
    dropped_sentences: list[str] = Field(default_factory=list)  # with the ungrounded terms, for audit

    @property
    def rate(self) -> float:
        return 1.0 if self.checked == 0 else (self.checked - self.dropped) / self.checked


class IsolationLayer(_Strict):
    name: Literal["process", "environment", "limits", "filesystem", "pid", "network", "seccomp", "landlock"]
    active: bool
    detail: str
    required: bool = True  # False: a layer this machine cannot have (Landlock on an older kernel)


class Timing(_Strict):
    # Worker start and model load this review waited for: 0 when reused, less than the load when
    # it loaded while the request was decoded (prestart).
    load_s: float = 0.0
    first_token_s: float = 0.0  # request sent -> first generated token
    total_s: float = 0.0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # reused from the KV cache of an earlier request
    generated_tokens: int = 0  # sampled by the model
    forced_tokens: int = 0  # fixed by the grammar (keys, finding IDs, the rest of an address)
    tokens_per_s: float = 0.0  # answer tokens, sampled and forced


class ServerInfo(_Strict):
    """The user's own LLM server that answered, as it described itself (untrusted, sanitised)."""

    url: str
    dialect: Literal["llama-server", "ollama", "openai"]
    model: str  # the model's identity from /props, /v1/models, /api/tags or /api/show
    details: dict[str, str] = Field(default_factory=dict)  # digest, build, quantisation, ...
    isolation: str = "external server, not sandboxed by txcopilot"


class LLMReport(_Strict):
    """Attached to Review.llm: what the model said (after the grounding check) and how it ran."""

    model: str  # file name of the GGUF, or the server's model identity
    summary: str
    what_happens: list[str] = Field(default_factory=list)
    risks: list[ReportRisk] = Field(default_factory=list)
    risk_level: RiskLevel
    questions: list[str] = Field(default_factory=list)
    raised_verdict: bool = False  # the advisory level raised the verdict or score
    grounding: Grounding = Field(default_factory=Grounding)
    grounding_rate: float = 1.0
    isolation: list[IsolationLayer] = Field(default_factory=list)
    timing: Timing = Field(default_factory=Timing)
    notes: list[str] = Field(default_factory=list)  # e.g. "a sentence naming 0x12… was dropped"
    server: ServerInfo | None = None  # set when the user's own LLM server answered instead of the worker
