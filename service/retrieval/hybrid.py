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


class DistinctPassages:
    """Passages kept so far, best first; one that nearly repeats a kept one (word 3-gram Jaccard
    >= `threshold`, or identical text) is dropped. Each passage's 3-grams are computed once."""

    def __init__(self, threshold: float = 0.8) -> None:
        self._threshold = threshold
        self._kept: list[tuple[Chunk, float, set[str]]] = []

    def __len__(self) -> int:
        return len(self._kept)

    def offer(self, chunk: Chunk, score: float) -> None:
        grams = _shingles(chunk.text)
        if not any(
            chunk.content_hash == other.content_hash
            or len(grams & seen) / max(1, len(grams | seen)) >= self._threshold
            for other, _, seen in self._kept
        ):
            self._kept.append((chunk, score, grams))

    def hits(self) -> list[tuple[Chunk, float]]:
        return [(chunk, score) for chunk, score, _ in self._kept]


def collapse_near_duplicates(
    hits: Sequence[tuple[Chunk, float]], threshold: float = 0.8, limit: int | None = None
) -> list[tuple[Chunk, float]]:
    """Keep the best of near-duplicate passages (`DistinctPassages`); stop once `limit` are
    kept (the rest would be cut anyway)."""
    distinct = DistinctPassages(threshold)
    for chunk, score in hits:
        if limit is not None and len(distinct) == limit:
            break
        distinct.offer(chunk, score)
    return distinct.hits()


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
        the passages kept (and the near-duplicates or stale keyword hits among them) are read.
        Pages double, so a corpus of many copies (each kept passage followed by its copies in
        the order) costs a few reads, not one per page of copies."""
        distinct = DistinctPassages()
        at, page = 0, top_k + 3
        while at < len(order) and len(distinct) < top_k:
            ids = order[at : at + page]
            at, page = at + len(ids), page * 2
            found = {c.id: c for c in self._store.get(ids)}
            for cid in ids:
                if cid in found and len(distinct) < top_k:
                    distinct.offer(found[cid], round(fused[cid], 6))
        return distinct.hits()
