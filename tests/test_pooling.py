"""Sentence vectors pooled from the chunk's own pass (`indexer.embedding.pooling`): the right
tokens for each sentence, the same vectors from onnxruntime and numpy, one model pass per chunk,
and a sentence past the model's window embedded on its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from indexer.embedding.base import Vectors
from indexer.embedding.minilm import MiniLMEmbedder
from indexer.embedding.onnx_minilm import OnnxMiniLMEmbedder
from indexer.embedding.pooling import SpanEmbedder, fill_missing, mean_pool, pool_spans
from indexer.kernel.models import Chunk
from indexer.sentence_vectors import decode, embed_with_sentences, sentence_spans

TOPICS = (
    "Huawei runs 16 research centers around the world. "
    "The cathedral's organ was rebuilt after the fire of 1871. "
    "Penguins dive deeper than 500 metres to catch squid. "
    "Interest rates rose twice in the second quarter."
)


def test_spans_take_the_tokens_inside_their_characters() -> None:
    hidden = np.arange(6 * 2, dtype=np.float32).reshape(6, 2) + 1.0
    # [CLS] "ab" "cd" "ef" "gh" [SEP]: special tokens have empty offsets and are never pooled.
    offsets = [(0, 0), (0, 2), (3, 5), (6, 8), (9, 11), (0, 0)]
    got = pool_spans(hidden, offsets, [(0, 5), (6, 11), (12, 20)])
    want = [hidden[1:3].mean(axis=0), hidden[3:5].mean(axis=0)]
    for row, w in zip(got[:2], want, strict=True):
        assert np.allclose(row, w / np.linalg.norm(w))
    assert not got[2].any()  # no token inside: left for `fill_missing`
    # A window cut after "cd": the last two words are past it.
    assert not pool_spans(hidden[:3], offsets, [(6, 11)]).any()


def test_missing_spans_are_embedded_on_their_own_in_one_call() -> None:
    calls: list[list[str]] = []

    def embed(texts: Sequence[str]) -> Vectors:
        calls.append(list(texts))
        return np.ones((len(texts), 2), dtype=np.float32)

    filled = fill_missing([np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)],
                          ["ab cd"], [[(0, 2), (3, 5)]], embed)  # fmt: skip
    assert calls == [["cd"]]
    assert filled[0].tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_mean_pool_ignores_padding() -> None:
    hidden = np.array([[[3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    assert np.allclose(mean_pool(hidden, np.array([[1, 0]])), [[0.6, 0.8]])


@pytest.mark.slow
def test_onnx_and_numpy_pool_the_same_vectors_in_the_chunk_pass(
    minilm_embedder: OnnxMiniLMEmbedder, numpy_minilm_embedder: MiniLMEmbedder
) -> None:
    texts = [TOPICS, "A short one. And another, with a number: 42."]
    spans = [sentence_spans(t) for t in texts]
    assert isinstance(minilm_embedder, SpanEmbedder)
    vectors, pooled = minilm_embedder.embed_with_spans(texts, spans)
    np_vectors, np_pooled = numpy_minilm_embedder.embed_with_spans(texts, spans)
    assert np.abs(vectors - minilm_embedder.embed_documents(texts)).max() < 1e-6
    assert np.abs(vectors - np_vectors).max() < 1e-5
    for ours, theirs, text_spans in zip(pooled, np_pooled, spans, strict=True):
        assert ours.shape == (len(text_spans), 384) and np.abs(ours - theirs).max() < 1e-5
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Each pooled sentence is nearest its own sentence embedded alone (four unrelated topics).
    alone = minilm_embedder.embed_documents([TOPICS[a:b] for a, b in spans[0]])
    assert np.argmax(pooled[0] @ alone.T, axis=1).tolist() == [0, 1, 2, 3]


class _Counting:
    """The real embedder, counting the texts each method is handed."""

    def __init__(self, inner: OnnxMiniLMEmbedder) -> None:
        self.inner = inner
        self.documents: list[str] = []
        self.with_spans: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        self.documents += texts
        return self.inner.embed_documents(texts)

    def embed_with_spans(self, texts: Sequence[str], spans: Sequence[Any]) -> Any:
        self.with_spans += texts
        return self.inner.embed_with_spans(texts, spans)


def _chunk(text: str) -> Chunk:
    return Chunk(id="c0", source="a.txt", title="a", text=text, char_start=0,
                 char_end=len(text), line_start=1, line_end=1, chunk_index=0,
                 content_hash="h", doc_hash="d")  # fmt: skip


@pytest.mark.slow
def test_indexing_runs_the_model_once_per_chunk(minilm_embedder: OnnxMiniLMEmbedder) -> None:
    counting = _Counting(minilm_embedder)
    (stored,), vectors = embed_with_sentences(counting, [_chunk(TOPICS)])  # type: ignore[arg-type]
    assert counting.with_spans == [TOPICS] and counting.documents == []
    decoded = decode(stored)
    assert decoded is not None and decoded.shape == (4, 384)
    assert np.allclose(vectors[0], minilm_embedder.embed_documents([TOPICS])[0], atol=1e-6)


@pytest.mark.slow
def test_a_sentence_past_the_window_is_embedded_alone(minilm_embedder: OnnxMiniLMEmbedder) -> None:
    filler = "word " * 300  # past the 256-token window
    text = f"{filler.strip()}. Penguins dive deep."
    (stored,), _ = embed_with_sentences(minilm_embedder, [_chunk(text)])
    decoded = decode(stored)
    assert decoded is not None
    alone = minilm_embedder.embed_documents(["Penguins dive deep."])[0]
    assert np.allclose(decoded[-1], alone, atol=2e-3)  # float16 storage
    assert np.allclose(np.linalg.norm(decoded, axis=1), 1.0, atol=2e-3)
