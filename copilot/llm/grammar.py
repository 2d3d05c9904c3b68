"""A lean GBNF grammar for LLMAnswer.

Why not `LlamaGrammar.from_json_schema(LLMAnswer.model_json_schema())`: the generic converter allows
any key order, optional whitespace between every token (`space ::= | " " | "\\n" [ \\t]{0,20}`) and
arbitrary escapes, so the grammar state explodes into many parallel stacks that every candidate
token of the 49k vocabulary is checked against. This grammar fixes the key order and the spacing
(the keys become a single possible continuation), caps list lengths, and lets a risk's `finding`
be only one of this review's finding IDs or "new". tests/test_llm_grammar.py checks it against
the pydantic model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from copilot.llm.schema import NEW_CONCERN, RISK_LEVELS

MAX_STEPS = 2
MAX_RISKS = 3
MAX_QUESTIONS = 1
# A small model that misses the full stop otherwise runs on until the token limit cuts the answer.
MAX_SENTENCE_CHARS = 120


def _literal(text: str) -> str:
    """A GBNF string literal matching `text` exactly."""
    return json.dumps(text)


def _alternatives(values: Iterable[str]) -> str:
    return " | ".join(_literal(json.dumps(value)) for value in values)


def _list(item: str, max_items: int, *, allow_empty: bool) -> str:
    body = item if max_items == 1 else f'{item} (", " {item})' + "{0," + str(max_items - 1) + "}"
    return f'"[" ({body})? "]"' if allow_empty else f'"[" {body} "]"'


def answer_grammar(finding_ids: Iterable[str]) -> str:
    """GBNF for one LLMAnswer whose risks may cite only `finding_ids` (or "new")."""
    ids = sorted({*finding_ids, NEW_CONCERN})
    root = " ".join(
        [
            _literal('{"summary": "You '),
            "sentence",
            '(" " sentence)?',
            _literal('"'),
            _literal(', "what_happens": '),
            _list("text", MAX_STEPS, allow_empty=False),
            _literal(', "risks": '),
            _list("risk", MAX_RISKS, allow_empty=True),
            _literal(', "risk_level": '),
            "level",
            _literal(', "questions": '),
            _list("text", MAX_QUESTIONS, allow_empty=True),
            _literal("}"),
        ]
    )
    return "\n".join(
        [
            f"root ::= {root}",
            f'risk ::= {_literal("{" + chr(34) + "finding" + chr(34) + ": ")} finding {_literal(", " + chr(34) + "text" + chr(34) + ": ")} text "}}"',
            f"finding ::= {_alternatives(ids)}",
            f"level ::= {_alternatives(RISK_LEVELS)}",
            # Printable text without quotes, backslashes or control characters: nothing to unescape;
            # no brackets either, so the model cannot echo JSON or the <untrusted> fences into prose.
            'text ::= "\\"" sentence "\\""',
            # One sentence, ended by . ! or ?; a dot followed by a character ("1.5", "e.g.") goes on.
            'sentence ::= (char | "." [0-9a-z]){1,' + str(MAX_SENTENCE_CHARS) + "} [.!?]",
            'char ::= [^"\\\\\\x00-\\x1f.!?<>{}]',
        ]
    )
