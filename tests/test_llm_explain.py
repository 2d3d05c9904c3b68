"""enrich_review with a fake model behind the real sandboxed worker: advisory only, grounded, labelled."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from llmhelpers import RECIPIENT, SPENDER, USDC, approval_review, transfer_review

from copilot.llm import explain
from copilot.llm.explain import enrich_review
from copilot.llm.prompt import SYSTEM_PROMPT
from copilot.models import VERDICT_RANK, Review, Verdict
from copilot.resources import fixtures_dir

DEMO = fixtures_dir() / "demo" / "unlimited-approval.json"


@dataclass
class Options:
    use_llm: bool = True
    model: str | None = None
    on_token: Any = None


def fake(answer: dict[str, Any] | str) -> dict[str, Any]:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return {"backend": "fake", "answer": text, "name": "fake-model"}


def answer(
    summary: str,
    *,
    level: str = "low",
    risks: list[dict[str, str]] | None = None,
    steps: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "summary": summary,
        "what_happens": steps or ["You sign it."],
        "risks": risks or [],
        "risk_level": level,
        "questions": ["Did you start this yourself?"],
    }


def test_model_saying_safe_never_lowers_a_confirm_or_block() -> None:
    cases: tuple[tuple[Verdict, int], ...] = (("confirm", 70), ("block", 95))
    for verdict, score in cases:
        review = approval_review(verdict=verdict, score=score)
        out = enrich_review(
            review, Options(), backend_override=fake(answer("You approve a token. It is safe.", level="low"))
        )
        assert out.verdict == verdict
        assert out.risk_score == score
        assert out.decided_by == review.decided_by
        assert out.explanation_source == "llm"


def test_model_can_raise_allow_to_confirm_with_a_grounded_risk() -> None:
    review = transfer_review()
    concern = {"finding": "new", "text": f"You have never paid {RECIPIENT} before."}
    out = enrich_review(
        review, Options(), backend_override=fake(answer("You send 50 USDC.", level="high", risks=[concern]))
    )
    assert out.verdict == "confirm"
    assert out.decided_by == "llm:advisory"
    assert out.risk_score >= 60
    assert out.llm is not None and out.llm.raised_verdict


def test_model_alone_never_blocks() -> None:
    concern = {"finding": "new", "text": "This looks like a drain."}
    out = enrich_review(
        transfer_review(),
        Options(),
        backend_override=fake(answer("You send 50 USDC.", level="critical", risks=[concern])),
    )
    assert out.verdict == "confirm"
    assert out.risk_score >= 85


def test_sentence_inventing_an_amount_or_address_is_dropped_and_counted() -> None:
    invented = "0x9999999999999999999999999999999999999999"
    reply = answer(
        f"You approve {SPENDER} to spend unlimited USDC. It also sends 500 DAI to {invented}.",
        steps=[f"{SPENDER} may move all of your USDC.", "Uniswap swaps it for ETH."],
    )
    out = enrich_review(approval_review(), Options(), backend_override=fake(reply))
    assert out.llm is not None
    assert out.llm.grounding.checked == 5  # two summary sentences, two steps, one question
    assert out.llm.grounding.dropped == 2
    assert out.llm.grounding_rate == pytest.approx(0.6)
    assert "500 DAI" not in out.explanation and "Uniswap" not in out.explanation
    assert f"You approve {SPENDER} to spend unlimited USDC." in out.explanation
    # the deterministic explanation fills the gap
    assert USDC in out.explanation
    report = json.loads(out.model_dump_json())["llm"]
    assert report["grounding_rate"] == pytest.approx(0.6)


def test_no_llm_and_missing_model_are_labelled_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    review = approval_review()
    out = enrich_review(review, Options(use_llm=False))
    assert out.explanation_source == "deterministic" and out.llm is None
    assert out.explanation_note is not None and "--no-llm" in out.explanation_note
    assert out.explanation == review.explanation

    monkeypatch.setattr("copilot.llm.discovery.default_model", lambda: None)
    out = enrich_review(review, Options())
    assert out.explanation_source == "deterministic"
    assert out.explanation_note is not None and "no model" in out.explanation_note


def test_unusable_model_output_falls_back_to_the_deterministic_explanation() -> None:
    review = approval_review()
    out = enrich_review(review, Options(), backend_override=fake('{"summary": "You approve'))
    assert out.explanation_source == "deterministic"
    assert out.explanation == review.explanation
    assert out.explanation_note is not None and "not valid JSON" in out.explanation_note
    assert out.verdict == review.verdict


def test_tokens_stream_as_readable_text_and_report_says_how_it_ran() -> None:
    pieces: list[str] = []
    reply = answer(
        "You approve unlimited USDC.",
        risks=[{"finding": "approval.unlimited", "text": "It can take all your USDC."}],
    )
    out = enrich_review(approval_review(), Options(on_token=pieces.append), backend_override=fake(reply))
    streamed = "".join(pieces)
    assert len(pieces) > 5
    assert streamed.startswith("You approve unlimited USDC.")
    assert "- [approval.unlimited] It can take all your USDC." in streamed
    assert '"summary"' not in streamed
    assert out.llm is not None
    names = {layer.name for layer in out.llm.isolation}
    assert names == {"process", "environment", "limits", "filesystem", "pid", "network", "seccomp", "landlock"}
    assert out.llm.timing.generated_tokens > 0
    assert out.llm.risks[0].finding == "approval.unlimited"


def test_review_json_round_trips_with_the_typed_report() -> None:
    out = enrich_review(
        approval_review(), Options(), backend_override=fake(answer("You approve unlimited USDC."))
    )
    again = Review.model_validate_json(out.model_dump_json())
    assert again.llm == out.llm
    assert VERDICT_RANK[again.verdict] >= VERDICT_RANK["confirm"]


def test_prefix_cache_key_changes_with_the_model_file_and_the_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF one")
    load = {"backend": "llama-cpp", "model_path": str(model), "n_ctx": 2048, "n_gpu_layers": 0}
    first = explain.prefix_cache_path(load)
    assert first == explain.prefix_cache_path(dict(load))
    model.write_bytes(b"GGUF two, longer")
    changed_model = explain.prefix_cache_path(load)
    monkeypatch.setattr(explain, "SYSTEM_PROMPT", SYSTEM_PROMPT + " Be brief.")
    changed_prompt = explain.prefix_cache_path(load)
    assert (
        len({first, changed_model, changed_prompt, explain.prefix_cache_path({**load, "n_ctx": 4096})}) == 4
    )
    assert explain.prefix_cache_path({"backend": "fake"}) is None


def test_a_wrong_model_summary_never_replaces_the_deterministic_explanation_as_the_headline() -> None:
    # The 135M model has reversed approvals: "SPENDER lets you ..." with the operator's role swapped.
    wrong = answer(f"{SPENDER} approves you to spend its USDC.", steps=["Nothing leaves your wallet."])
    review = approval_review()
    out = enrich_review(review, Options(), backend_override=fake(wrong))
    assert out.explanation_source == "llm" and out.llm is not None
    paragraphs = out.explanation.split("\n\n")
    assert paragraphs[0] == review.explanation
    assert paragraphs[1] == explain.ADVISORY_HEADING and "advisory" in paragraphs[1]
    assert paragraphs[2] == f"{SPENDER} approves you to spend its USDC."


def test_human_view_names_both_sources_when_the_model_contributed(capsys: pytest.CaptureFixture[str]) -> None:
    from copilot.cli.review import render

    out = enrich_review(approval_review(), Options(), backend_override=fake(answer("You approve unlimited USDC.")))
    render(out)
    assert "Explanation (deterministic + local model)" in capsys.readouterr().out


def test_a_summary_longer_than_two_sentences_is_cut_to_two() -> None:
    reply = answer("You send 50 USDC. It goes to one address. You pay gas. It cannot be undone.")
    out = enrich_review(transfer_review(), Options(), backend_override=fake(reply))
    assert out.llm is not None
    assert out.llm.summary == "You send 50 USDC. It goes to one address."
    assert "You pay gas." not in out.explanation


def test_a_review_starts_loading_the_model_before_it_decodes_and_then_uses_that_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from copilot.llm import sandbox
    from copilot.pipeline import ReviewOptions, review_input

    load = fake(answer("You approve USDC for the spender.", steps=["The spender can take it."]))
    monkeypatch.setattr(explain, "_load_request", lambda *args: (load, "fake-model"))
    launched: list[sandbox.Worker] = []
    original = sandbox.launch_worker

    def recording(*args: Any, **kwargs: Any) -> sandbox.Worker:
        launched.append(original(*args, **kwargs))
        return launched[-1]

    monkeypatch.setattr(sandbox, "launch_worker", recording)
    decode_saw: list[bool] = []
    import copilot.decoding

    real_decode = copilot.decoding.decode
    monkeypatch.setattr(
        copilot.decoding, "decode", lambda request: decode_saw.append(bool(launched)) or real_decode(request)
    )
    explain.close_workers()
    try:
        review = review_input(DEMO.read_text(), ReviewOptions())
    finally:
        explain.close_workers()
    assert decode_saw == [True]  # the worker was already loading while the request was decoded
    assert len(launched) == 1  # and the explanation used it, no second start
    assert review.llm is not None and review.llm.timing.load_s > 0
    assert review.explanation_source == "llm"


def test_a_missing_model_named_by_the_user_is_one_error_from_the_explanation_not_from_prestart(
    tmp_path: Path,
) -> None:
    from copilot.errors import EnvironmentProblem
    from copilot.pipeline import ReviewOptions, review_input

    explain.close_workers()
    with pytest.raises(EnvironmentProblem, match="model file not found"):
        review_input(DEMO.read_text(), ReviewOptions(model=str(tmp_path / "missing.gguf")))
    assert not explain._workers


def test_eval_scores_key_facts_findings_level_agreement_and_false_alarms() -> None:
    from copilot.llm.evaluate import EvalReport, score_case

    deterministic = approval_review()  # score 70: "high"
    explained = enrich_review(
        deterministic,
        Options(),
        backend_override=fake(
            answer(
                f"You let {SPENDER[:6]}…{SPENDER[-4:]} spend unlimited USDC of USD Coin.",
                level="high",
                risks=[{"finding": "approval.unlimited", "text": "The approval has no limit."}],
            )
        ),
    )
    case = score_case("approval-x", deterministic, explained, 1.5)
    assert case.completed and case.dropped == 0
    assert (case.key_facts_named, case.key_facts) == (3, 3)  # spender (short form), amount, token
    assert (case.findings_cited, case.findings) == (1, 1) and case.level_agrees and not case.raised
    assert case.asked  # the fake answer's question
    benign = score_case("benign-x", transfer_review(), enrich_review(
        transfer_review(), Options(), backend_override=fake(answer("You send USDC.", level="critical",
        risks=[{"finding": "new", "text": "It may be a scam."}]))), 2.0)
    assert benign.raised and not benign.level_agrees
    summary = EvalReport("fake", [case, benign]).summary()
    assert summary["false_alarms"] == "1/1" and summary["level_agreement"] == 0.5
    assert summary["questions_asked"] == 1.0


def test_eval_counts_a_token_named_by_its_symbol_or_its_name() -> None:
    from copilot.llm.evaluate import named

    assert named("USD Coin (USDC)", "You let it spend unlimited USDC.")
    assert named("USD Coin (USDC)", "It is USD Coin.")
    assert not named("USD Coin (USDC)", "You let it spend unlimited DAI.")
    assert named(SPENDER, f"{SPENDER[:6]}…{SPENDER[-4:]} may spend it") and not named(SPENDER, "0x1111 may")


def test_a_sentence_the_model_repeats_as_a_step_risk_or_question_is_said_once() -> None:
    said = "You approve USDC for the spender."
    out = enrich_review(
        approval_review(),
        Options(),
        backend_override=fake(
            answer(
                said,
                steps=[said, "The spender can move it later."],
                risks=[{"finding": "approval.unlimited", "text": "you approve USDC for the spender!"}],
            )
        ),
    )
    assert out.llm is not None
    assert out.llm.summary == said
    assert out.llm.what_happens == ["The spender can move it later."]
    assert out.llm.risks == []  # its only text repeated the summary
    assert "2 repeated sentences left out" in out.llm.notes
    assert out.llm.grounding.dropped == 0  # repeating is not inventing


def test_a_prestarted_worker_that_fails_to_load_is_reported_once_and_not_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from copilot.llm import sandbox
    from copilot.pipeline import ReviewOptions, review_input

    broken = {"backend": "llama-cpp", "model_path": str(tmp_path / "gone.gguf"), "n_ctx": 512}
    monkeypatch.setattr(explain, "_load_request", lambda *args: (broken, "gone.gguf"))
    launched: list[sandbox.Worker] = []
    original = sandbox.launch_worker
    monkeypatch.setattr(sandbox, "launch_worker", lambda *a, **k: launched.append(original(*a, **k)) or launched[-1])
    explain.close_workers()
    review = review_input(DEMO.read_text(), ReviewOptions())
    assert len(launched) == 1  # the failed load is not hidden behind a second start
    assert review.explanation_source == "deterministic"
    assert review.explanation_note is not None and "model worker failed" in review.explanation_note
    assert not explain._workers and launched[0].process.poll() is not None
