"""Request ids, JSON log lines that carry them, and the Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from service.observability.logging import accept_request_id, configure_logging
from service.observability.metrics import Metrics, ObservabilityMiddleware, add_metrics_route

app_log = logging.getLogger("citeline.test.route")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("INFO", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _app(index_stats: object = None) -> tuple[TestClient, Metrics]:
    metrics = Metrics(index_stats=index_stats)  # type: ignore[arg-type]
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        app_log.info("looking up item", extra={"item_id": item_id})
        return {"item_id": item_id}

    @app.get("/broken")
    def broken() -> JSONResponse:
        return JSONResponse({"error": {"code": "store_unavailable", "message": "x"}}, 503)

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(418, "short and stout")

    add_metrics_route(app, metrics)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return TestClient(app), metrics


def test_a_request_id_is_made_when_none_comes_in() -> None:
    client, _ = _app()
    first = client.get("/items/1").headers["x-request-id"]
    second = client.get("/items/1").headers["x-request-id"]
    assert len(first) == 32 and first != second


def test_a_sane_incoming_request_id_is_kept() -> None:
    client, _ = _app()
    resp = client.get("/items/1", headers={"X-Request-ID": "proxy-7f3a:42"})
    assert resp.headers["x-request-id"] == "proxy-7f3a:42"


@pytest.mark.parametrize(
    "bad", ["", "x" * 65, 'a"}, {"level": "CRITICAL', "a b", "-leading-dash", "é-unicode"]
)
def test_an_insane_incoming_request_id_is_replaced(bad: str) -> None:
    new = accept_request_id(bad)
    assert new != bad and len(new) == 32


def test_every_log_line_of_a_request_carries_its_id(log_stream: io.StringIO) -> None:
    client, _ = _app()
    client.get("/items/7", headers={"X-Request-ID": "req-one"})
    client.get("/items/8", headers={"X-Request-ID": "req-two"})
    lines = _lines(log_stream)
    route_lines = [e for e in lines if e["logger"] == "citeline.test.route"]
    access = [e for e in lines if e["logger"] == "citeline.access"]
    pairs = [(e["request_id"], e["item_id"]) for e in route_lines]
    assert pairs == [("req-one", 7), ("req-two", 8)]
    assert [(e["request_id"], e["status"], e["route"]) for e in access] == [
        ("req-one", 200, "/items/{item_id}"),
        ("req-two", 200, "/items/{item_id}"),
    ]
    assert all(isinstance(e["duration_ms"], float) for e in access)


def test_lines_outside_a_request_have_a_placeholder_id(log_stream: io.StringIO) -> None:
    app_log.warning("startup")
    assert _lines(log_stream)[-1]["request_id"] == "-"


def test_metrics_count_requests_by_route_template_and_errors_by_code() -> None:
    client, _ = _app()
    for i in range(3):
        client.get(f"/items/{i}")
    client.get("/broken")
    client.get("/teapot")
    client.get("/no/such/path")
    text = client.get("/metrics").text
    labels = 'method="GET",route="/items/{item_id}",status="200"'
    assert f"citeline_http_requests_total{{{labels}}} 3.0" in text
    assert 'citeline_errors_total{code="store_unavailable"} 1.0' in text
    assert 'citeline_errors_total{code="http_418"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "/items/1" not in text  # raw paths would explode the label cardinality


def test_metrics_are_prometheus_text() -> None:
    client, _ = _app()
    resp = client.get("/metrics")
    assert resp.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE citeline_http_request_duration_seconds histogram" in resp.text


def test_stage_timings_land_in_the_stage_histogram() -> None:
    client, metrics = _app()
    metrics.observe_timings({"embed": 12.0, "retrieve": 3.0, "generate": 40.0, "other": 1.0})
    text = client.get("/metrics").text
    for stage in ("embed", "retrieve", "generate"):
        assert f'citeline_stage_duration_seconds_count{{stage="{stage}"}} 1.0' in text
    assert 'stage="other"' not in text


def test_index_size_is_read_at_scrape_time() -> None:
    sizes = iter([(10, 2), (25, 3)])
    client, _ = _app(index_stats=lambda: next(sizes))
    assert "citeline_index_chunks 10.0" in client.get("/metrics").text
    second = client.get("/metrics").text
    assert "citeline_index_chunks 25.0" in second and "citeline_index_files 3.0" in second


def test_a_store_that_is_down_does_not_break_the_scrape() -> None:
    def down() -> tuple[int, int]:
        raise ConnectionError("chroma is down")

    client, _ = _app(index_stats=down)
    resp = client.get("/metrics")
    assert resp.status_code == 200 and "citeline_index_chunks" not in resp.text


def test_json_and_streamed_answers_feed_the_stage_histogram(
    seed_embedder: Any, seed_store: Any
) -> None:
    from indexer.kernel.settings import Settings
    from service.answering.extractive import ExtractiveAnswerer
    from service.http.app import create_app
    from service.pipeline import Pipeline

    pipeline = Pipeline(Settings(), seed_embedder, seed_store, ExtractiveAnswerer(seed_embedder))
    app = create_app(Settings(), pipeline)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post("/v1/ask", json={"question": "What does Haier make?"}).status_code == 200
        assert client.post("/v1/search", json={"question": "BYD batteries"}).status_code == 200
        streamed = client.post("/v1/ask", json={"question": "What does Huawei do?", "stream": True})
        assert "event: done" in streamed.text
        chat = {"model": "citeline", "messages": [{"role": "user", "content": "What is BYD?"}]}
        assert client.post("/v1/chat/completions", json=chat).status_code == 200
    metrics = app.state.metrics

    def count(stage: str) -> float:
        value = metrics.registry.get_sample_value(
            "citeline_stage_duration_seconds_count", {"stage": stage}
        )
        return value or 0.0

    # Searches are untimed by stage; JSON, streamed and chat answers each count once.
    assert (count("embed"), count("retrieve"), count("generate")) == (3.0, 3.0, 3.0)
    assert app.state.pipeline is pipeline  # the app never wraps or modifies a given pipeline


# ---- end to end: the real app on real uvicorn ----


@pytest.mark.slow
def test_real_app_logs_json_with_request_ids_and_serves_metrics(
    seed_embedder: Any, seed_store: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from indexer.kernel.settings import Settings
    from service.answering.extractive import ExtractiveAnswerer
    from service.http.app import create_app
    from service.pipeline import Pipeline
    from tests.browser import serve

    answerer = ExtractiveAnswerer(seed_embedder)
    pipeline = Pipeline(Settings(), seed_embedder, seed_store, answerer)  # dense retrieval
    with serve(create_app(Settings(), pipeline), ready_path="/healthz") as base:
        capsys.readouterr()
        ask = httpx.post(f"{base}/v1/ask", json={"question": "What does Haier make?"},
                         headers={"X-Request-ID": "trace-abc.123"}, timeout=30)  # fmt: skip
        bad = httpx.post(f"{base}/v1/ask", json={"question": ""}, timeout=30)
        streamed = httpx.post(f"{base}/v1/ask", json={"question": "BYD?", "stream": True})
        metrics = httpx.get(f"{base}/metrics").text
    assert ask.headers["x-request-id"] == "trace-abc.123"
    assert bad.status_code == 422 and len(bad.headers["x-request-id"]) == 32
    assert streamed.status_code == 200
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = {e["request_id"]: e for e in lines if e["logger"] == "citeline.access"}
    assert access["trace-abc.123"]["status"] == 200
    assert access[bad.headers["x-request-id"]]["status"] == 422
    assert all(isinstance(e["request_id"], str) and e["request_id"] for e in lines)
    assert 'citeline_http_requests_total{method="POST",route="/v1/ask",status="422"} 1.0' in metrics
    assert 'citeline_errors_total{code="invalid_request"} 1.0' in metrics
    for stage in ("embed", "retrieve", "generate"):  # JSON and streamed answers both count
        assert f'citeline_stage_duration_seconds_count{{stage="{stage}"}} 2.0' in metrics
    chunks = sum(1 for _ in seed_store.iter_chunks())
    assert f"citeline_index_chunks {float(chunks)}" in metrics
