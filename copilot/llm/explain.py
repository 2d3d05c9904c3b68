"""enrich_review: the optional LLM stage of a review. Advisory only: it may raise, never lower.

1. Untrusted strings that read like instructions to an AI add a `text.prompt_injection` finding
   (raises allow to confirm), with or without a model.
2. With a model: the sandboxed worker answers in the grammar's JSON; sentences naming facts that
   are not in the request are dropped (grounding check); the deterministic explanation fills in.
3. A model's risk level above the review's raises the score, and allow to confirm when the model
   backs it with a grounded risk. A model never blocks on its own and never lowers anything.
Any failure of the model leaves the deterministic review, labelled with the reason.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from copilot.config import ModelSettings
from copilot.errors import CopilotError
from copilot.llm.facts import ReviewFacts, collect_facts
from copilot.llm.grammar import answer_grammar
from copilot.llm.grounding import GroundingCheck, split_sentences
from copilot.llm.injection import FINDING_ID as INJECTION_ID
from copilot.llm.injection import injection_findings
from copilot.llm.prompt import SYSTEM_PROMPT, user_prompt
from copilot.llm.schema import RISK_LEVELS, LLMAnswer, LLMReport, ReportRisk, RiskLevel, Timing
from copilot.models import VERDICT_RANK, Review

ADVISORY = "llm:advisory"
MAX_TOKENS = 128
MAX_SUMMARY_SENTENCES = 2
REQUEST_TIMEOUT_S = 120.0
# The lowest risk_score each advisory level stands for (and the level a score stands for).
LEVEL_FLOOR: dict[str, int] = {"low": 0, "medium": 30, "high": 60, "critical": 85}

_workers: dict[str, Any] = {}


def fact_budget(n_ctx: int) -> int:
    """Characters of facts that fit the context with the system prompt and the answer (its sampled
    tokens and about as many forced by the grammar): hex-heavy facts tokenise at about 1.5
    characters a token."""
    return max(1000, int((n_ctx - 2 * MAX_TOKENS - 300) * 1.5))


def level_of_score(score: int) -> RiskLevel:
    level: RiskLevel = "low"
    for name in RISK_LEVELS:
        if score >= LEVEL_FLOOR[name]:
            level = name
    return level


def enrich_review(review: Review, options: Any, *, backend_override: dict[str, Any] | None = None) -> Review:
    """The review, explained by the local model when there is one; never a lower verdict or score.

    `options` is copilot.pipeline.ReviewOptions (use_llm, model; optional on_token: a callback that
    receives the explanation as readable text while it streams; optional model_settings: a
    ModelSettings instead of the config's). `backend_override` replaces the
    model with a worker-side fake (tests).
    """
    review = review.model_copy()  # shallow: every change below reassigns a top-level field
    facts = collect_facts(review)
    _flag_injection(review, facts)
    if not getattr(options, "use_llm", True):
        review.explanation_note = "deterministic explanation: the model was turned off (--no-llm)"
        return review
    server = getattr(options, "llm_server", None)
    if server is not None and backend_override is None:
        return _explain_with_server(review, facts, server)
    try:
        load, model_name = _load_request(
            getattr(options, "model", None), backend_override, getattr(options, "model_settings", None)
        )
        load = _strict(load, options)
    except CopilotError as exc:
        if getattr(options, "model", None):
            raise  # a model the user named must be usable: one line, exit 4, not a quiet fallback
        review.explanation_note = f"deterministic explanation: {exc.one_line()}"
        return review
    if load is None:
        review.explanation_note = f"deterministic explanation: {model_name}"
        return review
    on_token: Callable[[str], None] | None = getattr(options, "on_token", None)
    from copilot.llm.sandbox import IsolationMissing

    try:
        worker = get_worker(load)
    except IsolationMissing as exc:
        review.explanation_note = f"{MODEL_NOT_RUN}: {exc.message}; {ACCEPT_WEAKER}"
        return review
    except CopilotError as exc:
        if getattr(options, "model", None):  # the user's own choice fails loudly (exit 4)
            from copilot.llm.discovery import unloadable
            from copilot.llm.sandbox import ModelUnloadable

            if isinstance(exc, ModelUnloadable):
                raise unloadable(Path(load.get("model_path", model_name))) from exc
            raise
        review.explanation_note = f"deterministic explanation: {exc.one_line()}"
        return review
    try:
        return _explain_with_model(review, facts, worker, load, model_name, on_token)
    except CopilotError as exc:  # a model that loaded but failed to answer: labelled, never silent
        review.explanation_note = f"deterministic explanation: {exc.one_line()}"
        return review


def _explain_with_server(review: Review, facts: ReviewFacts, target: Any) -> Review:
    """The user's own LLM server explains instead of the worker (copilot.llm.server); a server that is
    down, slow or answers nonsense is one line and the deterministic explanation stands."""
    from copilot.llm.server import connect

    try:
        client = connect(target)
        return _explain_with_model(review, facts, client, {"n_ctx": client.n_ctx}, client.info.model, None)
    except CopilotError as exc:
        review.explanation_note = f"deterministic explanation: {exc.one_line()}"
        return review


def _flag_injection(review: Review, facts: ReviewFacts) -> None:
    present = {(f.id, f.location) for f in review.findings}
    new = [f for f in injection_findings(facts) if (f.id, f.location) not in present]
    if not new:
        return
    review.findings = sorted([*review.findings, *new], key=lambda f: f.severity.rank, reverse=True)
    if VERDICT_RANK[review.verdict] < VERDICT_RANK["confirm"]:
        review.verdict = "confirm"
        review.decided_by = f"finding:{INJECTION_ID}"
    review.risk_score = max(review.risk_score, LEVEL_FLOOR["high"])
    review.explanation = f"{injection_warning(review)} {review.explanation}"


def injection_warning(review: Review) -> str:
    fields = ", ".join(sorted({f.location or "request" for f in review.findings if f.id == INJECTION_ID}))
    return (
        f"Warning: the {fields} contains text that tries to instruct an AI reviewer (for example to call "
        "this request safe). Treat the request as hostile."
    )


MODEL_NOT_RUN = "model not run"
ACCEPT_WEAKER = "to run it anyway, set accept_weaker_isolation = true under [model] in config.toml"


def _strict(load: dict[str, Any] | None, options: Any) -> dict[str, Any] | None:
    """With options.require_isolation (sign), the worker refuses the model behind a missing layer."""
    if load is None or not getattr(options, "require_isolation", False):
        return load
    return {**load, "require_walls": True}


def _load_request(
    explicit: str | None, override: dict[str, Any] | None, settings: ModelSettings | None
) -> tuple[dict[str, Any] | None, str]:
    if override is not None:
        return override, str(override.get("name", "fake"))
    from copilot.llm.discovery import model_settings, resolve_model

    settings = settings or model_settings()
    path, why = resolve_model(explicit, settings)
    if path is None:
        return None, why
    return load_message(path, settings), path.name


def load_message(path: Path, settings: ModelSettings) -> dict[str, Any]:
    return {
        "backend": "llama-cpp",
        "model_path": str(path),
        "n_ctx": settings.n_ctx,
        "threads": settings.threads,
        "n_gpu_layers": settings.n_gpu_layers,
    }


def get_worker(load: dict[str, Any]) -> Any:
    """One worker per model per process: `audit` and `eval` reuse its KV cache across reviews."""
    key = json.dumps(load, sort_keys=True)
    worker = _workers.get(key)
    if worker is not None and worker.loading:
        # Launched by prestart: the review pays only what is left of the load. A worker that died
        # meanwhile says why here (wait_loaded reads its exit), instead of a second start hiding it.
        try:
            worker.wait_loaded(timeout_s=REQUEST_TIMEOUT_S, since=time.perf_counter())
        except BaseException:
            del _workers[key]
            raise
        return worker
    if worker is not None and worker.process.poll() is None:
        worker.load_s = 0.0
        return worker
    if worker is not None:
        worker.close()  # exited since its last request: start afresh
    worker = _launch(key, load)
    worker.wait_loaded(timeout_s=REQUEST_TIMEOUT_S)
    return worker


def prestart(options: Any) -> None:
    """Starts loading the model the review will use, so that it loads while the request is decoded
    and checked. Quiet by design: whatever goes wrong here, `enrich_review` meets again and reports."""
    if not getattr(options, "use_llm", True) or getattr(options, "llm_server", None) is not None:
        return  # no model, or the user's own server answers instead of a worker
    try:
        load, _ = _load_request(getattr(options, "model", None), None, getattr(options, "model_settings", None))
        load = _strict(load, options)
        if load is not None and (key := json.dumps(load, sort_keys=True)) not in _workers:
            _launch(key, load)
    except (CopilotError, OSError):
        return


def _launch(key: str, load: dict[str, Any]) -> Any:
    from copilot.llm.sandbox import launch_worker

    kv = [kv_prefix_dir()] if load.get("backend") == "llama-cpp" else []
    worker = launch_worker(load, read_only=kv)
    _workers[key] = worker
    return worker


def kv_prefix_dir() -> Path:
    """The KV-prefix cache: the worker reads it (read-only); only this process writes it."""
    from copilot.state.dirs import cache_dir

    folder = cache_dir() / "kv-prefix"
    folder.mkdir(exist_ok=True)
    return folder.resolve()  # the worker's world shows it at its real path


def prefix_cache_path(load: dict[str, Any]) -> str | None:
    """Where the KV state of the fixed prompt prefix for this model and prompt is kept.

    The key is everything that changes those tensors: the model file's identity, the system prompt
    (the chat template lives in the model file), the llama.cpp build and the context settings. The
    worker also checks the stored tokens, so a stale file is ignored, never trusted.
    """
    if load.get("backend") != "llama-cpp":
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        model = Path(load["model_path"]).resolve()
        stat = model.stat()
        llama_version = version("llama_cpp_python")
    except (OSError, PackageNotFoundError):
        return None
    key = json.dumps(
        [str(model), stat.st_size, stat.st_mtime_ns, SYSTEM_PROMPT, llama_version]
        + [load.get(name) for name in ("n_ctx", "n_gpu_layers")]
    )
    return str(kv_prefix_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.state")


STATE_MAGIC = b"qsgg"  # llama.cpp's LLAMA_STATE_SEQ_MAGIC ("ggsq"), a little-endian uint32
MAX_STATE_BYTES = 1 << 30


def store_prefix_state(path: str, encoded: str, n_ctx: int) -> bool:
    """Validates a prefix state the worker handed back, then writes it atomically (mode 0600).

    The worker is untrusted: the state must be base64 of a llama.cpp sequence-state file (magic,
    version, a token count within the context) of a sane size. Its contents are only ever read back
    by a sandboxed worker, which checks the stored tokens again."""
    import base64
    import binascii

    try:
        state = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(state) < 12 or len(state) > MAX_STATE_BYTES or state[:4] != STATE_MAGIC:
        return False
    tokens = int.from_bytes(state[8:12], "little")
    if not 0 < tokens <= n_ctx or len(state) < 12 + 4 * tokens:
        return False
    from copilot.state.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(Path(path), state)
    except OSError:
        return False  # a read-only or full cache only costs the next review the prefix's evaluation
    return True


@atexit.register
def close_workers() -> None:
    for worker in _workers.values():
        worker.close()
    _workers.clear()


def generate_request(
    review: Review, facts: ReviewFacts, n_ctx: int, prefix_cache: str | None, *, json_schema: bool = False
) -> dict[str, Any]:
    """The worker request that explains `review`: the prompt of its facts, and the grammar that fixes
    the answer's shape, lets it name only those facts' addresses and amounts, and has it explain
    every finding above info. With `json_schema`, also the answer's JSON schema (for a server that
    takes a schema instead of a grammar)."""
    facts_text = facts.text(fact_budget(n_ctx))
    schema: dict[str, Any] = {}
    if json_schema:
        from copilot.llm.server import answer_schema

        schema["schema"] = answer_schema([f.id for f in review.findings])
    return {
        **schema,
        "type": "generate",
        "system": SYSTEM_PROMPT,
        "user": user_prompt(facts_text),
        "grammar": answer_grammar(
            (f.id for f in review.findings),
            facts_text,
            must_explain=list(dict.fromkeys(f.id for f in review.findings if f.severity.value != "info")),
        ),
        "max_tokens": MAX_TOKENS,
        "prefix_cache": prefix_cache,
    }


def _explain_with_model(
    review: Review,
    facts: ReviewFacts,
    worker: Any,
    load: dict[str, Any],
    model_name: str,
    on_token: Callable[[str], None] | None,
) -> Review:
    from copilot.llm.stream import HumanStream

    stream = HumanStream(on_token) if on_token else None
    n_ctx = int(load.get("n_ctx", 2048))
    prefix_cache = prefix_cache_path(load)
    server = getattr(worker, "info", None)  # the user's own LLM server (copilot.llm.server)
    done = worker.request(
        generate_request(review, facts, n_ctx, prefix_cache, json_schema=server is not None),
        timeout_s=REQUEST_TIMEOUT_S,
        on_message=(lambda message: stream.feed(message.get("text", ""))) if stream else None,
    )
    if prefix_cache and done.get("prefix_state"):
        store_prefix_state(prefix_cache, done["prefix_state"], n_ctx)
    timing = Timing(
        load_s=round(worker.load_s, 3),
        first_token_s=round(done["first_token_s"], 3),
        total_s=round(done["total_s"], 3),
        prompt_tokens=done["prompt_tokens"],
        cached_prompt_tokens=done["cached_prompt_tokens"],
        generated_tokens=done["generated_tokens"],
        forced_tokens=done.get("forced_tokens", 0),
        tokens_per_s=round(done["tokens_per_s"], 1),
    )
    answer = parse_answer(done["text"])
    cut_off = answer is None and done["stopped_by"] == "max_tokens"
    if cut_off:
        answer = salvage_answer(done["text"])
    if answer is None:
        why = "was cut off at the token limit" if cut_off else "was not valid JSON of the answer's fields"
        review.explanation_note = f"deterministic explanation: the model's answer {why}"
        return review
    answer, left_out = bound_answer(answer)
    report = ground_answer(answer, review, facts, model_name)
    if left_out:
        report.notes.append(
            f"{left_out} part{'s' if left_out > 1 else ''} of the answer left out: over the answer's limits, "
            "too long, or with control characters"
        )
    if cut_off:
        report.notes.append(
            f"the answer was cut off at {MAX_TOKENS} tokens: only its complete parts are kept"
        )
    report.isolation = list(worker.layers)  # a missing one heads the review (copilot.cli.review)
    report.server = server
    report.timing = timing
    _apply_advisory(review, report)
    review.llm = report
    review.explanation = compose_explanation(report, review)
    review.explanation_source = "llm"
    review.explanation_note = None
    return review


def parse_answer(text: str) -> LLMAnswer | None:
    try:
        return LLMAnswer.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None


MAX_TEXT_CHARS = 600


def bound_answer(answer: LLMAnswer) -> tuple[LLMAnswer, int]:
    """The answer within the grammar's limits, and how many parts were cut to get there.

    The in-process grammar already keeps to them; a server's answer (a JSON schema at best) may not:
    lists beyond the grammar's caps, texts longer than any sentence the grammar allows, and text
    with control or format characters (terminal escapes, bidi overrides) are left out."""
    from copilot.llm.grammar import MAX_QUESTIONS, MAX_RISKS, MAX_STEPS

    cut = 0

    def fits(text: str, limit: int = MAX_TEXT_CHARS) -> bool:
        return len(text) <= limit and not any(unicodedata.category(c)[0] == "C" for c in text)

    def bounded(items: list[Any], cap: int, text: Callable[[Any], str]) -> list[Any]:
        nonlocal cut
        kept = [item for item in items if fits(text(item))]
        cut += len(items) - len(kept[:cap])
        return kept[:cap]

    summary = answer.summary if fits(answer.summary, MAX_SUMMARY_SENTENCES * MAX_TEXT_CHARS) else ""
    cut += summary != answer.summary
    return answer.model_copy(update={
        "summary": summary,
        "what_happens": bounded(answer.what_happens, MAX_STEPS, str),
        "risks": bounded(answer.risks, MAX_RISKS, lambda risk: risk.text + risk.finding),
        "questions": bounded(answer.questions, MAX_QUESTIONS, str),
    }), cut


def salvage_answer(text: str) -> LLMAnswer | None:
    """The complete parts of an answer cut off by the token limit.

    The grammar guarantees `text` is a prefix of the answer's fixed shape without escapes, so it is
    cut back to the last complete value and the open brackets are closed. A missing risk level is
    "low", which never raises anything.
    """
    stack: list[str] = []
    in_string = False
    opened = 0
    best: tuple[int, list[str]] | None = None
    for index, char in enumerate(text):
        if in_string:
            if char == '"':
                in_string = False
                if text[index + 1 : index + 2] != ":":
                    best = (index + 1, list(stack))
        elif char == '"':
            in_string = True
            opened = index
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
            best = (index + 1, list(stack))
    if in_string and (text[opened - 2 : opened] in (": ", ", ") or text[opened - 1 : opened] == "["):
        # Cut inside a value: keep its complete sentences ("You approve X. It can" -> "You approve X.").
        ends = [m.end() for m in re.finditer(r"[.!?](?= |$)", text[opened + 1 :])]
        if ends:
            return salvage_answer(text[: opened + 1 + ends[-1]] + '"')
    if best is None:
        return None
    end, still_open = best
    try:
        data = json.loads(text[:end] + "".join(reversed(still_open)))
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("summary"):
        return None
    data["risks"] = [
        r for r in data.get("risks", []) if isinstance(r, dict) and {"finding", "text"} <= set(r)
    ]
    defaults: dict[str, Any] = {"what_happens": [], "risk_level": "low", "questions": []}
    try:
        return LLMAnswer.model_validate({**defaults, **data})
    except ValidationError:
        return None


def ground_answer(answer: LLMAnswer, review: Review, facts: ReviewFacts, model_name: str) -> LLMReport:
    """The answer with every ungrounded sentence dropped, and the tally."""
    check = GroundingCheck(facts.full_text() + "\n" + review.explanation)
    # The schema's summary is 1 to 2 sentences: the grammar caps it, a backend without one may not.
    summary = check.filter_text(" ".join(split_sentences(answer.summary)[:MAX_SUMMARY_SENTENCES]))
    # A small model repeats its summary as a step, a risk and a question: said once is enough.
    said = {_said(sentence) for sentence in split_sentences(summary)}
    repeated = 0

    def keep(text: str) -> bool:
        nonlocal repeated
        if not check.keep(text):
            return False
        if _said(text) in said:
            repeated += 1
            return False
        said.add(_said(text))
        return True

    # The question first: a step or a risk that repeats it ("What is the purpose of this request?")
    # is the one out of place.
    questions = [question for question in answer.questions if keep(question)]
    steps = [step for step in answer.what_happens if keep(step)]
    finding_ids = {f.id for f in review.findings}
    risks = [
        ReportRisk(finding=risk.finding if risk.finding in finding_ids else None, text=risk.text)
        for risk in answer.risks
        if keep(risk.text)
    ]
    notes = []
    if check.result.dropped:
        notes.append(
            f"{check.result.dropped} of {check.result.checked} sentences dropped: they named addresses, amounts, "
            "tokens or protocols that are not in the request"
        )
    if repeated:
        notes.append(f"{repeated} repeated sentence{'s' if repeated > 1 else ''} left out")
    return LLMReport(
        model=model_name,
        summary=summary,
        what_happens=steps,
        risks=risks,
        risk_level=answer.risk_level,
        questions=questions,
        grounding=check.result,
        grounding_rate=round(check.result.rate, 3),
        notes=notes,
    )


def _said(sentence: str) -> str:
    """A sentence reduced to its words, to spot one the answer already said."""
    return " ".join(re.findall(r"\w+", sentence.lower()))


def _apply_advisory(review: Review, report: LLMReport) -> None:
    """Raise, never lower: the score to the model's level, allow to confirm on a backed high level."""
    if LEVEL_FLOOR[report.risk_level] <= LEVEL_FLOOR[level_of_score(review.risk_score)]:
        return
    review.risk_score = max(review.risk_score, LEVEL_FLOOR[report.risk_level])
    report.raised_verdict = True
    backed = bool(report.risks)
    if report.risk_level in ("high", "critical") and backed and review.verdict == "allow":
        review.verdict = "confirm"
        review.decided_by = ADVISORY


ADVISORY_HEADING = "The local model's advisory take (checked against the facts; it may still be wrong):"


def compose_explanation(report: LLMReport, review: Review) -> str:
    """The deterministic explanation first, always; then the model's grounded text, labelled advisory.

    A small model can misread a request (reverse who approves whom, drop the operator), so its text
    never replaces the checked explanation: it only adds to it.
    """
    advisory = [report.summary] if report.summary else []
    if report.what_happens:
        advisory.append("What happens:\n" + "\n".join(f"- {step}" for step in report.what_happens))
    if report.risks:
        advisory.append(
            "Risks:\n"
            + "\n".join(f"- [{risk.finding or 'new concern'}] {risk.text}" for risk in report.risks)
        )
    if report.questions:
        advisory.append("Ask yourself:\n" + "\n".join(f"- {q}" for q in report.questions))
    if not advisory:
        return review.explanation
    return "\n\n".join([review.explanation, ADVISORY_HEADING, *advisory])
