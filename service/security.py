"""API keys: how they are made, stored (hashed only) and checked (constant time), and the guard.

Why plain SHA-256 and not scrypt/argon2: our keys are 256-bit random tokens (`generate_key`), not
passwords, so a leaked hash cannot be brute-forced whatever the hash speed; a slow KDF would only
let any anonymous client burn ~50 ms of our 2 CPUs per guess. A pepper would add nothing for the
same reason. `hash_key` refuses short keys so a human-chosen password never becomes a key.

Make a key:  `python -m service.security new`   (prints the key once, and the hash to configure)
Hash a key:  `python -m service.security hash`  (reads the key from stdin, not from argv/history)
Configure:   `CITELINE_AUTH_ENABLED=1 CITELINE_API_KEY_HASHES=sha256:<hex>[,sha256:<hex>...]`
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from indexer.errors import CitelineError, ConfigError
from indexer.settings import Settings
from service.cors import request_origin
from service.limits import send_json_error
from service.ratelimit import RateLimitMiddleware, TokenBucketLimiter
from service.widget_tokens import WidgetTokenError, is_widget_token, verify_widget_token

KEY_PREFIX = "cl_"
MIN_KEY_CHARS = 32
_SCHEME = "sha256:"

# (token, page origin) -> a subject such as the origin, or None when the token is not valid.
WidgetVerifier = Callable[[str, str], str | None]


class UnauthorizedError(CitelineError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(CitelineError):
    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (by hash prefix, never the key), a widget origin, an address."""

    kind: Literal["key", "widget", "anonymous"]
    id: str


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"API keys must be at least {MIN_KEY_CHARS} characters (use `new`)")
    return _SCHEME + hashlib.sha256(key.encode()).hexdigest()


def _parse_hash(stored: str) -> bytes:
    hex_part = stored.strip().removeprefix(_SCHEME)
    try:
        digest = bytes.fromhex(hex_part)
    except ValueError as exc:
        raise ConfigError(f"api_key_hashes: {stored[:12]!r}... is not sha256:<hex>") from exc
    if len(digest) != 32:
        raise ConfigError(f"api_key_hashes: {stored[:12]!r}... is not a sha256 digest")
    return digest


class KeyRing:
    """The configured key hashes. `match` costs the same whichever entry (if any) matches."""

    def __init__(self, hashes: Sequence[str]) -> None:
        self._digests = [_parse_hash(h) for h in hashes if h.strip()]

    def __len__(self) -> int:
        return len(self._digests)

    def match(self, key: str) -> str | None:
        """A stable, non-secret id for the key (hash prefix), or None."""
        presented = hashlib.sha256(key.encode("utf-8", "replace")).digest()
        found: bytes | None = None
        for digest in self._digests:  # no early exit: timing says nothing about which entry
            if hmac.compare_digest(digest, presented):
                found = digest
        return None if found is None else "key:" + found.hex()[:12]


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
        if not self.enabled or self._matches(path, self.open_paths):
            return anonymous
        credential = _credential(Headers(scope=scope))
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
        # Per page origin *and* address: every visitor of one intranet page shares the origin.
        return Principal("widget", f"widget:{subject}|{anonymous.id}")


def policy_from_settings(
    settings: Settings, open_paths: Sequence[str], widget_paths: Sequence[str]
) -> AuthPolicy:
    """Keys from `api_key_hashes`; widget tokens (`service.widget_tokens`) on `widget_paths`."""

    def verify(token: str, origin: str) -> str | None:
        if not is_widget_token(token):
            return None
        try:
            return verify_widget_token(token, origin, settings).origin
        except WidgetTokenError:
            return None

    return AuthPolicy(
        enabled=settings.auth_enabled,
        keys=KeyRing(settings.api_key_hashes),
        open_paths=open_paths,
        widget_paths=widget_paths,
        widget_verifier=verify,
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
            extra = [(b"www-authenticate", b"Bearer")] if exc.status_code == 401 else []
            await send_json_error(send, exc.status_code, exc.code, exc.message, extra)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


# Open with auth on: liveness/readiness for balancers, and what a page needs to load the widget
# and get its token. Widget tokens are good for asking, chatting and opening a cited document.
OPEN_PATHS = ("/healthz", "/readyz", "/", "/widget.js", "/v1/widget/token")
WIDGET_PATHS = ("/v1/ask", "/v1/chat/completions", "/v1/documents/*")


def install_access_control(app: FastAPI, settings: Settings) -> None:
    """Auth, then the rate limit keyed on who auth found. Call before CORS is installed, so
    preflights and CORS headers (on 401/429 too) come from the layer outside this one."""
    if settings.rate_limit_per_minute > 0:
        limiter = TokenBucketLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
    policy = policy_from_settings(settings, OPEN_PATHS, WIDGET_PATHS)
    app.add_middleware(AuthMiddleware, policy=policy)


def get_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller the middleware authenticated (anonymous when auth is off)."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        return principal
    host = request.client.host if request.client else "unknown"
    return Principal("anonymous", f"ip:{host}")


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["new"]:
        key = generate_key()
        print(f"key:  {key}\nhash: {hash_key(key)}")
        return 0
    if argv[:1] == ["hash"]:
        try:
            print(hash_key(sys.stdin.readline().strip()))
        except ConfigError as exc:
            print(exc.message, file=sys.stderr)
            return 2
        return 0
    print("usage: python -m service.security new | hash  (key on stdin)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
