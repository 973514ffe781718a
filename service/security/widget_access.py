"""Who may get a widget token, and what a widget token may ask for.

With auth on, `GET /v1/widget/token` mints only for:

1. **an API key** (server-to-server): the backend of the page that embeds the widget calls
   `GET /v1/widget/token?origin=https://intranet.example` with its key and hands the token to its
   page. The origin must be one the browser policy allows (`cors_origins`, or our own).
2. **a trusted SSO proxy**: the request's TCP peer is in `trusted_proxies` and carries
   `trusted_user_header` (the proxy has signed the user in). The token is bound to the page origin.
3. **anyone**, only when `widget_anonymous` is set: anyone who can reach the service can ask.

Anything else is 401. With auth off no token is minted (there is nothing to protect).
A widget token asks with `top_k` at most `WIDGET_MAX_TOP_K`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import Scope

from indexer.kernel.errors import ForbiddenError, UnauthorizedError
from indexer.kernel.settings import Settings
from service.http.cors import origin_allowed, own_origin
from service.http.proxies import address_in, peer_of

WIDGET_MAX_TOP_K = 5


@dataclass(frozen=True)
class MintGrant:
    origin: str
    via: str  # "key" | "sso" | "anonymous"


def principal_of(scope: Scope) -> object | None:
    return (scope.get("state") or {}).get("principal")


def grant_widget_token(scope: Scope, settings: Settings, requested_origin: str | None) -> MintGrant:
    """Why this request may have a token, and for which origin; else Unauthorized/Forbidden."""
    headers = Headers(scope=scope)
    page_origin = headers.get("origin") or own_origin(scope)
    allowlist = [o.rstrip("/") for o in settings.cors_origins]
    principal = principal_of(scope)
    if getattr(principal, "kind", None) == "key":
        origin = (requested_origin or page_origin).rstrip("/")
        if not origin_allowed(origin, scope, allowlist):
            raise ForbiddenError("that origin is not allowed (settings.cors_origins)")
        return MintGrant(origin, "key")
    header = settings.trusted_user_header
    if header and headers.get(header) and address_in(peer_of(scope), settings.trusted_proxies):
        return MintGrant(page_origin, "sso")
    if settings.widget_anonymous:
        return MintGrant(page_origin, "anonymous")
    raise UnauthorizedError(
        "a widget token is issued to the embedding page's backend (API key), to a trusted SSO "
        "proxy, or to anyone only when CITELINE_WIDGET_ANONYMOUS is set"
    )


def capped_top_k(scope: Scope, top_k: int | None, settings: Settings) -> int | None:
    """A widget token's `top_k` is clamped to `WIDGET_MAX_TOP_K`; keys keep the normal bounds."""
    if getattr(principal_of(scope), "kind", None) != "widget":
        return top_k
    return min(settings.top_k if top_k is None else top_k, WIDGET_MAX_TOP_K)
