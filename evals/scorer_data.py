"""Training and evaluation rows for the answer-sentence scorer, from a SQuAD-style set.

For each question: the real pipeline retrieves the passages, every sentence of them becomes a
candidate with `service.answering.evidence` features (exactly what the service computes), and a
sentence is labelled 1 when it belongs to the gold paragraph and holds a gold answer span.
Unanswerable questions label every sentence 0. Rows are cached on disk per corpus version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evals.squad import SquadSet, index_squad, squad_settings
from indexer.abbreviations import find_abbreviations, merge
from indexer.kernel.settings import Settings
from service.answering.candidates import SentenceVectors
from service.answering.evidence import FEATURES, FEATURES_VERSION, featurize, prepare_question

TOP_K = 5


@dataclass
class ScorerRows:
    features: npt.NDArray[np.float32]  # (sentences, FEATURES)
    labels: npt.NDArray[np.int8]  # 1 = holds a gold span of an answerable question
    question: npt.NDArray[np.int32]  # index into the set's questions
    retrieved_gold: npt.NDArray[np.bool_]  # per question: gold paragraph among the passages
    sentences: list[str]


def _cache_key(ds: SquadSet) -> str:
    digest = hashlib.sha256()
    for q in ds.questions:
        digest.update(f"{q.id}\t{q.question}\n".encode())
    for p in ds.paragraphs:
        digest.update(f"{p.doc_id}\t{p.text}\n".encode())
    digest.update(f"{FEATURES_VERSION}:{','.join(FEATURES)}".encode())
    return digest.hexdigest()[:16]


def build_rows(ds: SquadSet, settings: Settings, *, progress: bool = True) -> ScorerRows:
    from service.pipeline import build_pipeline

    corpus_dir = settings.data_dir / "corpora" / ds.name
    local = squad_settings(ds, settings, corpus_dir)
    cache = settings.data_dir / "cache" / f"scorer-{ds.name}-{_cache_key(ds)}.npz"
    names = index_squad(ds, local, progress=progress)
    if cache.exists():
        saved = np.load(cache, allow_pickle=False)
        return ScorerRows(saved["features"], saved["labels"], saved["question"],
                          saved["retrieved_gold"], list(saved["sentences"]))  # fmt: skip
    pipeline = build_pipeline(local)
    vectors = SentenceVectors(pipeline.embedder.embed_documents)
    abbreviations = merge(find_abbreviations(p.text) for p in ds.paragraphs)
    feats, labels, owner, texts = [], [], [], []
    retrieved = np.zeros(len(ds.questions), dtype=bool)
    for qi, q in enumerate(ds.questions):
        if progress and qi % 200 == 0:
            print(f"  scorer rows: {qi}/{len(ds.questions)}", flush=True)
        passages = pipeline.search(q.question, top_k=TOP_K)
        retrieved[qi] = any(names.get(p.chunk.source) == q.doc_id for p in passages)
        sentences, matrix = vectors.candidates(passages)
        if not sentences:
            continue
        x = featurize(prepare_question(q.question, abbreviations), sentences, matrix,
                      pipeline.embedder.embed_query(q.question))  # fmt: skip
        for s, row in zip(sentences, x, strict=True):
            gold = q.answerable and names.get(s.passage.chunk.source) == q.doc_id
            feats.append(row)
            labels.append(int(gold and any(a and a in s.text for a in q.answers)))
            owner.append(qi)
            texts.append(s.text)
    rows = ScorerRows(np.array(feats, np.float32), np.array(labels, np.int8),
                      np.array(owner, np.int32), retrieved, texts)  # fmt: skip
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, features=rows.features, labels=rows.labels,
                        question=rows.question, retrieved_gold=rows.retrieved_gold,
                        sentences=np.array(texts))  # fmt: skip
    return rows
