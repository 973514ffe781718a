"""Sentences that lean on their neighbours. "Therefore, X" states a consequence whose reason is
the sentence before; "This involves X" cannot be read without what "this" is; and the answer to
"why" often continues in the next sentence ("Such transparency is essential to ..."). A quoted
sentence that leans on a neighbour brings that neighbour, from the same passage, so the answer
reads on its own and carries the reason a why/how question asks for.

Only the language's connectives and pronouns are listed; nothing here knows any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from service.answering.evidence import Question, Sentence

# Opens a sentence that states a consequence of the one before.
_CONSEQUENCE = re.compile(
    r"^\W*(?:therefore|thus|hence|consequently|as a result|accordingly|for this reason|"
    r"in this way|that is why|this is why|so,)\b",
    re.IGNORECASE,
)
# Opens a sentence whose subject is the previous sentence's.
_ANAPHOR = re.compile(r"^\W*(?:this|these|that|those|such|it|they)\b", re.IGNORECASE)
# Opens a sentence that gives a reason or elaborates the one before.
_ELABORATION = re.compile(
    r"^\W*(?:because|this is because|such|this|these|in other words|that is,|by doing so)\b",
    re.IGNORECASE,
)
REASONING_KINDS = frozenset({"why", "how"})


def leans_back(text: str) -> bool:
    return bool(_CONSEQUENCE.match(text) or _ANAPHOR.match(text))


def elaborates(text: str) -> bool:
    return bool(_ELABORATION.match(text) or _CONSEQUENCE.match(text))


def with_neighbours(q: Question, sentences: Sequence[Sentence], chosen: list[int]) -> list[int]:
    """`chosen` plus, for each chosen sentence, the previous sentence of its passage when it
    leans back on it, and for why/how questions the next one when that explains it."""
    position = {(s.passage.n, s.index): i for i, s in enumerate(sentences)}
    out = list(chosen)

    def add(i: int | None) -> None:
        if i is not None and i not in out:
            out.append(i)

    for i in chosen:
        s = sentences[i]
        if leans_back(s.text):
            add(position.get((s.passage.n, s.index - 1)))
        if q.kind in REASONING_KINDS:
            after = position.get((s.passage.n, s.index + 1))
            if after is not None and elaborates(sentences[after].text):
                add(after)
    return out
