"""Hybrid retrieval on the real index: exact terms rank their passage first; duplicates collapse."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.kernel.models import Chunk
from indexer.store.chroma import open_chunk_store
from service.retrieval.dense import DenseRetriever
from service.retrieval.fusion import DEFAULT_FUSION, fuse, names_identifier
from service.retrieval.hybrid import (
    CANDIDATES,
    Bm25Provider,
    HybridRetriever,
    collapse_near_duplicates,
)

pytestmark = pytest.mark.slow

EXACT_TERMS = [
    ("How many R&D centers does Huawei have?", "16 R&D centers"),
    ("KG Mobility", "KG Mobility"),
    ("Dujiangyan", "Dujiangyan"),
    ("no-bend refrigerator", "no-bend refrigerator"),
]


@pytest.fixture(scope="module")
def hybrid(seed_index: Any, minilm_embedder: Any) -> HybridRetriever:
    store = open_chunk_store(seed_index, minilm_embedder.name, minilm_embedder.dim)
    return HybridRetriever(minilm_embedder, store, Bm25Provider(store, seed_index.bm25_dir))


@pytest.mark.parametrize(("question", "needle"), EXACT_TERMS)
def test_exact_terms_rank_their_passage_first(
    hybrid: HybridRetriever, question: str, needle: str
) -> None:
    hits = hybrid.retrieve(question, 5, None).hits
    assert needle in hits[0][0].text


def test_hybrid_beats_or_matches_dense_on_exact_terms(
    hybrid: HybridRetriever, seed_index: Any, minilm_embedder: Any
) -> None:
    store = open_chunk_store(seed_index, minilm_embedder.name, minilm_embedder.dim)
    dense = DenseRetriever(minilm_embedder, store)

    def rank(retriever: Any, question: str, needle: str) -> int:
        hits = retriever.retrieve(question, 10, None).hits
        return next(i for i, (c, _) in enumerate(hits) if needle in c.text)

    for question, needle in EXACT_TERMS:
        assert rank(hybrid, question, needle) <= rank(dense, question, needle)


class _CountingReads:
    """The store, counting the chunks read from it."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def get(self, ids: Any) -> Any:
        self.read += len(ids)
        return self._store.get(ids)


@pytest.mark.parametrize("question", [q for q, _ in EXACT_TERMS] + ["What does Haier make?"])
def test_hybrid_reads_only_the_passages_it_keeps_and_ranks_as_fusing_everything(
    seed_index: Any, minilm_embedder: Any, question: str
) -> None:
    store = open_chunk_store(seed_index, minilm_embedder.name, minilm_embedder.dim)
    counting = _CountingReads(store)
    bm25 = Bm25Provider(store, seed_index.bm25_dir)
    hits = HybridRetriever(minilm_embedder, counting, bm25).retrieve(question, 5, None).hits
    assert counting.read <= 8 + 16  # at most two pages of the fused order (they double)
    # The reference: read every candidate first, then fuse, sort and collapse.
    dense = DenseRetriever(minilm_embedder, store).retrieve(question, CANDIDATES, None).hits
    keyword = bm25.get().search(question, CANDIDATES, None)  # type: ignore[union-attr]
    chunks = {c.id: c for c, _ in dense} | {c.id: c for c in store.get([i for i, _ in keyword])}
    fused = fuse([(c.id, s) for c, s in dense], keyword, DEFAULT_FUSION, names_identifier(question))
    order = sorted((i for i in fused if i in chunks), key=lambda i: -fused[i])
    expected = collapse_near_duplicates([(chunks[i], round(fused[i], 6)) for i in order], limit=5)
    assert [(c.id, s) for c, s in hits] == [(c.id, s) for c, s in expected]


def test_sources_filter_applies_to_both_retrievers(hybrid: HybridRetriever) -> None:
    hits = hybrid.retrieve("Huawei", 5, ["003_85cac0987b05356f.txt"]).hits
    assert hits and {c.source for c, _ in hits} == {"003_85cac0987b05356f.txt"}


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(
        id=cid, source="a.txt", title="t", text=text, char_start=0, char_end=len(text),
        line_start=1, line_end=1, chunk_index=0, content_hash=cid, doc_hash="d",
    )  # fmt: skip


def test_near_duplicates_collapse_to_the_best_one() -> None:
    base = "Haier launched a no-bend refrigerator in India for vegetarian households today"
    hits = [
        (_chunk("a", base), 0.9),
        (_chunk("b", base + " indeed"), 0.8),  # near-duplicate: dropped
        (_chunk("c", "BYD negotiated with KG Mobility to build a battery factory"), 0.7),
    ]
    assert [c.id for c, _ in collapse_near_duplicates(hits)] == ["a", "c"]


