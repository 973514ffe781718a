"""Answers from any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp, Ollama...).

Talks through the plain `openai` client from `llm_client` (any model name is accepted); failures
map to Citeline's errors there. Messages never include the key or the server URL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, cast

from indexer.kernel.errors import ConfigError, LLMError
from indexer.kernel.models import Draft, Passage
from indexer.kernel.settings import Settings
from service.answering.drafting import draft_from_text
from service.answering.llm_client import map_llm_error, openai_client
from service.answering.prompts import build_messages

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

# Answers are extracted facts, not prose: no sampling, so the same passages give the same answer.
LLM_TEMPERATURE = 0.0
LLM_MAX_RETRIES = 1  # retries per LLM call, inside the OpenAI client (tests set 0: fail fast)


class OpenAIAnswerer:
    streams_tokens = True  # service/answering/drafting.py: stream the deltas as they come

    def __init__(self, settings: Settings) -> None:
        if settings.llm_base_url is None and settings.llm_api_key is None:
            raise ConfigError("answering with OpenAI needs CITELINE_LLM_API_KEY or OPENAI_API_KEY")
        self._settings = settings
        self._openai: openai.OpenAI | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"openai:{self._settings.llm_model}"

    def _client(self) -> openai.OpenAI:
        """Built on first use: no connections in constructors."""
        with self._lock:
            if self._openai is None:
                self._openai = openai_client(self._settings, max_retries=LLM_MAX_RETRIES)
            return self._openai

    def messages(self, question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
        return build_messages(question, passages)

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        """The whole reply to `messages` (non-empty), or a Citeline error."""
        s = self._settings
        try:
            response = self._client().chat.completions.create(
                model=s.llm_model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                temperature=LLM_TEMPERATURE,
                max_tokens=min(max_tokens or s.llm_max_tokens, s.llm_max_tokens),
            )
            text = response.choices[0].message.content
        except Exception as exc:  # the client raises many types; all mean "no usable answer"
            raise map_llm_error(exc) from exc
        if not isinstance(text, str) or not text.strip():
            raise LLMError("the LLM server returned an empty answer")
        return text

    def stream_messages(
        self, messages: list[dict[str, str]], max_tokens: int | None = None
    ) -> Iterator[str]:
        """Streams inside `with`: closing this generator (a client went away) closes the HTTP
        response, so the server stops generating."""
        s = self._settings
        produced = False
        try:
            response = self._client().chat.completions.create(
                model=s.llm_model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                stream=True,
                temperature=LLM_TEMPERATURE,
                max_tokens=min(max_tokens or s.llm_max_tokens, s.llm_max_tokens),
            )
            with response:
                for chunk in response:
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        produced = produced or bool(delta.strip())
                        yield delta
        except GeneratorExit:
            raise
        except Exception as exc:
            raise map_llm_error(exc) from exc
        if not produced:
            raise LLMError("the LLM server returned an empty answer")

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        return draft_from_text(self.complete(self.messages(question, passages)))

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield from self.stream_messages(self.messages(question, passages))
