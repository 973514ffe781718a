"""Token buckets per caller (fake clock, no sleeping), and the 429 + Retry-After middleware."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from indexer.kernel.settings import Settings
from service.http.ratelimit import RateLimitMiddleware, TokenBucketLimiter
from service.security.api_keys import generate_key, hash_key
from service.security.auth import AuthMiddleware, policy_from_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_with_the_time_to_the_next_token() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.check("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a") == pytest.approx(1.0)  # 60/min = one token a second
    clock.now += 0.5
    assert limiter.check("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.check("a") == 0.0


def test_refill_never_exceeds_the_burst() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=2, clock=clock)
    clock.now += 3600
    assert [limiter.check("a") > 0 for _ in range(3)] == [False, False, True]


def test_callers_have_separate_buckets() -> None:
    limiter = TokenBucketLimiter(per_minute=1, burst=1, clock=FakeClock())
    assert limiter.check("a") == 0.0
    assert limiter.check("a") > 0
    assert limiter.check("b") == 0.0


def test_the_bucket_table_is_bounded_and_drops_the_least_recent() -> None:
    limiter = TokenBucketLimiter(per_minute=1, burst=1, clock=FakeClock(), max_callers=3)
    for caller in ("a", "b", "c"):
        limiter.check(caller)
    limiter.check("a")  # a is now the most recent; b the least
    limiter.check("d")
    assert len(limiter) == 3
    assert limiter.check("a") > 0  # kept: still limited
    assert limiter.check("b") == 0.0  # dropped, so it starts afresh


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 1), (1, 0)])
def test_nonpositive_limits_are_refused(per_minute: int, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucketLimiter(per_minute=per_minute, burst=burst)


KEY_A, KEY_B = generate_key(), generate_key()


def _client(auth: bool) -> TestClient:
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/search")
    def search() -> dict[str, str]:
        return {"ok": "yes"}

    limiter = TokenBucketLimiter(per_minute=1, burst=2, clock=FakeClock())
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    settings = Settings(auth_enabled=auth, api_key_hashes=[hash_key(KEY_A), hash_key(KEY_B)])
    policy = policy_from_settings(settings, open_paths=["/healthz"], widget_paths=[])
    app.add_middleware(AuthMiddleware, policy=policy)  # outer: the limiter sees the principal
    return TestClient(app)


def test_429_with_retry_after_and_a_json_body() -> None:
    client = _client(auth=False)
    assert [client.get("/search").status_code for _ in range(2)] == [200, 200]
    resp = client.get("/search")
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "60"  # one token a minute, bucket empty
    assert resp.json()["error"]["code"] == "rate_limited"


def test_healthz_is_never_rate_limited() -> None:
    client = _client(auth=False)
    assert {client.get("/healthz").status_code for _ in range(10)} == {200}


def test_each_api_key_has_its_own_budget() -> None:
    client = _client(auth=True)
    a = {"Authorization": f"Bearer {KEY_A}"}
    b = {"Authorization": f"Bearer {KEY_B}"}
    assert [client.get("/search", headers=a).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/search", headers=b).status_code == 200
