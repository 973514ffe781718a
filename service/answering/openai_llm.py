"""Answers from any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp, Ollama...).

Goes through llama-index's `OpenAILike`, which accepts any model name (plain `OpenAI` rejects
unknown ones). llama-index's global `Settings.llm` is never touched. Failures map to Citeline's
errors: unreachable or garbage -> `LLMError` (502), too slow -> `LLMTimeoutError` (504). Messages
never include the key or the server URL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, cast

import httpx
import openai

from indexer.kernel.errors import CitelineError, ConfigError, LLMError, LLMTimeoutError
from indexer.kernel.models import REFUSAL_TOKEN, Draft, Passage
from indexer.kernel.settings import Settings
from service.answering.prompts import build_messages

if TYPE_CHECKING:
    from llama_index.llms.openai_like import OpenAILike

# Local servers ignore the key but the OpenAI client insists on one.
PLACEHOLDER_KEY = "sk-no-key-required"


def openai_client(settings: Settings, *, max_retries: int) -> openai.OpenAI:
    """A plain `openai` client for the configured LLM server (condenser, eval judge)."""
    key = settings.llm_api_key
    return openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=key.get_secret_value() if key else PLACEHOLDER_KEY,
        timeout=settings.llm_timeout_s,
        max_retries=max_retries,
    )


def map_llm_error(exc: Exception) -> CitelineError:
    if isinstance(exc, CitelineError):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return LLMTimeoutError("the LLM server did not answer in time")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return LLMError("cannot reach the LLM server")
    if isinstance(exc, openai.APIStatusError):
        return LLMError(f"the LLM server answered HTTP {exc.status_code}")
    return LLMError(f"the LLM server sent an unusable response ({type(exc).__name__})")


if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam


class OpenAIAnswerer:
    def __init__(self, settings: Settings) -> None:
        if settings.llm_base_url is None and settings.llm_api_key is None:
            raise ConfigError("answering with OpenAI needs CITELINE_LLM_API_KEY or OPENAI_API_KEY")
        self._settings = settings
        self._llm: OpenAILike | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"openai:{self._settings.llm_model}"

    def _client(self) -> OpenAILike:
        """Built on first use: importing and configuring the client costs nothing until needed."""
        with self._lock:
            if self._llm is None:
                from llama_index.llms.openai_like import OpenAILike

                s = self._settings
                key = s.llm_api_key.get_secret_value() if s.llm_api_key else PLACEHOLDER_KEY
                self._llm = OpenAILike(
                    model=s.llm_model,
                    api_base=s.llm_base_url,
                    api_key=key,
                    is_chat_model=True,
                    is_function_calling_model=False,
                    timeout=s.llm_timeout_s,
                    max_retries=s.llm_max_retries,
                    temperature=s.llm_temperature,
                    max_tokens=s.llm_max_tokens,
                )
            return self._llm

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        messages = build_messages(question, passages)
        try:
            response = self._client().chat(messages)
            text = response.message.content
        except Exception as exc:  # the client raises many types; all mean "no usable answer"
            raise map_llm_error(exc) from exc
        if not isinstance(text, str) or not text.strip():
            raise LLMError("the LLM server returned an empty answer")
        return Draft(text=text.strip(), answerable=not text.strip().startswith(REFUSAL_TOKEN))

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Streams through the `openai` client llama-index holds, inside `with`: closing this
        generator (a client went away) closes the HTTP response, so the server stops generating.
        llama-index's own `stream_chat` keeps the response in a reference cycle until a GC."""
        s = self._settings
        llm = self._client()
        wire = [
            {"role": m.role.value, "content": m.content} for m in build_messages(question, passages)
        ]
        produced = False
        try:
            response = llm._get_client().chat.completions.create(
                model=s.llm_model,
                messages=cast("list[ChatCompletionMessageParam]", wire),
                stream=True,
                temperature=s.llm_temperature,
                max_tokens=s.llm_max_tokens,
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
