"""The grounding check and the facts the model is given."""

from __future__ import annotations

from llmhelpers import SPENDER, USDC, approval_review, typed_data_review

from copilot.llm.facts import collect_facts, shorten_addresses
from copilot.llm.grounding import FactIndex, GroundingCheck, split_sentences, ungrounded_terms

FACTS = FactIndex(
    f"- call: approve(address,uint256) on {USDC} (USD Coin)\n"
    f"  - spender (address): {SPENDER}\n"
    "  - amount (uint256): <untrusted>1,500.5 USDC</untrusted>\n- value sent: 0 ETH\n risk score 70/100"
)


def test_grounded_sentences_pass() -> None:
    for sentence in (
        f"You let {SPENDER} spend 1500.5 USDC.",
        "You let 0x1111…1111 spend your USDC.",
        "The risk score is 70.",
        "You send 0 ETH to USD Coin.",
        "Is this the app you meant to use?",
    ):
        assert ungrounded_terms(sentence, FACTS) == [], sentence


def test_invented_addresses_amounts_tokens_and_protocols_are_caught() -> None:
    assert ungrounded_terms("You send 50 DAI.", FACTS) == ["50", "DAI"]
    assert ungrounded_terms("It pays 0x2222222222222222222222222222222222222222.", FACTS) == [
        "0x2222222222222222222222222222222222222222"
    ]
    assert ungrounded_terms("Then 0x1111…9999 gets it.", FACTS) == ["0x1111…9999"]
    assert ungrounded_terms("Uniswap routes it through stETH.", FACTS) == ["stETH", "Uniswap"]


def test_check_counts_and_keeps_the_rest() -> None:
    check = GroundingCheck(FACTS.text)
    kept = check.filter_text(f"You approve {SPENDER}. It also sends 5 ETH to Lido! Check it.")
    assert kept == f"You approve {SPENDER}. Check it."
    assert (check.result.checked, check.result.dropped) == (3, 1)
    assert check.result.rate == 2 / 3
    assert "5" in check.result.dropped_sentences[0]


def test_sentence_split_keeps_decimals_together() -> None:
    assert split_sentences("You send 1.5 ETH. Then it goes!") == ["You send 1.5 ETH.", "Then it goes!"]


def test_facts_hold_the_key_facts() -> None:
    facts = collect_facts(approval_review())
    assert facts.key_facts["spender"] == [SPENDER]
    assert facts.key_facts["amount"] == ["unlimited USDC"]
    assert facts.key_facts["token"] == ["USD Coin"]
    text = facts.text()
    assert "0x1111…1111" in text and "approval.unlimited" in text and "policy verdict: confirm" in text
    assert SPENDER in facts.full_text()
    # No secrets in the prompt: tests/test_llm_secrets.py checks what a real `sign` sends the model.


def test_typed_data_strings_are_untrusted_but_addresses_and_numbers_are_plain() -> None:
    facts = collect_facts(typed_data_review({"offerer": SPENDER, "name": "Cool Cat #7", "amount": "3"}))
    assert [u.where for u in facts.untrusted] == ["domain name", "EIP-712 field message.name"]
    assert "message.offerer: 0x1111…1111" in facts.text()
    assert "message.amount: 3" in facts.text()


def test_huge_requests_are_cut_in_the_middle_keeping_findings_and_verdict() -> None:
    review = approval_review()
    facts = collect_facts(review)
    facts.lines[4:4] = [f"  - filler {i}: " + "x" * 80 for i in range(200)]
    text = facts.text()
    assert len(text) <= 3600 + 80
    assert "more decoded lines not shown" in text
    assert text.splitlines()[-1].startswith("- policy verdict: confirm")
    assert "approval.unlimited (high)" in text


def test_prompt_facts_shorten_addresses_but_never_lookalikes() -> None:
    real = "0x4CD7B9999999999999999999999999999991c2D3"
    spoof = "0x4cd7000000000000000000000000000000A1c2D3"
    other = "0x9D3e1b5aC2F84e7b60d9C51fA3be0C27d4e6A8F1"
    mine = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
    text = shorten_addresses(f"{mine} {real} {spoof} {real} {other} {other}")
    assert text == f"0x8ba1…BA72 {real} {spoof} {real} 0x9D3e…A8F1 0x9D3e…A8F1"
    # the model's short form of a fact it read in full is grounded
    assert ungrounded_terms("The spender 0x9D3e…A8F1 can spend it.", FactIndex(other)) == []


def test_finding_evidence_reaches_the_model_only_when_it_adds_a_fact() -> None:
    review = approval_review()
    known = "0x4Cd7B1e0a4d2E6F0D2B5c8f6A0D3E2b8F9A1C2D3"
    review.findings.append(
        review.findings[0].model_copy(
            update={"id": "address.poisoning", "evidence": f"recipient looks like Alice {known}"}
        )
    )
    facts = collect_facts(review)
    prompt = facts.text()
    # "approve lets 0x1111… spend an unlimited amount of USDC" repeats the call's lines: left out
    assert "approval.unlimited (high): Unlimited token approval\n" in prompt
    assert "approve lets" not in prompt and "approve lets" in facts.full_text()
    assert "Alice 0x4Cd7…C2D3" in prompt  # a new address: kept, fenced as the request's text
