"""The one way Citeline talks to an OpenAI-compatible chat server, and how its failures read.

Shared by the LLM answerer, the condenser and the eval judge: `openai_client(settings)` built on
the `openai` package, and `map_llm_error`, which turns any client failure into Citeline's errors:
unreachable or garbage -> `LLMError` (502), too slow -> `LLMTimeoutError` (504). Messages never
include the key or the server URL.
"""

from __future__ import annotations

import httpx
import openai

from indexer.kernel.errors import CitelineError, LLMError, LLMTimeoutError
from indexer.kernel.settings import Settings

# Local servers ignore the key but the OpenAI client insists on one.
PLACEHOLDER_KEY = "sk-no-key-required"


def openai_client(settings: Settings, *, max_retries: int) -> openai.OpenAI:
    """A plain `openai` client for the configured LLM server."""
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
