"""Structured JSON logs carrying a request id, and Prometheus metrics.

Every log line written while a request is being served carries its `request_id` (a contextvar set by
`ObservabilityMiddleware`, which copies into threadpool routes). The id comes from a sane incoming
`X-Request-ID` (so a proxy's id follows the request through) or is made here, and is returned in the
response header. Metrics live in a registry per app, so tests can build many apps in one process.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import IO, Any

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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("citeline_request_id", default="-")

# Letters, digits and `._:-`, at most 64: nothing that could forge a log line or a header.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
log = logging.getLogger("citeline.access")


def accept_request_id(incoming: str | None) -> str:
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


JsonFormatter.converter = time.gmtime


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route the root logger (and uvicorn's) to one JSON handler. Idempotent."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_citeline", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._citeline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # Our own access line carries the request id and route; uvicorn's would duplicate it without.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return handler


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


def instrument_pipeline(pipeline: Any, metrics: Metrics) -> None:
    """Feed stage timings to `metrics`: embed/retrieve from every retrieval (ask and search),
    generate from every answer (JSON or streamed). Wraps the instance's methods in place."""
    retrieve, ask, stream_ask = pipeline.retriever.retrieve, pipeline.ask, pipeline.stream_ask
    if getattr(ask, "_instrumented", False):
        return

    def timed_retrieve(*args: Any, **kwargs: Any) -> Any:
        result = retrieve(*args, **kwargs)
        metrics.observe_timings(result.timings_ms)
        return result

    def timed_ask(*args: Any, **kwargs: Any) -> Any:
        answer = ask(*args, **kwargs)
        metrics.observe_timings({"generate": answer.timings_ms.get("generate", 0.0)})
        return answer

    def timed_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
        events = stream_ask(*args, **kwargs)  # validation errors raise here, before any event

        def relay() -> Iterator[Any]:
            try:
                for event in events:
                    if "generate" in (getattr(event, "timings_ms", None) or {}):
                        metrics.observe_timings({"generate": event.timings_ms["generate"]})
                    yield event
            finally:  # closing us must close the pipeline's generator (it holds the LLM stream)
                getattr(events, "close", lambda: None)()

        return relay()

    timed_ask._instrumented = True  # type: ignore[attr-defined]
    pipeline.retriever.retrieve = timed_retrieve
    pipeline.ask, pipeline.stream_ask = timed_ask, timed_stream


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
