"""Sentences that lean on their neighbours. "Therefore, X" states a consequence whose reason is
the sentence before; "This involves X" cannot be read without what "this" is; and the answer to
"why" often continues in the next sentence ("Such transparency is essential to ..."). A quoted
sentence that leans on a neighbour brings that neighbour (the sentence right before or after it
in its file, from whichever retrieved passage holds it), so the answer reads on its own and
carries the reason a why/how question asks for.

Only the language's connectives and pronouns are listed; nothing here knows any corpus.
"""

from __future__ import annotations

import itertools
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


GAP = 3  # characters (spaces, a line break) between two sentences that follow each other


def adjacency(sentences: Sequence[Sentence]) -> tuple[dict[int, int], dict[int, int]]:
    """(previous, next): for each candidate, the candidate right before and right after it in
    its file, whichever passage holds it. Overlapping chunks keep each sentence once, so the
    sentence after the last one of a chunk is often in the next retrieved chunk."""
    by_source: dict[str, list[tuple[int, int, int]]] = {}
    for i, s in enumerate(sentences):
        by_source.setdefault(s.passage.chunk.source, []).append((s.file_start, s.file_end, i))
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    for spans in by_source.values():
        spans.sort()
        for (_, end, i), (start, _, j) in itertools.pairwise(spans):
            if 0 <= start - end <= GAP:
                after[i], before[j] = j, i
    return before, after


def with_neighbours(q: Question, sentences: Sequence[Sentence], chosen: list[int]) -> list[int]:
    """`chosen` plus, for each chosen sentence, the previous sentence of its file when it leans
    back on it, and for why/how questions the next one when that explains it."""
    before, after_of = adjacency(sentences)
    out = list(chosen)

    def add(i: int | None) -> None:
        if i is not None and i not in out:
            out.append(i)

    for i in chosen:
        s = sentences[i]
        if leans_back(s.text):
            add(before.get(i))
        if q.kind in REASONING_KINDS:
            after = after_of.get(i)
            if after is not None and elaborates(sentences[after].text):
                add(after)
    return out
