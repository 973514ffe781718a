"""Structured JSON logs carrying a request id.

Every log line written while a request is being served carries its `request_id` (a contextvar set by
`ObservabilityMiddleware` in `metrics.py`, which copies into threadpool routes). The id comes from a
sane incoming `X-Request-ID` (so a proxy's id follows the request through) or is made here, and is
returned in the response header.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import IO, Any

request_id_var: ContextVar[str] = ContextVar("citeline_request_id", default="-")

# Letters, digits and `._:-`, at most 64: nothing that could forge a log line or a header.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # the last: uvicorn's ANSI copy of msg
}


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
