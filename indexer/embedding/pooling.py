"""Mean pooling of a transformer's last hidden states: whole texts and character spans of them.

`mean_pool` is sentence-transformers' Pooling + Normalize: the unit mean of a row's real tokens.
`pool_spans` gives a sentence inside a chunk its vector from the chunk's own pass: the unit mean
of the tokens that fall inside the sentence's characters. The indexer needs a vector per chunk
and per sentence; taking both from one pass halves the model's work (the sentences' separate
pass cost as much as the chunks' own). Measured on SQuAD 2.0's public half, scorer refitted and
cross-validated by article: the top sentence holds a gold span for 0.746 of answerable questions
either way, and the answerer's curve moves by under a point (docs/embeddings.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from indexer.embedding.base import Vectors

Span = tuple[int, int]
Offsets = Sequence[tuple[int, int]]


@runtime_checkable
class SpanEmbedder(Protocol):
    """An embedder that also pools character spans of its texts from the same pass."""

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
    ) -> tuple[Vectors, list[Vectors]]:
        """(one unit vector per text, per text one unit vector per span)."""
        ...


def _unit(rows: Vectors) -> Vectors:
    unit: Vectors = rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)
    return unit.astype(np.float32)


def mean_pool(hidden: Vectors, mask: npt.NDArray[np.int64]) -> Vectors:
    """(batch, seq, hidden) states and a (batch, seq) 0/1 mask -> (batch, hidden) unit rows."""
    weights = mask.astype(np.float32)
    summed = np.einsum("bsh,bs->bh", hidden, weights)
    return _unit(summed / np.maximum(weights.sum(axis=1, keepdims=True), 1.0))


def pool_spans(hidden: Vectors, offsets: Offsets, spans: Sequence[Span]) -> Vectors:
    """One text's (seq, hidden) states, its tokens' character offsets (special tokens are
    (0, 0)) -> one unit vector per character span, from the tokens inside it. A span with no
    token inside (past a truncation) gets a zero row: the caller embeds it on its own."""
    real = [i for i, (start, end) in enumerate(offsets) if end > start and i < len(hidden)]
    starts = np.array([offsets[i][0] for i in real], dtype=np.int64)
    ends = np.array([offsets[i][1] for i in real], dtype=np.int64)
    out = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    for row, (a, b) in enumerate(spans):
        lo = int(np.searchsorted(starts, a, side="left"))
        hi = int(np.searchsorted(ends, b, side="right"))
        if hi > lo:  # real tokens are consecutive positions: one slice of the states
            out[row] = hidden[real[lo] : real[hi - 1] + 1].mean(axis=0)
    return _unit(out)  # a zero row stays zero


def fill_missing(
    span_vectors: list[Vectors],
    texts: Sequence[str],
    spans: Sequence[Sequence[Span]],
    embed: Callable[[Sequence[str]], Vectors],
) -> list[Vectors]:
    """Embed on their own the spans `pool_spans` left as zero rows (in one call)."""
    missing = [
        (t, r)
        for t, rows in enumerate(span_vectors)
        for r in np.flatnonzero(~np.any(rows, axis=1)).tolist()
    ]
    if missing:
        vectors = embed([texts[t][spans[t][r][0] : spans[t][r][1]] for t, r in missing])
        for (t, r), vector in zip(missing, vectors, strict=True):
            span_vectors[t][r] = vector
    return span_vectors
