"""A sync killed at any step leaves the last committed index readable; the next run completes.

Two ways in: an exception injected at each step (in-process), and a real process SIGKILLed while
it is embedding (a slow embedder holds the window open).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from indexer.kernel.settings import Settings
from indexer.store.base import Manifest
from indexer.store.chroma import ChromaChunkStore, open_chunk_store
from indexer.sync import sync_corpus
from tests.conftest import REPO_ROOT, CountingEmbedder

HAIER = "003_85cac0987b05356f.txt"
NEW_FACT = "\nHaier also sells washing machines in Zanzibar.\n"


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", embed_batch_size=4, index_batch_chunks=4)


def _edit(corpus: Path) -> None:
    (corpus / HAIER).write_text((corpus / HAIER).read_text() + NEW_FACT)
    (corpus / "extra.txt").write_text("An extra article about BYD and KG Mobility buses.\n")


def _assert_serves(settings: Settings, manifest: Manifest, texts: dict[str, str]) -> None:
    """Readers see exactly `manifest`'s chunks, and they quote `texts` (source -> file text)."""
    store = open_chunk_store(settings, CountingEmbedder().name, 64)
    assert store.manifest() == manifest
    chunks = list(store.iter_chunks())
    assert len(chunks) == store.count() == sum(f.chunks for f in manifest.files.values())
    for chunk in chunks:
        assert chunk.doc_hash == manifest.files[chunk.source].doc_hash
        assert texts[chunk.source][chunk.char_start : chunk.char_end] == chunk.text
    hits = store.query(CountingEmbedder().embed_query("washing machines Zanzibar"), top_k=10)
    assert len(hits) == 10
    assert all(c.doc_hash == manifest.files[c.source].doc_hash for c, _ in hits)


def _texts(corpus: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in corpus.iterdir()}


def _finish_and_check(settings: Settings, corpus: Path) -> None:
    """The next run completes the interrupted one: new content live, no leftovers, no dupes."""
    report = sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    store = ChromaChunkStore(settings)
    assert store.raw_count() == store.count() == report.chunks_total
    manifest = store.manifest()
    assert manifest is not None and "extra.txt" in manifest.files
    _assert_serves(settings, manifest, _texts(corpus))
    ids = [c.id for c in store.iter_chunks()]
    assert len(ids) == len(set(ids))
    assert any("Zanzibar" in c.text for c in store.iter_chunks())


@pytest.mark.parametrize("step", ["embedding", "manifest commit", "cleanup"])
def test_exception_at_each_step_keeps_a_consistent_index(
    step: str, tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    old = ChromaChunkStore(settings).manifest()
    assert old is not None
    old_texts = _texts(corpus)
    _edit(corpus)
    embedder = CountingEmbedder(fail_after=2 if step == "embedding" else None)

    def boom(*_: object) -> None:
        raise RuntimeError(f"injected crash at {step}")

    if step == "manifest commit":
        monkeypatch.setattr(ChromaChunkStore, "write_manifest", boom)
    if step == "cleanup":
        real_delete = ChromaChunkStore.delete

        def delete(self: ChromaChunkStore, ids: Sequence[str]) -> None:
            real_delete(self, ids[:3])  # dies part-way through step 3
            boom()

        monkeypatch.setattr(ChromaChunkStore, "delete", delete)
    with pytest.raises(RuntimeError, match="injected"):
        sync_corpus(settings, corpus, embedder=embedder, progress=False)
    monkeypatch.undo()

    store = ChromaChunkStore(settings)
    assert store.raw_count() > store.count()  # the crash left orphans behind...
    if step == "cleanup":  # ...after the commit: the new index is live
        new = store.manifest()
        assert new is not None and new != old and "extra.txt" in new.files
        _assert_serves(settings, new, _texts(corpus))
    else:  # ...before it: readers still see the old index, unmixed
        _assert_serves(settings, old, old_texts)
    _finish_and_check(settings, corpus)


def test_a_first_index_killed_mid_way_resumes_from_its_last_progress_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: a kill during a first large index used to mean re-embedding every file."""
    import indexer.writer

    corpus = tmp_path / "many"
    corpus.mkdir()
    for i in range(12):
        (corpus / f"doc_{i:02d}.txt").write_text(f"Project Z{i:03d} has {i + 3} engineers.\n" * 30)
    settings = Settings(data_dir=tmp_path / "data", index_batch_chunks=2)
    monkeypatch.setattr(indexer.writer, "COMMIT_EVERY_S", 0.0)  # commit after every group
    with pytest.raises(RuntimeError, match="injected"):
        sync_corpus(settings, corpus, embedder=CountingEmbedder(fail_after=5), progress=False)
    store = ChromaChunkStore(settings)
    partial = store.manifest()
    assert partial is not None and 0 < len(partial.files) < 12  # progress was committed
    live_sources = {c.source for c in store.iter_chunks()}
    assert live_sources == set(partial.files)  # readers see finished files only
    embedder = CountingEmbedder()
    report = sync_corpus(settings, corpus, embedder=embedder, progress=False)
    assert report.unchanged == len(partial.files) and report.added == 12 - len(partial.files)
    assert store.raw_count() == store.count() == report.chunks_total
    final = store.manifest()
    assert final is not None and len(final.files) == 12
    everything = CountingEmbedder()
    fresh = settings.model_copy(update={"data_dir": tmp_path / "fresh"})
    sync_corpus(fresh, corpus, embedder=everything, progress=False)
    assert 0 < embedder.texts < everything.texts  # only the unfinished files were embedded


SLOW_SYNC = """
import sys, time
from pathlib import Path
from indexer.runtime import configure_offline
configure_offline()
from indexer.embedding.hashing import HashingEmbedder
from indexer.kernel.settings import Settings
from indexer.sync import sync_corpus

class SlowEmbedder(HashingEmbedder):
    batches = 0
    def embed_documents(self, texts):
        if self.batches == 2:
            Path(sys.argv[3]).touch()  # two batches are in the store: kill me now
            time.sleep(120)
        self.batches += 1
        return super().embed_documents(texts)

settings = Settings(data_dir=Path(sys.argv[2]), embed_batch_size=4, index_batch_chunks=4)
sync_corpus(settings, Path(sys.argv[1]), embedder=SlowEmbedder(), progress=False)
"""


@pytest.mark.slow
def test_sigkill_during_embedding_keeps_the_old_index_and_the_next_run_completes(
    tmp_path: Path, corpus: Path
) -> None:
    settings = _settings(tmp_path)
    env = {**os.environ, "CITELINE_DATA_DIR": str(settings.data_dir), "CITELINE_EMBEDDER": "fake"}
    first = subprocess.run(
        [sys.executable, "-m", "indexer", str(corpus), "--quiet"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    old_texts = _texts(corpus)
    _edit(corpus)
    marker = tmp_path / "embedding-started"
    args = [str(corpus), str(settings.data_dir), str(marker)]
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SYNC, *args], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the indexer exited before it was killed"
            assert time.monotonic() < deadline, "the indexer never reached the embedding step"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # This process opens the store only now, after the kill: it reads what is on disk.
    store = ChromaChunkStore(settings)
    old = store.manifest()
    assert old is not None and "extra.txt" not in old.files
    assert store.raw_count() == store.count() + 8  # two batches of 4 orphans
    _assert_serves(settings, old, old_texts)
    _finish_and_check(settings, corpus)  # also proves the dead run's lock was released
