"""SciFact (train split, 5,183 abstracts) as a benchmark corpus: index time, chunks/s, and
nDCG@10 of the real pipeline's search over that index (as `citeline eval --beir` measures it).

`python -m benchmarks.scifact DATA_DIR [LIMIT]` indexes into DATA_DIR (kept, so fusion tuning in
`benchmarks/fusion.py` can reuse it) and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from indexer.runtime import configure_offline

configure_offline(threads=2)

from evals.beir import BeirSet, evaluate, load_beir, write_corpus  # noqa: E402
from indexer.embedding.factory import build_embedder  # noqa: E402
from indexer.kernel.settings import Settings  # noqa: E402
from indexer.sync import sync_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path(os.environ.get("SCIFACT_DIR", ROOT.parent / "shared" / "data" / "scifact-train"))


def subset(ds: BeirSet, limit: int | None) -> BeirSet:
    """The first `limit` abstracts (in file order) and the queries judged only on them."""
    if limit is None or limit >= len(ds.corpus):
        return ds
    keep = dict(list(ds.corpus.items())[:limit])
    qrels = {q: r for q, r in ds.qrels.items() if set(r) <= set(keep)}
    return ds.model_copy(update={"corpus": keep, "qrels": qrels})


def index_scifact(data_dir: Path, limit: int | None = None) -> tuple[dict[str, Any], Settings]:
    ds = subset(load_beir(SCIFACT), limit)
    corpus = data_dir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    names = write_corpus(ds, corpus)
    (data_dir / "names.json").write_text(json.dumps(names), encoding="utf-8")
    settings = Settings(data_dir=data_dir / "index", corpus_dir=corpus, collection="scifact")
    embedder = build_embedder(settings)
    embedder.warm_up()  # model load is not indexing
    load = os.getloadavg()[0]
    started = time.perf_counter()
    report = sync_corpus(settings, corpus, embedder=embedder, rebuild=True, progress=False)
    seconds = time.perf_counter() - started
    return {
        "corpus": f"scifact-train ({len(ds.corpus)} abstracts)",
        "docs": len(ds.corpus),
        "chunks": report.chunks_total,
        "seconds": round(seconds, 1),
        "chunks_per_s": round(report.chunks_total / seconds, 1),
        "loadavg_1m_before": round(load, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }, settings


def scifact_ndcg(data_dir: Path, settings: Settings, limit: int | None = None) -> dict[str, Any]:
    """Retrieval quality of the real pipeline over the index `index_scifact` built."""
    from service.pipeline import build_pipeline

    ds = subset(load_beir(SCIFACT), limit)
    names: dict[str, str] = json.loads((data_dir / "names.json").read_text(encoding="utf-8"))
    pipeline = build_pipeline(settings)
    depth = max(10, settings.max_top_k)

    def retrieve(query: str) -> list[str]:
        return [names.get(p.chunk.source, p.chunk.source) for p in pipeline.search(query, depth)]

    result = evaluate(ds, retrieve)
    return {"queries": result.queries, "ndcg_at_10": round(result.ndcg_at_10, 4),
            "recall_at_10": round(result.recall_at_10, 4)}  # fmt: skip


if __name__ == "__main__":
    target = Path(sys.argv[1])
    cap = int(sys.argv[2]) if len(sys.argv) > 2 else None
    row, built = index_scifact(target, cap)
    print(json.dumps(row), flush=True)
    print(json.dumps(scifact_ndcg(target, built, cap)), flush=True)
