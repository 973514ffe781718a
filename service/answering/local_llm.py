"""The local model: one llama.cpp instance per process (xllamacpp, no compile), behind a queue.

`CITELINE_ANSWERER=local` runs Qwen2.5-Coder-1.5B-Instruct (Apache-2.0; weights assembled and
verified by `service/answering/local_weights.py`) in-process. xllamacpp's `Server` serves the
OpenAI wire format on an ephemeral port on 127.0.0.1 only, guarded by a random per-process key, so
the answerer talks to it through the same `openai` client (streaming, timeouts, error mapping) as
any OpenAI-compatible server: one code path for every LLM.

- **One instance** per process, loaded by `warm_up()` (the app lifespan calls it when selected, and
  readiness waits for it); the weights' sha256 is checked before loading.
- **A bounded queue**: one answer runs at a time (2 cores); up to `local_queue` more wait; any more
  get `LLMBusyError` (503 + `Retry-After`) at once, never a silent drop. A request waits at most
  `local_timeout_s` in all (504 when exceeded).
- **Threads**: `local_threads` (default `CITELINE_THREADS`); run with `OMP_WAIT_POLICY=PASSIVE`
  (`make` sets it): with the default busy-wait, generation collapses when another process is busy.
- **Prompt cache** off by default (`local_cache_ram_mib` 0; llama.cpp's default, 8 GiB, grew the
  RSS by ~25 MB per new question). The one slot keeps the last prompt, so the rules, identical for
  every question, are read once either way; the RAM cache only sped up repeated questions.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from indexer.kernel.errors import ConfigError, LLMBusyError, LLMTimeoutError
from indexer.kernel.models import Draft, Passage
from indexer.kernel.settings import Settings
from service.answering.drafting import draft_from_text
from service.answering.local_weights import verify
from service.answering.openai_llm import OpenAIAnswerer

MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"


class Admission:
    """At most one holder at a time, at most `waiting` more queued; the rest are refused now."""

    def __init__(self, waiting: int) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queued = 0
        self._waiting = waiting

    @property
    def queued(self) -> int:
        return self._queued

    @contextmanager
    def slot(self, timeout_s: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            if self._busy and self._queued >= self._waiting:
                raise LLMBusyError("the local model is busy: the queue is full, retry shortly")
            self._queued += 1
            try:
                while self._busy:
                    left = deadline - time.monotonic()
                    if (left <= 0 or not self._cond.wait(left)) and self._busy:
                        raise LLMTimeoutError("the local model did not start in time")
                self._busy = True
            finally:
                self._queued -= 1
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify()


class LocalModel:
    """The process's llama.cpp server; built on first `warm_up()`, never in the constructor."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._server: Any = None
        self._lock = threading.Lock()
        self.key = secrets.token_urlsafe(24)
        self.admission = Admission(settings.local_queue)
        self.base_url = ""

    @property
    def loaded(self) -> bool:
        return self._server is not None

    def warm_up(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            s = self._settings
            path = verify(s.resolved_local_model_path)
            try:
                import xllamacpp as xlc
            except ImportError as exc:  # the optional extra: `make setup-llm`
                raise ConfigError("CITELINE_ANSWERER=local needs `make setup-llm`") from exc
            threads = s.local_threads or s.threads
            p = xlc.CommonParams()
            p.model.path = str(path)
            p.model_alias = {MODEL_ALIAS}
            p.n_ctx = s.local_ctx
            p.n_parallel = 1
            p.cpuparams.n_threads = threads
            p.cpuparams_batch.n_threads = threads  # different counts ran the prompt on one thread
            p.cache_ram_mib = s.local_cache_ram_mib
            p.hostnames = ["127.0.0.1"]
            p.port = 0  # an ephemeral port on loopback, for this process only
            p.api_keys = [self.key]
            self._server = xlc.Server(p)
            self.base_url = f"{self._server.listening_address}/v1"

    def check_ready(self) -> None:
        if self._server is None:
            raise LLMBusyError("the local model is still loading")


_instances: dict[tuple[str, int, int, int], LocalModel] = {}
_instances_lock = threading.Lock()


def local_model(settings: Settings) -> LocalModel:
    """The one instance per process for these weights and shape."""
    key = (
        str(settings.resolved_local_model_path),
        settings.local_ctx,
        settings.local_threads or settings.threads,
        settings.local_cache_ram_mib,
    )
    with _instances_lock:
        if key not in _instances:
            _instances[key] = LocalModel(settings)
        return _instances[key]


class LocalAnswerer:
    """The local model as an answerer (bare: it reads the passages) and as the `ChatLLM` the
    evidence reader uses. Every call holds the model's one slot (the queue above)."""

    streams_tokens = True

    def __init__(self, settings: Settings, model: LocalModel | None = None) -> None:
        self._settings = settings
        self._model = model or local_model(settings)
        self._client: OpenAIAnswerer | None = None

    @property
    def name(self) -> str:
        return f"local:{MODEL_ALIAS}"

    def warm_up(self) -> None:
        self._model.warm_up()

    def check_ready(self) -> None:
        self._model.check_ready()

    def _llm(self) -> OpenAIAnswerer:
        if self._client is None:
            self.warm_up()
            s = self._settings
            self._client = OpenAIAnswerer(
                s.model_copy(
                    update={
                        "llm_base_url": self._model.base_url,
                        "llm_model": MODEL_ALIAS,
                        "llm_api_key": SecretStr(self._model.key),
                        "llm_timeout_s": s.local_timeout_s,
                    }
                )
            )
        return self._client

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        llm = self._llm()
        with self._model.admission.slot(self._settings.local_timeout_s):
            return llm.complete(messages, max_tokens)

    def stream_messages(
        self, messages: list[dict[str, str]], max_tokens: int | None = None
    ) -> Iterator[str]:
        llm = self._llm()
        with self._model.admission.slot(self._settings.local_timeout_s):
            yield from llm.stream_messages(messages, max_tokens)

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        return draft_from_text(self.complete(self._llm().messages(question, passages)))

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield from self.stream_messages(self._llm().messages(question, passages))
