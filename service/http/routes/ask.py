"""`POST /v1/ask` and `POST /v1/search`: thin wrappers over the pipeline.

`/v1/ask` answers JSON by default, and Server-Sent Events when the body says `"stream": true` (or
omits it and sends `Accept: text/event-stream`); the SSE framing lives in `routes.stream`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from service.http.deps import PipelineDep, SettingsDep
from service.http.routes.stream import stream_answer, wants_stream
from service.http.schemas import (
    AskRequest,
    AskResponse,
    ErrorResponse,
    PassageOut,
    SearchRequest,
    SearchResponse,
)
from service.observability.metrics import record_timings
from service.security.widget_access import capped_top_k

router = APIRouter(tags=["answers"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (413, 422, 500, 502, 503, 504)
}


@router.post("/v1/ask", response_model=AskResponse, responses=_ERRORS)
async def ask(
    body: AskRequest, request: Request, pipeline: PipelineDep, settings: SettingsDep
) -> Response | AskResponse:
    top_k = capped_top_k(request.scope, body.top_k, settings)
    if wants_stream(request, body.stream):
        return await stream_answer(request, pipeline, body.question, settings=settings,
                                   top_k=top_k, sources=body.sources)  # fmt: skip
    # The pipeline is sync and CPU-bound: keep it off the event loop.
    answer = await run_in_threadpool(pipeline.ask, body.question, top_k, body.sources)
    record_timings(request, answer.timings_ms)
    return AskResponse.of(answer)


@router.post("/v1/search", response_model=SearchResponse, responses=_ERRORS)
def search(body: SearchRequest, pipeline: PipelineDep) -> SearchResponse:
    passages = pipeline.search(body.question, body.top_k, body.sources)
    return SearchResponse(passages=[PassageOut.of(p) for p in passages])
