"""A lean GBNF grammar for LLMAnswer.

Why not `LlamaGrammar.from_json_schema(LLMAnswer.model_json_schema())`: the generic converter allows
any key order, optional whitespace between every token (`space ::= | " " | "\\n" [ \\t]{0,20}`) and
arbitrary escapes, so the grammar state explodes into many parallel stacks that every candidate
token of the 49k vocabulary is checked against. This grammar fixes the key order and the spacing
(the keys become a single possible continuation), caps list lengths, and lets a risk's `finding`
be only one of this review's finding IDs or "new". tests/test_llm_grammar.py checks it against
the pydantic model.

Grounded by construction where it matters most: free text has no digits, so an address or an
amount can only be one the facts state, copied whole from the grammar's `fact` alternatives. A small
model that starts to invent "1 ETH" or "0x4CD7B9E2…" is steered onto a real one instead. (Token and
protocol names stay free text; the grounding check drops a sentence that invents one.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from copilot.llm.schema import NEW_CONCERN, RISK_LEVELS

MAX_STEPS = 2
MAX_RISKS = 3
MAX_QUESTIONS = 1
# Characters (or whole facts) in a sentence: a small model that misses the full stop otherwise runs
# on until the token limit cuts the answer.
MAX_SENTENCE_PIECES = 90
MAX_FACT_TERMS = 48
_ADDRESS_TERM = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])|0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4}")
# An amount with its unit ("5,000 USDC", "0.25 ETH"); a bare number (a chain id, a score) is not one.
_AMOUNT_TERM = re.compile(r"(?<![\w.,])\d(?:[\d,]*\d)?(?:\.\d+)? (?:[A-Z][A-Za-z0-9]{1,9}|[a-z]{1,3}[A-Z]{2,}[A-Za-z0-9]*)\b")
# A whole number: not the "1" of "1,234…" or the "12" of "12.5".
_COUNT_TERM = re.compile(r"(?<![\w.,…])\d(?:[\d,]*\d)?(?:\.\d+)?(?![\w…]|[.,]\d)")
_FENCED = re.compile(r"<untrusted>.*?</untrusted>", re.DOTALL)


def fact_terms(facts_text: str, *, counts: bool = False) -> list[str]:
    """The addresses (as the prompt shows them) and amounts the model may name; with `counts`, bare
    numbers too (an audit's "4 open approvals"). The decoded facts come first, then what sits in
    <untrusted> fences (a display amount, or a number a dApp wrote into its message), so a request
    full of its own numbers cannot crowd the decoded ones out of the cap."""
    terms: dict[str, None] = {}
    for text in (_FENCED.sub(" ", facts_text), " ".join(_FENCED.findall(facts_text))):
        terms.update(dict.fromkeys(m.group(0) for m in _ADDRESS_TERM.finditer(text)))
        terms.update(dict.fromkeys(m.group(0) for m in _AMOUNT_TERM.finditer(text)))
        if counts:
            without_addresses = _ADDRESS_TERM.sub(" ", text)
            terms.update(dict.fromkeys(m.group(0) for m in _COUNT_TERM.finditer(without_addresses)))
    return list(terms)[:MAX_FACT_TERMS]


def sentence_rules(facts_text: str, *, counts: bool = False) -> list[str]:
    """GBNF rules for `sentence` and `question` (one ending in "?"): printable text without digits,
    in which addresses and amounts (and with `counts` numbers) can only be those of `facts_text`,
    copied whole."""
    terms = fact_terms(facts_text, counts=counts)
    # A fact is followed by a character, never by another fact: "4" and "0" must not make "40".
    fact = ' | fact char' if terms else ""
    return [
        # One sentence, ended by . ! or ? right after a word or a fact (not "or ." or "been-!");
        # a dot directly followed by a letter ("app.example", "e.g") goes on. A question ends in "?".
        f'clause ::= (char | "." [a-z]{fact}){{0,{MAX_SENTENCE_PIECES - 1}}} (solid{" | fact" if terms else ""})',
        "sentence ::= clause [.!?]",
        'question ::= clause "?"',
        # Printable text without quotes, backslashes or control characters: nothing to unescape;
        # no brackets either, so the model cannot echo JSON or the <untrusted> fences into prose.
        'char ::= [^"\\\\\\x00-\\x1f.!?<>{}0-9]',
        "solid ::= [a-zA-Z)]",
        *([f"fact ::= {' | '.join(_literal(term) for term in terms)}"] if terms else []),
    ]


def _literal(text: str) -> str:
    """A GBNF string literal matching `text` exactly."""
    return json.dumps(text)


def _alternatives(values: Iterable[str]) -> str:
    return " | ".join(_literal(json.dumps(value)) for value in values)


def _list(item: str, max_items: int, *, allow_empty: bool) -> str:
    body = item if max_items == 1 else f'{item} (", " {item})' + "{0," + str(max_items - 1) + "}"
    return f'"[" ({body})? "]"' if allow_empty else f'"[" {body} "]"'


def _risks(must_explain: Sequence[str]) -> str:
    """The risks list: one per finding in `must_explain` (its ID fixed, the model writes the text),
    then room for one more of the model's choosing, up to MAX_RISKS."""
    fixed = [
        _literal('{"finding": ' + json.dumps(finding_id) + ', "text": ') + " text " + _literal("}")
        for finding_id in must_explain[:MAX_RISKS]
    ]
    if len(fixed) == MAX_RISKS:
        return '"[" ' + ' ", " '.join(fixed) + ' "]"'
    if not fixed:
        return '"[" risk? "]"'
    return '"[" ' + ' ", " '.join(fixed) + ' (", " risk)? "]"'


def answer_grammar(finding_ids: Iterable[str], facts_text: str = "", must_explain: Sequence[str] = ()) -> str:
    """GBNF for one LLMAnswer whose risks explain `must_explain` in that order and may cite only
    `finding_ids` (or "new") besides, and whose text names only the addresses and amounts in
    `facts_text`."""
    ids = sorted({*finding_ids, *must_explain, NEW_CONCERN})
    root = " ".join(
        [
            _literal('{"summary": "You '),
            "sentence",
            '(" " sentence)?',
            _literal('"'),
            _literal(', "what_happens": '),
            _list("text", MAX_STEPS, allow_empty=False),
            _literal(', "risks": '),
            _risks(must_explain),
            _literal(', "risk_level": '),
            "level",
            _literal(', "questions": '),
            _list("asked", MAX_QUESTIONS, allow_empty=False),
            _literal("}"),
        ]
    )
    return "\n".join(
        [
            f"root ::= {root}",
            f'risk ::= {_literal("{" + chr(34) + "finding" + chr(34) + ": ")} finding {_literal(", " + chr(34) + "text" + chr(34) + ": ")} text "}}"',
            f"finding ::= {_alternatives(ids)}",
            f"level ::= {_alternatives(RISK_LEVELS)}",
            'text ::= "\\"" sentence "\\""',
            'asked ::= "\\"" question "\\""',
            *sentence_rules(facts_text),
        ]
    )
