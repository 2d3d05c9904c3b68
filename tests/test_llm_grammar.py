"""The lean grammar: it parses in llama.cpp, accepts what the pydantic model accepts, limits finding IDs."""

from __future__ import annotations

import json

import pytest

from copilot.llm.explain import parse_answer
from copilot.llm.grammar import answer_grammar
from copilot.llm.stream import HumanStream

GOOD = {
    "summary": "You approve unlimited USDC. Anyone holding the spender key can take it.",
    "what_happens": ["The spender gets an allowance of 1.5 USDC.", "Nothing moves yet."],
    "risks": [{"finding": "approval.unlimited", "text": "It can take all your USDC."}],
    "risk_level": "high",
    "questions": ["Do you trust this app?"],
}


def test_grammar_parses_in_llama_cpp_and_lists_only_this_reviews_finding_ids() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    grammar = answer_grammar(["approval.unlimited", "approval.unknown_spender"])
    assert llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    finding_rule = next(line for line in grammar.splitlines() if line.startswith("finding ::="))
    assert (
        finding_rule
        == 'finding ::= "\\"approval.unknown_spender\\"" | "\\"approval.unlimited\\"" | "\\"new\\""'
    )


def test_the_grammars_fixed_shape_is_what_the_pydantic_model_reads() -> None:
    # The grammar emits keys in this order with ", " and ": " separators and no escapes.
    text = json.dumps(GOOD)
    assert text.startswith('{"summary": "You ')
    answer = parse_answer(text)
    assert answer is not None and answer.risks[0].finding == "approval.unlimited"
    assert parse_answer(text[:-1]) is None


def test_stream_shows_values_not_json() -> None:
    out: list[str] = []
    stream = HumanStream(out.append)
    text = json.dumps(GOOD)
    for start in range(0, len(text), 3):
        stream.feed(text[start : start + 3])
    shown = "".join(out)
    assert shown.startswith("You approve unlimited USDC.")
    assert "What happens:\n- The spender gets an allowance of 1.5 USDC.\n- Nothing moves yet." in shown
    assert "- [approval.unlimited] It can take all your USDC." in shown
    assert "Model's risk level: high" in shown
    assert "{" not in shown and '"' not in shown


def test_an_answer_cut_off_at_the_token_limit_keeps_its_complete_parts() -> None:
    from copilot.llm.explain import salvage_answer

    text = json.dumps(GOOD)
    cut = text[: text.index("Nothing moves") + 4]
    answer = salvage_answer(cut)
    assert answer is not None
    assert answer.summary == GOOD["summary"]
    assert answer.what_happens == GOOD["what_happens"][:1]
    assert answer.risks == [] and answer.risk_level == "low"  # unknown level never raises
    assert salvage_answer('{"summary": "You appr') is None


def test_a_value_cut_mid_sentence_keeps_its_complete_sentences() -> None:
    from copilot.llm.explain import salvage_answer

    answer = salvage_answer('{"summary": "You approve USDC. It can take')
    assert answer is not None and answer.summary == "You approve USDC."
    answer = salvage_answer('{"summary": "You approve USDC.", "what_happens": ["One. Two and')
    assert answer is not None and answer.what_happens == ["One."]


def test_fact_terms_are_the_addresses_as_shown_and_amounts_with_their_unit() -> None:
    from copilot.llm.grammar import fact_terms

    facts = (
        "- chain id: 1\n- from (your account): 0x8ba1…BA72\n"
        "  - to (address): 0x4CD7B9999999999999999999999999999991c2D3\n"
        "  - amount (uint256): <untrusted>5,000 USDC</untrusted> (raw 5000000000)\n"
        "- value sent: 0.25 ETH\n- policy verdict: confirm, risk score 76/100"
    )
    assert fact_terms(facts) == [
        "0x8ba1…BA72",
        "0x4CD7B9999999999999999999999999999991c2D3",
        "0.25 ETH",
        "5,000 USDC",  # from a fence (the token chose its symbol): after the decoded facts
    ]  # no bare numbers: a chain id or a score is not an amount the model may write


def test_grammar_fixes_the_finding_ids_of_the_risks_and_asks_one_question() -> None:
    grammar = answer_grammar(["approval.unlimited", "address.first_interaction"], must_explain=["approval.unlimited"])
    root = grammar.splitlines()[0]
    assert '{\\"finding\\": \\"approval.unlimited\\", \\"text\\": ' in root
    assert root.endswith('"[" asked "]" "}"')  # questions: exactly one, never an empty list
    assert 'asked ::= "\\"" question "\\""' in grammar and 'question ::= clause "?"' in grammar
    assert 'question ::= clause "?"' in grammar  # and a question it is


def test_counts_are_fact_terms_only_when_asked_and_without_their_punctuation() -> None:
    from copilot.llm.grammar import fact_terms

    facts = "- open approvals: 4, of which risky: 2\n- wallet: 0x8ba1…BA72, 1,250 USDC"
    assert fact_terms(facts) == ["0x8ba1…BA72", "1,250 USDC"]
    assert fact_terms(facts, counts=True) == ["0x8ba1…BA72", "1,250 USDC", "4", "2", "1,250"]
    assert fact_terms("- exposed 1,234… of 12.5 ETH", counts=True) == ["12.5 ETH", "12.5"]  # no "1"
