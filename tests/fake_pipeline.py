"""A scripted stand-in for `service.pipeline.Pipeline` (same `ask`/`stream_ask`, real event types).

It lets the streaming, OpenAI and widget tests control exactly what is answered (an HTML payload in
a passage, a slow stream, a failure mid-stream) and observe what the routes did to it (the
questions asked, whether the event generator was closed early).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse

from indexer.kernel.errors import CitelineError, InvalidRequestError, LLMError
from indexer.kernel.models import Answer, Chunk, Citation, Passage
from indexer.kernel.settings import Settings
from service.answering.base import word_deltas
from service.events import DoneEvent, FinalEvent, PassagesEvent, StreamEvent, TokenEvent
from service.http.cors import install_cors
from service.http.routes import openai_compat, widget
from service.http.routes.stream import stream_answer


def passage_for(path: Path, line: int, n: int = 1, text: str | None = None) -> Passage:
    """Passage `n`: line `line` (1-based) of `path`, or `text` posing as that line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = sum(len(x) for x in lines[: line - 1])
    body = text if text is not None else lines[line - 1].rstrip("\n")
    digest = hashlib.sha256(body.encode()).hexdigest()
    chunk = Chunk(
        id=f"{path.name}:{line}", source=path.name, title=path.name, text=body,
        char_start=start, char_end=start + len(body), line_start=line, line_end=line,
        chunk_index=line, content_hash=digest, doc_hash=digest,
    )  # fmt: skip
    return Passage(n=n, chunk=chunk, score=0.9)


def cite(passage: Passage) -> Citation:
    c = passage.chunk
    return Citation(
        n=passage.n, source=c.source, title=c.title, line_start=c.line_start,
        line_end=c.line_end, char_start=c.char_start, char_end=c.char_end, quote=c.text,
        score=passage.score,
    )  # fmt: skip


class ScriptedPipeline:
    def __init__(
        self,
        passages: Sequence[Passage],
        answer: str,
        *,
        answerable: bool = True,
        delay_s: float = 0.0,
        fail_after: int | None = None,
    ) -> None:
        self.passages = list(passages)
        self.answer = answer
        self.answerable = answerable
        self.delay_s = delay_s
        self.fail_after = fail_after
        self.questions: list[str] = []
        self.tokens_sent = 0
        self.closed = threading.Event()  # set by the event generator's `finally`
        self.finished = threading.Event()  # set only when every event was produced

    def _final(self) -> FinalEvent:
        cited = [cite(p) for p in self.passages if f"[{p.n}]" in self.answer]
        return FinalEvent(
            answer=self.answer, answerable=self.answerable, citations=cited,
            answerer="scripted", timings_ms={"total": 1.0},
        )  # fmt: skip

    def warm_up(self) -> None:
        """The real app warms its pipeline at startup; nothing to load here."""

    def ask(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> Answer:
        self.questions.append(question)
        f = self._final()
        return Answer(
            answer=f.answer, answerable=f.answerable, citations=f.citations,
            passages=self.passages, answerer=f.answerer, timings_ms=f.timings_ms,
        )  # fmt: skip

    def stream_ask(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> Iterator[StreamEvent]:
        if not question.strip():
            raise InvalidRequestError("question must not be empty")
        self.questions.append(question)
        return self._events()

    def _events(self) -> Iterator[StreamEvent]:
        try:
            yield PassagesEvent(passages=self.passages)
            for delta in word_deltas(self.answer):
                if self.fail_after is not None and self.tokens_sent >= self.fail_after:
                    raise LLMError("the LLM server went away")
                if self.delay_s:
                    time.sleep(self.delay_s)
                self.tokens_sent += 1
                yield TokenEvent(text=delta)
            yield self._final()
            yield DoneEvent()
            self.finished.set()
        finally:
            self.closed.set()


def standin_app(settings: Settings, pipeline: ScriptedPipeline) -> FastAPI:
    """Just this engineer's routes around a scripted pipeline, plus a minimal streaming /v1/ask."""
    app = FastAPI()
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.build_pipeline = lambda _settings: pipeline
    app.include_router(widget.router)
    app.include_router(openai_compat.router)

    @app.post("/v1/ask", response_model=None)
    async def ask(request: Request, question: str = Body(embed=True)) -> object:
        return await stream_answer(request, pipeline, question, settings=settings)

    @app.exception_handler(CitelineError)
    async def _citeline(_: Request, exc: CitelineError) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message}}
        return JSONResponse(body, status_code=exc.status)

    install_cors(app, settings)
    return app
