"""Make the store match the corpus folder: embed new and changed files, drop deleted ones.

Crash safety comes from the order (a kill at any point leaves the last committed index readable,
and the next run finishes the job):
  0. delete orphans: chunks whose (source, doc_hash) the manifest does not name (a crashed run's);
  1. write the new chunks (ids contain doc_hash, so they never collide with live ones);
  2. commit the manifest in one write: readers switch to the new chunks here;
  3. delete the replaced and removed chunks (now orphans; step 0 covers a crash before this).
A run over an unchanged corpus hashes the files, reads the manifest and stops: no model load.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from indexer.abbreviations import find_abbreviations
from indexer.bm25 import BM25Index
from indexer.chunking import TIKTOKEN_ENCODING, Chunker, chunk_id
from indexer.embedding.base import Embedder
from indexer.extracted import extracted_dir, prune_extracted, save_extracted
from indexer.kernel.errors import DocumentError
from indexer.kernel.models import Chunk
from indexer.kernel.settings import Settings
from indexer.loading import Document, SkippedFile, load_corpus
from indexer.locking import IndexLock, index_lock
from indexer.sentence_vectors import embed_with_sentences
from indexer.store.base import FileEntry, Manifest
from indexer.store.chroma import ChromaChunkStore, check_embedding

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


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),
        transient=True,
    ) as bar:
        task = bar.add_task("embedding chunks", total=total)
        yield lambda n: bar.advance(task, float(n))


def _write_chunks(
    store: ChromaChunkStore,
    embedder: Embedder,
    chunks: Sequence[Chunk],
    batch: int,
    lock: IndexLock,
    progress: bool,
) -> None:
    """Step 1: embed and add, a batch at a time (a kill loses at most the batch in flight)."""
    with _progress(progress, len(chunks)) as advance:
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            store.add(*embed_with_sentences(embedder, part))
            lock.refresh()
            advance(len(part))


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


def _chunk(
    settings: Settings, embedder: Embedder, docs: Sequence[Document], report: SyncReport
) -> tuple[list[Chunk], dict[str, FileEntry]]:
    chunker = Chunker(
        settings.chunk_tokens,
        settings.chunk_overlap,
        TIKTOKEN_ENCODING,
        embedder.count_tokens,
        embedder.max_tokens,
    )
    chunks: list[Chunk] = []
    entries: dict[str, FileEntry] = {}
    for doc in docs:
        chunked = chunker.chunk(doc)
        chunks += chunked.chunks
        report.max_chunk_tokens = max(report.max_chunk_tokens, chunked.max_tokens)
        entries[doc.source] = FileEntry(
            source=doc.source, doc_hash=doc.doc_hash, title=doc.title,
            chunks=len(chunked.chunks), bytes=doc.bytes,
            abbreviations=find_abbreviations(doc.text),
        )  # fmt: skip
    return chunks, entries


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
        if to_embed:
            chunks, entries = _chunk(settings, embedder, to_embed, report)
            files.update(entries)
            embedder.warm_up()
            _write_chunks(store, embedder, chunks, settings.embed_batch_size, lock, progress)
            report.chunks_written = len(chunks)  # step 1
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
