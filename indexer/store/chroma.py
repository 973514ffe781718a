"""`ChunkStore` on Chroma, embedded (`PersistentClient`) or a `chroma run` server (`HttpClient`).

Chunks go in through llama-index's `ChromaVectorStore` (our own embeddings; the collection has no
embedding function, so Chroma never downloads its ONNX model). Similarity queries, manifest, gets,
deletes and counts use the raw collection, where llama-index has no API: a query for ids and
distances only (`nearest_ids`; llama-index's query always reads every hit's record).
The manifest is ONE record in `<collection>__manifest`, written in one call: the commit point
(see `indexer/store/base.py`). Nothing connects before the first method call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from indexer.embedding.base import Vectors
from indexer.kernel.errors import EmbeddingMismatchError, IndexNotReadyError
from indexer.kernel.models import Chunk
from indexer.kernel.settings import Settings
from indexer.store.base import Manifest, scoped_manifest
from indexer.store.chroma_client import (
    MANIFEST_ID,
    ChromaConnection,
    chunk_from_record,
    chunk_metadata,
    store_errors,
)
from indexer.store.live_ids import LiveIdCache, live_ids

_PAGE = 1000  # rows per get/delete call: keeps each request well under server body limits


class ChromaChunkStore:
    """Read side (`ChunkStore`) plus the write side `sync_corpus` needs."""

    def __init__(self, settings: Settings) -> None:
        self._conn = ChromaConnection(settings)
        self._seen: str | None = None  # the manifest record as last read or written
        self._parsed: tuple[str, Manifest] | None = None  # (record, its parse): parsed once
        self._live_ids = LiveIdCache()  # the newest manifest's chunk ids

    @property
    def location(self) -> str:
        return self._conn.location

    @property
    def connection(self) -> ChromaConnection:
        return self._conn

    # ---- read side ----

    def manifest(self) -> Manifest | None:
        """Read fresh on every call (readers run beside indexers), once per request inside
        `one_manifest_read`; a new one means re-open. Parsed once per version."""
        return scoped_manifest(id(self), self._read_manifest)

    def _read_manifest(self) -> Manifest | None:
        doc = self._conn.side_record(MANIFEST_ID)
        if self._seen is not None and doc != self._seen:
            self._conn.reopen()
        self._seen = doc
        if not doc:
            return None
        if self._parsed is None or self._parsed[0] != doc:
            self._parsed = (doc, Manifest.model_validate_json(doc))
        return self._parsed[1]

    def count(self) -> int:
        """Live chunks: the manifest's count, which sync writes only after the chunks exist."""
        manifest = self.manifest()
        return sum(f.chunks for f in manifest.files.values()) if manifest else 0

    def raw_count(self) -> int:
        """Every record in the collection, live or orphaned (orphans exist only after a crash)."""
        with store_errors(self.location, "count"):
            return self._conn.chunks(create=False).count() if self._conn.has_chunks() else 0

    def _live(self, chunk: Chunk | None, manifest: Manifest) -> bool:
        return chunk is not None and manifest.live_hash(chunk.source) == chunk.doc_hash

    def nearest_ids(
        self, embedding: Vectors, top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """Ids of the nearest live chunks, best first, with cosine similarity; no record is read.

        Chroma is asked for ids and distances only: turning each hit's metadata (text, sentence
        vectors) into Python objects cost ~10 ms per query (measured, docs/retrieval.md), and a
        hybrid retriever keeps only a few of its 30 candidates. Liveness is checked on the ids,
        which follow from the manifest alone. A `sources` filter is the manifest's chunk ids of
        those files, never a `source` metadata filter: that would also match chunks an indexer
        has added but not committed (or left by a crash), which a reader's vector index has not
        loaded ("Error finding id").
        """
        manifest = self.manifest()
        if manifest is None or top_k <= 0 or not self._conn.has_chunks():
            return []
        extra: dict[str, Any] = {}
        if sources is not None:
            extra["ids"] = live_ids(manifest, sources)
            if not extra["ids"]:
                return []
        live = self._live_ids.get(manifest)
        vectors: list[Sequence[float]] = [[float(x) for x in embedding]]
        collection = self._conn.chunks(create=False)
        fetch = top_k * 2 + 8  # over-fetch: orphans of a crashed run may rank high
        while True:
            with store_errors(self.location, "query"):
                got = collection.query(
                    query_embeddings=vectors, n_results=fetch, include=["distances"], **extra
                )
            ids, distances = got["ids"][0], (got["distances"] or [[]])[0]
            # The collection's space is cosine: similarity = 1 - distance.
            hits = [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True) if i in live]
            if len(hits) >= top_k or len(ids) < fetch:
                return hits[:top_k]
            fetch *= 4  # too many orphans in the way: look deeper, stay honest

    def query(
        self, embedding: Vectors, top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest live chunks, read from the store; see `nearest_ids`."""
        hits = self.nearest_ids(embedding, top_k, sources)
        found = {c.id: c for c in self.get([i for i, _ in hits])}
        return [(found[i], score) for i, score in hits if i in found]

    def get(self, ids: Sequence[str]) -> list[Chunk]:
        manifest = self.manifest()
        if manifest is None or not ids or not self._conn.has_chunks():
            return []
        found = {c.id: c for c in self._get_ids(list(ids)) if self._live(c, manifest)}
        return [found[i] for i in ids if i in found]

    def iter_chunks(self) -> Iterator[Chunk]:
        """Live chunks, by source then chunk index: their ids follow from the manifest alone."""
        manifest = self.manifest()
        if manifest is None:
            return
        for source in sorted(manifest.files):
            ids = live_ids(manifest, [source])
            yield from sorted(self._get_ids(ids), key=lambda c: c.chunk_index)

    def _get_ids(self, ids: list[str]) -> list[Chunk]:
        out: list[Chunk] = []
        collection = self._conn.chunks(create=False)
        for i in range(0, len(ids), _PAGE):
            with store_errors(self.location, "get"):
                got = collection.get(ids=ids[i : i + _PAGE], include=["documents", "metadatas"])
            docs, metas = got["documents"] or [], got["metadatas"] or []
            rows = zip(got["ids"], docs, metas, strict=True)
            out += [c for c in (chunk_from_record(*row) for row in rows) if c is not None]
        return out

    # ---- write side (sync only; callers hold the index lock) ----

    def chunk_refs(self) -> Iterator[tuple[str, str, str]]:
        """(id, source, doc_hash) of every record, live or not, for the orphan sweep."""
        if not self._conn.has_chunks():
            return
        collection = self._conn.chunks(create=False)
        offset = 0
        while True:
            with store_errors(self.location, "scan"):
                got = collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            metas: list[Any] = list(got["metadatas"] or [])
            for cid, meta in zip(got["ids"], metas, strict=True):
                yield cid, str(meta.get("source", "")), str(meta.get("doc_hash", ""))
            if len(got["ids"]) < _PAGE:
                return
            offset += _PAGE

    def add(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        from llama_index.core.schema import BaseNode, TextNode

        nodes: list[BaseNode] = [
            TextNode(id_=c.id, text=c.text, metadata=chunk_metadata(c), embedding=v.tolist())
            for c, v in zip(chunks, vectors, strict=True)
        ]
        self._conn.chunks(create=True)
        with store_errors(self.location, "add"):
            self._conn.vector_store().add(nodes)

    def delete(self, ids: Sequence[str]) -> None:
        if not ids or not self._conn.has_chunks():
            return
        collection = self._conn.chunks(create=False)
        for i in range(0, len(ids), _PAGE):
            with store_errors(self.location, "delete"):
                collection.delete(ids=list(ids[i : i + _PAGE]))

    def write_manifest(self, manifest: Manifest) -> None:
        """The commit point: one upsert of one record."""
        doc = manifest.model_dump_json()
        self._conn.put_side_record(MANIFEST_ID, doc)
        self._seen = doc

    def reset(self) -> None:
        """Drop every chunk and the manifest (other side records, like a lock lease, stay)."""
        self._conn.drop_chunks()
        self._conn.delete_side_record(MANIFEST_ID)
        self._seen = None


def open_chunk_store(settings: Settings, embed_model: str, dim: int) -> ChromaChunkStore:
    """The store the service reads, checked: built, non-empty, and by this embedding model."""
    store = ChromaChunkStore(settings)
    if not settings.chroma_url and not settings.chroma_path.is_dir():
        raise IndexNotReadyError(
            f"no index at {settings.chroma_path}: run `citeline index` to build it"
        )
    manifest = store.manifest()
    if manifest is None or store.count() == 0:
        raise IndexNotReadyError(
            f"collection {settings.collection!r} in {store.location} is empty or missing: "
            "run `citeline index` to build it"
        )
    check_embedding(manifest, embed_model, dim, settings.collection)
    return store


def check_embedding(manifest: Manifest, embed_model: str, dim: int, collection: str) -> None:
    """Vectors of one model are meaningless to another: refuse a collection built with another."""
    if manifest.embed_model != embed_model or manifest.dim != dim:
        raise EmbeddingMismatchError(
            f"collection {collection!r} was built with {manifest.embed_model} ({manifest.dim}-d), "
            f"but the configured embedder is {embed_model} ({dim}-d): re-embed everything with "
            "`citeline index --rebuild`, or configure the original embedder"
        )
