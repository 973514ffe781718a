"""A stream ends with the answer `ask` gives (#2): the real app and route on real uvicorn, the real
extractive answerer over seeds/, SSE on `/v1/ask` and chat streaming on `/v1/chat/completions`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.http.app import create_app
from service.pipeline import Pipeline
from tests.fake_openai import serve_in_thread
from tests.test_stream import sse_events

pytestmark = pytest.mark.slow

QUESTIONS = [
    "What is a Global Innovation Chain?",
    "How many R&D centers does Huawei have?",
    "What does Haier make?",
    "Why do firms build global innovation chains?",
    "What is the capital of Australia?",
]


@pytest.fixture(scope="module")
def base(seed_pipeline: Pipeline) -> Iterator[str]:
    with serve_in_thread(create_app(seed_pipeline.settings, seed_pipeline)) as url:
        yield url


def _plain(base: str, question: str) -> dict[str, Any]:
    body = httpx.post(f"{base}/v1/ask", json={"question": question}, timeout=30).json()
    return {k: body[k] for k in ("answer", "answerable", "citations")}


@pytest.mark.parametrize("question", QUESTIONS)
def test_sse_final_event_equals_the_plain_answer(base: str, question: str) -> None:
    with httpx.stream("POST", f"{base}/v1/ask", json={"question": question, "stream": True},
                      timeout=30) as r:  # fmt: skip
        events = dict((e, d) for e, d in sse_events(r) if e in ("final", "token"))
    final = events["final"]
    assert {k: final[k] for k in ("answer", "answerable", "citations")} == _plain(base, question)


@pytest.mark.parametrize("question", QUESTIONS)
def test_chat_stream_equals_chat_and_ask(base: str, question: str) -> None:
    request = {"model": "citeline", "messages": [{"role": "user", "content": question}]}
    whole = httpx.post(f"{base}/v1/chat/completions", json=request, timeout=30).json()
    ext: dict[str, Any] = {}
    text = ""
    with httpx.stream("POST", f"{base}/v1/chat/completions", json={**request, "stream": True},
                      timeout=30) as r:  # fmt: skip
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunk = json.loads(line[6:])
                ext = chunk.get("citeline", ext)
                text += chunk["choices"][0]["delta"].get("content") or ""
    assert ext["answer"] == whole["citeline"]["answer"] == whole["choices"][0]["message"]["content"]
    assert ext["citations"] == whole["citeline"]["citations"]
    assert ext["answer"] == _plain(base, question)["answer"]
