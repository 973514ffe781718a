"""A BEIR-format set made from seeds/ and the gold questions, then dense vs hybrid retrieval on it.

Corpus: every paragraph of 12+ words in seeds/ is a document. Queries: the answerable gold
questions. Relevant: the paragraphs of a gold source that state one of the question's key facts.
Paragraph-level relevance is much stricter than the file-level hit@k of the gold set, so it
separates retrievers that file-level metrics cannot (four files: hit@5 is 1.0 for both).
Writes `artifacts/bench/beir_seeds/` (the dataset) and `artifacts/bench/retrieval.json`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from indexer.runtime import configure_offline

configure_offline(threads=2)

from evals.beir import run_beir  # noqa: E402
from evals.metrics import phrase_in  # noqa: E402
from evals.schema import load_gold  # noqa: E402
from indexer.kernel.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "artifacts" / "bench"


def build(out: Path) -> Path:
    gold = load_gold(ROOT / "evals" / "gold.yaml")
    corpus: dict[str, str] = {}
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        paras = [p.strip() for p in path.read_text(encoding="utf-8").splitlines()]
        for i, para in enumerate(p for p in paras if len(p.split()) >= 12):
            corpus[f"{path.stem}-p{i:02d}"] = para
    qrels: dict[str, list[str]] = {}
    queries: dict[str, str] = {}
    for q in gold.questions:
        if not q.answerable:
            continue
        hits = [
            doc_id
            for doc_id, text in corpus.items()
            if any(doc_id.startswith(Path(s).stem) for s in q.gold_sources)
            and any(phrase_in(alt, text) for fact in q.key_facts for alt in fact)
        ]
        if hits:
            qrels[q.id], queries[q.id] = hits, q.question
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for doc_id, text in corpus.items():
            f.write(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as f:
        for qid, text in queries.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"{qid}\t{doc}\t1" for qid, docs in qrels.items() for doc in docs]
    (out / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def main() -> None:
    dataset = build(OUT / "beir_seeds")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("dense", "hybrid"):
            settings = Settings(data_dir=Path(tmp) / mode, retrieval=mode)
            metrics = run_beir(dataset, settings)
            results[mode] = metrics.model_dump()
            print(mode, json.dumps(results[mode]))
    (OUT / "retrieval.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
