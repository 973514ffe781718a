"""Per-caller rate limiting: a token bucket per API key (or per client address when auth is off).

In-process on purpose: one replica needs no Redis. Several replicas each enforce the limit
separately, so the effective limit is `replicas x rate_limit_per_minute` (docs/operations.md).
The bucket table is bounded; when full, the least recently seen caller's bucket is dropped (it
would have refilled anyway unless it was busy, and a busy one is recent, so it stays).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from service.http.errors import send_json_error


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """`per_minute` sustained, up to `burst` at once. `check` says 0.0 (go) or seconds to wait."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_callers: int = 10_000,
    ) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_callers = max_callers
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, caller: str) -> float:
        with self._lock:
            now = self._clock()
            bucket = self._buckets.pop(caller, None) or _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets[caller] = bucket  # re-inserted last = most recently seen
            while len(self._buckets) > self._max_callers:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def caller_id(scope: Scope) -> str:
    """The authenticated principal's id, else the client address."""
    principal = scope.get("state", {}).get("principal")  # a service.security.auth.Principal
    if principal is not None:
        return str(principal.id)
    client = scope.get("client") or ("unknown", 0)
    return f"ip:{client[0]}"


class RateLimitMiddleware:
    """Pure ASGI, placed inside the auth middleware so it can key on the principal."""

    def __init__(
        self, app: ASGIApp, limiter: TokenBucketLimiter, exempt_paths: Sequence[str] = ("/healthz",)
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in self.exempt_paths:
            wait = self.limiter.check(caller_id(scope))
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                await send_json_error(
                    send,
                    429,
                    "rate_limited",
                    f"too many requests; retry in {retry_after} s",
                    [(b"retry-after", str(retry_after).encode())],
                    scope,
                )
                return
        await self.app(scope, receive, send)
