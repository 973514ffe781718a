"""Who may call what: the auth policy (API keys, widget tokens, open paths) and its middleware.

Keys are checked by `api_keys.KeyRing` (hashed, constant time); widget tokens by
`widget_tokens.widget_verifier`. The middleware answers 401/403 with the one JSON error body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from indexer.kernel.errors import CitelineError, ConfigError, ForbiddenError, UnauthorizedError
from indexer.kernel.settings import Settings
from service.http.cors import request_origin
from service.http.errors import send_json_error
from service.http.ratelimit import RateLimitMiddleware, TokenBucketLimiter
from service.security.api_keys import KeyRing
from service.security.widget_tokens import widget_verifier

# (token, page origin) -> a subject such as the origin, or None when the token is not valid.
# Requests a caller may make at once before `rate_limit_per_minute` paces it.
RATE_LIMIT_BURST = 20

WidgetVerifier = Callable[[str, str], str | None]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (by hash prefix, never the key), a widget origin, an address."""

    kind: Literal["key", "widget", "anonymous"]
    id: str


def _credential(headers: Headers) -> str | None:
    if key := headers.get("x-api-key"):
        return key.strip()
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


@dataclass
class AuthPolicy:
    """Which paths need what. Paths match exactly or, for entries ending in `*`, by prefix."""

    enabled: bool
    keys: KeyRing
    open_paths: Sequence[str] = ("/healthz",)
    widget_paths: Sequence[str] = ()
    widget_verifier: WidgetVerifier | None = None
    origin_of: Callable[[Scope], str] = field(default=lambda scope: "")

    def __post_init__(self) -> None:
        if self.enabled and not self.keys:
            raise ConfigError("auth_enabled is set but api_key_hashes is empty: nobody could call")

    @staticmethod
    def _matches(path: str, patterns: Sequence[str]) -> bool:
        return any(path == p or (p.endswith("*") and path.startswith(p[:-1])) for p in patterns)

    def authenticate(self, scope: Scope) -> Principal:
        """The caller, or UnauthorizedError (401: no/bad credential) / ForbiddenError (403)."""
        path = str(scope.get("path", ""))
        client = scope.get("client") or ("unknown", 0)
        anonymous = Principal("anonymous", f"ip:{client[0]}")
        if not self.enabled:
            return anonymous
        credential = _credential(Headers(scope=scope))
        if self._matches(path, self.open_paths):
            # Open, but a key still says who calls (the widget token route mints for keys).
            key_id = self.keys.match(credential) if credential else None
            return Principal("key", key_id) if key_id is not None else anonymous
        if not credential:
            raise UnauthorizedError("an API key is required: send `Authorization: Bearer <key>`")
        if (key_id := self.keys.match(credential)) is not None:
            return Principal("key", key_id)
        subject = (
            self.widget_verifier(credential, self.origin_of(scope))
            if self.widget_verifier
            else None
        )
        if subject is None:
            raise UnauthorizedError("the API key or widget token is not valid")
        if not self._matches(path, self.widget_paths):
            raise ForbiddenError("widget tokens may only call the ask and chat routes")
        # Keyed on the real client address only: the origin is whatever the token holder chose
        # when minting, so it must not open a fresh rate-limit bucket.
        return Principal("widget", f"widget:{anonymous.id}")


def policy_from_settings(
    settings: Settings, open_paths: Sequence[str], widget_paths: Sequence[str]
) -> AuthPolicy:
    """Keys from `api_key_hashes`; widget tokens (`widget_tokens`) on `widget_paths`."""
    return AuthPolicy(
        enabled=settings.auth_enabled,
        keys=KeyRing(settings.api_key_hashes),
        open_paths=open_paths,
        widget_paths=widget_paths,
        widget_verifier=widget_verifier(settings),
        origin_of=lambda scope: request_origin(Request(scope)),
    )


class AuthMiddleware:
    """Pure ASGI: authenticates each HTTP request; leaves the `Principal` in `scope["state"]`."""

    def __init__(self, app: ASGIApp, policy: AuthPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            principal = self.policy.authenticate(scope)
        except CitelineError as exc:
            extra = [(b"www-authenticate", b"Bearer")] if exc.status == 401 else []
            await send_json_error(send, exc.status, exc.code, exc.message, extra, scope)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


# Open with auth on: liveness/readiness for balancers, and what a page needs to load the widget.
# The token route is open to reach, but mints only for a key, an SSO proxy or (when configured)
# anyone: service/security/widget_access.py. Widget tokens are good for asking, chatting and
# opening a cited document (the widget's "open in document").
OPEN_PATHS = ("/healthz", "/readyz", "/", "/widget.js", "/favicon.ico", "/v1/widget/token")
WIDGET_PATHS = ("/v1/ask", "/v1/chat/completions", "/v1/documents/*")


def install_access_control(app: FastAPI, settings: Settings) -> None:
    """Auth, then the rate limit keyed on who auth found. Call before CORS is installed, so
    preflights and CORS headers (on 401/429 too) come from the layer outside this one."""
    if settings.rate_limit_per_minute > 0:
        limiter = TokenBucketLimiter(settings.rate_limit_per_minute, RATE_LIMIT_BURST)
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
    policy = policy_from_settings(settings, OPEN_PATHS, WIDGET_PATHS)
    app.add_middleware(AuthMiddleware, policy=policy)
