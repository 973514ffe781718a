"""The default embedder (MiniLM fp32 on onnxruntime) and the int8 variant: parity with
sentence-transformers' reference vectors, the built graph's recorded hash, names that keep the
index's embedder check meaningful, and batching."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.embedding import onnx_minilm
from indexer.embedding.base import Embedder
from indexer.embedding.minilm import MiniLMEmbedder, model_dir
from indexer.embedding.onnx_graph import build_from_dir
from indexer.embedding.onnx_minilm import GRAPH_SHA256, OnnxMiniLMEmbedder, token_batches
from indexer.kernel.errors import ConfigError, EmbeddingMismatchError
from indexer.store.base import Manifest
from indexer.store.chroma import check_embedding

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray]:
    items = json.loads(FIXTURE.read_text(encoding="utf-8"))["items"]
    return [i["text"] for i in items], np.array([i["vector"] for i in items], dtype=np.float64)


def test_fp32_matches_sentence_transformers_and_the_numpy_model(
    minilm_embedder: OnnxMiniLMEmbedder,
    numpy_minilm_embedder: MiniLMEmbedder,
    reference: tuple[list[str], np.ndarray],
) -> None:
    texts, want = reference
    got = minilm_embedder.embed_documents(texts).astype(np.float64)
    assert got.dtype == np.float64 and got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5
    assert ((got * want).sum(axis=1)).min() >= 0.99999
    numpy_vectors = numpy_minilm_embedder.embed_documents(texts)
    assert np.abs(got - numpy_vectors).max() <= 1e-5
    # Same function, so the same name: indexes built by the numpy model stay valid.
    assert minilm_embedder.name == numpy_minilm_embedder.name == "minilm:all-MiniLM-L6-v2"
    assert [minilm_embedder.count_tokens(t) for t in texts] == [
        numpy_minilm_embedder.count_tokens(t) for t in texts
    ]


def test_graph_build_is_deterministic_and_hash_recorded() -> None:
    first, digest = build_from_dir(model_dir())
    again, digest_again = build_from_dir(model_dir())
    assert first == again and digest == digest_again == GRAPH_SHA256


def test_batches_respect_the_token_budget_and_order_changes_nothing(
    minilm_embedder: OnnxMiniLMEmbedder,
) -> None:
    lengths = [5, 300, 40, 40, 7, 256, 1, 90]
    batches = token_batches(lengths, budget=300)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        widest = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * widest <= 300
    texts = ["Huawei has 16 R&D centers.", "A longer sentence about supply chains " * 5, "Hi"]
    together = minilm_embedder.embed_documents(texts)
    alone = np.stack([minilm_embedder.embed_query(t) for t in texts])
    assert np.abs(together - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_indexing_keeps_a_memory_arena_and_a_service_does_not(
    minilm_embedder: OnnxMiniLMEmbedder,
) -> None:
    from indexer.embedding.factory import build_embedder
    from indexer.kernel.settings import Settings

    indexing = build_embedder(Settings())
    serving = build_embedder(Settings(), threads=1, serving=True)
    assert isinstance(indexing, OnnxMiniLMEmbedder) and isinstance(serving, OnnxMiniLMEmbedder)
    assert indexing._options().enable_cpu_mem_arena is True
    assert serving._options().enable_cpu_mem_arena is False
    texts = ["Huawei has 16 R&D centers.", "Haier makes refrigerators. " * 20]
    assert minilm_embedder.arena  # the shared fixture is built like the indexer's
    difference = serving.embed_documents(texts) - minilm_embedder.embed_documents(texts)
    assert np.abs(difference).max() < 1e-6


def test_constructor_does_no_io_and_empty_input(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> Any:
        raise AssertionError("loaded the model in the constructor")

    monkeypatch.setattr(onnx_minilm, "model_dir", boom)
    embedder = OnnxMiniLMEmbedder()
    assert isinstance(embedder, Embedder)
    assert (embedder.dim, embedder.max_tokens) == (384, 256)
    assert embedder.embed_documents([]).shape == (0, 384)


def test_int8_is_close_but_named_apart_so_an_index_cannot_mix_them(
    reference: tuple[list[str], np.ndarray],
) -> None:
    pytest.importorskip(onnx_minilm.INT8_PACKAGE)
    int8 = OnnxMiniLMEmbedder("int8", threads=2)
    texts, want = reference
    cosine = (int8.embed_documents(texts).astype(np.float64) * want).sum(axis=1)
    assert cosine.min() > 0.99  # measured 0.9963: close, not equal
    assert int8.name != OnnxMiniLMEmbedder("fp32").name
    fp32_index = Manifest(embed_model=OnnxMiniLMEmbedder("fp32").name, dim=384)
    with pytest.raises(EmbeddingMismatchError):
        check_embedding(fp32_index, int8.name, int8.dim, "c")


def test_int8_file_with_another_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(onnx_minilm.INT8_PACKAGE)
    monkeypatch.setattr(onnx_minilm, "INT8_SHA256", "0" * 64)
    with pytest.raises(ConfigError, match="sha256"):
        OnnxMiniLMEmbedder("int8").warm_up()
