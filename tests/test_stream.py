"""`POST /v1/ask` as Server-Sent Events, over real HTTP (uvicorn on 127.0.0.1): the real app and
route (`create_app`), with a scripted pipeline so tokens, delays and failures are chosen."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from indexer.kernel.settings import Settings
from service.http.app import create_app
from service.http.routes import stream
from service.http.routes.stream import wants_stream
from tests.browser import serve
from tests.conftest import SEEDS_DIR
from tests.fake_pipeline import ScriptedPipeline, passage_for

HUAWEI = SEEDS_DIR / "000_036ae5c0f0d48a4b.txt"
ANSWER = "Huawei has 16 R&D centers and 28 joint-innovation centers [1]."

pytestmark = pytest.mark.slow  # starts uvicorn


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, data) per SSE block; comments come back as ("comment", text)."""
    event, data = "message", []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield event, json.loads("\n".join(data))
            event, data = "message", []


def _pipeline(**kw: Any) -> ScriptedPipeline:
    return ScriptedPipeline([passage_for(HUAWEI, 16)], ANSWER, **kw)


def test_events_in_order_with_headers() -> None:
    pipeline = _pipeline()
    with (
        serve(create_app(Settings(), pipeline)) as base,
        httpx.stream("POST", base + "/v1/ask", json={"question": "R&D?", "stream": True}) as r,
    ):
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        events = [(e, d) for e, d in sse_events(r) if e != "comment"]
    kinds = [e for e, _ in events]
    assert kinds[0] == "passages" and kinds[-2:] == ["final", "done"]
    assert set(kinds[1:-2]) == {"token"} and len(kinds) > 5
    assert events[0][1][0]["line_start"] == 16 and events[0][1][0]["source"] == HUAWEI.name
    assert "".join(d["text"] for e, d in events if e == "token") == ANSWER
    final = events[-2][1]
    assert final["answer"] == ANSWER and final["answerable"] is True
    assert final["citations"][0]["quote"].startswith("At present, Huawei has 16 R&D centers")
    assert final["answerer"] == "scripted" and final["timings_ms"]["stream_total"] > 0
    assert pipeline.finished.is_set()


def test_heartbeat_comments_while_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.03)
    pipeline = ScriptedPipeline([passage_for(HUAWEI, 16)], "Sixteen [1].", delay_s=0.3)
    with (
        serve(create_app(Settings(), pipeline)) as base,
        httpx.stream("POST", base + "/v1/ask", json={"question": "q", "stream": True}) as r,
    ):
        events = list(sse_events(r))
    pings = [d for e, d in events if e == "comment"]
    assert pings and set(pings) == {"ping"}
    assert [e for e, _ in events if e != "comment"][-1] == "done"


def test_error_mid_stream_is_a_typed_final_event() -> None:
    pipeline = _pipeline(fail_after=2)
    with (
        serve(create_app(Settings(), pipeline)) as base,
        httpx.stream("POST", base + "/v1/ask", json={"question": "q", "stream": True}) as r,
    ):
        assert r.status_code == 200
        events = [(e, d) for e, d in sse_events(r) if e != "comment"]
    assert [e for e, _ in events] == ["passages", "token", "token", "error"]
    assert events[-1][1] == {"code": "llm_error", "message": "the LLM server went away"}
    assert pipeline.closed.is_set()


def test_invalid_question_is_an_http_error_not_a_stream() -> None:
    with serve(create_app(Settings(), _pipeline())) as base:
        r = httpx.post(base + "/v1/ask", json={"question": "   ", "stream": True})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_client_disconnect_stops_generation() -> None:
    pipeline = ScriptedPipeline(
        [passage_for(HUAWEI, 16)], "word " * 200 + "[1]", delay_s=0.05
    )  # ~10 s if nobody stopped it
    with serve(create_app(Settings(), pipeline)) as base:
        with httpx.stream("POST", base + "/v1/ask", json={"question": "q", "stream": True}) as r:
            for event, _ in sse_events(r):
                if event == "token":
                    break  # leave after the first token: closes the connection
        assert pipeline.closed.wait(timeout=10), "the event generator was never closed"
    assert not pipeline.finished.is_set()
    assert pipeline.tokens_sent < 100


def test_wants_stream_dispatch() -> None:
    from starlette.requests import Request

    def request(accept: str) -> Request:
        return Request({"type": "http", "headers": [(b"accept", accept.encode())]})

    assert wants_stream(request("application/json"), True)
    assert not wants_stream(request("text/event-stream"), False)
    assert wants_stream(request("text/event-stream"), None)
    assert not wants_stream(request("*/*"), None)


class SlowLLM:
    """OpenAI-compatible server: one word every `delay_s`; records how far it got."""

    def __init__(self, words: int, delay_s: float) -> None:
        self.words, self.delay_s = words, delay_s
        self.sent = 0
        self.completed = False
        self.ended = threading.Event()

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/v1/chat/completions")
        async def chat() -> StreamingResponse:
            return StreamingResponse(self._chunks(), media_type="text/event-stream")

        return api

    async def _chunks(self) -> AsyncIterator[str]:
        base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "slow"}
        try:
            for i in range(self.words):
                delta = {"content": ("Huawei" if i == 0 else " word") + (" [1]" if i == 3 else "")}
                choice = {"index": 0, "delta": delta, "finish_reason": None}
                yield f"data: {json.dumps({**base, 'choices': [choice]})}\n\n"
                self.sent += 1
                await asyncio.sleep(self.delay_s)
            yield "data: [DONE]\n\n"
            self.completed = True
        finally:
            self.ended.set()


def test_disconnect_closes_the_llm_stream(seed_store: Any, seed_embedder: Any) -> None:
    """Real pipeline + OpenAI answerer against a slow LLM server over HTTP: leaving early must
    close the HTTP stream to the LLM (the server sees it end long before its last word)."""
    from service.answering.openai_llm import OpenAIAnswerer
    from service.http.app import create_app
    from service.pipeline import Pipeline
    from tests.conftest import Bm25SeedRetriever

    llm = SlowLLM(words=300, delay_s=0.05)  # 15 s if nobody hangs up
    with serve(llm.app(), ready_path="/docs") as llm_url:
        settings = Settings(corpus_dir=SEEDS_DIR, llm_base_url=llm_url + "/v1", llm_model="slow")
        retriever = Bm25SeedRetriever(list(seed_store.iter_chunks()))
        pipeline = Pipeline(settings, seed_embedder, seed_store, OpenAIAnswerer(settings),
                            retriever=retriever)  # fmt: skip
        with serve(create_app(settings, pipeline)) as base:
            body = {"question": "How many R&D centers does Huawei have?", "stream": True}
            with httpx.stream("POST", base + "/v1/ask", json=body, timeout=30) as r:
                tokens = 0
                for event, _ in sse_events(r):
                    tokens += event == "token"
                    if tokens == 3:
                        break
            assert llm.ended.wait(timeout=10), "the LLM stream was never closed"
    assert not llm.completed
    assert llm.sent < 100
