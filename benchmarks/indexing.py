"""Indexing, ours against plain llama-index, fairly: the pipelines run in rotating order, each
`REPS` times, from scratch each time; the table gives the median and the spread (min-max).

Pipelines (each with a warm model: load time is not indexing):
- `ours`: `citeline index` (sync_corpus) with the default embedder (MiniLM fp32 on onnxruntime).
  It also embeds every sentence of every chunk (the answerer's vectors) and builds BM25.
- `llamaindex-onnx`: `VectorStoreIndex` + `ChromaVectorStore` with the same embedder: the ratio
  ours / this compares the pipelines alone.
- `llamaindex-numpy`: the same with the numpy MiniLM (what both used before issue 12): the
  ratio ours / this is the before/after of the whole change.
Chunking is equal: both split with llama-index's `SentenceSplitter` at the same size and
overlap, and the baseline's documents carry no metadata (which the splitter would otherwise
subtract from the chunk size); the chunk counts are in the table.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.baseline_llamaindex import index_with_llamaindex
from indexer.embedding.base import Embedder
from indexer.embedding.factory import build_embedder
from indexer.kernel.settings import Settings
from indexer.sync import sync_corpus

PIPELINES = ("ours", "llamaindex-onnx", "llamaindex-numpy")


def _numpy_minilm() -> Embedder:
    from indexer.embedding.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.warm_up()
    return embedder


def _one(
    pipeline: str, corpus: Path, work: Path, embedders: dict[str, Embedder]
) -> tuple[float, int]:
    """(seconds, chunks) of one from-scratch run into `work`, a directory never used before
    (Chroma caches its client per path: deleting and reusing a path breaks the cached one)."""
    settings = Settings(data_dir=work, corpus_dir=corpus)
    if pipeline == "ours":
        started = time.perf_counter()
        report = sync_corpus(settings, corpus, embedder=embedders["onnx"], progress=False)
        return time.perf_counter() - started, report.chunks_total
    embedder = embedders["onnx" if pipeline == "llamaindex-onnx" else "numpy"]
    base = index_with_llamaindex(
        corpus, work, embedder, settings.chunk_tokens, settings.chunk_overlap
    )
    return base["seconds"], int(base["chunks"])


def _summary(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.2f} s ({min(seconds):.2f}-{max(seconds):.2f})"


def bench_indexing(
    work: Path, name: str, corpus: Path, reps: int, pipelines: tuple[str, ...] = PIPELINES
) -> dict[str, Any]:
    embedders: dict[str, Embedder] = {"onnx": build_embedder(Settings())}
    embedders["onnx"].warm_up()
    if "llamaindex-numpy" in pipelines:
        embedders["numpy"] = _numpy_minilm()
    times: dict[str, list[float]] = {p: [] for p in pipelines}
    chunks: dict[str, int] = {}
    load = [os.getloadavg()[0]]
    for rep in range(reps):
        order = pipelines[rep % len(pipelines) :] + pipelines[: rep % len(pipelines)]
        for pipeline in order:
            seconds, n = _one(pipeline, corpus, work / f"{name}-{pipeline}-{rep}", embedders)
            times[pipeline].append(seconds)
            chunks[pipeline] = n
        load.append(os.getloadavg()[0])
    ours = statistics.median(times["ours"])
    settings = Settings(data_dir=work / f"{name}-ours-0", corpus_dir=corpus)
    started = time.perf_counter()
    again = sync_corpus(settings, corpus, embedder=embedders["onnx"], progress=False)
    row: dict[str, Any] = {
        "corpus": name,
        "files": sum(1 for p in corpus.rglob("*.txt")),
        "chunks (" + " / ".join(pipelines) + ")": " / ".join(str(chunks[p]) for p in pipelines),
        "reps": reps,
    }
    for p in pipelines:
        row[f"{p} median (min-max)"] = _summary(times[p])
        row[f"{p} chunks/s"] = round(chunks[p] / statistics.median(times[p]), 1)
    for p in pipelines[1:]:
        row[f"ours vs {p}"] = f"{statistics.median(times[p]) / ours:.2f}x"
    row["unchanged re-index s"] = round(time.perf_counter() - started, 3)
    row["unchanged re-index changed files"] = again.added + again.updated + again.removed
    row["load 1m (min-max)"] = f"{min(load):.1f}-{max(load):.1f}"
    return row
