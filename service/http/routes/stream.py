"""`POST /v1/ask` as Server-Sent Events: passages, token deltas, the final answer, done.

The pipeline's `stream_ask` is a plain generator that blocks on retrieval and on the LLM's stream,
so it runs in its own worker thread and hands events over through an asyncio queue. When the client
goes away (disconnect, or Starlette cancelling the body task) the relay sets `stop`; the worker then
stops pulling and closes the generator *in its own thread* (a running generator cannot be closed
from another), which runs the pipeline's `finally` and so closes the LLM stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Final, Protocol

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event
from starlette.requests import Request

from indexer.kernel.errors import CitelineError
from indexer.kernel.settings import Settings
from service.events import DoneEvent, ErrorEvent, FinalEvent, PassagesEvent, StreamEvent, TokenEvent
from service.http.errors import public_message
from service.http.schemas import PassageOut
from service.observability.metrics import record_timings

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0  # `: ping` interval: keeps proxies from closing an idle stream
HEARTBEAT: Final = object()  # yielded by `relay` when nothing happened for `HEARTBEAT_S`
_END: Final = object()
PING: Final = b": ping\n\n"
SSE_HEADERS: Final = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: pass each event straight through
    "Connection": "keep-alive",
}


class StreamingPipeline(Protocol):
    def stream_ask(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> Iterator[StreamEvent]: ...


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _worker(
    make: Callable[[], Iterator[Any]], stop: threading.Event, deliver: Callable[[object], None]
) -> None:
    gen: Iterator[Any] | None = None
    try:
        gen = make()
        for event in gen:
            if stop.is_set():
                break
            deliver(event)
    except BaseException as exc:
        deliver(_Failure(exc))
    finally:
        close = getattr(gen, "close", None)
        if close is not None:
            close()  # GeneratorExit inside the pipeline: its `with` blocks close the LLM stream
        deliver(_END)


async def relay(request: Request, make: Callable[[], Iterator[Any]]) -> AsyncIterator[object]:
    """Yield the generator's events (HEARTBEAT when idle); re-raise its exception, if any."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def deliver(item: object) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed: nobody is listening any more
            loop.call_soon_threadsafe(queue.put_nowait, item)

    # copy_context: log lines the pipeline writes while streaming keep this request's id.
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(_worker, make, stop, deliver), daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield HEARTBEAT
                continue
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            if isinstance(item, FinalEvent):
                record_timings(request, item.timings_ms)
            yield item
            if await request.is_disconnected():
                log.info("client disconnected; stopping the answer stream")
                return
    finally:
        stop.set()  # runs on return, on error and on cancellation alike


def error_payload(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, CitelineError):
        return {"code": exc.code, "message": public_message(exc)}
    log.exception("unexpected error while streaming an answer", exc_info=exc)
    return {"code": "internal_error", "message": "the answer failed; see the server log"}


def wants_stream(request: Request, stream_flag: bool | None) -> bool:
    """Stream when the body says `"stream": true`, or it says nothing and Accept asks for SSE."""
    if stream_flag is not None:
        return stream_flag
    return "text/event-stream" in request.headers.get("accept", "")


def sse(event: str, data: Any) -> bytes:
    return format_sse_event(event=event, data_str=json.dumps(data, ensure_ascii=False))


def event_frames(event: object, started: float) -> tuple[bytes, bool]:
    """One pipeline event as SSE bytes, and whether it ends the stream."""
    if isinstance(event, PassagesEvent):
        # Same shape as the non-streaming answer's `passages`.
        passages = [PassageOut.of(p).model_dump(mode="json") for p in event.passages]
        return sse("passages", passages), False
    if isinstance(event, TokenEvent):
        return sse("token", {"text": event.text}), False
    if isinstance(event, FinalEvent):
        final = event.model_dump(mode="json", exclude={"type"})
        final["timings_ms"]["stream_total"] = round((time.perf_counter() - started) * 1000, 2)
        return sse("final", final), False
    if isinstance(event, ErrorEvent):
        return sse("error", {"code": event.code, "message": event.message}), True
    if isinstance(event, DoneEvent):
        return sse("done", {}), True
    log.warning("unknown pipeline event %r dropped", type(event).__name__)
    return b"", False


async def answer_frames(
    request: Request, make: Callable[[], Iterator[Any]], settings: Settings
) -> AsyncIterator[bytes]:
    started = time.perf_counter()
    done = False
    try:
        async for item in relay(request, make):
            if item is HEARTBEAT:
                yield PING
                continue
            frame, done = event_frames(item, started)
            if frame:
                yield frame
            if done:
                return
    except Exception as exc:
        # Headers are long sent: an error mid-stream is a typed final event, then the end.
        yield sse("error", error_payload(exc))
        return
    if not done:
        yield sse("done", {})


async def stream_answer(
    request: Request,
    pipeline: StreamingPipeline,
    question: str,
    *,
    settings: Settings,
    top_k: int | None = None,
    sources: list[str] | None = None,
) -> StreamingResponse:
    """The SSE response for one question; the `/v1/ask` route calls it when streaming is asked.

    `stream_ask` validates and retrieves before returning its generator, so a bad request or an
    unready index raises here, before any header is sent, and gets its proper HTTP status.
    """
    events = await run_in_threadpool(pipeline.stream_ask, question, top_k=top_k, sources=sources)
    return StreamingResponse(
        answer_frames(request, lambda: events, settings),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )
