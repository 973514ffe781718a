"""Short-lived, origin-bound HMAC tokens for the browser widget.

An intranet page must never hold a long-lived API key (anyone can read a page's source). When auth
is on, the widget asks `GET /v1/widget/token` for a token that is valid for a few minutes and only
for the origin that asked; the auth layer accepts it in place of an API key via
`verify_widget_token`. Format: `cwt1.<payload b64url>.<sig b64url>`, payload = `{"o": origin,
"exp": unix seconds}`, sig = HMAC-SHA256(secret, "cwt1." + payload b64url).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from indexer.kernel.errors import WidgetTokenError
from indexer.kernel.settings import Settings

PREFIX = "cwt1"
WIDGET_TOKEN_TTL_S = 300  # a page fetches a fresh token when its token expires

# Used when no secret is configured: tokens then survive only as long as this process, which is
# right for one replica; several replicas behind a balancer must share `widget_token_secret`.
_process_secret: bytes | None = None


@dataclass(frozen=True)
class WidgetToken:
    token: str
    origin: str
    expires_at: int


def _secret(settings: Settings) -> bytes:
    global _process_secret
    if settings.widget_token_secret is not None:
        return settings.widget_token_secret.get_secret_value().encode()
    if _process_secret is None:
        _process_secret = secrets.token_bytes(32)
    return _process_secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(body: str, settings: Settings) -> str:
    return _b64(hmac.new(_secret(settings), f"{PREFIX}.{body}".encode(), hashlib.sha256).digest())


def is_widget_token(value: str) -> bool:
    """Cheap shape check so the auth layer can tell widget tokens from API keys."""
    return value.startswith(PREFIX + ".") and value.count(".") == 2


def mint_widget_token(origin: str, settings: Settings, now: float | None = None) -> WidgetToken:
    """A token for `origin` (e.g. `https://intranet.example`) valid for `WIDGET_TOKEN_TTL_S`."""
    issued = int(time.time() if now is None else now)
    expires = issued + WIDGET_TOKEN_TTL_S
    payload = json.dumps({"o": origin, "exp": expires}, separators=(",", ":"), sort_keys=True)
    body = _b64(payload.encode())
    return WidgetToken(
        token=f"{PREFIX}.{body}.{_sign(body, settings)}", origin=origin, expires_at=expires
    )


def verify_widget_token(
    token: str, origin: str, settings: Settings, now: float | None = None
) -> WidgetToken:
    """The claims if genuine, unexpired and bound to `origin`; else WidgetTokenError."""
    if not is_widget_token(token):
        raise WidgetTokenError("not a widget token")
    _, body, sig = token.split(".")
    if not hmac.compare_digest(sig, _sign(body, settings)):
        raise WidgetTokenError("widget token signature is invalid")
    try:
        claims = json.loads(_unb64(body))
        bound, expires = str(claims["o"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise WidgetTokenError("widget token payload is malformed") from exc
    if expires <= int(time.time() if now is None else now):
        raise WidgetTokenError("widget token has expired")
    # Bound to the page's origin: a token copied to another site (or to curl) is useless there.
    if not hmac.compare_digest(bound, origin):
        raise WidgetTokenError("widget token was issued to another origin")
    return WidgetToken(token=token, origin=bound, expires_at=expires)


def widget_verifier(settings: Settings) -> Callable[[str, str], str | None]:
    """For `service.security.auth.AuthPolicy.widget_verifier`: (token, origin) -> origin | None."""

    def verify(token: str, origin: str) -> str | None:
        try:
            return verify_widget_token(token, origin, settings).origin
        except WidgetTokenError:
            return None

    return verify
