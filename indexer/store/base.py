"""What the rest of Citeline needs from a vector store: the manifest and the read protocol.

Consistency model: chunks of a file carry the file's `doc_hash`. The manifest (one record, written
in one call) says which `doc_hash` is live for each source. Readers only ever return chunks whose
`doc_hash` matches the manifest, so a crash between writing chunks and committing the manifest shows
the old state, never a mix; the next sync deletes the orphans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, Field

from indexer.abbreviations import merge
from indexer.embedding.base import Vectors
from indexer.kernel.models import Chunk


class FileEntry(BaseModel):
    source: str
    doc_hash: str
    title: str
    chunks: int
    bytes: int
    abbreviations: dict[str, str] = Field(
        default_factory=dict, description="short form -> long form, as the file defines them"
    )


class Manifest(BaseModel):
    embed_model: str
    dim: int
    files: dict[str, FileEntry] = Field(default_factory=dict)
    updated_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())

    def abbreviations(self) -> dict[str, str]:
        """Every abbreviation the live files define (the first file to define one wins)."""
        return merge(entry.abbreviations for entry in self.files.values())

    def live_hash(self, source: str) -> str | None:
        entry = self.files.get(source)
        return entry.doc_hash if entry else None


_SCOPE: ContextVar[dict[int, Manifest | None] | None] = ContextVar("manifest_scope", default=None)


@contextmanager
def one_manifest_read() -> Iterator[None]:
    """Inside this block (one request) a store reads its manifest once: the query, the chunk
    fetch for keyword hits and the `sources` check all see the same version, for one round trip
    instead of three or four."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def scoped_manifest(key: int, read: Callable[[], Manifest | None]) -> Manifest | None:
    """`read()` once per `one_manifest_read` block and `key` (the store); outside one, always."""
    memo = _SCOPE.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


class ChunkStore(Protocol):
    """Read side, used by the service. Every method returns live chunks only."""

    def manifest(self) -> Manifest | None: ...

    def count(self) -> int: ...

    def query(
        self, embedding: Vectors, top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest live chunks, best first, with cosine similarity (higher is better)."""
        ...

    def nearest_ids(
        self, embedding: Vectors, top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """`query`'s ids and similarities, without reading the chunks (fetch them with `get`)."""
        ...

    def get(self, ids: Sequence[str]) -> list[Chunk]: ...

    def iter_chunks(self) -> Iterator[Chunk]: ...
