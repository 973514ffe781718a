"""Retrieval behind a small protocol, so hybrid (BM25 + dense) can replace dense without the
pipeline noticing. Each retriever reports its own timings (embedding vs store query)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from indexer.embedding.base import Embedder, Vectors
from indexer.kernel.errors import CitelineError, EmbeddingError, StoreError
from indexer.kernel.models import Chunk
from indexer.store.base import ChunkStore


@dataclass
class Retrieval:
    hits: list[tuple[Chunk, float]]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Retriever(Protocol):
    def retrieve(self, question: str, top_k: int, sources: Sequence[str] | None) -> Retrieval:
        """Best `top_k` live chunks for `question`, best first, restricted to `sources` if given."""
        ...


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


class DenseRetriever:
    def __init__(self, embedder: Embedder, store: ChunkStore) -> None:
        # The pipeline's embedder remembers question vectors (`CachedQueries`), for the
        # answerer too.
        self._embedder = embedder
        self._store = store

    def embed(self, question: str) -> tuple[Vectors, float]:
        """The question's vector and the milliseconds it took."""
        started = time.perf_counter()
        try:
            vector = self._embedder.embed_query(question)
        except CitelineError:
            raise
        except Exception as exc:  # a backend's own failure, whatever its type
            raise EmbeddingError(f"embedding the question failed: {exc}") from exc
        return vector, _ms(started)

    def nearest_ids(
        self, question: str, top_k: int, sources: Sequence[str] | None
    ) -> tuple[list[tuple[str, float]], dict[str, float]]:
        """The nearest live chunks' ids and similarities, and the timings; nothing is read."""
        vector, embed_ms = self.embed(question)
        started = time.perf_counter()
        with _store_errors():
            hits = self._store.nearest_ids(vector, top_k, sources)
        return hits, {"embed": embed_ms, "retrieve": _ms(started)}

    def retrieve(self, question: str, top_k: int, sources: Sequence[str] | None) -> Retrieval:
        vector, embed_ms = self.embed(question)
        started = time.perf_counter()
        with _store_errors():
            hits = self._store.query(vector, top_k, sources)
        return Retrieval(hits, {"embed": embed_ms, "retrieve": _ms(started)})


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except CitelineError:
        raise
    except Exception as exc:
        raise StoreError(f"querying the index failed: {exc}") from exc
