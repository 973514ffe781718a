"""Pick the answerer settings name; the LLM backend is imported only when chosen."""

from __future__ import annotations

from indexer.embedding.base import Embedder
from indexer.kernel.settings import Settings
from service.answering.base import Answerer
from service.answering.extractive import Abbreviations, ExtractiveAnswerer


def build_answerers(
    settings: Settings, embedder: Embedder, abbreviations: Abbreviations | None = None
) -> tuple[Answerer, Answerer | None]:
    """The answerer `settings` name, and the one to fall back to when it is an LLM that fails."""
    extractive = ExtractiveAnswerer(
        embedder, threshold=settings.answer_threshold, abbreviations=abbreviations or dict
    )
    if settings.resolved_answerer == "openai":
        from service.answering.openai_llm import OpenAIAnswerer

        fallback = extractive if settings.llm_fallback_extractive else None
        return OpenAIAnswerer(settings), fallback
    return extractive, None
