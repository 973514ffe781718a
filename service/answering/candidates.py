"""The candidate sentences of the retrieved passages, with their unit vectors.

Vectors come from the index (computed when the chunk was embedded). A chunk indexed before
sentence vectors existed, or held by a store that keeps none, has its sentences embedded here,
once per chunk id (an LRU cache), so such an index still answers, only slower.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from indexer.embedding.base import Vectors
from indexer.kernel.models import Chunk, Passage
from indexer.sentence_vectors import decode, sentence_spans
from service.answering.evidence import Matrix, Sentence

EmbedTexts = Callable[[Sequence[str]], Vectors]


class SentenceVectors:
    """Sentence spans and vectors of a chunk: from the index, else embedded and cached."""

    def __init__(self, embed_documents: EmbedTexts, cache_size: int = 2048) -> None:
        self._embed = embed_documents
        self._cache: OrderedDict[str, tuple[tuple[tuple[int, int], ...], Vectors]] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def of(self, chunk: Chunk) -> tuple[tuple[tuple[int, int], ...], Vectors]:
        stored = decode(chunk)
        if stored is not None:
            return chunk.sentences, stored
        with self._lock:
            if chunk.id in self._cache:
                self._cache.move_to_end(chunk.id)
                return self._cache[chunk.id]
        spans = sentence_spans(chunk.text)
        vectors = (
            self._embed([chunk.text[a:b] for a, b in spans])
            if spans
            else np.zeros((0, 1), dtype=np.float32)
        )
        with self._lock:
            self._cache[chunk.id] = (spans, vectors)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return spans, vectors

    def candidates(self, passages: Sequence[Passage]) -> tuple[list[Sentence], Matrix]:
        """Every sentence of `passages` in passage order, each text once (overlapping chunks
        repeat sentences: the better-ranked passage keeps it)."""
        out: list[Sentence] = []
        rows: list[Vectors] = []
        seen: set[tuple[str, str]] = set()
        for passage in passages:
            spans, vectors = self.of(passage.chunk)
            for i, (start, end) in enumerate(spans):
                text = passage.chunk.text[start:end]
                key = (passage.chunk.source, " ".join(text.split()))
                if key in seen:
                    continue
                seen.add(key)
                out.append(Sentence(passage, i, start, end, text))
                rows.append(vectors[i])
        matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 1), np.float32)
        return out, matrix
