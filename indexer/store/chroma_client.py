"""The Chroma connection behind `ChromaChunkStore`: client, collections, side records, errors.

Embedded: `PersistentClient(settings.chroma_path)`. Server: `HttpClient` for `settings.chroma_url`,
after a heartbeat with a timeout (Chroma's own client waits forever on a dead host), and with that
timeout put on its HTTP session. Any Chroma failure surfaces as `StoreError` naming the location.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from indexer.kernel.errors import CitelineError, IndexNotReadyError, StoreError
from indexer.kernel.models import Chunk
from indexer.kernel.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from llama_index.vector_stores.chroma import ChromaVectorStore

MANIFEST_ID = "manifest"
_CHUNK_FIELDS = (
    "source", "title", "char_start", "char_end", "line_start", "line_end",
    "chunk_index", "content_hash", "doc_hash",
)  # fmt: skip


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {name: getattr(chunk, name) for name in _CHUNK_FIELDS}
    if chunk.source_map:  # absent = one to one (and in indexes older than the map)
        meta["source_map"] = chunk.source_map
    if chunk.sentences and chunk.sentence_vectors is not None:
        # Chroma metadata holds scalars only: spans as JSON, vectors as base64 float16.
        meta["sentences"] = json.dumps([list(span) for span in chunk.sentences])
        meta["sentence_vectors"] = base64.b64encode(chunk.sentence_vectors).decode("ascii")
    return meta


def _sentence_fields(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Sentence spans and vectors, when the record has them (indexes built before they existed
    do not; the answerer then embeds those sentences itself)."""
    try:
        spans = tuple((int(a), int(b)) for a, b in json.loads(meta["sentences"]))
        vectors = base64.b64decode(meta["sentence_vectors"])
    except (KeyError, TypeError, ValueError):
        return {}
    return {"sentences": spans, "sentence_vectors": vectors}


def chunk_from_record(
    chunk_id: str, text: str | None, meta: Mapping[str, Any] | None
) -> Chunk | None:
    """None for a record without our fields (deleted under a stale reader, or not ours)."""
    if not meta or any(name not in meta for name in _CHUNK_FIELDS):
        return None
    fields = {name: meta[name] for name in _CHUNK_FIELDS}
    return Chunk(id=chunk_id, text=text or "", source_map=str(meta.get("source_map") or ""),
                 **fields, **_sentence_fields(meta))  # fmt: skip


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of `http[s]://host[:port]`; the port defaults to 443 / 8000."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"CITELINE_CHROMA_URL {url!r} is not an http(s)://host:port URL")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


@contextmanager
def store_errors(location: str, what: str) -> Iterator[None]:
    """Chroma (and its HTTP client) raise many types; callers see one, with the location."""
    try:
        yield
    except CitelineError:
        raise
    except Exception as exc:  # boundary: chromadb, httpx and the Rust bindings
        raise StoreError(f"Chroma at {location}: {what} failed: {exc}") from exc


class ChromaConnection:
    """Opens lazily; caches the client and collection handles for the store's lifetime."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: ClientAPI | None = None
        self._chunks: Collection | None = None
        self._side: Collection | None = None
        self._lock = threading.RLock()
        self.name = settings.collection
        self.location = settings.chroma_url or str(settings.chroma_path)

    def client(self) -> ClientAPI:
        with self._lock:
            if self._client is None:
                with store_errors(self.location, "connecting"):
                    self._client = self._connect()
            return self._client

    def reopen(self) -> None:
        """Forget cached handles after another process re-indexed (called on a new manifest).

        A rebuild gives the collection a new id, so old handles point at nothing. Embedded Chroma
        also keeps one `System` per path per process, whose vector index never sees another
        process's writes (its queries even fail on chunks deleted under it): only a new System
        reads them, so ours is taken out of chromadb's cache (other holders keep theirs).
        """
        with self._lock:
            self._chunks = self._side = None
            if self._client is not None and not self._settings.chroma_url:
                from chromadb.api.shared_system_client import SharedSystemClient

                systems = getattr(SharedSystemClient, "_identifier_to_system", {})
                systems.pop(str(self._settings.chroma_path), None)
                self._client = None

    def _connect(self) -> ClientAPI:
        import chromadb

        url, timeout = self._settings.chroma_url, self._settings.chroma_timeout_s
        if not url:
            self._settings.chroma_path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self._settings.chroma_path))
        import httpx

        host, port, ssl = parse_chroma_url(url)
        try:
            httpx.get(f"{url.rstrip('/')}/api/v2/heartbeat", timeout=timeout).raise_for_status()
        except httpx.HTTPError as exc:
            raise StoreError(f"Chroma server at {url} is unreachable: {exc}") from exc
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl)
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):  # chromadb sets no timeout; a hung server hangs us
            session.timeout = httpx.Timeout(timeout)
        return client

    def has_chunks(self) -> bool:
        if self._chunks is None:
            from chromadb.errors import NotFoundError

            try:
                with store_errors(self.location, "opening the collection"):
                    self._chunks = self.client().get_collection(self.name)
            except StoreError as exc:
                if isinstance(exc.__cause__, NotFoundError):
                    return False
                raise
        return True

    def chunks(self, *, create: bool) -> Collection:
        if self._chunks is None and create:
            with store_errors(self.location, "creating the collection"):
                self._chunks = self.client().get_or_create_collection(
                    self.name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
                )
        if self._chunks is None and not self.has_chunks():
            raise IndexNotReadyError(f"no collection {self.name!r} in {self.location}")
        assert self._chunks is not None
        return self._chunks

    def vector_store(self) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks(create=False))

    def drop_chunks(self) -> None:
        if self.has_chunks():
            with store_errors(self.location, "dropping the collection"):
                self.client().delete_collection(self.name)
        self._chunks = None

    # ---- side collection: the manifest record, and the server-mode lock lease ----

    def _side_collection(self, *, create: bool) -> Collection | None:
        """The side collection; a reader never creates it (None when there is none yet)."""
        if self._side is None:
            from chromadb.errors import NotFoundError

            client, name = self.client(), f"{self.name}__manifest"
            with store_errors(self.location, "opening the manifest collection"):
                try:
                    self._side = (
                        client.get_or_create_collection(name, embedding_function=None)
                        if create
                        else client.get_collection(name)
                    )
                except NotFoundError:
                    return None
        return self._side

    def side_record(self, record_id: str) -> str | None:
        side = self._side_collection(create=False)
        if side is None:
            return None
        with store_errors(self.location, f"reading {record_id}"):
            got = side.get(ids=[record_id], include=["documents"])
        docs = got["documents"] or []
        return docs[0] if docs and docs[0] else None

    def put_side_record(self, record_id: str, document: str) -> None:
        # Chroma stores a vector with every record; side records carry a constant 1-d one.
        side = self._side_collection(create=True)
        assert side is not None
        with store_errors(self.location, f"writing {record_id}"):
            side.upsert(ids=[record_id], embeddings=[1.0], documents=[document])

    def delete_side_record(self, record_id: str) -> None:
        side = self._side_collection(create=False)
        if side is not None:
            with store_errors(self.location, f"deleting {record_id}"):
                side.delete(ids=[record_id])
