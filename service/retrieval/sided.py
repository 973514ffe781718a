"""Comparison questions retrieve once per subject as well as once whole.

"How do Huawei's and Haier's approaches to going global differ?" names two subjects that two
articles describe. Retrieved whole, the question's passages often all come from the article
that matches its wording best, and the other subject has nothing to be quoted from. So a
question that compares named subjects is also asked once per subject (`split`, the answerer's
own reading of the comparison), and the passages are taken in turn from the whole question's
list and each subject's: every side's best passages are read, whatever the other side scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from indexer.kernel.models import Chunk
from service.retrieval.dense import Retrieval, Retriever

Split = Callable[[str], list[str]]


Hits = Sequence[tuple[Chunk, float]]


def take_turns(lists: Sequence[Hits], limit: int) -> list[tuple[Chunk, float]]:
    """Round robin over `lists` (best first in each), skipping chunks already taken, up to
    `limit`. A chunk keeps the best score any list gave it."""
    best: dict[str, float] = {}
    for hits in lists:
        for chunk, score in hits:
            best[chunk.id] = max(score, best.get(chunk.id, score))
    taken: list[tuple[Chunk, float]] = []
    seen: set[str] = set()
    for rank in range(max((len(h) for h in lists), default=0)):
        for hits in lists:
            if len(taken) == limit:
                return taken
            if rank < len(hits) and hits[rank][0].id not in seen:
                chunk = hits[rank][0]
                seen.add(chunk.id)
                taken.append((chunk, best[chunk.id]))
    return taken


class SidedRetriever:
    """`inner`, plus one retrieval per compared subject when `split` finds a comparison."""

    def __init__(self, inner: Retriever, split: Split) -> None:
        self._inner = inner
        self._split = split

    def retrieve(self, question: str, top_k: int, sources: Sequence[str] | None) -> Retrieval:
        whole = self._inner.retrieve(question, top_k, sources)
        sides = self._split(question)
        if not sides:
            return whole
        results = [whole, *(self._inner.retrieve(side, top_k, sources) for side in sides)]
        timings: dict[str, float] = {}
        for result in results:
            for key, ms in result.timings_ms.items():
                timings[key] = round(timings.get(key, 0.0) + ms, 2)
        return Retrieval(take_turns([r.hits for r in results], top_k), timings)
