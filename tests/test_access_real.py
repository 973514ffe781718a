"""No corpus without a credential (#1), Host allowlist (#7), rate-limit buckets that a client
cannot choose (#6): the real app on real uvicorn on 127.0.0.1, and `citeline serve` itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer.kernel.settings import Settings
from service.http.app import create_app
from service.http.proxies import address_in, host_allowed
from service.security.api_keys import generate_key, hash_key
from service.security.auth import RATE_LIMIT_BURST
from service.security.widget_access import WIDGET_MAX_TOP_K
from tests.browser import serve
from tests.conftest import free_port

pytestmark = pytest.mark.slow

KEY = generate_key()
ASK = {"question": "How many R&D centers does Huawei have?", "top_k": 20}


def _settings(**kw: Any) -> Settings:
    return Settings(auth_enabled=True, api_key_hashes=[hash_key(KEY)],
                    widget_token_secret="access-tests", **kw)  # fmt: skip


def test_auth_on_no_credential_gets_no_document_text(seed_pipeline: Any) -> None:
    with serve(create_app(_settings(), seed_pipeline), ready_path="/healthz") as base:
        own = base  # http://127.0.0.1:<port>
        # The reproduction: a token for anyone who asks, then 20 passages.
        assert httpx.get(f"{base}/v1/widget/token").status_code == 401
        spoofed = {"Host": "anything.example", "Origin": "http://anything.example"}
        refused = httpx.get(f"{base}/v1/widget/token", headers=spoofed)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_host"
        assert httpx.post(f"{base}/v1/ask", json=ASK).status_code == 401
        # The page's backend: key -> token for an allowed origin (its own here), never another.
        key = {"Authorization": f"Bearer {KEY}"}
        evil = httpx.get(f"{base}/v1/widget/token", params={"origin": "http://evil.example"},
                         headers=key)  # fmt: skip
        assert evil.status_code == 403
        minted = httpx.get(f"{base}/v1/widget/token", params={"origin": own}, headers=key)
        assert minted.status_code == 200, minted.text
        widget = {"Authorization": f"Bearer {minted.json()['token']}", "Origin": own}
        answer = httpx.post(f"{base}/v1/ask", json=ASK, headers=widget)
        assert answer.status_code == 200
        assert len(answer.json()["passages"]) == WIDGET_MAX_TOP_K  # capped, not 20
        # A key keeps the normal bound.
        assert len(httpx.post(f"{base}/v1/ask", json=ASK, headers=key).json()["passages"]) > 5


def test_anonymous_widget_only_when_configured(seed_pipeline: Any) -> None:
    with serve(
        create_app(_settings(widget_anonymous=True), seed_pipeline), ready_path="/healthz"
    ) as base:
        token = httpx.get(f"{base}/v1/widget/token").json()["token"]
        widget = {"Authorization": f"Bearer {token}"}
        body = httpx.post(f"{base}/v1/ask", json=ASK, headers=widget).json()
        assert len(body["passages"]) == WIDGET_MAX_TOP_K


def test_sso_header_counts_only_from_a_trusted_proxy(seed_pipeline: Any) -> None:
    sso = {"X-Forwarded-User": "alice"}
    untrusted = _settings(trusted_user_header="X-Forwarded-User", trusted_proxies=["10.9.9.9"])
    with serve(create_app(untrusted, seed_pipeline), ready_path="/healthz") as base:
        assert httpx.get(f"{base}/v1/widget/token", headers=sso).status_code == 401
    trusted = _settings(trusted_user_header="X-Forwarded-User", trusted_proxies=["127.0.0.1"])
    with serve(create_app(trusted, seed_pipeline), ready_path="/healthz") as base:
        assert httpx.get(f"{base}/v1/widget/token").status_code == 401  # no user header
        assert httpx.get(f"{base}/v1/widget/token", headers=sso).json()["token"]


def test_host_allowlist_rules() -> None:
    allowed = ["localhost", "127.0.0.1", "::1", "*.corp.example"]
    assert host_allowed("localhost:8000", allowed) and host_allowed("[::1]:8000", allowed)
    assert host_allowed("wiki.corp.example", allowed)
    assert not host_allowed("evil.example", allowed) and not host_allowed("", allowed)
    assert not host_allowed("corp.example.evil.example", allowed)
    assert host_allowed("anything", ["*"])
    assert address_in("10.0.0.7", ["10.0.0.0/8"]) and not address_in("11.0.0.7", ["10.0.0.0/8"])


@pytest.fixture
def citeline_serve(tmp_path: Path) -> Iterator[Any]:
    """`citeline serve` in a subprocess (no index: asks are 503 once past the rate limit)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> str:
        port = free_port()
        env = {**os.environ, "CITELINE_DATA_DIR": str(tmp_path / "data"),
               "CITELINE_RATE_LIMIT_PER_MINUTE": "1", "CITELINE_EMBEDDER": "fake"}  # fmt: skip
        cli = Path(sys.executable).parent / "citeline"
        proc = subprocess.Popen([str(cli), "serve", "--port", str(port), *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                return base
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def _codes(base: str, forwarded: list[str]) -> list[int]:
    return [httpx.post(f"{base}/v1/ask", json=ASK, headers={"X-Forwarded-For": ip}).status_code
            for ip in forwarded]  # fmt: skip


ROTATING = [f"1.1.1.{n}" for n in range(RATE_LIMIT_BURST + 1)]  # one more than a bucket holds


def test_rotating_forwarded_for_does_not_open_new_buckets(citeline_serve: Any) -> None:
    base = citeline_serve()
    assert _codes(base, ROTATING)[-1] == 429


def test_forwarded_for_is_believed_from_configured_proxies(citeline_serve: Any) -> None:
    base = citeline_serve("--forwarded-allow-ips", "127.0.0.1")
    assert 429 not in _codes(base, ROTATING)
    assert _codes(base, ["4.4.4.4"] * (RATE_LIMIT_BURST + 1))[-1] == 429
