"""Review orchestration: decode -> context -> (simulation) -> findings -> (intent) -> policy -> score -> explanation -> (LLM).

The deterministic stages set the verdict floor; the optional LLM stage (copilot.llm) may only raise
it. `review_decoded` is the fast path that batch callers (audit, serve) use with a prepared policy
and context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from copilot.models import VERDICT_RANK, DecodedRequest, Finding, Review, ReviewContext, SigningRequest

if TYPE_CHECKING:
    from copilot.llm.server import ServerTarget
    from copilot.policy import Policy
    from copilot.simulation import SimulationOptions
    from copilot.state.prices import PriceTable


@dataclass
class ReviewOptions:
    policy: str | None = None  # a policy name or path; None: the config's, else the shipped default
    rpc: str | None = None  # the user's own node; None: offline
    user: str | None = None  # the signing account, when the request does not say
    chain_id: int | None = None  # the chain the wallet is on (review --chain-id): SIWE and chainless requests
    origin: str | None = None  # the site the request comes from (review --origin; serve passes the dApp's)
    use_llm: bool = True
    model: str | None = None  # a GGUF path; None: the config's, else the bundled default
    on_token: Callable[[str], None] | None = None  # receives the model's explanation as it streams
    require_isolation: bool = False  # sign: no model behind a missing sandbox layer (config may accept it)
    simulate: bool = True  # with a node: run the request there first (copilot.simulation); --no-simulate
    simulation: SimulationOptions | None = None  # timeout, fork fallback; None: the defaults
    llm_server: ServerTarget | None = None  # the user's own LLM server ([llm] url / --llm-url) instead of the model
    intent: str | None = None  # what the user says they mean to do (--intent): compared by copilot.intent


def review_input(text: str, options: ReviewOptions) -> Review:
    """Review any input `decode` accepts (raw tx hex, tx object, typed data, message, JSON-RPC request)."""
    from copilot.inputs import parse_request

    return review_request(parse_request(text), options)


def review_request(request: SigningRequest, options: ReviewOptions) -> Review:
    from copilot.decoding import decode
    from copilot.llm.explain import prestart
    from copilot.policy import load_policy
    from copilot.state.context import build_context

    prestart(options)  # the model loads in its worker while the request is decoded and checked
    decoded = decode(request)
    policy = load_policy(options.policy)
    context = build_context(
        policy, rpc=options.rpc, user=options.user, decoded=decoded, chain_id=options.chain_id, origin=options.origin
    )
    if options.rpc and options.simulate:
        from copilot.simulation import SimulationOptions, simulate

        context.simulation = simulate(decoded, options.rpc, context.user, options.simulation or SimulationOptions())
    return review_decoded(decoded, policy, context, options)


def review_decoded(
    decoded: DecodedRequest,
    policy: Policy,
    context: ReviewContext,
    options: ReviewOptions,
    prices: PriceTable | None = None,
) -> Review:
    """`prices`: the offline price table the rules value orders with; None: the user's (load_prices)."""
    from copilot.policy import effective_findings, judge
    from copilot.policy.simulated import simulation_findings
    from copilot.risk import assess_facts, risk_score
    from copilot.risk.explain import explain
    from copilot.risk.facts import Facts
    from copilot.state.prices import load_prices

    facts = Facts.of(decoded, context, load_prices() if prices is None else prices)
    found = assess_facts(facts) + simulation_findings(decoded, context)  # sim.* findings only add
    intent = None
    if options.intent is not None:
        from copilot.intent.compare import check_sentence, intent_finding, intent_floor

        intent = check_sentence(options.intent, decoded, context)
        found.append(intent_finding(intent))
    decision = judge(decoded, found, policy, context)
    floor = intent_floor(intent) if intent is not None else None
    if floor is not None and VERDICT_RANK[floor[0]] > VERDICT_RANK[decision.verdict]:  # intent only raises
        decision = decision.model_copy(update={"verdict": floor[0], "decided_by": floor[1]})
    findings = _merge(effective_findings(found, policy), decision.findings)
    review = Review(
        verdict=decision.verdict,
        risk_score=risk_score(findings),
        findings=findings,
        decided_by=decision.decided_by,
        decoded=decoded,
        explanation=explain(facts, findings, decision.verdict, decision.decided_by, decision.policy_name),
        policy=decision.policy_name,
        simulation=context.simulation,
        intent=intent,
        threat_lists=[info.summary(context.now) for info in facts.threats.infos],
    )
    # Always through the LLM stage: with use_llm off it still flags prompt-injection text in what the
    # dApp supplied and labels the explanation deterministic; it never runs a model then.
    from copilot.llm.explain import enrich_review

    final = _never_lower(review, enrich_review(review, options))
    if final.explanation_source == "deterministic" and (final.verdict, final.findings) != (review.verdict, findings):
        # The stage added findings or raised the verdict: the deterministic text must say so.
        final.explanation = explain(facts, final.findings, final.verdict, final.decided_by, final.policy)
    return final


def _never_lower(deterministic: Review, enriched: Review) -> Review:
    """The model is advisory: it may raise the verdict or the score, never lower them, and never
    drop a deterministic finding."""
    if VERDICT_RANK[enriched.verdict] < VERDICT_RANK[deterministic.verdict]:
        enriched = enriched.model_copy(update={"verdict": deterministic.verdict, "decided_by": deterministic.decided_by})
    kept = {(f.id, f.location) for f in enriched.findings}
    missing = [f for f in deterministic.findings if (f.id, f.location) not in kept]
    return enriched.model_copy(update={
        "risk_score": max(enriched.risk_score, deterministic.risk_score),
        "findings": enriched.findings + missing,
    })


def _merge(rule_findings: list[Finding], policy_findings: list[Finding]) -> list[Finding]:
    """Rule findings and the policy's own, worst first, each (id, location, evidence) once."""
    unique = {(f.id, f.location, f.evidence): f for f in rule_findings + policy_findings}
    return sorted(unique.values(), key=lambda f: f.severity.rank, reverse=True)
