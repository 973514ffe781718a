"""How the dense and BM25 rankings become one: weighted reciprocal rank fusion, with each BM25
hit's share scaled by its score relative to the best BM25 score of the question.

Plain RRF gives BM25's 2nd..30th hits credit by rank alone, even when their scores are near zero
(they share one common word with the question). On a corpus of near-identical files, a question
naming an exact identifier ("Project Z010") has one decisive BM25 hit and many negligible ones;
plain RRF lets the negligible ones, ranked high by the dense side, push the decisive file out of
the top 5. With `bm25_power` p > 0 a BM25 hit counts `(score / best) ** p` of its rank share:
the decisive hit keeps all of it, near-zero hits almost none. p = 0 is plain RRF.

`convex` is the calibrated score combination also measured (docs/retrieval.md):
`alpha * cosine + (1 - alpha) * score / best`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Ranked = Sequence[tuple[str, float]]  # (chunk id, the retriever's own score), best first


@dataclass(frozen=True)
class Fusion:
    kind: Literal["rrf", "convex"] = "rrf"
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    bm25_power: float = 0.0
    alpha: float = 0.5  # convex only: the dense share

    @property
    def label(self) -> str:
        if self.kind == "convex":
            return f"convex alpha={self.alpha}"
        return (
            f"rrf k={self.rrf_k} w_dense={self.dense_weight} w_bm25={self.bm25_weight} "
            f"p={self.bm25_power}"
        )


# Chosen on the SciFact train split and the SQuAD public half, checked on the seeds gold
# (docs/retrieval.md, "Fusion"). PLAIN_RRF is what Citeline shipped before.
DEFAULT_FUSION = Fusion(kind="rrf", rrf_k=60, dense_weight=1.0, bm25_weight=1.0, bm25_power=1.0)
PLAIN_RRF = Fusion(kind="rrf", rrf_k=60, dense_weight=1.0, bm25_weight=1.0, bm25_power=0.0)


def fuse(dense: Ranked, keyword: Ranked, fusion: Fusion = DEFAULT_FUSION) -> dict[str, float]:
    """Chunk id -> fused score (higher is better)."""
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
    for rank, (cid, score) in enumerate(keyword):
        share = (score / best) ** fusion.bm25_power if best > 0 else 0.0
        fused[cid] = fused.get(cid, 0.0) + fusion.bm25_weight * share / (fusion.rrf_k + rank + 1)
    return fused
