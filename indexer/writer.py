"""Step 1 of a sync, at the embedder's speed, with progress committed as it goes.

Documents are chunked and embedded in groups of about `index_batch_chunks` chunks (whole
documents; a long one is written in slices of that size): one embedding call per slice (chunks
and their sentences together, sorted and batched by token length inside the embedder), one
Chroma write per slice. The next group is chunked on a helper thread while this
one is embedded (onnxruntime releases the GIL).

Progress is committed: after a group, if `COMMIT_EVERY_S` have passed since the last commit, a
manifest naming the files finished so far (new entries) and every other file as it was is
written. Each file is then old or new in the store, never a mix, as with the final commit; a run
killed later resumes from there (its finished files are unchanged to the next run) instead of
embedding everything again. Chunks of the group in flight, and the replaced chunks of files
already committed, are orphans that the next run's step 0 deletes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from indexer.abbreviations import find_abbreviations
from indexer.chunking import TIKTOKEN_ENCODING, Chunker
from indexer.embedding.base import Embedder
from indexer.kernel.models import Chunk
from indexer.kernel.settings import Settings
from indexer.loading import Document
from indexer.locking import IndexLock
from indexer.sentence_vectors import embed_with_sentences
from indexer.store.base import FileEntry, Manifest
from indexer.store.chroma import ChromaChunkStore

COMMIT_EVERY_S = 10.0  # a kill loses at most about this much embedding work

Group = tuple[list[Chunk], dict[str, FileEntry], int]  # chunks, their files' entries, max tokens


def _groups(docs: Sequence[Document], chunks_per_char: float, size: int) -> list[list[Document]]:
    """Documents in runs of about `size` chunks (estimated from text length)."""
    out: list[list[Document]] = [[]]
    weight = 0.0
    for doc in docs:
        if out[-1] and weight >= size:
            out.append([])
            weight = 0.0
        out[-1].append(doc)
        weight += max(1.0, len(doc.text) * chunks_per_char)
    return [g for g in out if g]


def _chunk_group(chunker: Chunker, docs: Sequence[Document]) -> Group:
    chunks: list[Chunk] = []
    entries: dict[str, FileEntry] = {}
    top = 0
    for doc in docs:
        chunked = chunker.chunk(doc)
        chunks += chunked.chunks
        top = max(top, chunked.max_tokens)
        entries[doc.source] = FileEntry(
            source=doc.source, doc_hash=doc.doc_hash, title=doc.title,
            chunks=len(chunked.chunks), bytes=doc.bytes,
            abbreviations=find_abbreviations(doc.text),
        )  # fmt: skip
    return chunks, entries, top


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
        task = bar.add_task("embedding files", total=total)
        yield lambda n: bar.advance(task, float(n))


def write_documents(
    settings: Settings,
    store: ChromaChunkStore,
    embedder: Embedder,
    docs: Sequence[Document],
    live: Manifest,
    lock: IndexLock,
    progress: bool,
) -> tuple[dict[str, FileEntry], int, int]:
    """Embed and add `docs`; `live` is the manifest readers see now (interim commits extend it).
    Returns (the new entries of `docs`, chunks written, largest chunk in model tokens)."""
    chunker = Chunker(
        settings.chunk_tokens,
        settings.chunk_overlap,
        TIKTOKEN_ENCODING,
        embedder.count_tokens,
        embedder.max_tokens,
    )
    # ~4 characters per token, chunks advance by (size - overlap) tokens
    chunks_per_char = 1.0 / (4.0 * max(1, settings.chunk_tokens - settings.chunk_overlap))
    groups = _groups(docs, chunks_per_char, settings.index_batch_chunks)
    done: dict[str, FileEntry] = {}
    written = top = 0
    committed_at = time.monotonic()
    with ThreadPoolExecutor(1) as pool, _progress(progress, len(docs)) as advance:
        ahead: Future[Group] = pool.submit(_chunk_group, chunker, groups[0])
        for n in range(len(groups)):
            chunks, entries, group_top = ahead.result()
            more = n + 1 < len(groups)
            if more:  # chunk the next group while this one is embedded
                ahead = pool.submit(_chunk_group, chunker, groups[n + 1])
            size = settings.index_batch_chunks  # a long document spans several writes
            for at in range(0, len(chunks), size):
                store.add(*embed_with_sentences(embedder, chunks[at : at + size]))
                lock.refresh()
            done.update(entries)
            written += len(chunks)
            top = max(top, group_top)
            advance(len(entries))
            if more and time.monotonic() - committed_at >= COMMIT_EVERY_S:
                files = {**live.files, **done}
                store.write_manifest(live.model_copy(update={"files": dict(sorted(files.items()))}))
                committed_at = time.monotonic()
    return done, written, top
