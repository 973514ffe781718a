"""How the dense and BM25 rankings become one: reciprocal rank fusion that is score-aware
where it matters, a decisive BM25 top hit.

Plain RRF gives every BM25 hit credit by rank alone. On a corpus of near-identical files, a
question naming an exact identifier ("Project Z010") has one decisive BM25 hit (its score far
above the runner-up's) and many weak ones; plain RRF lets files with a weak BM25 hit and a good
dense rank push the named file out of the top 5. The default doubles the BM25 share of a top hit
that scores at least 1.8x the runner-up (`decisive_ratio`, `decisive_boost`) when the question
names an identifier (a word of letters and digits), and is plain RRF otherwise. Applied to every
question, the same rule cost the seeds gold 0.014 hit@1 (docs/retrieval.md): a decisive keyword
hit on ordinary words is often the wrong passage of the right file.

Also measured (docs/retrieval.md, "Fusion"): `bm25_power` p > 0 scales every BM25 hit's share
by `(score / best) ** p` (weak hits count for less; p = 0 is plain RRF), and `convex`, a
calibrated score combination `alpha * cosine + (1 - alpha) * score / best`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from indexer.text.lexical import index_terms

Ranked = Sequence[tuple[str, float]]  # (chunk id, the retriever's own score), best first


@dataclass(frozen=True)
class Fusion:
    kind: Literal["rrf", "convex"] = "rrf"
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    bm25_power: float = 0.0
    decisive_ratio: float = 0.0  # > 0: a BM25 top hit scoring >= ratio x the runner-up is
    decisive_boost: float = 1.0  # decisive, and its share is multiplied by the boost
    decisive_needs_identifier: bool = True  # ...only when the question names an identifier
    alpha: float = 0.5  # convex only: the dense share

    @property
    def label(self) -> str:
        if self.kind == "convex":
            return f"convex alpha={self.alpha}"
        label = (
            f"rrf k={self.rrf_k} w_dense={self.dense_weight} w_bm25={self.bm25_weight} "
            f"p={self.bm25_power}"
        )
        if self.decisive_ratio > 0:
            label += f" decisive>={self.decisive_ratio}x boost={self.decisive_boost}"
            label += " (identifier questions)" if self.decisive_needs_identifier else " (all)"
        return label


# How it was chosen, and every variant's numbers: docs/retrieval.md, "Fusion". PLAIN_RRF is what
# Citeline shipped before issue 12.
DEFAULT_FUSION = Fusion(kind="rrf", rrf_k=60, decisive_ratio=1.8, decisive_boost=2.0)
PLAIN_RRF = Fusion(kind="rrf", rrf_k=60, dense_weight=1.0, bm25_weight=1.0, bm25_power=0.0)


_IDENTIFIER = re.compile(r"^(?=[a-z0-9]*[a-z])(?=[a-z0-9]*\d)[a-z0-9]+$")


def names_identifier(question: str) -> bool:
    """Whether the question holds a code-like term, letters and digits in one word ("Z010",
    "SKU4471", "6G"): the kind of exact name only a keyword match can pin down."""
    return any(_IDENTIFIER.match(term) for term in index_terms(question))


def fuse(
    dense: Ranked, keyword: Ranked, fusion: Fusion = DEFAULT_FUSION, identifier: bool = False
) -> dict[str, float]:
    """Chunk id -> fused score (higher is better). `identifier`: `names_identifier(question)`."""
    best = max((s for _, s in keyword), default=0.0)
    fused: dict[str, float] = {}
    if fusion.kind == "convex":
        for cid, cosine in dense:
            fused[cid] = fused.get(cid, 0.0) + fusion.alpha * cosine
        for cid, score in keyword:
            share = score / best if best > 0 else 0.0
            fused[cid] = fused.get(cid, 0.0) + (1 - fusion.alpha) * share
        return fused
    for rank, (cid, _) in enumerate(dense):
        fused[cid] = fused.get(cid, 0.0) + fusion.dense_weight / (fusion.rrf_k + rank + 1)
    runner_up = keyword[1][1] if len(keyword) > 1 else 0.0
    decisive = (
        fusion.decisive_ratio > 0
        and best >= fusion.decisive_ratio * runner_up
        and (identifier or not fusion.decisive_needs_identifier)
    )
    for rank, (cid, score) in enumerate(keyword):
        share = (score / best) ** fusion.bm25_power if best > 0 else 0.0
        if rank == 0 and decisive:
            share *= fusion.decisive_boost
        fused[cid] = fused.get(cid, 0.0) + fusion.bm25_weight * share / (fusion.rrf_k + rank + 1)
    return fused
