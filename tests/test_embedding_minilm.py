"""The numpy MiniLM against sentence-transformers' vectors; its tokenizer and loading contract."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import threading
import time
from importlib.machinery import ModuleSpec
from pathlib import Path

import numpy as np
import pytest

from indexer.embedding import minilm
from indexer.embedding.base import Embedder
from indexer.embedding.minilm import MiniLMEmbedder, gelu
from indexer.kernel.errors import ConfigError, EmbeddingError

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    data: dict[str, object] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _texts(reference: dict[str, object]) -> list[str]:
    return [item["text"] for item in reference["items"]]  # type: ignore[attr-defined]


def test_gelu_matches_exact_erf_form() -> None:
    xs = np.concatenate([np.linspace(-12, 12, 48_001), [-40.0, -1e4, 40.0, 1e4]]).astype(np.float32)
    exact = np.array([0.5 * float(x) * (1 + math.erf(float(x) / math.sqrt(2))) for x in xs])
    got = gelu(xs.copy().reshape(1, -1)).ravel()  # gelu works in place
    assert np.abs(got - exact).max() < 1e-6 * max(1.0, float(np.abs(xs).max()) / 12)
    assert np.abs(got[:-4] - exact[:-4]).max() < 1e-6
    assert np.isfinite(got).all()
    assert abs(got[-4]) < 1e-30 and got[-1] == xs[-1]  # far tails: ~0 and exactly x
    # The tanh approximation would fail this: it is off by ~1e-4 around |x| = 2.
    tanh_form = 0.5 * xs * (1 + np.tanh(np.sqrt(2 / np.pi) * (xs + 0.044715 * xs**3)))
    assert np.abs(tanh_form[:-4] - exact[:-4]).max() > 1e-5


def test_constructor_does_no_io_and_missing_package_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == minilm.PACKAGE else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    embedder = MiniLMEmbedder()  # must not touch the package yet
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim, embedder.max_tokens) == (
        "minilm:all-MiniLM-L6-v2",
        384,
        256,
    )
    with pytest.raises(ConfigError, match="make setup"):
        embedder.warm_up()


@pytest.fixture(scope="module")
def embedded(numpy_minilm_embedder: MiniLMEmbedder, reference: dict[str, object]) -> np.ndarray:
    """The fixture's texts embedded in one call (shared: the long texts are the slow part)."""
    return numpy_minilm_embedder.embed_documents(_texts(reference))


@pytest.mark.slow
def test_vectors_match_sentence_transformers(
    embedded: np.ndarray, reference: dict[str, object]
) -> None:
    ref = np.array([item["vector"] for item in reference["items"]], dtype=np.float64)  # type: ignore[attr-defined]
    assert embedded.dtype == np.float32 and embedded.shape == ref.shape
    # Fixture is rounded to 7 decimals; float32 reordering adds ~1e-7.
    assert np.abs(embedded - ref).max() <= 1e-5
    cosines = (embedded * ref).sum(axis=1) / np.linalg.norm(ref, axis=1)
    assert cosines.min() >= 0.99999


@pytest.mark.slow
def test_token_counts_are_untruncated_wordpieces(
    numpy_minilm_embedder: MiniLMEmbedder, reference: dict[str, object]
) -> None:
    expected = [item["tokens_untruncated"] for item in reference["items"]]  # type: ignore[attr-defined]
    assert [numpy_minilm_embedder.count_tokens(t) for t in _texts(reference)] == expected
    assert (
        max(expected) > numpy_minilm_embedder.max_tokens
    )  # the fixture does hold an over-long text
    assert numpy_minilm_embedder.count_tokens("") == 2  # [CLS] [SEP]


@pytest.mark.slow
def test_overlong_input_is_truncated_with_a_warning(
    numpy_minilm_embedder: MiniLMEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    words = " ".join(f"word{i}" for i in range(400))
    head = " ".join(f"word{i}" for i in range(300))  # also beyond 256 wordpieces
    with caplog.at_level(logging.WARNING, logger="indexer.embedding.minilm"):
        long_vec, head_vec = numpy_minilm_embedder.embed_documents([words, head])
    assert "truncated to 256" in caplog.text
    # Both keep only their first 254 content tokens, which are the same.
    np.testing.assert_allclose(long_vec, head_vec, atol=1e-6)


@pytest.mark.slow
def test_batching_and_order_do_not_change_vectors(
    numpy_minilm_embedder: MiniLMEmbedder, reference: dict[str, object], embedded: np.ndarray
) -> None:
    # The short texts only (the long ones are covered by the parity test): each lands in a
    # different batch, with different padding, than in `embedded`.
    rows = [
        i for i, t in enumerate(_texts(reference)) if numpy_minilm_embedder.count_tokens(t) < 64
    ]
    texts = [_texts(reference)[i] for i in rows]
    reversed_rows = numpy_minilm_embedder.embed_documents(texts[::-1])[::-1]
    one_by_one = np.stack([numpy_minilm_embedder.embed_query(t) for t in texts])
    np.testing.assert_allclose(reversed_rows, embedded[rows], atol=1e-6)
    np.testing.assert_allclose(one_by_one, embedded[rows], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, atol=1e-6)


@pytest.mark.slow
def test_retrieves_the_relevant_paragraph(numpy_minilm_embedder: MiniLMEmbedder) -> None:
    docs = [
        "Haier sells refrigerators and washing machines under a localized R&D model.",
        "Ken Hu, Huawei's rotating CEO, spoke at the APEC forum in Qingdao.",
        "BYD builds electric cars and batteries in Shenzhen.",
    ]
    scores = numpy_minilm_embedder.embed_documents(docs) @ numpy_minilm_embedder.embed_query(
        "Who spoke for Huawei at APEC?"
    )
    assert int(np.argmax(scores)) == 1


def test_empty_and_misused_inputs() -> None:
    embedder = MiniLMEmbedder()
    assert embedder.embed_documents([]).shape == (0, 384)
    with pytest.raises(EmbeddingError):
        embedder.embed_documents("a string, not a list")


@pytest.mark.slow
def test_concurrent_first_use_loads_once(
    numpy_minilm_embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = MiniLMEmbedder()
    loads = []
    loaded = numpy_minilm_embedder._load()

    def slow_read(path: Path) -> object:
        loads.append(path)
        time.sleep(0.2)  # widen the window in which other threads find no model yet
        return loaded

    monkeypatch.setattr(embedder, "_read_model", slow_read)
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            results[i] = embedder.embed_query("global value chain")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(loads) == 1 and len(results) == 6
    for vec in results.values():
        np.testing.assert_allclose(vec, results[0], atol=1e-6)
