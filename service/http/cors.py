"""Browser origin policy: same origin always, other origins only from `settings.cors_origins`.

Starlette's CORSMiddleware only withholds the CORS response headers, so a disallowed page's request
still runs on the server (its answer merely can't be read). `OriginGuard` refuses such requests
outright with 403 before any route runs; allowed ones then get their CORS headers from
CORSMiddleware. Requests without an `Origin` header (curl, SDKs, same-origin GETs) pass untouched.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from indexer.kernel.settings import Settings
from service.http.errors import send_json_error


def own_origin(scope: Scope) -> str:
    """`scheme://host[:port]` this request was addressed to (what the browser calls same origin)."""
    headers = Headers(scope=scope)
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    return f"{scheme}://{host}"


def request_origin(request: Request) -> str:
    """The page origin behind a request: its Origin header, else (same-origin GET) our own."""
    return request.headers.get("origin") or own_origin(request.scope)


def origin_allowed(origin: str, scope: Scope, allowlist: list[str]) -> bool:
    return origin == own_origin(scope) or origin in allowlist or "*" in allowlist


class OriginGuard:
    """Pure ASGI middleware: 403 for a cross-origin request from an origin not on the allowlist."""

    def __init__(self, app: ASGIApp, allowlist: list[str]) -> None:
        self.app = app
        self.allowlist = [o.rstrip("/") for o in allowlist]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if origin is not None and not origin_allowed(origin, scope, self.allowlist):
                await self._refuse(origin, send, scope)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(origin: str, send: Send, scope: Scope) -> None:
        message = f"origin {origin!r} is not allowed (settings.cors_origins)"
        await send_json_error(send, 403, "origin_not_allowed", message, scope=scope)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Add CORS headers for allowlisted origins and refuse every other cross-origin request."""
    allowlist = [o.rstrip("/") for o in settings.cors_origins]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowlist,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Accept"],
        max_age=600,
    )
    # Added last = outermost: the refusal happens before CORSMiddleware or any route sees it.
    app.add_middleware(OriginGuard, allowlist=allowlist)
