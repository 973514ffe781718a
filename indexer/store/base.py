"""What the rest of Citeline needs from a vector store, and an in-memory fake beside it.

Consistency model: chunks of a file carry the file's `doc_hash`. The manifest (one record, written
in one call) says which `doc_hash` is live for each source. Readers only ever return chunks whose
`doc_hash` matches the manifest, so a crash between writing chunks and committing the manifest shows
the old state, never a mix; the next sync deletes the orphans.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from indexer.embedding.base import Vectors
from indexer.kernel.models import Chunk


class FileEntry(BaseModel):
    source: str
    doc_hash: str
    title: str
    chunks: int
    bytes: int


class Manifest(BaseModel):
    embed_model: str
    dim: int
    files: dict[str, FileEntry] = Field(default_factory=dict)
    updated_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())

    def live_hash(self, source: str) -> str | None:
        entry = self.files.get(source)
        return entry.doc_hash if entry else None


class ChunkStore(Protocol):
    """Read side, used by the service. Every method returns live chunks only."""

    def manifest(self) -> Manifest | None: ...

    def count(self) -> int: ...

    def query(
        self, embedding: Vectors, top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest live chunks, best first, with cosine similarity (higher is better)."""
        ...

    def get(self, ids: Sequence[str]) -> list[Chunk]: ...

    def iter_chunks(self) -> Iterator[Chunk]: ...


class InMemoryChunkStore:
    """A `ChunkStore` over a list, for tests of code that reads the store."""

    def __init__(self, chunks: Sequence[Chunk], vectors: Vectors, manifest: Manifest) -> None:
        self._chunks = list(chunks)
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._manifest = manifest

    def manifest(self) -> Manifest | None:
        return self._manifest

    def _live(self, chunk: Chunk) -> bool:
        return self._manifest.live_hash(chunk.source) == chunk.doc_hash

    def count(self) -> int:
        return sum(1 for c in self._chunks if self._live(c))

    def query(
        self, embedding: Vectors, top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        if not self._chunks:
            return []
        sims = self._vectors @ np.asarray(embedding, dtype=np.float32)
        order = np.argsort(-sims, kind="stable")
        hits: list[tuple[Chunk, float]] = []
        for i in order:
            chunk = self._chunks[int(i)]
            if self._live(chunk) and (sources is None or chunk.source in sources):
                hits.append((chunk, float(sims[int(i)])))
            if len(hits) == top_k:
                break
        return hits

    def get(self, ids: Sequence[str]) -> list[Chunk]:
        by_id = {c.id: c for c in self._chunks if self._live(c)}
        return [by_id[i] for i in ids if i in by_id]

    def iter_chunks(self) -> Iterator[Chunk]:
        return (c for c in self._chunks if self._live(c))
