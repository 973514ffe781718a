"""A comparison answered for one side only says which side it leaves out.

"How do Huawei's and Haier's approaches differ?" answered from the Huawei article alone is half
an answer. Rather than let it pass for a whole one, the answer ends with a sentence naming each
compared subject that nothing in it covers (issue 16: "a two-part question answers both parts or
says which part the documents do not cover").

The note is shown to people, so the rule is strict about what a comparison is: two subjects the
question names side by side ("Huawei's and Haier's", "BYD and Haier", "for Huawei and for
Haier"), and a word that compares (both, each, compare, differ, versus, between) or the
distributive "for ... and for ...". "Who is the Chairman and CEO of Haier Group?" names two
capitalised words side by side but compares nothing.
A subject is covered when its name is in the answer, in a cited quote or in the passage a quote
comes from (a passage of the Haier article that says "the company" still covers Haier).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence

from indexer.kernel.models import Citation, Passage
from indexer.text.lexical import tokenize
from service.answering.compare import subjects
from service.answering.evidence import prepare_question
from service.citing.citer import CitedAnswer

_COMPARES = re.compile(
    r"\b(?:both|each|compare|compared|comparing|differ|differs|difference|differences|versus|vs"
    r"|between)\b",
    re.IGNORECASE,
)
_SIDE_BY_SIDE = re.compile(r"^(?:['’]s)?\s+and\s+(for\s+|of\s+)?$", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s$")


def compared(question: str) -> dict[str, str]:
    """The subjects `question` compares side by side: name (stemmed words) -> as written."""
    spans = subjects(prepare_question(question))
    first = sorted((found[0], name) for name, found in spans.items())
    out: dict[str, str] = {}
    distributive = False  # "for Huawei and for Haier" compares without a comparing word
    for (a, name_a), (b, name_b) in itertools.pairwise(first):
        if pair := _SIDE_BY_SIDE.match(question[a[1] : b[0]]):
            distributive |= (pair.group(1) or "").strip().lower() == "for"
            for name, (start, end) in ((name_a, a), (name_b, b)):
                out[name] = _POSSESSIVE.sub("", question[start:end])
    return out if out and (distributive or _COMPARES.search(question)) else {}


def uncovered(question: str, answer: str, citations: Sequence[Citation],
              passages: Sequence[Passage]) -> list[str]:  # fmt: skip
    """The compared subjects (as the question writes them) that the answer does not cover."""
    names = compared(question)
    if not names:
        return []
    by_n: Mapping[int, Passage] = {p.n: p for p in passages}
    texts = [answer, *(c.quote for c in citations)]
    texts += [by_n[c.n].chunk.text for c in citations if c.n in by_n]
    words = {t.norm for text in texts for t in tokenize(text)}
    return [shown for name, shown in names.items() if not set(name.split()) <= words]


def gap_note(missing: Sequence[str]) -> str:
    """The sentence that ends an answer leaving `missing` out."""
    who = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
    return f"The passages found do not answer this for {who}."


def note_gaps(
    question: str, cited: CitedAnswer, passages: Sequence[Passage]
) -> tuple[CitedAnswer, str]:
    """The answer with its gap note appended, and the note ("" when it covers every side)."""
    if not cited.answerable:
        return cited, ""
    missing = uncovered(question, cited.answer, cited.citations, passages)
    if not missing:
        return cited, ""
    note = gap_note(missing)
    return CitedAnswer(f"{cited.answer} {note}", True, cited.citations), note
