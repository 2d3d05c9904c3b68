"""The labelled request corpus (fixtures/requests): load a case and review it as the tests expect.

A case file is JSON:
    {"description": "...",
     "request": <anything `txcopilot decode` accepts, as JSON>,
     "expect": {"verdict": "allow|confirm|block", "findings": [ids that must appear],
                "forbidden": [ids that must not appear]},
     "context": {optional: "address_book": {address: label}, "known_addresses": [...], "own_addresses": [...],
                 "chain": <ChainFacts: chain_id, account_kinds, balances, ...>, "user": ..., "now": ...,
                 "prices": {SYMBOL or 0xTOKEN: USD per whole unit, as in prices.toml},
                 "simulation": <SimulationReport: what the node's simulation showed, recorded>},
     "policy": optional policy path relative to the case file (default: the shipped default),
     "options": optional review flags, as the CLI takes them: {"chain_id": 1} is `--chain-id 1`,
                {"origin": "https://…"} is `--origin https://…`, {"intent": "pay alice 50 USDC"} is `--intent …`}
Tests, benchmarks and the LLM evaluation share this loader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.models import ChainFacts, DecodedRequest, Review, ReviewContext, SimulationReport

CORPUS_NOW = 1_764_000_000  # 2025-11-24T16:00:00Z: the corpus' clock, so expiry checks never drift


@dataclass
class Case:
    path: Path
    description: str
    request: Any
    verdict: str
    findings: list[str]
    forbidden: list[str]
    context: dict[str, Any] = field(default_factory=dict)
    policy: str | None = None
    chain_id: int | None = None  # options.chain_id: the wallet's chain, as `review --chain-id`
    origin: str | None = None  # options.origin: the site the request comes from, as `review --origin`
    intent: str | None = None  # options.intent: what the user means to do, as `review --intent`

    def cli_args(self) -> list[str]:
        """The `txcopilot review` flags that reproduce this case's options."""
        args = ["--chain-id", str(self.chain_id)] if self.chain_id is not None else []
        args += ["--origin", self.origin] if self.origin is not None else []
        return args + (["--intent", self.intent] if self.intent is not None else [])

    @property
    def name(self) -> str:
        return self.path.stem


def corpus_dir() -> Path:
    from copilot.resources import fixtures_dir

    return fixtures_dir() / "requests"


def load_cases(folder: Path | None = None) -> list[Case]:
    return [load_case(p) for p in sorted((folder or corpus_dir()).glob("*.json"))]


def load_case(path: Path) -> Case:
    doc = json.loads(path.read_text(encoding="utf-8"))
    expect = doc["expect"]
    policy = doc.get("policy")
    return Case(
        path=path,
        description=doc["description"],
        request=doc["request"],
        verdict=expect["verdict"],
        findings=list(expect.get("findings", [])),
        forbidden=list(expect.get("forbidden", [])),
        context=doc.get("context", {}),
        policy=str(path.parent / policy) if policy else None,
        chain_id=doc.get("options", {}).get("chain_id"),
        origin=doc.get("options", {}).get("origin"),
        intent=doc.get("options", {}).get("intent"),
    )


@dataclass
class Prepared:
    """A case decoded, with its policy and context: what `review_decoded` takes."""

    case: Case
    decoded: DecodedRequest
    policy: Any
    context: ReviewContext


def prepare(case: Case) -> Prepared:
    from copilot.decoding import decode
    from copilot.inputs import parse_request
    from copilot.policy import load_policy
    from copilot.state.context import build_context

    decoded = decode(parse_request(json.dumps(case.request)))
    policy = load_policy(case.policy)
    context = build_context(
        policy, rpc=None, user=case.context.get("user"), decoded=decoded, chain_id=case.chain_id, origin=case.origin
    )
    extra = case.context
    context.address_book.update(extra.get("address_book", {}))
    context.known_addresses |= set(extra.get("known_addresses", []))
    context.own_addresses |= set(extra.get("own_addresses", []))
    if "chain" in extra:
        context.chain = ChainFacts.model_validate(extra["chain"])
    if "simulation" in extra:
        context.simulation = SimulationReport.model_validate(extra["simulation"])
    context.now = int(extra.get("now", CORPUS_NOW))
    return Prepared(case, decoded, policy, context)


def review_case(case: Case) -> Review:
    from copilot.pipeline import ReviewOptions, review_decoded

    prepared = prepare(case)
    prices = case_prices(case)
    return review_decoded(prepared.decoded, prepared.policy, prepared.context, ReviewOptions(use_llm=False, intent=case.intent), prices)


def case_prices(case: Case) -> Any:
    """The case's own price table (a PriceTable), or None for the user's: a case that values an order
    names its prices, so its verdict does not depend on the machine's prices.toml."""
    if "prices" not in case.context:
        return None
    from copilot.state.prices import parse_prices

    text = "\n".join(f"{json.dumps(key)} = {json.dumps(str(value))}" for key, value in case.context["prices"].items())
    return parse_prices(text, case.path)
