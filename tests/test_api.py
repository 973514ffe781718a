"""The HTTP API over real uvicorn on 127.0.0.1: answers with verifiable citations, refuses bad
requests with one JSON error shape, and reports liveness/readiness honestly."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer import sync
from indexer.embedding.hashing import HashingEmbedder
from indexer.kernel.errors import IndexNotReadyError
from indexer.kernel.models import Passage
from indexer.kernel.settings import Settings
from service.answering.extractive import ExtractiveAnswerer
from service.http.app import create_app
from service.pipeline import Pipeline
from tests.conftest import SEEDS_DIR, in_memory_store
from tests.fake_openai import serve_in_thread

pytestmark = pytest.mark.slow  # starts real HTTP servers

QUESTION = "How many R&D centers does Huawei have?"
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def api(seed_pipeline: Pipeline) -> Iterator[httpx.Client]:
    with (
        serve_in_thread(create_app(seed_pipeline.settings, seed_pipeline)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def _error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    error = resp.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    assert "Traceback" not in resp.text
    return dict(error)


def test_ask_returns_citations_found_verbatim_in_the_files(api: httpx.Client) -> None:
    resp = api.post("/v1/ask", json={"question": QUESTION})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"answer", "answerable", "citations", "passages", "answerer", "timings_ms"}
    assert body["answerable"] and "16 R&D centers" in body["answer"]
    assert body["citations"]
    for c in body["citations"]:
        text = (SEEDS_DIR / c["source"]).read_text(encoding="utf-8")
        assert text[c["char_start"] : c["char_end"]] == c["quote"]
        assert f"[{c['n']}]" in body["answer"]
        assert set(c) == {"n", "source", "title", "line_start", "line_end", "char_start",
                          "char_end", "quote", "score", "page", "page_end", "locator",
                          "verified"}  # fmt: skip
        assert c["page"] is None and c["verified"] == "file"  # a .txt: its own lines
    p = body["passages"][0]
    assert set(p) == {"n", "source", "title", "text", "score", "char_start", "char_end",
                      "line_start", "line_end"}  # fmt: skip
    assert set(body["timings_ms"]) >= {"embed", "generate", "total"}


def test_unanswerable_question_is_an_honest_200(api: httpx.Client) -> None:
    body = api.post("/v1/ask", json={"question": "What is the capital of Australia?"}).json()
    assert body["answerable"] is False and body["citations"] == []


def test_search_returns_passages_only(api: httpx.Client) -> None:
    body = api.post("/v1/search", json={"question": QUESTION, "top_k": 2}).json()
    assert list(body) == ["passages"] and len(body["passages"]) == 2
    assert "16 R&D centers" in body["passages"][0]["text"]


def test_sources_filter_and_unknown_source(api: httpx.Client) -> None:
    haier = "003_85cac0987b05356f.txt"
    body = api.post("/v1/search", json={"question": QUESTION, "sources": [haier]}).json()
    assert {p["source"] for p in body["passages"]} == {haier}
    many = [f"nope-{i}.txt" for i in range(1000)]
    error = _error(api.post("/v1/ask", json={"question": QUESTION, "sources": many}), 422)
    # #20: neither the corpus's file names nor the 1,000 input strings come back
    assert "nope-" not in error["message"] and haier not in error["message"]
    assert len(error["message"]) < 200


def test_lone_surrogates_are_bad_input_not_a_502(api: httpx.Client) -> None:
    """#8: "\ud800" in JSON decodes to a lone surrogate; it is a 422, never embedding_failed."""
    raw = b'{"question": "How many R&D centers \\ud800 does Huawei have?"}'
    error = _error(api.post("/v1/ask", content=raw, headers=JSON), 422)
    assert error["code"] == "invalid_request"
    raw = b'{"question": "Huawei?", "sources": ["\\udcff.txt"]}'
    assert _error(api.post("/v1/search", content=raw, headers=JSON), 422)


def test_chat_route_errors_are_openai_shaped(api: httpx.Client) -> None:
    """#22: every error on /v1/chat/completions, 422 included, has message, type, param, code."""
    for kwargs in (
        {"json": {"model": "citeline"}},
        {"content": b"{", "headers": JSON},
        {"json": {"model": "nope", "messages": [{"role": "user", "content": "x"}]}},
    ):
        resp = api.post("/v1/chat/completions", **kwargs)  # type: ignore[arg-type]
        assert resp.status_code in (404, 422), resp.text
        assert {"message", "type", "param", "code"} <= set(resp.json()["error"]), resp.text


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"question": ""}}, 422),
        ({"json": {"question": "   \n "}}, 422),
        ({"json": {"question": "x" * 100_000}}, 413),
        ({"json": {"question": 5}}, 422),
        ({"json": {"question": QUESTION, "top_k": "3"}}, 422),
        ({"json": {"question": QUESTION, "top_k": 0}}, 422),
        ({"json": {"question": QUESTION, "sources": "a.txt"}}, 422),
        ({"json": {"question": QUESTION, "colour": "red"}}, 422),
        ({"json": ["question"]}, 422),
        ({"content": b'{"question": "unterminated', "headers": JSON}, 422),
        ({}, 422),
        ({"content": b"question=hi", "headers": FORM}, 422),
    ],
    ids=["empty", "blank", "100kB", "int-question", "str-top_k", "zero-top_k", "str-sources",
         "extra-field", "array-body", "malformed-json", "no-body", "form-body"],
)  # fmt: skip
def test_bad_requests_get_a_json_error(
    api: httpx.Client, kwargs: dict[str, Any], status: int
) -> None:
    _error(api.post("/v1/ask", **kwargs), status)


