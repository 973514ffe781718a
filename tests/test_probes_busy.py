"""#11: readiness answers while every request worker thread is busy (real uvicorn, real app)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from indexer.kernel.models import Draft, Passage
from service.http.app import create_app
from service.pipeline import Pipeline
from tests.browser import serve

pytestmark = pytest.mark.slow


class SlowAnswerer:
    """Stands in for a slow LLM: holds its worker thread for `delay_s`."""

    name = "slow"

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        time.sleep(self.delay_s)
        return Draft(text="NOT_IN_DOCUMENTS", answerable=False)

    def stream(self, question: str, passages: Sequence[Passage]) -> Any:
        yield self.answer(question, passages).text


def test_readyz_answers_while_45_asks_hold_every_worker(seed_pipeline: Pipeline) -> None:
    p = seed_pipeline
    slow = Pipeline(p.settings, p.embedder, p.store, SlowAnswerer(6.0), retriever=p.retriever)
    with serve(create_app(p.settings, slow), ready_path="/healthz") as base:
        q = {"question": "How many R&D centers does Huawei have?"}
        askers = [
            threading.Thread(target=lambda: httpx.post(f"{base}/v1/ask", json=q, timeout=60))
            for _ in range(45)
        ]
        for t in askers:
            t.start()
        time.sleep(1.5)  # every anyio worker thread (40) is now asleep in an answer
        started = time.monotonic()
        ready = httpx.get(f"{base}/readyz", timeout=4)
        assert ready.status_code == 200 and ready.json()["ready"]
        assert time.monotonic() - started < 2
        for t in askers:
            t.join()
