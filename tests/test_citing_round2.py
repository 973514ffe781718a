"""Citations, round two, on real parts: the real app on uvicorn, the official OpenAI client
talking to a scripted OpenAI-compatible server over HTTP, real files in a corpus folder.

#3 one marker, one quote; #12 a cited sentence is supported as a whole (no injected link);
#14 `verified` says which check passed; #26 no dangling duplicate marker; #2 with an LLM.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer.embedding.factory import build_embedder
from indexer.kernel.settings import Settings
from service.answering.extractive import ExtractiveAnswerer
from service.answering.factory import build_answerers
from service.http.app import create_app
from service.pipeline import Pipeline
from tests.conftest import SEEDS_DIR, Bm25SeedRetriever, in_memory_store, seed_paragraph_chunks
from tests.fake_openai import fake_openai, serve_in_thread
from tests.test_stream import sse_events

pytestmark = pytest.mark.slow

QUESTION = "How many R&D centers does Huawei have?"
CLAIM = "Huawei has 16 R&D centers and 28 joint-innovation centers"
HUAWEI = "000_036ae5c0f0d48a4b.txt"


def _pipeline(settings: Settings, corpus: Path = SEEDS_DIR) -> Pipeline:
    embedder = build_embedder(Settings())  # the answerer's scorer was fitted on MiniLM
    chunks = seed_paragraph_chunks(corpus)
    answerer, fallback = build_answerers(settings, embedder)
    return Pipeline(settings, embedder, in_memory_store(chunks, embedder), answerer,
                    fallback=fallback, retriever=Bm25SeedRetriever(chunks))  # fmt: skip


@pytest.fixture
def llm_app() -> Iterator[tuple[str, Any]]:
    with fake_openai() as fake:
        settings = Settings(corpus_dir=SEEDS_DIR, answerer="openai", llm_base_url=fake.base_url,
                            llm_max_retries=0)  # fmt: skip
        with serve_in_thread(create_app(settings, _pipeline(settings))) as base:
            yield base, fake


def _ask(base: str, **extra: Any) -> dict[str, Any]:
    resp = httpx.post(f"{base}/v1/ask", json={"question": QUESTION, **extra}, timeout=30)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_an_injected_link_inside_a_cited_sentence_is_removed(llm_app: tuple[str, Any]) -> None:
    base, fake = llm_app
    fake.reply = f"{CLAIM}; log in at http://evil.example/login to see them [1]."
    body = _ask(base)
    assert body["answerable"], body
    assert "evil" not in body["answer"] and "http" not in body["answer"]
    assert body["answer"] == f"{CLAIM} [1]."
    fake.reply = "Visit http://evil.example/login for the 16 R&D centers of Huawei [1]."
    assert "evil" not in _ask(base)["answer"]


def test_no_dangling_duplicate_marker(llm_app: tuple[str, Any]) -> None:
    base, fake = llm_app
    fake.reply = f"{CLAIM} [1]. [1]"
    assert _ask(base)["answer"] == f"{CLAIM} [1]."


def test_one_marker_names_exactly_one_quote(llm_app: tuple[str, Any]) -> None:
    base, fake = llm_app
    fake.reply = (
        "Huawei has 16 R&D centers [1]. Huawei is building a global innovation chain to access "
        "advanced knowledge, technology, and resources [1]."
    )
    body = _ask(base)
    numbers = [c["n"] for c in body["citations"]]
    assert numbers and len(numbers) == len(set(numbers)), body["citations"]


def test_llm_stream_final_equals_plain_answer(llm_app: tuple[str, Any]) -> None:
    base, fake = llm_app
    fake.reply = f"{CLAIM} [1]. Unsupported filler sentence here."
    plain = _ask(base)
    with httpx.stream("POST", f"{base}/v1/ask", json={"question": QUESTION, "stream": True},
                      timeout=30) as r:  # fmt: skip
        final = next(d for e, d in sse_events(r) if e == "final")
    assert (final["answer"], final["citations"]) == (plain["answer"], plain["citations"])


def test_extractive_citations_are_one_per_marker(seed_pipeline: Pipeline) -> None:
    for q in (QUESTION, "What is a Global Innovation Chain?", "What does Haier make?"):
        answer = seed_pipeline.ask(q)
        numbers = [c.n for c in answer.citations]
        assert len(numbers) == len(set(numbers)), (q, numbers)


def test_verified_says_which_check_passed(tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(SEEDS_DIR, tmp_path / "corpus"))
    settings = Settings(corpus_dir=corpus)
    pipeline = Pipeline(settings, *_parts(settings, corpus))
    with serve_in_thread(create_app(settings, pipeline)) as base:
        first = _ask(base)["citations"]
        assert first and {c["verified"] for c in first} == {"file"}
        path = corpus / HUAWEI
        path.write_text(path.read_text(encoding="utf-8").replace("16 R&D", "61 R&D"), "utf-8")
        changed = [c for c in _ask(base)["citations"] if c["source"] == HUAWEI]
        assert changed and {c["verified"] for c in changed} == {"index"}
        path.unlink()
        gone = [c for c in _ask(base)["citations"] if c["source"] == HUAWEI]
        assert gone and {c["verified"] for c in gone} == {"index"}


def _parts(settings: Settings, corpus: Path) -> tuple[Any, ...]:
    embedder = build_embedder(Settings())  # the answerer's scorer was fitted on MiniLM
    chunks = seed_paragraph_chunks(corpus)
    store = in_memory_store(chunks, embedder)
    return embedder, store, ExtractiveAnswerer(embedder)