def test_many_copies_cost_a_few_reads_and_give_distinct_passages() -> None:
    from indexer.embedding.hashing import HashingEmbedder
    from tests.conftest import in_memory_store

    texts = [
        "Haier builds refrigerators and washing machines in Pune for Indian families",
        "BYD negotiated with KG Mobility to build a battery pack factory in Korea",
        "Huawei runs sixteen research centres around the world for its engineers",
    ]
    # 25 copies of each passage, in 75 files: every passage's copies rank together.
    chunks = []
    for copy in range(25):
        for n, text in enumerate(texts):
            chunk = _chunk(f"{copy:02d}{n}", text)
            source = f"copy{copy:02d}_{n}.txt"
            chunks.append(chunk.model_copy(update={"source": source, "content_hash": text}))
    embedder = HashingEmbedder()
    store = _CountingReads(in_memory_store(chunks, embedder))
    calls = 0
    reading = store.get

    def get(ids: Any) -> Any:
        nonlocal calls
        calls += 1
        return reading(ids)

    store.get = get  # type: ignore[method-assign]
    retriever = HybridRetriever(embedder, store, Bm25Provider(store, None), candidates=75)
    hits = retriever.retrieve("Which factory did BYD build with KG Mobility?", 3, None).hits
    assert sorted(c.text for c, _ in hits) == sorted(texts)
    assert calls <= 4  # pages of 6, 12, 24, 48 ids cover all 75 candidates


def test_sync_saves_the_keyword_index_for_the_live_manifest(tmp_path: Any, corpus: Any) -> None:
    from indexer.bm25 import BM25Index
    from indexer.embedding.hashing import HashingEmbedder
    from indexer.kernel.settings import Settings
    from indexer.sync import sync_corpus

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    embedder = HashingEmbedder()
    sync_corpus(settings, corpus, embedder=embedder, progress=False)
    store = open_chunk_store(settings, embedder.name, embedder.dim)
    first = store.manifest()
    assert first and BM25Index.saved_version(settings.bm25_dir) == first.updated_at

    (corpus / "new.txt").write_text("Zebra Motors builds 9 plants in Lima.\n", encoding="utf-8")
    sync_corpus(settings, corpus, embedder=embedder, progress=False)
    second = store.manifest()
    assert second and second.updated_at != first.updated_at
    loaded = BM25Index.load(settings.bm25_dir, second.updated_at)
    assert loaded is not None
    top = loaded.search("Zebra Motors plants", 1)
    assert top and store.get([top[0][0]])[0].source == "new.txt"


def _live_chunk(source: str, text: str, doc_hash: str) -> Any:
    import hashlib

    from indexer.kernel.models import Chunk

    return Chunk(
        id=hashlib.sha256(f"{source}:{doc_hash}".encode()).hexdigest()[:32], source=source,
        title=source, text=text, char_start=0, char_end=len(text), line_start=1, line_end=1,
        chunk_index=0, content_hash=doc_hash, doc_hash=doc_hash,
    )  # fmt: skip


class _SlowRebuildStore:
    """Manifest and chunks that a test swaps (another machine re-indexed); listing every chunk
    (what a keyword rebuild does) takes `delay` seconds."""

    def __init__(self) -> None:
        from indexer.store.base import FileEntry, Manifest

        self.delay = 0.0
        self.chunks = [_live_chunk("a.txt", "Alpha Corp makes gears.", "h1")]
        entry = FileEntry(source="a.txt", doc_hash="h1", title="a", chunks=1, bytes=1)
        self.current = Manifest(embed_model="fake", dim=8, files={"a.txt": entry})

    def manifest(self) -> Any:
        return self.current

    def iter_chunks(self) -> Any:
        import time

        time.sleep(self.delay)
        return iter(list(self.chunks))


def test_keyword_index_is_rebuilt_off_the_request_path_after_a_re_index() -> None:
    import time

    from indexer.store.base import FileEntry

    store = _SlowRebuildStore()
    provider = Bm25Provider(store, None, refresh_s=0.0)  # type: ignore[arg-type]
    first = provider.get()
    assert first is not None and first.search("gears", 1)
    # Another machine re-indexes: a new file, a new manifest version; rebuilding takes 1 s.
    store.chunks.append(_live_chunk("z.txt", "Zebra Motors builds plants in Lima.", "h2"))
    entry = FileEntry(source="z.txt", doc_hash="h2", title="z", chunks=1, bytes=1)
    store.current = store.current.model_copy(
        update={"files": {**store.current.files, "z.txt": entry}, "updated_at": "v2"}
    )
    store.delay = 1.0
    started = time.monotonic()
    during = provider.get()
    assert time.monotonic() - started < 0.5  # the request did not wait for the rebuild
    assert during is first  # it used the previous index meanwhile
    provider.wait_current()
    after = provider.get()
    assert after is not None and after.version == "v2"
    assert [cid for cid, _ in after.search("Zebra Motors Lima", 1)] == [store.chunks[1].id]
