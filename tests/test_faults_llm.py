"""LLM faults end to end: our real app on uvicorn, a fake OpenAI server on real HTTP.

Down (a real process, SIGKILLed, then restarted on the same port), slow (past the timeout) and
garbage (not JSON, HTTP 500, empty): each is a clear 502/504 JSON error, or, with
`llm_fallback_extractive`, a 200 from the extractive answerer; never a hang (every client call
below has a timeout the server must beat). The answerer-level versions live in
tests/test_openai_answerer.py; these go through HTTP, JSON and SSE.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from indexer.kernel.settings import Settings
from service.answering import openai_llm
from service.answering.factory import build_answerers
from service.http.app import create_app
from service.http.routes import stream
from service.pipeline import Pipeline
from tests.browser import serve
from tests.conftest import REPO_ROOT, SEEDS_DIR, free_port
from tests.fake_openai import FakeOpenAI, fake_openai

pytestmark = pytest.mark.slow

QUESTION_TEXT = "How many R&D centers does Huawei have?"
QUESTION = {"question": QUESTION_TEXT}
SECRET = "sk-test-do-not-leak-0123456789abcdef"
CLIENT_TIMEOUT = 20.0  # a request the server does not answer by then counts as a hang


@pytest.fixture(autouse=True)
def _fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_llm, "LLM_MAX_RETRIES", 0)
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.5)


def _app(seed_embedder: Any, seed_store: Any, llm_url: str, *, fallback: bool) -> Any:
    settings = Settings(
        corpus_dir=SEEDS_DIR, answerer="openai", llm_base_url=llm_url, llm_api_key=SECRET,
        llm_timeout_s=1.0, llm_fallback_extractive=fallback,
    )  # fmt: skip
    answerer, backup = build_answerers(settings, seed_embedder)
    pipeline = Pipeline(settings, seed_embedder, seed_store, answerer, fallback=backup)
    return create_app(settings, pipeline)


@contextmanager
def _our_service(
    seed_embedder: Any, seed_store: Any, llm_url: str, fallback: bool
) -> Iterator[str]:
    with serve(
        _app(seed_embedder, seed_store, llm_url, fallback=fallback), ready_path="/healthz"
    ) as base:
        yield base


def _ask(base: str, stream: bool = False) -> httpx.Response:
    return httpx.post(f"{base}/v1/ask", json={**QUESTION, "stream": stream}, timeout=CLIENT_TIMEOUT)


def _sse_events(resp: httpx.Response) -> list[tuple[str, Any]]:
    events, name = [], ""
    for line in resp.text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def _assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["error"]["code"] == code
    assert SECRET not in resp.text


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai(reply="Huawei has 16 R&D centers [1].") as server:
        yield server


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        ({"delay_s": 3.0}, 504, "llm_timeout"),
        ({"garbage": True}, 502, "llm_error"),
        ({"status": 500}, 502, "llm_error"),
        ({"status": 429}, 502, "llm_error"),
        ({"reply": "   "}, 502, "llm_error"),
    ],
    ids=["slow", "garbage", "http500", "http429", "empty"],
)
def test_llm_faults_are_clear_json_errors(
    seed_embedder: Any, seed_store: Any, fake: FakeOpenAI, script: dict[str, Any], status: int,
    code: str,
) -> None:  # fmt: skip
    for key, value in script.items():
        setattr(fake, key, value)
    with _our_service(seed_embedder, seed_store, fake.base_url, fallback=False) as base:
        _assert_error(_ask(base), status, code)
        streamed = _ask(base, stream=True)
        assert streamed.status_code == 200  # headers went out before the LLM was asked
        events = _sse_events(streamed)
        assert events[0][0] == "passages"
        assert events[-1][0] == "error" and events[-1][1]["code"] == code  # the stream's end
        assert SECRET not in streamed.text
        chat = httpx.post(
            f"{base}/v1/chat/completions", timeout=CLIENT_TIMEOUT,
            json={"model": "citeline", "messages": [{"role": "user", "content": QUESTION_TEXT}]},
        )  # fmt: skip
        assert chat.status_code == status and chat.json()["error"]["code"] == code


@pytest.mark.parametrize("script", [{"delay_s": 3.0}, {"garbage": True}, {"status": 500}])
def test_with_fallback_configured_faults_answer_extractively(
    seed_embedder: Any, seed_store: Any, fake: FakeOpenAI, script: dict[str, Any]
) -> None:
    for key, value in script.items():
        setattr(fake, key, value)
    with _our_service(seed_embedder, seed_store, fake.base_url, fallback=True) as base:
        resp = _ask(base)
        assert resp.status_code == 200, resp.text[:300]
        assert resp.json()["answerer"] == "extractive"
        events = _sse_events(_ask(base, stream=True))
        final = dict(events)["final"]
        assert final["answerer"] == "extractive"


def _fake_process(port: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn; from tests.fake_openai import FakeOpenAI; "
        "f = FakeOpenAI(reply='Huawei has 16 R&D centers [1].'); "
        f"uvicorn.run(f.app(), host='127.0.0.1', port={port}, log_level='warning')"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the fake LLM process did not start")


def test_llm_process_killed_then_restarted_the_service_recovers(
    seed_embedder: Any, seed_store: Any
) -> None:
    port = free_port()
    llm = _fake_process(port)
    try:
        with _our_service(seed_embedder, seed_store, f"http://127.0.0.1:{port}/v1", False) as base:
            up = _ask(base)
            assert up.status_code == 200 and up.json()["answerer"].startswith("openai")
            llm.send_signal(signal.SIGKILL)
            llm.wait(timeout=10)
            for _ in range(3):
                _assert_error(_ask(base), 502, "llm_error")
            llm = _fake_process(port)  # back on the same address: no restart of ours needed
            again = _ask(base)
            assert again.status_code == 200 and again.json()["answerer"].startswith("openai")
    finally:
        llm.kill()
        llm.wait(timeout=10)
