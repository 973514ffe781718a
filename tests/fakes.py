"""Test doubles shared by tests and benchmarks (production code never imports this module)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from indexer.embedding.base import Vectors
from indexer.kernel.models import Chunk
from indexer.store.base import Manifest


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

    def nearest_ids(
        self, embedding: Vectors, top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        return [(c.id, score) for c, score in self.query(embedding, top_k, sources)]

    def get(self, ids: Sequence[str]) -> list[Chunk]:
        by_id = {c.id: c for c in self._chunks if self._live(c)}
        return [by_id[i] for i in ids if i in by_id]

    def iter_chunks(self) -> Iterator[Chunk]:
        return (c for c in self._chunks if self._live(c))
