"""The baseline: a plain llama-index `VectorStoreIndex` + `ChromaVectorStore` pipeline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import chromadb
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.vector_stores.chroma import ChromaVectorStore

from indexer.embedding.base import Embedder


class _Wrapped(BaseEmbedding):
    """Our embedder as a llama-index embed model, so both pipelines run the same network."""

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, embed_batch_size=32, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self._embedder.embed_documents(texts)]


def index_with_llamaindex(
    corpus: Path, chroma_dir: Path, embedder: Embedder, chunk_tokens: int, overlap: int
) -> dict[str, float]:
    """Read files, split, embed, add to Chroma: the tutorial way; chunks and seconds."""
    start = time.perf_counter()
    # No metadata on the documents: the splitter would subtract it from the chunk size, and
    # the chunking would no longer match ours (docs: benchmarks/indexing.py).
    docs = [Document(text=p.read_text(encoding="utf-8")) for p in sorted(corpus.rglob("*.txt"))]
    client = chromadb.PersistentClient(path=str(chroma_dir))
    collection = client.get_or_create_collection("baseline", embedding_function=None)
    storage = StorageContext.from_defaults(
        vector_store=ChromaVectorStore(chroma_collection=collection)
    )
    splitter = SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap)
    VectorStoreIndex.from_documents(
        docs, storage_context=storage, embed_model=_Wrapped(embedder), transformations=[splitter]
    )
    seconds = time.perf_counter() - start
    return {"chunks": float(collection.count()), "seconds": seconds}
