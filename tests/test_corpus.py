"""The labelled corpus: every request gets its expected verdict and findings under its policy."""

from __future__ import annotations

import pytest

from copilot.risk.catalogue import CATALOGUE
from copilot.risk.corpus import Case, load_cases, review_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_gets_its_verdict_and_findings(case: Case) -> None:
    review = review_case(case)
    found = {f.id for f in review.findings}
    summary = f"{case.description}: got {review.verdict} by {review.decided_by}, findings {sorted(found)}"
    assert review.verdict == case.verdict, summary
    assert set(case.findings) <= found, summary
    assert not set(case.forbidden) & found, summary
    for finding in review.findings:  # the README catalogue tells the truth about every finding raised
        spec = CATALOGUE.get(finding.id)
        if spec is not None and "[severity " not in finding.evidence:
            assert (finding.severity, finding.title) == (spec.severity, spec.title), finding


def test_corpus_is_large_and_covers_every_finding() -> None:
    assert len(CASES) >= 40
    expected = {finding_id for case in CASES for finding_id in case.findings}
    assert set(CATALOGUE) - expected == set(), "catalogue findings without a corpus case"
    assert expected - set(CATALOGUE) == set(), "corpus expects findings the catalogue does not document"


def test_everyday_requests_are_allowed_with_a_low_score() -> None:
    benign = [case for case in CASES if case.name.startswith("benign-")]
    assert len(benign) >= 20
    for case in benign:
        review = review_case(case)
        assert review.verdict == "allow", case.name
        assert review.risk_score < 40, (case.name, review.findings)
