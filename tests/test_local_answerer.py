"""The local answerer's parts that need no model: weight assembly and its refusal of a wrong file,
the bounded queue (503 + Retry-After over real HTTP), settings and selection. The model itself is
exercised by `make test-llm` (tests/test_real_llm.py)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from indexer.kernel.errors import ConfigError, LLMBusyError, LLMTimeoutError
from indexer.kernel.models import Draft, Passage
from indexer.kernel.settings import Settings
from service.answering.factory import build_answerers
from service.answering.local_llm import Admission, LocalAnswerer
from service.answering.local_weights import assemble, verify
from service.answering.reader import EvidenceReader
from service.http.app import create_app
from service.pipeline import Pipeline
from tests.conftest import SEEDS_DIR
from tests.fake_openai import serve_in_thread


def _parts(tmp_path: Path) -> tuple[list[Path], str]:
    chunks = [b"first-" * 1000, b"second-" * 999, b"third"]
    paths = []
    for i, data in enumerate(chunks, 1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths, hashlib.sha256(b"".join(chunks)).hexdigest()


def test_assembly_concatenates_in_order_and_verifies(tmp_path: Path) -> None:
    parts, digest = _parts(tmp_path)
    dest = assemble(tmp_path / "models" / "m.gguf", parts, expected=digest)
    assert dest.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert verify(dest, expected=digest) == dest
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["m.gguf"]  # no temp file left


def test_a_wrong_hash_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    parts, digest = _parts(tmp_path)
    dest = tmp_path / "models" / "m.gguf"
    with pytest.raises(ConfigError, match="sha256"):
        assemble(dest, list(reversed(parts)), expected=digest)  # wrong order = wrong file
    assert not dest.exists() and list((tmp_path / "models").iterdir()) == []
    dest.write_bytes(b"not the model")
    with pytest.raises(ConfigError, match="refusing to load"):
        verify(dest, expected=digest)
    with pytest.raises(ConfigError, match="setup-llm"):
        verify(tmp_path / "absent.gguf", expected=digest)


def test_admission_runs_one_queues_some_and_refuses_the_rest() -> None:
    gate = Admission(waiting=1)
    release = threading.Event()
    order: list[str] = []

    def hold(name: str) -> None:
        with gate.slot(5.0):
            order.append(name)
            release.wait(5)

    first = threading.Thread(target=hold, args=("first",))
    first.start()
    while not order:
        time.sleep(0.01)
    second = threading.Thread(target=hold, args=("second",))
    second.start()
    while gate.queued < 1:
        time.sleep(0.01)
    # one running, one waiting: the third is refused now
    with pytest.raises(LLMBusyError), gate.slot(5.0):
        pass
    release.set()
    first.join(5)
    second.join(5)
    assert order == ["first", "second"]  # the queued request ran, none was lost


def test_admission_wait_is_bounded() -> None:
    gate = Admission(waiting=2)
    release = threading.Event()
    started = threading.Event()

    def hold() -> None:
        with gate.slot(5.0):
            started.set()
            release.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    started.wait(5)
    began = time.monotonic()
    with pytest.raises(LLMTimeoutError), gate.slot(0.2):
        pass
    assert time.monotonic() - began < 2
    release.set()
    worker.join(5)


def test_local_is_selected_without_loading_anything(seed_pipeline: Pipeline) -> None:
    settings = Settings(answerer="local", local_model_path=Path("/nonexistent/model.gguf"))
    assert settings.resolved_answerer == "local"
    reader, fallback = build_answerers(settings, seed_pipeline.embedder)
    assert isinstance(reader, EvidenceReader) and fallback is None
    assert reader.name.startswith("local:") and reader.name.endswith("+evidence")
    bare, _ = build_answerers(settings.model_copy(update={"local_mode": "bare"}),
                              seed_pipeline.embedder)  # fmt: skip
    assert isinstance(bare, LocalAnswerer)
    with pytest.raises(ConfigError, match="setup-llm"):  # loading checks the file first
        reader.warm_up()


class BusyAnswerer:
    """Stands where the local model's queue is full."""

    streams_tokens = True
    name = "local:busy"

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        raise LLMBusyError("the local model is busy: the queue is full, retry shortly")

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        raise LLMBusyError("the local model is busy: the queue is full, retry shortly")


@pytest.mark.slow
def test_a_full_queue_is_a_503_with_retry_after(seed_pipeline: Pipeline) -> None:
    settings = Settings(corpus_dir=SEEDS_DIR)
    pipeline = Pipeline(settings, seed_pipeline.embedder, seed_pipeline.store, BusyAnswerer(),
                        retriever=seed_pipeline.retriever)  # fmt: skip
    with serve_in_thread(create_app(settings, pipeline)) as base:
        resp = httpx.post(f"{base}/v1/ask", json={"question": "How many R&D centers?"}, timeout=30)
        assert resp.status_code == 503 and resp.headers["retry-after"]
        assert resp.json()["error"]["code"] == "llm_busy"
        assert "queue is full" in resp.json()["error"]["message"]
        message = {"role": "user", "content": "R&D centers?"}
        chat = httpx.post(f"{base}/v1/chat/completions", timeout=30,
                          json={"model": "citeline", "messages": [message]})  # fmt: skip
        assert chat.status_code == 503 and chat.headers["retry-after"]
