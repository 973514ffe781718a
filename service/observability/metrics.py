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
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # the last: uvicorn's ANSI copy of msg
}
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


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (test runners swap it), not the one at setup."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _: IO[str]) -> None:
        return None


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route the root logger (and uvicorn's) to one JSON handler. Idempotent."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_citeline", False)]:
        root.removeHandler(old)
    handler: logging.StreamHandler[Any] = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.setFormatter(JsonFormatter())
    handler.setLevel(level.upper())  # also for libraries that set their own loggers' levels
    handler._citeline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # Our own access line carries the request id and route; uvicorn's would duplicate it without.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for chatty in ("httpx", "httpcore", "chromadb", "urllib3"):  # a line per outbound call
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
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


class InstrumentedPipeline:
    """The app's pipeline, feeding each answer's stage timings (embed, retrieve, generate) to
    `metrics`, JSON and streamed alike. A proxy, so a pipeline shared between apps (tests) is
    never modified; everything else is the wrapped pipeline's."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        answer = self._inner.ask(*args, **kwargs)
        self._metrics.observe_timings(answer.timings_ms)
        return answer

    def stream_ask(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        events = self._inner.stream_ask(*args, **kwargs)  # validation errors raise here, now

        def relay() -> Iterator[Any]:
            try:
                for event in events:
                    self._metrics.observe_timings(getattr(event, "timings_ms", None) or {})
                    yield event
            finally:  # closing us must close the pipeline's generator (it holds the LLM stream)
                getattr(events, "close", lambda: None)()

        return relay()


def install_observability(app: FastAPI, settings: Any) -> Metrics:
    """JSON logs, `/metrics`, stage timings, and the request-id middleware (added outermost:
    call this after every other middleware, so even a refused request gets an id and a count)."""
    configure_logging(settings.log_level)
    metrics = Metrics(index_stats=lambda: _index_stats(app))
    app.state.metrics = metrics
    if app.state.pipeline is not None:
        app.state.pipeline = InstrumentedPipeline(app.state.pipeline, metrics)
    build = app.state.build_pipeline
    app.state.build_pipeline = lambda s: InstrumentedPipeline(build(s), metrics)
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
