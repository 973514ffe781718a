"""`make bench`: indexing and query benchmarks, each against a baseline measured in the same run.

Prints tables and writes `artifacts/bench/results.json`. `BENCH_QUICK=1` (`make bench-quick`)
shrinks every size for a smoke run. Everything targets 127.0.0.1 and stops by itself. The load
average at start and end is printed: the box is shared, and other work only slows our numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from indexer.runtime import configure_offline

configure_offline(threads=2)

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.corpus import replicated_corpus, synthetic_corpus  # noqa: E402
from benchmarks.indexing import bench_indexing  # noqa: E402
from benchmarks.load import Server, free_port, load, rss_mb  # noqa: E402
from benchmarks.pdf_pages import bench_pdf_pages  # noqa: E402
from benchmarks.scifact import index_scifact, scifact_ndcg  # noqa: E402
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


def bench_queries(
    work: Path,
    name: str,
    corpus: Path,
    requests: int,
    endpoints: tuple[str, ...] = ("/v1/search", "/v1/ask"),
) -> list[dict[str, Any]]:
    data = work / f"q-{name}"
    settings = Settings(data_dir=data, corpus_dir=corpus)
    report = sync_corpus(settings, corpus, embedder=build_embedder(settings), progress=False)
    env = {"CITELINE_DATA_DIR": str(data), "CITELINE_CORPUS_DIR": str(corpus)}
    rows: list[dict[str, Any]] = []
    with Server(free_port(), env) as server:
        assert server.proc is not None
        pid = server.proc.pid
        bodies: list[dict[str, object]] = [{"question": q} for q in QUESTIONS]
        load(server.base, "/v1/search", bodies, 1, 10)  # warm-up: first query loads the model
        rest = rss_mb(pid)
        # "unique": every request a new question, so the query-vector cache never hits.
        unique: list[dict[str, object]] = [
            {"question": f"{QUESTIONS[i % len(QUESTIONS)]} (variant {i})"}
            for i in range(requests * 2 * len(endpoints))
        ]
        plan = [(path, qs, label) for path in endpoints
                for qs, label in ((bodies, ""), (unique, " unique"))]  # fmt: skip
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
                        "load_1m": round(os.getloadavg()[0], 1),
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


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def serve_scifact(settings: Settings, requests: int) -> list[dict[str, Any]]:
    """`/v1/search` over the SciFact index with its own (all distinct) train questions."""
    from benchmarks.scifact import SCIFACT
    from evals.beir import load_beir

    questions = list(load_beir(SCIFACT).queries.values())
    env = {"CITELINE_DATA_DIR": str(settings.data_dir), "CITELINE_COLLECTION": "scifact",
           "CITELINE_CORPUS_DIR": str(settings.corpus_dir)}  # fmt: skip
    rows: list[dict[str, Any]] = []
    with Server(free_port(), env) as server:
        assert server.proc is not None
        load(server.base, "/v1/search", [{"question": "warm up"}], 1, 3)
        rest = rss_mb(server.proc.pid)
        at = 0
        for clients in (1, 16):
            bodies: list[dict[str, object]] = [
                {"question": q} for q in questions[at : at + requests]
            ]
            at += requests
            result = load(server.base, "/v1/search", bodies, clients, len(bodies))
            rows.append({**result.summary(), "endpoint": "/v1/search unique (SciFact questions)",
                         "rss_rest_mb": round(rest, 1),
                         "rss_after_mb": round(rss_mb(server.proc.pid), 1)})  # fmt: skip
    return rows


def bench_scifact(work: Path, quick: bool) -> list[dict[str, Any]]:
    """Ours on the whole SciFact corpus (once); the three pipelines, 3 times each, on its first
    300 abstracts (in file-name order): the numpy baseline alone would take ~15-40 min per full
    run on this box, too long to repeat."""
    limit = 200 if quick else None
    full, settings = index_scifact(work / "scifact", limit)
    full["ndcg@10 (train split, hybrid)"] = scifact_ndcg(work / "scifact", settings, limit)
    full["index MB on disk"] = round(_du_mb(settings.data_dir), 1)
    full["queries"] = serve_scifact(settings, 100 if quick else 300)
    shutil.rmtree(work / "scifact" / "index", ignore_errors=True)
    subset = work / "scifact" / "subset"
    subset.mkdir()
    for path in sorted((work / "scifact" / "corpus").glob("*.txt"))[: 100 if quick else 300]:
        shutil.copy(path, subset / path.name)
    return [full, bench_indexing(work, f"scifact-first-{len(list(subset.glob('*.txt')))}", subset,
                                 1 if quick else 3)]  # fmt: skip


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="citeline-bench-"))
    n_docs, factors, requests, reps = (
        (50, (1, 10), 100, 1) if QUICK else (200, (1, 10, 100), 300, 3)
    )
    uptime = [os.getloadavg()]
    try:
        synthetic = synthetic_corpus(SEEDS, work / "synthetic", n_docs)
        indexing = [bench_indexing(work, "seeds", SEEDS, reps)]
        indexing.append(bench_indexing(work, f"synthetic-{n_docs}", synthetic, reps))
        _table("Indexing: ours vs plain llama-index VectorStoreIndex + ChromaVectorStore", indexing)
        scifact = bench_scifact(work, QUICK)
        scifact_queries: list[dict[str, Any]] = scifact[0].pop("queries")
        _table("SciFact train corpus: ours on all abstracts; pipelines on a subset", scifact)
        _table("Queries over HTTP on the SciFact index (every question distinct)", scifact_queries)
        pdf_pages = [bench_pdf_pages(work, 100)]
        _table("Indexing a 100-page PDF (real pages, extraction + embedding)", pdf_pages)
        queries: list[dict[str, Any]] = []
        for factor in factors:
            corpus = SEEDS if factor == 1 else replicated_corpus(SEEDS, work / f"x{factor}", factor)
            queries += bench_queries(work, f"{factor}x", corpus, requests)
        _table("Queries over HTTP on 127.0.0.1 (embedded answerer)", queries)
        uptime.append(os.getloadavg())
        results = {
            "quick": QUICK,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "loadavg_start_end": uptime,
            "indexing": indexing,
            "scifact": scifact,
            "scifact_queries": scifact_queries,
            "pdf_pages": pdf_pages,
            "queries": queries,
        }
        (OUT / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        console.print(f"load average (1, 5, 15 min) at start {uptime[0]}, at end {uptime[1]}")
        console.print(f"wrote {OUT / 'results.json'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
