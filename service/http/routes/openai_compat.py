"""`POST /v1/chat/completions` and `GET /v1/models` in the OpenAI wire format.

The official `openai` client works unchanged. `model` picks the collection; the conversation is
condensed into one standalone question (service/answering/condense.py) before retrieval.
Citations ride in the content as `[n]` markers and, machine-readable, in `message.citations`
plus a `citeline` extension object (on the response, and on the last stream chunk).
See docs/openai-endpoint.md.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from indexer.kernel.errors import CitelineError
from indexer.kernel.models import Answer
from indexer.kernel.settings import Settings
from service.answering.condense import Condenser, Turn, build_condenser
from service.events import ErrorEvent, FinalEvent, StreamEvent, TokenEvent
from service.http.deps import SettingsDep, get_pipeline
from service.http.errors import RETRY_AFTER_S, public_message
from service.http.routes.stream import (
    HEARTBEAT,
    PING,
    SSE_HEADERS,
    error_payload,
    relay,
)
from service.observability.metrics import record_timings
from service.security.widget_access import capped_top_k

router = APIRouter(tags=["openai"])

# The model id that always selects the served collection, whatever it is called.
MODEL_ALIAS = "citeline"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, user, ...: accepted and ignored
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    top_k: int | None = Field(default=None, ge=1, description="Citeline extension")
    sources: list[str] | None = Field(default=None, description="Citeline extension")


def openai_error(status: int, message: str, type_: str, code: str) -> JSONResponse:
    retry = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None  # as every route
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": None, "code": code}},
        status_code=status,
        headers=retry,
    )


def model_ids(settings: Settings) -> list[str]:
    # The service answers over one collection; the alias lets clients hard-code a stable id.
    return list(dict.fromkeys([MODEL_ALIAS, settings.collection]))


def condenser_of(request: Request, settings: Settings) -> Condenser:
    """One condenser per app (the LLM one holds an HTTP client), built on first use."""
    condenser: Condenser | None = getattr(request.app.state, "condenser", None)
    if condenser is None:
        condenser = build_condenser(settings)
        request.app.state.condenser = condenser
    return condenser


@router.get("/v1/models")
def list_models(settings: SettingsDep) -> dict[str, Any]:
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": created, "owned_by": "citeline"}
            for m in model_ids(settings)
        ],
    }


def citeline_extension(final: Answer | FinalEvent, standalone: str) -> dict[str, Any]:
    return {
        "answer": final.answer,
        "answerable": final.answerable,
        "citations": [c.model_dump(mode="json") for c in final.citations],
        "answerer": final.answerer,
        "standalone_question": standalone,
        "timings_ms": dict(final.timings_ms),
    }


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(body: ChatRequest, request: Request, settings: SettingsDep) -> Response:
    if body.model not in model_ids(settings):
        return openai_error(
            404,
            f"The model `{body.model}` does not exist",
            "invalid_request_error",
            "model_not_found",
        )
    turns = [Turn(m.role if m.role != "developer" else "system", m.text()) for m in body.messages]
    if not any(t.role == "user" and t.content.strip() for t in turns):
        return openai_error(
            400, "messages must contain a user message", "invalid_request_error", "no_question"
        )
    top_k = capped_top_k(request.scope, body.top_k, settings)
    try:
        # Built on first use; inside `try` so that "no index yet" is OpenAI-shaped too.
        pipeline = await run_in_threadpool(get_pipeline, request)
        question = await run_in_threadpool(condenser_of(request, settings).condense, turns)
        if body.stream:
            # Validation and retrieval happen here, so their errors still get an HTTP status.
            events = await run_in_threadpool(
                pipeline.stream_ask, question, top_k=top_k, sources=body.sources
            )
            return _stream(request, events, question, body.model, settings)
        answer = await run_in_threadpool(pipeline.ask, question, top_k=top_k, sources=body.sources)
    except CitelineError as exc:
        return openai_error(exc.status, public_message(exc), "citeline_error", exc.code)
    record_timings(request, answer.timings_ms)
    ext = citeline_extension(answer, question)
    message = {"role": "assistant", "content": answer.answer, "citations": ext["citations"]}
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citeline": ext,
        }
    )


def _chunk(
    cid: str,
    model: str,
    delta: dict[str, Any],
    finish: str | None = None,
    extension: dict[str, Any] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if extension is not None:
        body["citeline"] = extension
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


def _error_chunk(code: str, message: str) -> bytes:
    payload = {"error": {"message": message, "type": "citeline_error", "param": None, "code": code}}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _stream(
    request: Request, events: Iterator[StreamEvent], question: str, model: str, settings: Settings
) -> StreamingResponse:
    cid = f"chatcmpl-{uuid.uuid4().hex}"

    async def frames() -> AsyncIterator[bytes]:
        yield _chunk(cid, model, {"role": "assistant", "content": ""})
        try:
            async for event in relay(request, lambda: events):
                if event is HEARTBEAT:
                    yield PING  # an SSE comment: OpenAI clients skip it
                elif isinstance(event, TokenEvent):
                    yield _chunk(cid, model, {"content": event.text})
                elif isinstance(event, FinalEvent):
                    yield _chunk(cid, model, {}, "stop", citeline_extension(event, question))
                elif isinstance(event, ErrorEvent):
                    yield _error_chunk(event.code, event.message)
                    return
        except Exception as exc:
            err = error_payload(exc)
            yield _error_chunk(err["code"], err["message"])
            return
        yield b"data: [DONE]\n\n"

    return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)
