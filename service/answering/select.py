"""Which scored sentences make the answer, and in what order.

One sentence answers a factoid ("how many", "when", "who", "where"); a "what" question may take a
second, a "why"/"how" question up to three, and list or comparison questions up to four. A further
sentence must score at least `extra_ratio` of the best one and say something new (not a near
duplicate of a chosen sentence). A comparison names several entities: each one the answer does
not cover yet gets its own best sentence, so "Huawei and Haier" quotes both articles.
Chosen sentences are grouped by source, in the order of each source's best sentence, and read in
document order within a source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from indexer.text.lexical import content_terms
from service.answering.evidence import Question, Sentence

LIMITS = {"count": 1, "amount": 1, "money": 1, "when": 1, "who": 1, "where": 1,
          "other": 2, "why": 3, "how": 3, "list": 4}  # fmt: skip
NEAR_DUPLICATE = 0.8  # Jaccard of content terms: the same fact in other words


def _limit(q: Question) -> int:
    return 4 if q.listy and q.kind not in ("when", "who") else LIMITS.get(q.kind, 2)


def choose(
    q: Question,
    texts: Sequence[str],
    scores: npt.NDArray[np.float64],
    *,
    threshold: float,
    extra_ratio: float,
) -> list[int]:
    """Indices of the answer's sentences, best first (empty = abstain)."""
    if len(texts) == 0:
        return []
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    best = order[0]
    if scores[best] < threshold:
        return []
    cache: dict[int, set[str]] = {}

    def terms(i: int) -> set[str]:
        if i not in cache:
            cache[i] = content_terms(texts[i])
        return cache[i]

    chosen = [best]

    def fresh(i: int) -> bool:
        return all(
            len(terms(i) & terms(j)) / max(1, len(terms(i) | terms(j))) < NEAR_DUPLICATE
            for j in chosen
        )

    floor = max(threshold, extra_ratio * float(scores[best]))
    for i in order[1:]:
        if len(chosen) >= _limit(q) or scores[i] < floor:
            break
        if fresh(i):
            chosen.append(i)
    if q.listy and len(q.info.entities) >= 2:
        for entity in sorted(q.info.entities - set().union(*(terms(i) for i in chosen))):
            for i in order:
                if scores[i] < threshold * extra_ratio:
                    break
                if entity in terms(i) and fresh(i):
                    chosen.append(i)
                    break
    return chosen


def reading_order(sentences: Sequence[Sentence], chosen: list[int]) -> list[int]:
    first_seen: dict[str, int] = {}
    for rank, i in enumerate(chosen):
        first_seen.setdefault(sentences[i].passage.chunk.source, rank)
    return sorted(
        chosen,
        key=lambda i: (first_seen[sentences[i].passage.chunk.source],
                       sentences[i].file_start),
    )  # fmt: skip
