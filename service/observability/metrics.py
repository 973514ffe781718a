"""Prometheus metrics, and the outermost middleware: request id, access log line, request metrics.

Metrics live in a registry per app, so tests can build many apps in one process. Stage timings come
from the answers themselves (`timings_ms`): the routes hand them to `record_timings`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.logging import accept_request_id, configure_logging, request_id_var

log = logging.getLogger("citeline.access")


class _IndexCollector(Collector):
    """Index size, read at scrape time; a store that is down yields no sample, not an error."""

    def __init__(self, stats: Callable[[], tuple[int, int] | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self._stats()
        except Exception:  # the store may be unreachable; /metrics must still answer
            stats = None
        if stats is not None:
            yield GaugeMetricFamily("citeline_index_chunks", "live chunks in the index", stats[0])
            yield GaugeMetricFamily("citeline_index_files", "files in the manifest", stats[1])


class Metrics:
    """The app's Prometheus registry and instruments."""

    STAGES = ("embed", "retrieve", "generate")

    def __init__(self, index_stats: Callable[[], tuple[int, int] | None] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "citeline_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "citeline_http_request_duration_seconds", "request latency", ["method", "route"],
            registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )  # fmt: skip
        self.errors = Counter("citeline_errors", "error responses by code", ["code"], registry=r)
        self.inflight = Gauge("citeline_http_inflight_requests", "requests in flight", registry=r)
        self.stage = Histogram(
            "citeline_stage_duration_seconds", "time per pipeline stage", ["stage"], registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )  # fmt: skip
        if index_stats is not None:
            r.register(_IndexCollector(index_stats))

    def observe_timings(self, timings_ms: Mapping[str, float]) -> None:
        """Record an answer's `timings_ms`; keys outside the known stages are ignored."""
        for stage, ms in timings_ms.items():
            if stage in self.STAGES:
                self.stage.labels(stage).observe(ms / 1000.0)


def record_timings(conn: HTTPConnection, timings_ms: Mapping[str, float]) -> None:
    """Feed one answer's (or one streamed `FinalEvent`'s) stage timings to the app's metrics."""
    metrics: Metrics | None = getattr(conn.app.state, "metrics", None)
    if metrics is not None:
        metrics.observe_timings(timings_ms)


def install_observability(app: FastAPI, settings: Any) -> Metrics:
    """JSON logs, `/metrics` (stage timings arrive through `record_timings`), and the request-id
    middleware (added outermost: call this after every other middleware, so even a refused request
    gets an id and a count)."""
    configure_logging(settings.log_level)
    metrics = Metrics(index_stats=lambda: _index_stats(app))
    app.state.metrics = metrics
    add_metrics_route(app, metrics)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return metrics


def _index_stats(app: FastAPI) -> tuple[int, int] | None:
    pipeline = getattr(app.state, "pipeline", None)
    manifest = pipeline.store.manifest() if pipeline is not None else None
    if manifest is None:
        return None
    return sum(f.chunks for f in manifest.files.values()), len(manifest.files)


def add_metrics_route(app: FastAPI, metrics: Metrics, path: str = "/metrics") -> None:
    """`GET /metrics` in the Prometheus text format (behind the API key when auth is on)."""

    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(path, metrics_endpoint, methods=["GET"], include_in_schema=False)


def _error_code(status: int, body: bytes) -> str:
    try:
        code = json.loads(body)["error"]["code"]
        return str(code)[:64] if isinstance(code, str) else f"http_{status}"
    except (ValueError, KeyError, TypeError):
        return f"http_{status}"


class ObservabilityMiddleware:
    """Outermost pure ASGI middleware: request id, one access log line, request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = accept_request_id(Headers(scope=scope).get("x-request-id"))
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status, error_body = 500, b""

        async def send_with_id(message: Message) -> None:
            nonlocal status, error_body
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            elif message["type"] == "http.response.body" and status >= 400 and not error_body:
                error_body = bytes(message.get("body", b""))[:4096]
            await send(message)

        self.metrics.inflight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.inflight.dec()
            self._record(scope, status, error_body, time.perf_counter() - start)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, error_body: bytes, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = str(scope.get("method", "?"))
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        if status >= 400:
            self.metrics.errors.labels(_error_code(status, error_body)).inc()
        principal = scope.get("state", {}).get("principal")
        log.info(
            "%s %s %d",
            method,
            scope.get("path", ""),
            status,
            extra={
                "method": method,
                "path": scope.get("path", ""),
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "caller": getattr(principal, "id", None),
            },
        )
