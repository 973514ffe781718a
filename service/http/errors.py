"""One JSON error shape for every failure: `{"error": {"code", "message"[, "details"]}}`.

`error_body` is the one writer of that shape: the exception handlers return it as a response,
pure ASGI middleware (auth, rate limit, body limit, origin guard) send it with `send_json_error`.

`CitelineError` -> its own status; request validation (including malformed JSON) -> 422 with the
pydantic details minus the offending input (it may be huge or secret); Starlette's HTTP errors
(404, 405, 413 from the body reader) keep their status; anything else -> 500 with no traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from indexer.kernel.errors import CitelineError

log = logging.getLogger(__name__)


# The OpenAI-compatible route answers every error in OpenAI's shape, which holds ours (`code`,
# `message`) plus `type` and `param`: the official client reads it, our clients still can.
OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/models"})
RETRY_AFTER_S = 5


def error_body(
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    *,
    openai: bool = False,
    status: int = 400,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if openai:
        kind = "invalid_request_error" if status < 500 else "server_error"
        error.update(type=kind, param=None)
    if details is not None:
        error["details"] = details
    return {"error": error}


def _is_openai(scope: Any) -> bool:
    return bool(scope) and scope.get("path") in OPENAI_PATHS


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    *,
    scope: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = error_body(code, message, details, openai=_is_openai(scope), status=status)
    return JSONResponse(body, status_code=status, headers=headers)


def public_message(exc: CitelineError) -> str:
    """What a client is told. A dependency outage (503 other than "no index yet") says nothing
    of URLs, paths or errno: those go to the log."""
    if exc.status == 503 and exc.code not in ("index_not_ready", "llm_busy"):
        log.warning("%s: %s", exc.code, exc.message)
        return "a backing service is temporarily unavailable; retry shortly (details in the log)"
    return exc.message


async def send_json_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
    scope: Any = None,
) -> None:
    """The error body straight from pure ASGI middleware, before any route (or handler) runs."""
    payload = error_body(code, message, openai=_is_openai(scope), status=status)
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", "")),
         "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]  # fmt: skip


async def _citeline(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CitelineError)
    retry = {"Retry-After": str(RETRY_AFTER_S)} if exc.status == 503 else None
    return error_response(exc.status, exc.code, public_message(exc), scope=request.scope,
                          headers=retry)  # fmt: skip


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(422, "invalid_json", "the request body is not valid JSON", details,
                              scope=request.scope)  # fmt: skip
    return error_response(422, "invalid_request", "the request is not valid", details,
                          scope=request.scope)  # fmt: skip


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    return error_response(exc.status_code, code, str(exc.detail), scope=request.scope)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; see the server log",
                          scope=request.scope)  # fmt: skip


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CitelineError, _citeline)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
