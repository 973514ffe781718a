"""Request size limits, enforced before any route runs.

The body limit is enforced before any route runs: a declared `Content-Length` over the limit is
refused without reading a byte; a chunked body is read up to the limit and refused as soon as it
passes it. The bounded body is then replayed to the app, so routes never see a partial body.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import send_json_error

# Larger request bodies get 413; a question is at most a few KB of JSON.
MAX_BODY_BYTES = 64_000


class BodyLimitMiddleware:
    """Pure ASGI: 413 for request bodies over `max_bytes`, 400 for a nonsense Content-Length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await send_json_error(
                    send, 400, "bad_request", "Content-Length is not a number", scope=scope
                )
                return
            if int(declared) > self.max_bytes:
                await self._too_large(send, scope)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away before sending it all
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send, scope)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send, scope: Scope) -> None:
        message = f"request body is over {self.max_bytes} bytes"
        await send_json_error(send, 413, "payload_too_large", message, scope=scope)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The whole body first, then the real channel (so SSE routes still see the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
