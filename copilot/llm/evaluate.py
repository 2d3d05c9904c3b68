"""`txcopilot eval`: how well a model explains the labelled corpus (fixtures/requests).

Per case the deterministic review runs first (as the corpus tests do), then the model explains it.
Reported per model: how many answers completed, the grounding rate, whether the explanation names
the key facts (spender, amount, token, recipient), agreement with the deterministic review (findings
its risks cite; its risk level against the level of the deterministic score), and how often the
model's advisory raised an everyday ("benign-") request: a false alarm.

The answer grammar fixes the finding IDs of the first risks (each finding above info), so "findings
cited" mostly measures the grammar; the risk level is the model's own call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.llm.facts import collect_facts
from copilot.models import Review

KEY_ROLES = ("spender", "amount", "token", "recipient")


@dataclass
class CaseResult:
    name: str
    completed: bool
    checked: int = 0
    dropped: int = 0
    key_facts: int = 0
    key_facts_named: int = 0
    findings: int = 0
    findings_cited: int = 0
    level_agrees: bool = False
    asked: bool = False  # a question for the user survived the grounding check
    raised: bool = False
    benign: bool = False
    seconds: float = 0.0
    note: str | None = None


@dataclass
class EvalReport:
    model: str
    cases: list[CaseResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        done = [c for c in self.cases if c.completed]
        checked = sum(c.checked for c in done)
        keys = sum(c.key_facts for c in done)
        findings = sum(c.findings for c in done)
        benign = [c for c in done if c.benign]
        times = sorted(c.seconds for c in self.cases)
        return {
            "model": self.model,
            "cases": len(self.cases),
            "completed": len(done),
            "grounding_rate": round((checked - sum(c.dropped for c in done)) / checked, 3)
            if checked
            else None,
            "key_facts_named": round(sum(c.key_facts_named for c in done) / keys, 3) if keys else None,
            "findings_cited": round(sum(c.findings_cited for c in done) / findings, 3) if findings else None,
            "level_agreement": round(sum(c.level_agrees for c in done) / len(done), 3) if done else None,
            "questions_asked": round(sum(c.asked for c in done) / len(done), 3) if done else None,
            "false_alarms": f"{sum(c.raised for c in benign)}/{len(benign)}",
            "p50_s": round(times[len(times) // 2], 2) if times else None,
        }


def named(value: str, text: str) -> bool:
    """Whether `text` names `value`: an address in full or as 0xabcd…1234, a token label "Name (SYM)"
    by its name or its symbol, any other label or amount word for word."""
    lowered = text.lower()
    value = value.strip()
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        v = value.lower()
        return v in lowered or bool(re.search(rf"{v[:6]}[0-9a-f]*(…|\.\.\.)[0-9a-f]*{v[-4:]}", lowered))
    label = re.fullmatch(r"(.+) \((\w+)\)", value)
    if label:
        return any(named(part, text) for part in label.groups())
    return value.lower() in lowered


def score_case(name: str, deterministic: Review, explained: Review, seconds: float) -> CaseResult:
    from copilot.llm.explain import level_of_score

    result = CaseResult(
        name=name, completed=explained.llm is not None, benign=name.startswith("benign-"), seconds=seconds
    )
    report = explained.llm
    if report is None:
        result.note = explained.explanation_note
        return result
    result.checked, result.dropped = report.grounding.checked, report.grounding.dropped
    text = " ".join([report.summary, *report.what_happens, *(r.text for r in report.risks)])
    facts = collect_facts(deterministic)
    for role in KEY_ROLES:
        for value in facts.key_facts.get(role, []):
            result.key_facts += 1
            result.key_facts_named += named(value, text)
    ids = {f.id for f in deterministic.findings}
    cited = {r.finding for r in report.risks if r.finding}
    result.findings, result.findings_cited = len(ids), len(ids & cited)
    result.level_agrees = report.risk_level == level_of_score(deterministic.risk_score)
    result.asked = bool(report.questions)
    result.raised = (
        explained.verdict != deterministic.verdict or explained.risk_score != deterministic.risk_score
    )
    return result


def eval_model(model: str | None) -> Path:
    """The model `eval` runs: `model`, else the configured one; a missing or damaged file is one line, exit 4."""
    from copilot.errors import EnvironmentProblem
    from copilot.llm.discovery import gguf_metadata, resolve_model

    path, why = resolve_model(model)
    if path is None:
        raise EnvironmentProblem(why, "pass --model PATH or run `txcopilot model install`")
    gguf_metadata(path)  # a damaged file is one line and exit 4, not "completed 0"
    return path


def eval_server(target: Any) -> str:
    """The name `eval` reports for the user's own LLM server: its model and where it runs; a server
    that does not answer is one line, exit 4 (copilot.llm.server.LLMServerError)."""
    from copilot.llm.server import connect

    info = connect(target).info
    return f"{info.model} ({info.dialect} at {info.url})"


def run_eval(
    path: Path | None,
    *,
    limit: int | None = None,
    progress: Callable[[str], None] | None = None,
    server: Any = None,
    server_name: str | None = None,
) -> EvalReport:
    """`path`'s explanations of the labelled corpus, scored (check it with eval_model first); or, with
    `server` (a copilot.llm.server.ServerTarget), those of the user's own LLM server."""
    from copilot.llm.explain import enrich_review
    from copilot.risk.corpus import load_cases, review_case

    options = _Options(model=str(path) if path else None, llm_server=server)
    report = EvalReport(model=server_name or (path.name if path else "server"))
    for case in load_cases()[:limit]:
        deterministic = review_case(case)
        started = time.perf_counter()
        explained = enrich_review(deterministic, options)
        report.cases.append(score_case(case.name, deterministic, explained, time.perf_counter() - started))
        if progress:
            progress(case.name)
    return report


@dataclass
class _Options:
    model: str | None
    use_llm: bool = True
    llm_server: Any = None
