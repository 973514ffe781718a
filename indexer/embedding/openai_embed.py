"""Embeddings from any OpenAI-compatible `/v1/embeddings` server (OpenAI, vLLM, llama.cpp...).

Every failure of the server (down, timeout, HTTP error, a payload that is not a list of equal-length
finite vectors, one per input) becomes `EmbeddingError`, so the indexer and the HTTP layer see one
kind of error whatever the server did.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer.embedding.base import Vectors
from indexer.kernel.errors import ConfigError, EmbeddingError
from indexer.kernel.settings import Settings

# OpenAI's text-embedding-3-* window; tiktoken's cl100k_base is their tokenizer.
OPENAI_MAX_TOKENS = 8191
_PROBE = "dimension probe"


class OpenAIEmbedder:
    """Client of one embeddings model on one server; the HTTP client is built on first use."""

    def __init__(
        self,
        base_url: str | None,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        batch_size: int = 32,
        dim: int | None = None,
        max_retries: int = 2,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self.max_retries = max_retries
        self._api_key = api_key
        self._dim = dim
        self._lock = threading.Lock()
        self._client: Any = None
        self._encoding: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIEmbedder:
        key = settings.embed_api_key or settings.llm_api_key
        if settings.embed_base_url is None and key is None:
            raise ConfigError(
                "the openai embedder needs CITELINE_EMBED_BASE_URL (a local server) "
                "or an API key for api.openai.com (CITELINE_EMBED_API_KEY / OPENAI_API_KEY)"
            )
        return cls(
            base_url=settings.embed_base_url,
            model=settings.embed_model,
            api_key=key.get_secret_value() if key is not None else None,
            timeout_s=settings.embed_timeout_s,
            batch_size=settings.embed_batch_size,
            dim=settings.embed_dim,
        )

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    @property
    def dim(self) -> int:
        """Configured, or learned by embedding a probe text (a server round trip, once)."""
        if self._dim is None:
            self._dim = int(self._request([_PROBE]).shape[1])
        return self._dim

    @property
    def max_tokens(self) -> int:
        return OPENAI_MAX_TOKENS

    def warm_up(self) -> None:
        _ = self.dim  # proves the server answers, and fixes the dimension

    def _get_client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import openai

                    self._client = openai.OpenAI(
                        base_url=self.base_url,
                        # Local servers ignore the key, but the client refuses to start without one.
                        api_key=self._api_key or "not-needed",
                        timeout=self.timeout_s,
                        max_retries=self.max_retries,
                    )
        return self._client

    def count_tokens(self, text: str) -> int:
        if self._encoding is None:
            import tiktoken

            try:
                self._encoding = tiktoken.get_encoding("cl100k_base")
            except Exception as exc:  # tiktoken raises bare Exceptions/requests errors offline
                raise ConfigError(f"cannot load tiktoken cl100k_base offline: {exc}") from exc
        return len(self._encoding.encode(text, disallowed_special=()))

    def _request(self, texts: list[str]) -> Vectors:
        import openai

        # The OpenAI API rejects empty strings; a lone space embeds as "nothing" and keeps order.
        inputs = [t if t.strip() else " " for t in texts]
        try:
            # "float" explicitly: the client defaults to base64, which not all servers speak.
            resp = self._get_client().embeddings.create(
                model=self.model, input=inputs, encoding_format="float"
            )
        except openai.APITimeoutError as exc:
            raise EmbeddingError(f"embedding server timed out after {self.timeout_s}s") from exc
        except openai.APIConnectionError as exc:
            raise EmbeddingError(f"cannot reach the embedding server at {self.base_url}") from exc
        except openai.APIStatusError as exc:
            raise EmbeddingError(f"embedding server answered HTTP {exc.status_code}") from exc
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embedding request failed: {exc}") from exc
        vecs = self._parse(resp, len(texts))
        if self._dim is None:
            self._dim = int(vecs.shape[1])  # later batches must match the first
        return vecs

    def _parse(self, resp: Any, expected: int) -> Vectors:
        try:
            items = sorted(resp.data, key=lambda item: int(item.index))
            rows = [[float(x) for x in item.embedding] for item in items]
        except (AttributeError, TypeError, ValueError) as exc:
            raise EmbeddingError(f"embedding server sent an unusable payload: {exc}") from exc
        if len(rows) != expected:
            raise EmbeddingError(
                f"embedding server returned {len(rows)} vectors for {expected} texts"
            )
        widths = {len(row) for row in rows}
        if len(widths) != 1 or 0 in widths:
            raise EmbeddingError(f"embedding server returned vectors of widths {sorted(widths)}")
        vecs = np.asarray(rows, dtype=np.float32)
        if self._dim is not None and vecs.shape[1] != self._dim:
            raise EmbeddingError(
                f"embedding server returned dim {vecs.shape[1]}, expected {self._dim}"
            )
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        if not np.isfinite(vecs).all() or not all(math.isfinite(n) and n > 0 for n in norms[:, 0]):
            raise EmbeddingError("embedding server returned a zero or non-finite vector")
        # Normalise ourselves: cosine search assumes unit vectors and not every server sends them.
        unit: Vectors = (vecs / norms).astype(np.float32)
        return unit

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise EmbeddingError("embed_documents takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._request(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        joined: Vectors = np.concatenate(parts, axis=0)
        return joined

    def embed_query(self, text: str) -> Vectors:
        vec: Vectors = self._request([text])[0]
        return vec
