"""A scriptable fake OpenAI-compatible server on real HTTP (uvicorn in a thread on 127.0.0.1).

Speaks the real wire format: `POST /v1/chat/completions` (JSON, or with `"stream": true` SSE lines
`data: {chat.completion.chunk}` ending in `data: [DONE]`) and `GET /v1/models`. Each test scripts
the reply (text or a function of the messages), a delay, an error status, or garbage, and can read
back every request body and header the server received.

    with fake_openai() as fake:
        fake.reply = "Huawei has 16 R&D centers [1]."
        settings = Settings(llm_base_url=fake.base_url, ...)
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tests.conftest import free_port

Reply = str | Callable[[list[dict[str, Any]]], str]


@contextmanager
def serve_in_thread(app: Any, *, timeout_s: float = 20.0) -> Iterator[str]:
    """Run `app` under a real uvicorn server on 127.0.0.1:<free port>; yields `http://host:port`."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=1)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class FakeOpenAI:
    reply: Reply = "NOT_IN_DOCUMENTS"
    delay_s: float = 0.0
    status: int = 200
    garbage: bool = False
    model: str = "fake-model"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""

    def text_for(self, messages: list[dict[str, Any]]) -> str:
        return self.reply(messages) if callable(self.reply) else self.reply

    def prompt(self, index: int = -1) -> str:
        """All message contents of one received request, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.requests[index]["messages"])

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": self.model, "object": "model",
                                                "created": 0, "owned_by": "fake"}]}  # fmt: skip

        @api.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.status != 200:
                error = {"message": "scripted failure", "type": "server_error"}
                return JSONResponse({"error": error}, status_code=self.status)
            if self.garbage:
                return PlainTextResponse("<html>definitely not json", media_type="application/json")
            text = self.text_for(body["messages"])
            if body.get("stream"):
                return StreamingResponse(self._chunks(text), media_type="text/event-stream")
            return JSONResponse(_completion(self.model, text))

        return api

    async def _chunks(self, text: str) -> Any:
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                "model": self.model}  # fmt: skip
        first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        yield f"data: {json.dumps({**base, 'choices': [first]})}\n\n"
        for i, word in enumerate(text.split(" ")):
            piece = word if i == 0 else " " + word
            choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            yield f"data: {json.dumps({**base, 'choices': [choice]})}\n\n"
        last = {"index": 0, "delta": {}, "finish_reason": "stop"}
        yield f"data: {json.dumps({**base, 'choices': [last]})}\n\n"
        yield "data: [DONE]\n\n"


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }  # fmt: skip


@contextmanager
def fake_openai(**script: Any) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(**script)
    with serve_in_thread(fake.app()) as url:
        fake.base_url = f"{url}/v1"
        yield fake