def test_question_over_max_chars_is_422(seed_pipeline: Pipeline) -> None:
    settings = seed_pipeline.settings.model_copy(update={"max_question_chars": 50})
    pipeline = Pipeline(settings, seed_pipeline.embedder, seed_pipeline.store,
                        seed_pipeline.answerer, retriever=seed_pipeline.retriever)  # fmt: skip
    with serve_in_thread(create_app(settings, pipeline)) as url:
        resp = httpx.post(f"{url}/v1/ask", json={"question": "why " * 20})
    assert "longer than 50" in _error(resp, 422)["message"]


def test_chunked_body_over_the_limit_is_413(api: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    _error(api.post("/v1/ask", content=body(), headers={"content-type": "application/json"}), 413)


def test_health_ready_and_docs(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True and ready.json()["chunks"] > 0
    assert api.get("/docs").status_code == 200
    assert "/v1/ask" in api.get("/openapi.json").json()["paths"]
    _error(api.get("/nope"), 404)


def test_empty_index_is_not_ready_and_ask_is_503(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    empty = in_memory_store([], embedder)
    settings = Settings(corpus_dir=SEEDS_DIR, data_dir=tmp_path)
    pipeline = Pipeline(settings, embedder, empty, ExtractiveAnswerer(embedder))
    with serve_in_thread(create_app(settings, pipeline)) as url:
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert "index_not_ready" in ready.json()["reason"]
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert _error(httpx.post(f"{url}/v1/ask", json={"question": QUESTION}), 503)["code"] == (
            "index_not_ready"
        )


def test_app_starts_without_an_index_and_becomes_ready_once_one_exists(
    tmp_path: Path, seed_pipeline: Pipeline
) -> None:
    built: list[Pipeline] = []

    def builder(settings: Settings) -> Pipeline:
        if not (tmp_path / "indexed").exists():
            raise IndexNotReadyError("no index yet: run `citeline index`")
        built.append(seed_pipeline)
        return seed_pipeline

    app = create_app(Settings(corpus_dir=SEEDS_DIR, data_dir=tmp_path), builder=builder)
    with serve_in_thread(app) as url:
        assert httpx.get(f"{url}/readyz").status_code == 503
        assert _error(httpx.post(f"{url}/v1/ask", json={"question": QUESTION}), 503)["message"]
        (tmp_path / "indexed").touch()
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert httpx.post(f"{url}/v1/ask", json={"question": QUESTION}).json()["answerable"]
    assert len(built) == 1  # built once, then reused


class _Exploding(ExtractiveAnswerer):
    def answer(self, question: str, passages: Sequence[Passage]) -> Any:
        raise RuntimeError("db password=hunter2 leaked")


def test_unexpected_error_is_500_without_details(seed_pipeline: Pipeline) -> None:
    pipeline = Pipeline(seed_pipeline.settings, seed_pipeline.embedder, seed_pipeline.store,
                        _Exploding(seed_pipeline.embedder),
                        retriever=seed_pipeline.retriever)  # fmt: skip
    with serve_in_thread(create_app(seed_pipeline.settings, pipeline)) as url:
        resp = httpx.post(f"{url}/v1/ask", json={"question": QUESTION})
    assert _error(resp, 500)["code"] == "internal_error"
    assert "hunter2" not in resp.text


def test_real_index_end_to_end(tmp_path: Path) -> None:
    """Index seeds/ with the real indexer into a real embedded Chroma, then ask over HTTP."""
    from indexer.embedding.factory import build_embedder

    settings = Settings(corpus_dir=SEEDS_DIR, data_dir=tmp_path / "data", embedder="fake")
    sync.sync_corpus(settings, SEEDS_DIR, embedder=build_embedder(settings), rebuild=True,
                     progress=False)  # fmt: skip
    with serve_in_thread(create_app(settings)) as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
        body = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=60).json()
    for c in body["citations"]:
        text = (SEEDS_DIR / c["source"]).read_text(encoding="utf-8")
        assert text[c["char_start"] : c["char_end"]] == c["quote"]
