"""Pick the answerer settings name; the LLM backends are imported only when chosen.

- `extractive`: the learned scorer quotes sentences (no model, no server);
- `openai`: any OpenAI-compatible server, reading the passages (`CITELINE_LLM_CONTEXT=passages`)
  or the scorer's evidence (`evidence`: the joined reader, `service/answering/reader.py`);
- `local`: the bundled model in-process; the joined reader by default, the bare model reading the
  passages with `CITELINE_LOCAL_MODE=bare`.
"""

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
    fallback = extractive if settings.llm_fallback_extractive else None
    kind = settings.resolved_answerer
    if kind == "extractive":
        return extractive, None
    from service.answering.reader import EvidenceReader

    if kind == "local":
        from service.answering.local_llm import LocalAnswerer

        local = LocalAnswerer(settings)
        if settings.local_mode == "bare":
            return local, fallback
        return EvidenceReader(
            local,
            extractive,
            settings.evidence_budget,
            embedder.embed_documents,
            rescue=settings.rescue_threshold,
        ), fallback
    from service.answering.openai_llm import OpenAIAnswerer

    remote = OpenAIAnswerer(settings)
    if settings.llm_context == "evidence":
        return EvidenceReader(
            remote,
            extractive,
            settings.evidence_budget,
            embedder.embed_documents,
            rescue=settings.rescue_threshold,
        ), fallback
    return remote, fallback
