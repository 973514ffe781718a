"""Fusion comparison: each way of fusing the dense and BM25 rankings, on the SciFact train split
(nDCG@10, recall@10) and the SQuAD 2.0 public half (hit@5 of the question's paragraph).

`python -m benchmarks.fusion SCIFACT_DATA_DIR SQUAD_DATA_DIR`: SCIFACT_DATA_DIR is what
`python -m benchmarks.scifact` left (its index is reused), or `-` for SQuAD only; the SQuAD
paragraphs are indexed into SQUAD_DATA_DIR. Each question's candidates (dense top 30 with
cosines, BM25 top 30 with scores, as `HybridRetriever` fetches them) are collected once, then
every fusion ranks the same candidates: the comparison is of the fusion alone. Near-duplicate
collapsing (which the pipeline does after fusing) is left out here; it moves no metric on these
corpora of distinct documents. Prints a table and writes `artifacts/bench/fusion.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from indexer.runtime import configure_offline

configure_offline(threads=2)

from benchmarks.scifact import SCIFACT  # noqa: E402
from evals import metrics as m  # noqa: E402
from evals.beir import load_beir  # noqa: E402
from evals.squad import index_squad, load_squad, squad_settings  # noqa: E402
from indexer.bm25 import BM25Index  # noqa: E402
from indexer.embedding.factory import build_embedder  # noqa: E402
from indexer.kernel.settings import Settings  # noqa: E402
from indexer.store.chroma import open_chunk_store  # noqa: E402
from service.retrieval.fusion import (  # noqa: E402
    DEFAULT_FUSION,
    PLAIN_RRF,
    Fusion,
    fuse,
    names_identifier,
)

ROOT = Path(__file__).resolve().parent.parent
SQUAD = SCIFACT.parent / "squad2-public"
OUT = ROOT / "artifacts" / "bench" / "fusion.json"
DEPTH = 30

FUSIONS = [
    PLAIN_RRF,
    DEFAULT_FUSION,
    Fusion(decisive_ratio=1.8, decisive_boost=2.0, decisive_needs_identifier=False),
    Fusion(decisive_ratio=1.5, decisive_boost=2.0, decisive_needs_identifier=False),
    *(Fusion(bm25_power=p) for p in (0.25, 0.5, 1.0)),
    Fusion(rrf_k=20),
    *(Fusion(bm25_weight=w) for w in (0.7, 1.5)),
    *(Fusion(kind="convex", alpha=a) for a in (0.3, 0.5, 0.7)),
]
Candidates = list[tuple[list[tuple[str, float]], list[tuple[str, float]]]]


def candidates(settings: Settings, questions: list[str]) -> tuple[Candidates, dict[str, str]]:
    """Per question (dense, keyword) candidates; and chunk id -> source file."""
    embedder = build_embedder(settings)
    store = open_chunk_store(settings, embedder.name, embedder.dim)
    manifest = store.manifest()
    assert manifest is not None
    chunks = list(store.iter_chunks())
    bm25 = BM25Index.build(chunks, manifest.updated_at)
    out: Candidates = []
    for q in questions:
        dense = store.nearest_ids(embedder.embed_query(q), DEPTH)
        out.append((dense, bm25.search(q, DEPTH)))
    return out, {c.id: c.source for c in chunks}


def ranked_docs(
    fusion: Fusion | str,
    dense: Any,
    keyword: Any,
    source: dict[str, str],
    names: dict[str, str],
    identifier: bool,
) -> list[str]:
    if fusion == "dense":
        scores = {cid: s for cid, s in dense}
    elif fusion == "bm25":
        scores = {cid: s for cid, s in keyword}
    else:
        assert isinstance(fusion, Fusion)
        scores = fuse(dense, keyword, fusion, identifier)
    order = sorted(scores, key=lambda cid: -scores[cid])
    return m.dedupe([names[source[cid]] for cid in order])


def main(scifact_dir: Path | None, squad_dir: Path) -> None:
    """`scifact_dir` None: SQuAD only (the SciFact index takes tens of minutes to build)."""
    beir = load_beir(SCIFACT)
    qids = list(beir.qrels) if scifact_dir is not None else []
    sf_cands: Candidates = []
    sf_source: dict[str, str] = {}
    names: dict[str, str] = {}
    if scifact_dir is not None:
        names = json.loads((scifact_dir / "names.json").read_text(encoding="utf-8"))
        sf_settings = Settings(data_dir=scifact_dir / "index", collection="scifact")
        sf_cands, sf_source = candidates(sf_settings, [beir.queries[q] for q in qids])
    squad = load_squad(SQUAD)
    sq_settings = squad_settings(squad, Settings(data_dir=squad_dir), squad_dir / "corpus")
    sq_names = index_squad(squad, sq_settings)
    asked = [q for q in squad.questions if q.answerable]
    sq_cands, sq_source = candidates(sq_settings, [q.question for q in asked])
    rows: list[dict[str, Any]] = []
    for fusion in ["dense", "bm25", *FUSIONS]:
        ndcg, recall = [], []
        for qid, (dense, keyword) in zip(qids, sf_cands, strict=True):
            question = beir.queries[qid]
            docs = ranked_docs(fusion, dense, keyword, sf_source, names, names_identifier(question))
            docs = docs[:10]
            rels = beir.qrels[qid]
            ndcg.append(m.ndcg_at_k(docs, {d: float(s) for d, s in rels.items()}, 10))
            recall.append(m.recall_at_k(docs, {d for d, s in rels.items() if s > 0}, 10))
        hits = [
            q.doc_id
            in ranked_docs(fusion, d, k, sq_source, sq_names, names_identifier(q.question))[:5]
            for q, (d, k) in zip(asked, sq_cands, strict=True)
        ]
        label = fusion if isinstance(fusion, str) else fusion.label
        row: dict[str, Any] = {"fusion": label + (" (default)" if fusion == DEFAULT_FUSION else "")}
        if ndcg:
            row["scifact_ndcg@10"] = round(sum(ndcg) / len(ndcg), 4)
            row["scifact_recall@10"] = round(sum(recall) / len(recall), 4)
        row["squad_hit@5"] = round(sum(hits) / len(hits), 4)
        rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
    meta = {"scifact_queries": len(qids), "squad_questions": len(asked), "depth": DEPTH}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    # argv: SCIFACT_DATA_DIR (or "-" for SQuAD only) SQUAD_DATA_DIR
    sci = None if sys.argv[1] == "-" else Path(sys.argv[1])
    main(sci, Path(sys.argv[2]))
