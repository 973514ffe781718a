"""Comparison questions, one side at a time.

"How do Huawei's and Haier's approaches differ?" names two subjects, and each article speaks of
one: no single sentence holds both, so the scorer (which penalises a sentence lacking a name the
question names) rates every sentence low. Such a question is asked again once per subject, with
the other subjects' names taken out; each side's best sentence joins the answer when it clears
the same threshold as any answer.
"""

from __future__ import annotations

import re

from indexer.text.lexical import tokenize
from service.answering.evidence import Question

_COMPARING = re.compile(
    r"\b(?:and|both|compare|compared|comparison|differ|difference|differences|versus|vs|between"
    r"|each)\b",
    re.IGNORECASE,
)
MAX_SIDES = 4


def subjects(q: Question) -> dict[str, list[tuple[int, int]]]:
    """The named subjects `q` compares (a name -> its spans in `q.text`), or none."""
    if len(q.info.entities) < 2 or not _COMPARING.search(q.text):
        return {}
    # Adjacent names are one subject: "Ken Hu", "Zhang Ruimin".
    spans: dict[str, list[tuple[int, int]]] = {}
    names: list[tuple[str, int, int]] = []
    for tok in tokenize(q.text):
        if tok.norm not in q.info.entities:
            continue
        if names and not q.text[names[-1][2] : tok.start].strip():
            name, start, _ = names[-1]
            names[-1] = (f"{name} {tok.norm}", start, tok.end)
        else:
            names.append((tok.norm, tok.start, tok.end))
    for name, start, end in names:
        spans.setdefault(name, []).append((start, end))
    return spans if 2 <= len(spans) <= MAX_SIDES else {}


def sides(q: Question) -> list[str]:
    """One question per subject when `q` compares two or more named subjects, else none."""
    spans = subjects(q)
    out = []
    for keep in spans:
        drop = sorted(span for name, found in spans.items() if name != keep for span in found)
        text, last = [], 0
        for start, end in drop:
            text.append(q.text[last:start])
            last = end
        text.append(q.text[last:])
        out.append(" ".join("".join(text).replace("'s", " ").split()))
    return out
