"""Make the store match the corpus folder: embed new and changed files, drop deleted ones.

Crash safety comes from the order (a kill at any point leaves the last committed index readable,
and the next run finishes the job):
  0. delete orphans: chunks whose (source, doc_hash) the manifest does not name (a crashed run's);
  1. write the new chunks (ids contain doc_hash, so they never collide with live ones); a long
     run also commits the files finished so far every few seconds (`indexer/writer.py`), so a
     run killed mid-way resumes from there; each file is old or new, never a mix;
  2. commit the manifest in one write: readers switch to the new chunks here;
  3. delete the replaced and removed chunks (now orphans; step 0 covers a crash before this).
A run over an unchanged corpus hashes the files, reads the manifest and stops: no model load.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from indexer.bm25 import BM25Index
from indexer.chunking import chunk_id
from indexer.embedding.base import Embedder
from indexer.extracted import extracted_dir, prune_extracted, save_extracted
from indexer.kernel.errors import DocumentError
from indexer.kernel.settings import Settings
from indexer.loading import Document, SkippedFile, load_corpus
from indexer.locking import index_lock
from indexer.store.base import FileEntry, Manifest
from indexer.store.chroma import ChromaChunkStore, check_embedding
from indexer.writer import write_documents

log = logging.getLogger(__name__)


class SyncReport(BaseModel):
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
    chunks_written: int = 0
    chunks_deleted: int = Field(default=0, description="replaced, removed and orphaned chunks")
    chunks_total: int = 0
    max_chunk_tokens: int = Field(default=0, description="largest chunk written this run")
    embed_model: str = ""
    collection: str = ""
    seconds: float = 0.0


def _sweep_orphans(store: ChromaChunkStore, manifest: Manifest) -> tuple[int, set[str]]:
    """Step 0. Returns (orphans deleted, sources whose live chunks are incomplete)."""
    if store.raw_count() == sum(f.chunks for f in manifest.files.values()):
        return 0, set()  # the usual case: the last run finished, nothing to scan
    orphans: list[str] = []
    live: Counter[str] = Counter()
    for cid, source, doc_hash in store.chunk_refs():
        if manifest.live_hash(source) == doc_hash:
            live[source] += 1
        else:
            orphans.append(cid)
    store.delete(orphans)
    log.info("removed %d chunks left by an interrupted run", len(orphans))
    return len(orphans), {s for s, f in manifest.files.items() if live[s] != f.chunks}


def _ids(entry: FileEntry) -> list[str]:
    return [chunk_id(entry.source, entry.doc_hash, i) for i in range(entry.chunks)]


def _plan(
    documents: Sequence[Document], old: Manifest, broken: set[str], report: SyncReport
) -> tuple[dict[str, FileEntry], list[Document]]:
    """(entries kept as they are, documents to embed); counts go into `report`."""
    kept: dict[str, FileEntry] = {}
    to_embed: list[Document] = []
    for doc in documents:
        entry = old.files.get(doc.source)
        if entry and entry.doc_hash == doc.doc_hash and doc.source not in broken:
            kept[doc.source] = entry
            report.unchanged += 1
        else:
            to_embed.append(doc)
            report.added += entry is None
            report.updated += entry is not None
    present = {d.source for d in documents}
    report.removed = sum(1 for source in old.files if source not in present)
    return kept, to_embed


def _save_keyword_index(settings: Settings, store: ChromaChunkStore) -> None:
    """BM25 for the live manifest, saved under `settings.bm25_dir` unless already current.
    Server mode writes nothing locally: replicas on other machines build it from the store."""
    if settings.chroma_url is not None:
        return
    live = store.manifest()
    if live is None or BM25Index.saved_version(settings.bm25_dir) == live.updated_at:
        return
    BM25Index.build(store.iter_chunks(), live.updated_at).save(settings.bm25_dir)


def sync_corpus(
    settings: Settings,
    corpus_dir: Path,
    *,
    embedder: Embedder,
    rebuild: bool = False,
    progress: bool = True,
    allow_empty: bool = False,
) -> SyncReport:
    """Sync `corpus_dir` into `settings.collection`; see the module docstring for the guarantees.

    A folder with no indexable file would remove every document: refused (DocumentError) while
    the index holds documents, unless `allow_empty` (a wrong or unmounted path is the usual cause).
    """
    started = time.perf_counter()
    loaded = load_corpus(corpus_dir, max_bytes=settings.max_file_bytes)
    for skip in loaded.skipped:
        log.info("skipped %s: %s", skip.source, skip.reason)
    report = SyncReport(
        skipped=loaded.skipped, embed_model=embedder.name, collection=settings.collection
    )
    store = ChromaChunkStore(settings)
    with index_lock(settings, store.connection) as lock:
        old = store.manifest()
        if not loaded.documents and old is not None and old.files and not allow_empty:
            raise DocumentError(
                f"{corpus_dir} holds no indexable file: syncing it would remove all "
                f"{len(old.files)} indexed documents. Check the path, or pass --allow-empty."
            )
        committed = old is not None and not rebuild
        if old is None or rebuild:  # no manifest: nothing is live, any leftovers are garbage
            store.reset()
            old = Manifest(embed_model=embedder.name, dim=embedder.dim)
        check_embedding(old, embedder.name, embedder.dim, settings.collection)
        report.chunks_deleted, broken = _sweep_orphans(store, old)  # step 0
        files, to_embed = _plan(loaded.documents, old, broken, report)
        texts = extracted_dir(settings.data_dir, settings.collection)  # PDF/DOCX text, by hash
        save_extracted(texts, ((d.source, d.doc_hash, d.extraction) for d in loaded.documents
                               if d.extraction is not None))  # fmt: skip
        if to_embed:  # step 1 (with interim commits on long runs: indexer/writer.py)
            embedder.warm_up()
            live = old.model_copy(update={"embed_model": embedder.name, "dim": embedder.dim})
            entries, report.chunks_written, report.max_chunk_tokens = write_documents(
                settings, store, embedder, to_embed, live, lock, progress
            )
            files.update(entries)
        new = Manifest(
            embed_model=embedder.name, dim=embedder.dim, files=dict(sorted(files.items()))
        )
        if not committed or to_embed or report.removed:
            store.write_manifest(new)  # step 2: the commit point
        kept = {cid for entry in new.files.values() for cid in _ids(entry)}
        stale = [cid for entry in old.files.values() for cid in _ids(entry) if cid not in kept]
        store.delete(stale)  # step 3
        report.chunks_deleted += len(stale)
        prune_extracted(texts, {entry.doc_hash for entry in new.files.values()})
        _save_keyword_index(settings, store)  # step 4: readers rebuild it themselves if absent
    report.chunks_total = sum(f.chunks for f in new.files.values())
    report.seconds = round(time.perf_counter() - started, 3)
    return report
