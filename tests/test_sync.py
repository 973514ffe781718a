"""Sync against a real embedded Chroma: add/change/delete, idempotence, rebuild, errors, locks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.chunking import chunk_id
from indexer.kernel.errors import (
    EmbeddingMismatchError,
    IndexLockedError,
    IndexNotReadyError,
    StoreError,
)
from indexer.kernel.models import Chunk
from indexer.kernel.settings import Settings
from indexer.locking import FileLock
from indexer.store.chroma import ChromaChunkStore, open_chunk_store
from indexer.sync import sync_corpus
from tests.conftest import REPO_ROOT, CountingEmbedder, embedded_texts

HAIER = "003_85cac0987b05356f.txt"
HUAWEI = "000_036ae5c0f0d48a4b.txt"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", embed_batch_size=8)


def _store(settings: Settings) -> ChromaChunkStore:
    return open_chunk_store(settings, CountingEmbedder().name, 64)


def test_first_sync_indexes_every_file_and_queries_by_cosine(
    settings: Settings, corpus: Path
) -> None:
    embedder = CountingEmbedder()
    report = sync_corpus(settings, corpus, embedder=embedder, progress=False)
    assert (report.added, report.updated, report.removed, report.unchanged) == (4, 0, 0, 0)
    assert report.chunks_written == report.chunks_total > 4
    assert 0 < report.max_chunk_tokens <= embedder.max_tokens
    store = _store(settings)
    assert embedder.texts == embedded_texts(store.iter_chunks())
    assert store.count() == store.raw_count() == report.chunks_total
    manifest = store.manifest()
    assert manifest is not None and sorted(manifest.files) == sorted(
        p.name for p in corpus.iterdir()
    )
    query = embedder.embed_query("Haier one person one unit model refrigerator")
    hits = store.query(query, top_k=5)
    assert len(hits) == 5
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    for chunk, score in hits:  # the score is the cosine similarity of our own vectors
        expected = float(embedder.embed_documents([chunk.text])[0] @ query)
        assert score == pytest.approx(expected, abs=1e-4)
        text = (corpus / chunk.source).read_text(encoding="utf-8")
        assert text[chunk.char_start : chunk.char_end] == chunk.text


def test_second_run_on_unchanged_corpus_does_no_model_work(
    settings: Settings, corpus: Path
) -> None:
    sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    before = _store(settings).manifest()
    embedder = CountingEmbedder()
    report = sync_corpus(settings, corpus, embedder=embedder, progress=False)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 4)
    assert report.chunks_written == report.chunks_deleted == 0
    assert (embedder.warm_ups, embedder.token_counts, embedder.batches) == (0, 0, 0)
    store = _store(settings)
    assert store.manifest() == before  # not even rewritten
    assert store.raw_count() == report.chunks_total


def test_changed_added_and_deleted_files_are_synced_without_duplicates(
    settings: Settings, corpus: Path
) -> None:
    sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    old = _store(settings).manifest()
    assert old is not None
    haier = corpus / HAIER
    haier.write_text(haier.read_text() + "\nHaier also sells washing machines in Zanzibar.\n")
    (corpus / HUAWEI).unlink()
    (corpus / "sub").mkdir()
    (corpus / "sub" / "new.md").write_text("# A brand new note about BYD\n\nBYD builds buses.\n")
    embedder = CountingEmbedder()
    report = sync_corpus(settings, corpus, embedder=embedder, progress=False)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 2)
    store = _store(settings)
    manifest = store.manifest()
    assert manifest is not None
    assert embedder.texts == embedded_texts(
        c for c in store.iter_chunks() if c.source in (HAIER, "sub/new.md")
    )
    assert HUAWEI not in manifest.files
    assert store.raw_count() == store.count() == report.chunks_total
    old_haier = old.files[HAIER]
    old_ids = [chunk_id(HAIER, old_haier.doc_hash, i) for i in range(old_haier.chunks)]
    assert store.get(old_ids) == []
    hits = store.query(embedder.embed_query("washing machines Zanzibar"), top_k=1)
    assert "Zanzibar" in hits[0][0].text
    ids = [c.id for c in store.iter_chunks()]
    assert len(ids) == len(set(ids)) == report.chunks_total


def test_sources_filter_get_and_iter_chunks(settings: Settings, corpus: Path) -> None:
    embedder = CountingEmbedder()
    sync_corpus(settings, corpus, embedder=embedder, progress=False)
    store = _store(settings)
    hits = store.query(embedder.embed_query("Huawei"), top_k=50, sources=[HAIER])
    assert hits and {c.source for c, _ in hits} == {HAIER}
    assert store.query(embedder.embed_query("Huawei"), top_k=3, sources=[]) == []
    chunks = list(store.iter_chunks())
    assert [(c.source, c.chunk_index) for c in chunks] == sorted(
        (c.source, c.chunk_index) for c in chunks
    )
    picked = [chunks[5].id, "no-such-id", chunks[0].id]
    assert [c.id for c in store.get(picked)] == [chunks[5].id, chunks[0].id]


def test_orphans_never_show_and_top_k_stays_full(settings: Settings, corpus: Path) -> None:
    embedder = CountingEmbedder()
    sync_corpus(settings, corpus, embedder=embedder, progress=False)
    store = ChromaChunkStore(settings)
    query = embedder.embed_query("orphan text")
    # 30 chunks of a crashed run, each exactly the query vector: they would rank first.
    orphans = [
        Chunk(id=f"orphan-{i}", source=HAIER, title="t", text="orphan text", char_start=0,
              char_end=11, line_start=1, line_end=1, chunk_index=i, content_hash="x",
              doc_hash="not-live")
        for i in range(30)
    ]  # fmt: skip
    store.add(orphans, np.stack([query] * 30))
    hits = store.query(query, top_k=5)
    assert len(hits) == 5 and all(c.doc_hash != "not-live" for c, _ in hits)
    assert store.get(["orphan-0"]) == []
    report = sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    assert report.chunks_deleted == 30 and report.unchanged == 4
    assert ChromaChunkStore(settings).raw_count() == report.chunks_total


def test_nearest_ids_are_the_query_without_reading_and_skip_orphans(
    settings: Settings, corpus: Path
) -> None:
    embedder = CountingEmbedder()
    sync_corpus(settings, corpus, embedder=embedder, progress=False)
    store = ChromaChunkStore(settings)
    query = embedder.embed_query("Haier refrigerators")
    full = store.query(query, top_k=6)
    assert [(c.id, round(s, 5)) for c, s in full] == [
        (i, round(s, 5)) for i, s in store.nearest_ids(query, top_k=6)
    ]
    # Orphans with real-looking ids (a crashed run's newer version of the file) rank first
    # but are not in the manifest: they never show, and top_k stays full.
    orphans = [
        Chunk(id=chunk_id(HAIER, "not-live", i), source=HAIER, title="t", text="orphan",
              char_start=0, char_end=6, line_start=1, line_end=1, chunk_index=i,
              content_hash="x", doc_hash="not-live")
        for i in range(20)
    ]  # fmt: skip
    store.add(orphans, np.stack([query] * 20))
    ids = [i for i, _ in store.nearest_ids(query, top_k=6)]
    assert ids == [c.id for c, _ in full]
    assert [i for i, _ in store.nearest_ids(query, top_k=3, sources=[HAIER])] == [
        c.id for c, _ in store.query(query, top_k=3, sources=[HAIER])
    ]


def test_rebuild_re_embeds_everything_into_a_clean_collection(
    settings: Settings, corpus: Path
) -> None:
    first = sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    embedder = CountingEmbedder()
    report = sync_corpus(settings, corpus, embedder=embedder, rebuild=True, progress=False)
    assert report.added == 4 and report.chunks_total == first.chunks_total
    assert embedder.texts == embedded_texts(_store(settings).iter_chunks())
    assert _store(settings).raw_count() == first.chunks_total


def test_embedding_model_mismatch_is_a_clear_error(settings: Settings, corpus: Path) -> None:
    sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    other = CountingEmbedder(dim=32)
    with pytest.raises(EmbeddingMismatchError, match=r"fake:bow-64 \(64-d\).*--rebuild"):
        sync_corpus(settings, corpus, embedder=other, progress=False)
    assert other.batches == 0
    with pytest.raises(EmbeddingMismatchError, match=r"fake:bow-64.*minilm:x"):
        open_chunk_store(settings, "minilm:x", 64)
    report = sync_corpus(settings, corpus, embedder=other, rebuild=True, progress=False)
    assert open_chunk_store(settings, other.name, 32).count() == report.chunks_total


def test_no_index_yet_tells_the_user_to_run_citeline_index(settings: Settings) -> None:
    with pytest.raises(IndexNotReadyError, match="citeline index"):
        open_chunk_store(settings, "fake:bow-64", 64)
    assert not settings.chroma_path.exists()  # a reader creates nothing


def test_empty_corpus_gives_an_empty_index_that_is_not_ready(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.pdf").write_bytes(b"%PDF")
    report = sync_corpus(settings, tmp_path / "empty", embedder=CountingEmbedder(), progress=False)
    assert report.chunks_total == 0 and [s.source for s in report.skipped] == ["notes.pdf"]
    with pytest.raises(IndexNotReadyError, match="empty"):
        open_chunk_store(settings, "fake:bow-64", 64)


def test_a_second_run_is_refused_while_the_lock_is_held(settings: Settings, corpus: Path) -> None:
    lock = FileLock(settings.data_dir / f"{settings.collection}.lock")
    lock.acquire()
    try:
        with pytest.raises(IndexLockedError, match="another indexer run"):
            sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    finally:
        lock.release()
    report = sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    assert report.added == 4


def test_with_a_wait_the_second_run_proceeds_once_the_lock_is_free(
    settings: Settings, corpus: Path
) -> None:
    lock = FileLock(settings.data_dir / f"{settings.collection}.lock")
    lock.acquire()
    timer = threading.Timer(0.5, lock.release)
    timer.start()
    waiting = settings.model_copy(update={"index_lock_wait_s": 30.0})
    try:
        report = sync_corpus(waiting, corpus, embedder=CountingEmbedder(), progress=False)
    finally:
        timer.join()
    assert report.added == 4


@pytest.mark.slow
def test_real_minilm_index_fits_its_window_and_finds_the_answer(
    tmp_path: Path, seeds_dir: Path, minilm_embedder: Any
) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="minilm")
    report = sync_corpus(settings, seeds_dir, embedder=minilm_embedder, progress=False)
    assert 0 < report.max_chunk_tokens <= minilm_embedder.max_tokens == 256
    store = open_chunk_store(settings, minilm_embedder.name, minilm_embedder.dim)
    query = minilm_embedder.embed_query("How many R&D centers does Huawei have?")
    hits = store.query(query, top_k=3)
    assert any("16 R&D centers" in chunk.text for chunk, _ in hits)


@pytest.mark.slow
def test_a_running_reader_sees_another_process_re_index(settings: Settings, corpus: Path) -> None:
    """Embedded Chroma caches vectors per process: the reader must notice the new manifest."""
    env = {**os.environ, "CITELINE_DATA_DIR": str(settings.data_dir), "CITELINE_EMBEDDER": "fake"}

    def index_in_another_process(*flags: str) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "indexer", str(corpus), "--quiet", *flags],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    index_in_another_process()
    reader = _store(settings)  # opened once, as the service does
    query = CountingEmbedder().embed_query("Zanzibar washing machines")

    def zanzibar_hits() -> list[Chunk]:
        hits = reader.query(query, top_k=reader.count())  # every live vector, ranked
        assert len(hits) == reader.count()
        return [c for c, _ in hits if "Zanzibar" in c.text]

    assert zanzibar_hits() == []
    text = (corpus / HAIER).read_text()
    (corpus / HAIER).write_text("Haier sells washing machines in Zanzibar.\n" + text)
    index_in_another_process()
    (fresh,) = zanzibar_hits()  # the new vectors are visible, the deleted ones gone
    assert fresh.source == HAIER and fresh.chunk_index == 0
    assert reader.count() == len(list(reader.iter_chunks()))
    index_in_another_process("--rebuild")  # a new collection id under the reader's feet
    assert [c.id for c in zanzibar_hits()] == [fresh.id]


def test_an_unusable_data_dir_is_a_clear_store_error(tmp_path: Path, corpus: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    settings = Settings(data_dir=blocker)
    with pytest.raises(StoreError, match="cannot create the index lock file"):
        sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
