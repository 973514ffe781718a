"""Pick the answerer settings name; the LLM backend is imported only when chosen."""

from __future__ import annotations

from indexer.embedding.base import Embedder
from indexer.settings import Settings
from service.answerers.base import Answerer
from service.answerers.extractive import Abbreviations, ExtractiveAnswerer


def build_answerers(
    settings: Settings, embedder: Embedder, abbreviations: Abbreviations
) -> tuple[Answerer, Answerer | None]:
    """The answerer `settings` name, and the one to fall back to when it is an LLM that fails."""
    extractive = ExtractiveAnswerer(
        embedder, threshold=settings.answer_threshold, abbreviations=abbreviations
    )
    if settings.resolved_answerer == "openai":
        from service.answerers.openai_llm import OpenAIAnswerer

        fallback = extractive if settings.llm_fallback_extractive else None
        return OpenAIAnswerer(settings), fallback
    return extractive, None
