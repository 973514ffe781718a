"""What the evals ask questions of: in-process pipeline or running server, one Protocol.

Both are reduced to an `Observed` record, so the metrics never care where an answer came from.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from indexer.kernel.errors import CitelineError
from indexer.kernel.models import Answer, Citation, Passage
from indexer.kernel.settings import Settings


class RetrievedPassage(BaseModel):
    source: str
    score: float
    text: str = ""


class Observed(BaseModel):
    """One answer as the evals see it."""

    answer: str
    answerable: bool
    citations: list[Citation]
    passages: list[RetrievedPassage]
    answerer: str = ""


class AskTarget(Protocol):
    """Anything that answers a question; `describe()` names it in reports."""

    def ask(self, question: str, top_k: int | None) -> Observed: ...

    def describe(self) -> str: ...


class PipelineLike(Protocol):
    """The slice of `service.pipeline.Pipeline` the evals use (fakes in tests implement it)."""

    def ask(
        self, question: str, top_k: int | None = None, sources: list[str] | None = None
    ) -> Answer: ...

    def search(
        self, question: str, top_k: int | None = None, sources: list[str] | None = None
    ) -> list[Passage]: ...


def observe(answer: Answer) -> Observed:
    return Observed(
        answer=answer.answer,
        answerable=answer.answerable,
        citations=list(answer.citations),
        passages=[
            RetrievedPassage(source=p.chunk.source, score=p.score, text=p.chunk.text)
            for p in sorted(answer.passages, key=lambda p: p.n)
        ],
        answerer=answer.answerer,
    )


class PipelineTarget:
    def __init__(self, pipeline: PipelineLike) -> None:
        self._pipeline = pipeline

    def ask(self, question: str, top_k: int | None) -> Observed:
        return observe(self._pipeline.ask(question, top_k=top_k))

    def describe(self) -> str:
        return "in-process pipeline"


def build_pipeline_target(settings: Settings) -> PipelineTarget:
    # Lazy: the pipeline pulls in the embedder and store, which `--url` runs never need.
    from service.pipeline import build_pipeline

    return PipelineTarget(build_pipeline(settings))


class HttpTarget:
    """`POST {url}/v1/ask` on a running Citeline server; the client is made on first use."""

    def __init__(self, url: str, timeout_s: float = 120.0, api_key: str | None = None) -> None:
        self._url = url.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client: httpx.Client | None = None

    def ask(self, question: str, top_k: int | None) -> Observed:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self._url, timeout=self._timeout_s, headers=self._headers
            )
        body: dict[str, Any] = {"question": question}
        if top_k is not None:
            body["top_k"] = top_k
        try:
            resp = self._client.post("/v1/ask", json=body)
        except httpx.HTTPError as exc:
            raise CitelineError(f"cannot reach {self._url}/v1/ask: {exc}") from exc
        if resp.status_code != 200:
            raise CitelineError(
                f"{self._url}/v1/ask answered {resp.status_code}: {resp.text[:300]}"
            )
        try:
            data = resp.json()
            return Observed(
                answer=data["answer"],
                answerable=data["answerable"],
                citations=[Citation.model_validate(c) for c in data["citations"]],
                passages=[
                    RetrievedPassage(source=p["source"], score=p["score"], text=p.get("text", ""))
                    for p in sorted(data["passages"], key=lambda p: p.get("n", 0))
                ],
                answerer=data.get("answerer", ""),
            )
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise CitelineError(f"{self._url}/v1/ask answered an unexpected body: {exc}") from exc

    def describe(self) -> str:
        return self._url

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
