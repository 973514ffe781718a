"""BEIR-format retrieval evaluation: nDCG@10, recall@{1,5,10}, MRR@10 over `Pipeline.search`.

Layout: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
`qrels/test.tsv` (header `query-id corpus-id score`). Each document becomes one file in a temp
corpus directory, indexed into its own collection (`beir-<name>`), so the seeds index is untouched.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evals import metrics as m
from indexer.embedding.factory import build_embedder
from indexer.kernel.errors import GoldFileError
from indexer.kernel.settings import Settings

Retrieve = Callable[[str], list[str]]  # query text -> ranked corpus ids, best first
RECALL_KS = (1, 5, 10)


class BeirSet(BaseModel):
    name: str
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {corpus id: relevance}


class BeirMetrics(BaseModel):
    name: str
    queries: int
    ndcg_at_10: float
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float


def _first(*paths: Path) -> Path:
    """The first of `paths` that exists (else the first, so the error names the usual one)."""
    return next((p for p in paths if p.exists()), paths[0])


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSON-lines file (gzipped when it ends in .gz); a bad line is a GoldFileError."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise GoldFileError(f"{path}:{lineno}: not JSON: {exc.msg}") from exc


def load_beir(root: Path, split: str = "test") -> BeirSet:
    """BEIR's layout, or the flat one of a single split (`corpus.jsonl.gz`,
    `queries_<split>.jsonl`, `qrels_<split>.tsv`, as in `../shared/data/scifact-train`)."""
    if not (root / "qrels" / f"{split}.tsv").exists() and (root / "qrels_train.tsv").exists():
        split = "train"
    try:
        corpus_path = _first(root / "corpus.jsonl", root / "corpus.jsonl.gz")
        corpus = {str(d["_id"]): (d.get("title", ""), d["text"]) for d in read_jsonl(corpus_path)}
        queries_path = _first(root / "queries.jsonl", root / f"queries_{split}.jsonl")
        queries = {str(q["_id"]): q["text"] for q in read_jsonl(queries_path)}
        qrels: dict[str, dict[str, int]] = {}
        qrels_path = _first(root / "qrels" / f"{split}.tsv", root / f"qrels_{split}.tsv")
        with qrels_path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    except (OSError, KeyError, ValueError) as exc:
        raise GoldFileError(f"{root}: not a BEIR dataset ({type(exc).__name__}: {exc})") from exc
    qrels = {q: rels for q, rels in qrels.items() if q in queries}
    if not qrels:
        raise GoldFileError(f"{root}: no qrels match a query id")
    return BeirSet(name=root.name, corpus=corpus, queries=queries, qrels=qrels)


def evaluate(ds: BeirSet, retrieve: Retrieve) -> BeirMetrics:
    """Average each metric over the queries that have judgements."""
    ndcg, rr, recalls = [], [], {k: [] for k in RECALL_KS}  # type: ignore[var-annotated]
    for qid, rels in ds.qrels.items():
        ranked = m.dedupe(retrieve(ds.queries[qid]))[:10]
        relevant = {d for d, s in rels.items() if s > 0}
        ndcg.append(m.ndcg_at_k(ranked, {d: float(s) for d, s in rels.items()}, 10))
        rr.append(m.reciprocal_rank(ranked, relevant, 10))
        for k in RECALL_KS:
            recalls[k].append(m.recall_at_k(ranked, relevant, k))
    n = len(ds.qrels)
    return BeirMetrics(
        name=ds.name,
        queries=n,
        ndcg_at_10=sum(ndcg) / n,
        recall_at_1=sum(recalls[1]) / n,
        recall_at_5=sum(recalls[5]) / n,
        recall_at_10=sum(recalls[10]) / n,
        mrr_at_10=sum(rr) / n,
    )


def doc_filename(doc_id: str) -> str:
    """A safe, unique file name per id (ids may hold '/', spaces or collide once sanitised)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", doc_id)[:60]
    return f"{safe}-{hashlib.sha1(doc_id.encode()).hexdigest()[:8]}.txt"  # noqa: S324 - a name


def write_corpus(ds: BeirSet, corpus_dir: Path) -> dict[str, str]:
    """Write one .txt per document; returns file name -> corpus id."""
    names = {}
    for doc_id, (title, text) in ds.corpus.items():
        name = doc_filename(doc_id)
        (corpus_dir / name).write_text(
            f"{title}\n\n{text}\n" if title else f"{text}\n", encoding="utf-8"
        )
        names[name] = doc_id
    return names


def run_beir(root: Path, settings: Settings, *, progress: bool = False) -> BeirMetrics:
    """Index the BEIR corpus into `beir-<name>` and evaluate the real pipeline's search on it."""
    from indexer.sync import sync_corpus
    from service.pipeline import build_pipeline

    ds = load_beir(root)
    slug = re.sub(r"[^a-z0-9-]", "-", ds.name.lower()).strip("-") or "set"
    with tempfile.TemporaryDirectory(prefix="citeline-beir-") as tmp:
        corpus_dir = Path(tmp)
        names = write_corpus(ds, corpus_dir)
        beir_settings = settings.model_copy(
            update={"collection": f"beir-{slug}", "corpus_dir": corpus_dir}
        )
        sync_corpus(
            beir_settings,
            corpus_dir,
            embedder=build_embedder(beir_settings),
            rebuild=True,
            progress=progress,
        )
        pipeline = build_pipeline(beir_settings)
        # Several chunks of one document may rank; ask for more than 10 so 10 distinct ids remain.
        depth = max(10, beir_settings.max_top_k)

        def retrieve(query: str) -> list[str]:
            passages = pipeline.search(query, top_k=depth)
            return [names.get(p.chunk.source, p.chunk.source) for p in passages]

        return evaluate(ds, retrieve)
