"""`make bench`: indexing and query benchmarks, each against a baseline measured in the same run.

Prints tables and writes `artifacts/bench/results.json`. `BENCH_QUICK=1` shrinks every size for a
smoke run. Everything targets 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from indexer.runtime import configure_offline

configure_offline(threads=2)

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.baseline_llamaindex import index_with_llamaindex  # noqa: E402
from benchmarks.corpus import replicated_corpus, synthetic_corpus  # noqa: E402
from benchmarks.load import Server, load, rss_mb  # noqa: E402
from benchmarks.pdf_pages import bench_pdf_pages  # noqa: E402
from indexer.embedding.factory import build_embedder  # noqa: E402
from indexer.kernel.settings import Settings  # noqa: E402
from indexer.sync import sync_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
OUT = ROOT / "artifacts" / "bench"
QUICK = os.environ.get("BENCH_QUICK") == "1"
QUESTIONS = [
    "How many R&D centers does Huawei have?",
    "Who is Huawei's Rotating CEO quoted at the APEC forum?",
    "What did BYD negotiate with KG Mobility?",
    "What inspired Huawei's principle of sharing benefits with others?",
    "What is Haier's one person, one unit model?",
    "What refrigerator did Haier launch in India?",
    "What is a Global Innovation Chain?",
    "When did the first China International Supply Chain Expo take place?",
    "What was Haier Group's operating income in 2018?",
    "What is the capital of Australia?",
]
console = Console(width=220)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_indexing(work: Path, name: str, corpus: Path) -> dict[str, Any]:
    settings = Settings(data_dir=work / f"ours-{name}", corpus_dir=corpus)
    embedder = build_embedder(settings)
    embedder.warm_up()  # model load is measured separately; both pipelines get a warm model
    base = index_with_llamaindex(
        corpus, work / f"base-{name}", embedder, settings.chunk_tokens, settings.chunk_overlap
    )
    start = time.perf_counter()
    report = sync_corpus(settings, corpus, embedder=embedder, rebuild=True, progress=False)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    again = sync_corpus(settings, corpus, embedder=embedder, progress=False)
    reindex_s = time.perf_counter() - start
    return {
        "corpus": name,
        "files": report.added,
        "chunks": report.chunks_total,
        "ours_s": round(ours_s, 2),
        "ours_chunks_per_s": round(report.chunks_total / ours_s, 1),
        "baseline_chunks": int(base["chunks"]),
        "baseline_s": round(base["seconds"], 2),
        "baseline_chunks_per_s": round(base["chunks"] / base["seconds"], 1),
        "speed_ratio_vs_baseline": round(base["seconds"] / ours_s, 2),
        "unchanged_reindex_s": round(reindex_s, 3),
        "unchanged_reindex_changed_files": again.added + again.updated + again.removed,
    }


def bench_queries(work: Path, name: str, corpus: Path, requests: int) -> list[dict[str, Any]]:
    data = work / f"q-{name}"
    settings = Settings(data_dir=data, corpus_dir=corpus)
    report = sync_corpus(settings, corpus, embedder=build_embedder(settings), progress=False)
    env = {"CITELINE_DATA_DIR": str(data), "CITELINE_CORPUS_DIR": str(corpus)}
    rows: list[dict[str, Any]] = []
    with Server(_port(), env) as server:
        assert server.proc is not None
        pid = server.proc.pid
        bodies: list[dict[str, object]] = [{"question": q} for q in QUESTIONS]
        load(server.base, "/v1/search", bodies, 1, 10)  # warm-up: first query loads the model
        rest = rss_mb(pid)
        # "unique": every request a new question, so the query-vector cache never hits.
        unique: list[dict[str, object]] = [
            {"question": f"{QUESTIONS[i % len(QUESTIONS)]} (variant {i})"}
            for i in range(requests * 4)
        ]
        plan = [
            ("/v1/search", bodies, ""),
            ("/v1/search", unique, " unique"),
            ("/v1/ask", bodies, ""),
            ("/v1/ask", unique, " unique"),
        ]
        for path, questions, label in plan:
            for clients in (1, 16):
                result = load(server.base, path, questions, clients, requests)
                if questions is unique:
                    del unique[:requests]  # the next run gets questions never seen
                rows.append(
                    {
                        "corpus": name,
                        "chunks": report.chunks_total,
                        **result.summary(),
                        "endpoint": path + label,
                        "rss_rest_mb": round(rest, 1),
                        "rss_after_mb": round(rss_mb(pid), 1),
                    }
                )
    return rows


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="citeline-bench-"))
    n_docs, factors, requests = (100, (1, 10), 100) if QUICK else (2000, (1, 10, 100), 400)
    try:
        synthetic = synthetic_corpus(SEEDS, work / "synthetic", n_docs)
        indexing = [bench_indexing(work, "seeds", SEEDS)]
        indexing.append(bench_indexing(work, f"synthetic-{n_docs}", synthetic))
        _table("Indexing: ours vs plain llama-index VectorStoreIndex + ChromaVectorStore", indexing)
        pdf_pages = [bench_pdf_pages(work, 100)]
        _table("Indexing a 100-page PDF (real pages, extraction + embedding)", pdf_pages)
        queries: list[dict[str, Any]] = []
        for factor in factors:
            corpus = SEEDS if factor == 1 else replicated_corpus(SEEDS, work / f"x{factor}", factor)
            queries += bench_queries(work, f"{factor}x", corpus, requests)
        _table("Queries over HTTP on 127.0.0.1 (embedded answerer)", queries)
        results = {
            "quick": QUICK,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "indexing": indexing,
            "pdf_pages": pdf_pages,
            "queries": queries,
        }
        (OUT / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        console.print(f"wrote {OUT / 'results.json'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
