"""Sentence vectors at index time: each chunk carries its sentences' spans and unit vectors.

The answerer scores every sentence of the retrieved passages against the question; computing
those vectors per request would cost one model call per passage. Here they are computed once, in
the same embedding batches as the chunks, and stored with the chunk (float16: 768 bytes each).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from indexer.embedding.base import Embedder, Vectors
from indexer.kernel.models import Chunk
from indexer.text.sentences import split_sentences

VECTOR_DTYPE = np.float16


def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((s.start, s.end) for s in split_sentences(text))


def encode(vectors: Vectors) -> bytes:
    return np.asarray(vectors, dtype=VECTOR_DTYPE).tobytes()


def decode(chunk: Chunk) -> Vectors | None:
    """The chunk's sentence vectors as float32 rows, or None when the index has none."""
    if chunk.sentence_vectors is None or not chunk.sentences:
        return None
    flat = np.frombuffer(chunk.sentence_vectors, dtype=VECTOR_DTYPE)
    if flat.size % len(chunk.sentences):
        return None
    return flat.reshape(len(chunk.sentences), -1).astype(np.float32)


def embed_with_sentences(
    embedder: Embedder, chunks: Sequence[Chunk]
) -> tuple[list[Chunk], Vectors]:
    """Embed chunks and their sentences in one call; returns the chunks with sentence fields set
    and the chunk vectors. Each distinct text is embedded once: neighbouring chunks overlap, so
    the sentences in the overlap would otherwise be embedded twice."""
    spans = [sentence_spans(c.text) for c in chunks]
    row: dict[str, int] = {}
    for text in [c.text for c in chunks] + [
        c.text[a:b] for c, chunk_spans in zip(chunks, spans, strict=True) for a, b in chunk_spans
    ]:
        row.setdefault(text, len(row))
    vectors = embedder.embed_documents(list(row))
    out: list[Chunk] = []
    for chunk, chunk_spans in zip(chunks, spans, strict=True):
        rows = vectors[[row[chunk.text[a:b]] for a, b in chunk_spans]]
        out.append(
            chunk.model_copy(update={"sentences": chunk_spans, "sentence_vectors": encode(rows)})
        )
    return out, vectors[[row[c.text] for c in chunks]]
