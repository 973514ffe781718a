"""HTTP request and response bodies. Requests are strict: unknown fields and wrong types are 422."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from indexer.kernel.models import Answer, Citation, Passage


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AskRequest(_Strict):
    question: str = Field(description="the question, 1..max_question_chars characters")
    top_k: int | None = Field(default=None, description="passages to retrieve (max_top_k at most)")
    sources: list[str] | None = Field(default=None, description="only these files (corpus paths)")
    stream: bool | None = Field(
        default=None, description="answer as Server-Sent Events (default: from the Accept header)"
    )


class SearchRequest(_Strict):
    question: str
    top_k: int | None = None
    sources: list[str] | None = None


class PassageOut(BaseModel):
    n: int
    source: str
    title: str
    text: str
    score: float
    char_start: int
    char_end: int
    line_start: int
    line_end: int

    @classmethod
    def of(cls, p: Passage) -> PassageOut:
        c = p.chunk
        return cls(n=p.n, source=c.source, title=c.title, text=c.text, score=p.score,
                   char_start=c.char_start, char_end=c.char_end, line_start=c.line_start,
                   line_end=c.line_end)  # fmt: skip


class AskResponse(BaseModel):
    answer: str
    answerable: bool
    citations: list[Citation]
    passages: list[PassageOut]
    answerer: str
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, a: Answer) -> AskResponse:
        return cls(answer=a.answer, answerable=a.answerable, citations=list(a.citations),
                   passages=[PassageOut.of(p) for p in a.passages], answerer=a.answerer,
                   timings_ms=a.timings_ms)  # fmt: skip


class SearchResponse(BaseModel):
    passages: list[PassageOut]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, object]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    ready: bool
    reason: str | None = None
    chunks: int | None = None
    embed_model: str | None = None
