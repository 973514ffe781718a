"""Who is really calling, and under which name: trusted proxy headers and the Host allowlist.

`ClientAddressMiddleware` (outermost): the TCP peer is kept in `scope["state"]["peer"]`; only when
that peer is one of `settings.trusted_proxies` are `X-Forwarded-For` / `X-Forwarded-Proto` believed
(uvicorn's own `ProxyHeadersMiddleware` does the parsing), so a client cannot pick its own address
for the rate limit by sending a header. `citeline serve` turns uvicorn's built-in copy off (it
trusts 127.0.0.1 by default) so this is the one place that decides.

`HostGuard`: a request whose `Host` is not on `settings.allowed_hosts` gets 400 `invalid_host`
before anything else runs. That defeats DNS rebinding (a hostile page whose name now resolves to
127.0.0.1 sends its own name as Host) and stops a client from choosing "our" origin freely.
Probes stay open: balancers send an address, and they reveal nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import cast

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service.http.errors import send_json_error

PROBE_PATHS = ("/healthz", "/readyz")


def peer_of(scope: Scope) -> str:
    """The TCP peer's address (before proxy headers), or the client address when not recorded."""
    state = scope.get("state") or {}
    if "peer" in state:
        return str(state["peer"])
    client = scope.get("client") or ("unknown", 0)
    return str(client[0])


def address_in(address: str, networks: Sequence[str]) -> bool:
    """Whether `address` is one of `networks` (addresses or CIDR blocks; `*` = any)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "*" in networks
    for entry in networks:
        if entry == "*":
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[str]) -> None:
        self.app = app
        self.inner: ASGIApp = app
        if trusted_proxies:
            proxied = ProxyHeadersMiddleware(app, trusted_hosts=list(trusted_proxies))  # type: ignore[arg-type]
            self.inner = cast(ASGIApp, proxied)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client") or ("unknown", 0)
            scope.setdefault("state", {})["peer"] = str(client[0])
        await self.inner(scope, receive, send)


def host_allowed(host_header: str, allowed: Sequence[str]) -> bool:
    """`host[:port]` against the allowlist: exact names, `*.suffix`, or `*` for any."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8000
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    for pattern in (p.strip().lower() for p in allowed):
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class HostGuard:
    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed = list(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in PROBE_PATHS:
            host = Headers(scope=scope).get("host", "")
            if not host_allowed(host, self.allowed):
                message = "this host name is not served here (settings.allowed_hosts)"
                await send_json_error(send, 400, "invalid_host", message, scope=scope)
                return
        await self.app(scope, receive, send)
