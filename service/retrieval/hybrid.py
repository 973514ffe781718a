"""Hybrid retrieval: BM25 and dense results fused (`fusion.py`), near-duplicates collapsed.

Why rank fusion: BM25 scores and cosine similarities live on different scales; ranks do not.
BM25 puts exact terms first ("16 R&D centers", "KG Mobility"); dense catches paraphrases. The
BM25 index is built once per manifest version (loaded from disk when the indexer saved it, else
built from the store) and re-checked at most every `refresh_s` seconds, never rebuilt per query.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from indexer.bm25 import BM25Index
from indexer.embedding.base import Embedder
from indexer.kernel.errors import CitelineError, StoreError
from indexer.kernel.models import Chunk
from indexer.store.base import ChunkStore
from service.retrieval.dense import DenseRetriever, Retrieval
from service.retrieval.fusion import DEFAULT_FUSION, Fusion, fuse, names_identifier

_WORD = re.compile(r"\w+")
log = logging.getLogger(__name__)


class Bm25Provider:
    """The BM25 index matching the store's current manifest, shared by all request threads.

    When the manifest changes (another process re-indexed), the new index is loaded or rebuilt
    on a background thread while requests keep using the previous one: a stale index can only
    name chunks that are no longer live, and the retriever fetches its hits through the store,
    which returns live chunks only. Only the very first index (none loaded yet) is built in the
    caller's thread (`warm_up` does that at startup).
    """

    def __init__(self, store: ChunkStore, directory: Path | None, refresh_s: float = 2.0) -> None:
        self._store = store
        self._directory = directory
        self._refresh_s = refresh_s
        self._index: BM25Index | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._building: str | None = None  # the version a background thread is building

    def _make(self, version: str) -> BM25Index:
        loaded = BM25Index.load(self._directory, version) if self._directory else None
        return loaded or BM25Index.build(self._store.iter_chunks(), version)

    def _build_in_background(self, version: str) -> None:
        try:
            index = self._make(version)
        except Exception:  # the store is down: keep the old index, retry at the next check
            log.warning("rebuilding the keyword index failed", exc_info=True)
            index = None
        with self._lock:
            if index is not None:
                self._index = index
            self._building = None

    def get(self) -> BM25Index | None:
        now = time.monotonic()
        if self._index is not None and now - self._checked < self._refresh_s:
            return self._index
        with self._lock:
            manifest = self._store.manifest()
            self._checked = time.monotonic()
            if manifest is None:
                self._index = None
                return None
            version = manifest.updated_at
            if self._index is None:
                self._index = self._make(version)
            elif self._index.version != version and self._building != version:
                self._building = version
                threading.Thread(
                    target=self._build_in_background, args=(version,), daemon=True,
                    name="bm25-rebuild",
                ).start()  # fmt: skip
            return self._index

    def wait_current(self, timeout_s: float = 30.0) -> None:
        """Block until no background rebuild is running (tests, and `warm_up`)."""
        deadline = time.monotonic() + timeout_s
        while self._building is not None and time.monotonic() < deadline:
            time.sleep(0.01)


def _shingles(text: str) -> set[str]:
    words = _WORD.findall(text.lower())
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def collapse_near_duplicates(
    hits: Sequence[tuple[Chunk, float]], threshold: float = 0.8, limit: int | None = None
) -> list[tuple[Chunk, float]]:
    """Keep the best of passages whose word 3-gram Jaccard similarity is >= `threshold`;
    stop once `limit` are kept (the rest would be cut anyway)."""
    kept: list[tuple[Chunk, float, set[str]]] = []
    for chunk, score in hits:
        if limit is not None and len(kept) == limit:
            break
        grams = _shingles(chunk.text)
        if any(
            chunk.content_hash == other.content_hash
            or len(grams & seen) / max(1, len(grams | seen)) >= threshold
            for other, _, seen in kept
        ):
            continue
        kept.append((chunk, score, grams))
    return [(chunk, score) for chunk, score, _ in kept]


# Each retriever's depth (docs/retrieval.md has the numbers it was measured with); the fusion
# itself is `service/retrieval/fusion.py`.
CANDIDATES = 30


class HybridRetriever:
    """Dense + BM25, fused by weighted RRF with score-aware BM25 shares (`fusion.py`)."""

    def __init__(
        self,
        embedder: Embedder,
        store: ChunkStore,
        bm25: Bm25Provider,
        *,
        candidates: int = CANDIDATES,
        fusion: Fusion = DEFAULT_FUSION,
    ) -> None:
        self._dense = DenseRetriever(embedder, store)
        self._store = store
        self._bm25 = bm25
        self._candidates = candidates
        self._fusion = fusion

    def retrieve(self, question: str, top_k: int, sources: Sequence[str] | None) -> Retrieval:
        depth = max(self._candidates, top_k)
        dense, timings = self._dense.nearest_ids(question, depth, sources)
        started = time.perf_counter()
        try:
            index = self._bm25.get()
            keyword = index.search(question, depth, sources) if index else []
        except CitelineError:
            raise
        except Exception as exc:
            raise StoreError(f"keyword search failed: {exc}") from exc
        fused = fuse(dense, keyword, self._fusion, names_identifier(question))
        hits = self._read_best(sorted(fused, key=lambda cid: -fused[cid]), fused, top_k)
        timings["keyword"] = round((time.perf_counter() - started) * 1000, 2)
        return Retrieval(hits, timings)

    def _read_best(
        self, order: list[str], fused: dict[str, float], top_k: int
    ) -> list[tuple[Chunk, float]]:
        """The best `top_k` distinct live chunks of the fused order, read a page at a time: only
        the passages kept (and a few near-duplicates or stale keyword hits) are read."""
        candidates: list[tuple[Chunk, float]] = []
        kept: list[tuple[Chunk, float]] = []
        page = top_k + 3
        for at in range(0, len(order), page):
            ids = order[at : at + page]
            found = {c.id: c for c in self._store.get(ids)}
            candidates += [(found[i], round(fused[i], 6)) for i in ids if i in found]
            kept = collapse_near_duplicates(candidates, limit=top_k)
            if len(kept) == top_k:
                break
        return kept
