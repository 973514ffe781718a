"""Pick the answerer settings name; the LLM backend is imported only when chosen."""

from __future__ import annotations

from indexer.embedding.base import Embedder
from indexer.kernel.settings import Settings
from service.answering.base import Answerer
from service.answering.extractive import ExtractiveAnswerer


def build_answerers(
    settings: Settings, embedder: Embedder | None
) -> tuple[Answerer, Answerer | None]:
    """The answerer `settings` name, and the one to fall back to when it is an LLM that fails."""
    # Sentence embeddings are supported but off: on the 84 gold questions they changed no answer
    # and cost ~480 ms per question with MiniLM on 2 cores (p50 ask 950 ms vs 120 ms without).
    del embedder
    extractive = ExtractiveAnswerer(None)
    if settings.resolved_answerer == "openai":
        from service.answering.openai_llm import OpenAIAnswerer

        fallback = extractive if settings.llm_fallback_extractive else None
        return OpenAIAnswerer(settings), fallback
    return extractive, None
