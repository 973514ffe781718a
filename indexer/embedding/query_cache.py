"""Question vectors remembered: the retriever and the answerer both need the question's vector,
and popular questions repeat (the widget re-asks follow-ups); each costs one model call."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from indexer.embedding.base import Embedder, Vectors


class CachedQueries:
    """An `Embedder` that delegates to `inner` and keeps the last `size` question vectors."""

    def __init__(self, inner: Embedder, size: int = 1024) -> None:
        self._inner = inner
        self._query = lru_cache(maxsize=size)(inner.embed_query)

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dim(self) -> int:
        return self._inner.dim

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    def warm_up(self) -> None:
        self._inner.warm_up()

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> Vectors:
        return self._query(text)
