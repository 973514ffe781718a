"""API keys: hashing, constant-time matching, the auth middleware's 401/403, widget tokens,
and the request body limit."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from indexer.kernel.errors import ConfigError, UnauthorizedError
from indexer.kernel.settings import Settings
from service.http.app import create_app
from service.http.limits import BodyLimitMiddleware
from service.security import api_keys
from service.security import auth as auth_module
from service.security.api_keys import KeyRing, generate_key, hash_key
from service.security.auth import AuthMiddleware, AuthPolicy, Principal, policy_from_settings
from service.security.widget_tokens import mint_widget_token
from tests.browser import serve
from tests.conftest import REPO_ROOT

KEY = generate_key()
OTHER = generate_key()
ORIGIN = "https://intranet.example"


def get_principal(request: Request) -> Principal:
    """The caller the middleware authenticated."""
    principal = request.state.principal
    assert isinstance(principal, Principal)
    return principal


def _app(settings: Settings) -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/ask")
    def ask(principal: Annotated[Principal, Depends(get_principal)]) -> dict[str, str]:
        return {"kind": principal.kind, "id": principal.id}

    @app.get("/search")
    def search(principal: Annotated[Principal, Depends(get_principal)]) -> dict[str, str]:
        return {"kind": principal.kind, "id": principal.id}

    policy = policy_from_settings(settings, open_paths=["/healthz"], widget_paths=["/ask"])
    app.add_middleware(AuthMiddleware, policy=policy)
    return app


def _settings(**kw: object) -> Settings:
    return Settings(auth_enabled=True, api_key_hashes=[hash_key(OTHER), hash_key(KEY)], **kw)


def test_generated_keys_are_long_random_and_hash_to_sha256() -> None:
    assert KEY != OTHER and len(KEY) >= 40
    digest = hash_key(KEY)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert KEY not in digest


def test_short_keys_are_refused_so_passwords_never_become_keys() -> None:
    with pytest.raises(ConfigError):
        hash_key("hunter2")


def test_keyring_matches_the_right_key_only_and_never_exposes_it() -> None:
    ring = KeyRing([hash_key(OTHER), hash_key(KEY)])
    key_id = ring.match(KEY)
    assert key_id is not None and key_id.startswith("key:")
    assert KEY not in key_id and key_id != ring.match(OTHER)
    assert ring.match(KEY + "x") is None
    assert ring.match("") is None


def test_keyring_compares_every_entry_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = api_keys.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", counting)
    ring = KeyRing([hash_key(KEY), hash_key(OTHER), hash_key(generate_key())])
    assert ring.match(KEY) is not None
    assert len(calls) == 3  # no early exit after the first entry matched


@pytest.mark.parametrize("bad", ["sha256:nothex", "sha256:abcd", "md5-whatever"])
def test_malformed_hashes_are_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError):
        KeyRing([bad])


def test_auth_on_without_any_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="api_key_hashes"):
        AuthPolicy(enabled=True, keys=KeyRing([]))


def test_auth_off_lets_everyone_in_as_their_address() -> None:
    client = TestClient(_app(Settings()))
    resp = client.post("/ask")
    assert resp.status_code == 200
    assert resp.json()["kind"] == "anonymous" and resp.json()["id"].startswith("ip:")


def test_healthz_stays_open_when_auth_is_on() -> None:
    assert TestClient(_app(_settings())).get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": f"Basic {KEY}"}, {"X-API-Key": ""}],
)
def test_missing_credentials_get_401_json_with_www_authenticate(headers: dict[str, str]) -> None:
    resp = TestClient(_app(_settings())).post("/ask", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["error"]["code"] == "unauthorized"


def test_wrong_key_gets_401_and_the_body_does_not_echo_it() -> None:
    wrong = generate_key()
    resp = TestClient(_app(_settings())).post("/ask", headers={"Authorization": f"Bearer {wrong}"})
    assert resp.status_code == 401
    assert wrong not in resp.text


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_valid_key_in_either_header_is_accepted(header: str) -> None:
    value = f"Bearer {KEY}" if header == "Authorization" else KEY
    resp = TestClient(_app(_settings())).get("/search", headers={header: value})
    assert resp.status_code == 200
    assert resp.json() == {"kind": "key", "id": KeyRing([hash_key(KEY)]).match(KEY)}


def test_widget_token_opens_ask_routes_for_its_origin_only() -> None:
    settings = _settings(widget_token_secret="s3cret-for-tests")
    client = TestClient(_app(settings))
    token = mint_widget_token(ORIGIN, settings).token
    auth = {"Authorization": f"Bearer {token}"}
    ok = client.post("/ask", headers={**auth, "Origin": ORIGIN})
    assert ok.status_code == 200 and ok.json()["kind"] == "widget"
    assert ok.json()["id"] == "widget:ip:testclient"  # the address, not the chosen origin
    other_origin = client.post("/ask", headers={**auth, "Origin": "https://evil.example"})
    assert other_origin.status_code == 401
    not_a_chat_route = client.get("/search", headers={**auth, "Origin": ORIGIN})
    assert not_a_chat_route.status_code == 403
    assert not_a_chat_route.json()["error"]["code"] == "forbidden"


def test_expired_or_forged_widget_tokens_are_refused() -> None:
    settings = _settings(widget_token_secret="s3cret-for-tests")
    client = TestClient(_app(settings))
    expired = mint_widget_token(ORIGIN, settings, now=1_000_000).token
    forged = mint_widget_token(ORIGIN, _settings(widget_token_secret="another-secret")).token
    for token in (expired, forged):
        resp = client.post("/ask", headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN})
        assert resp.status_code == 401


def test_cli_new_prints_a_key_whose_hash_it_also_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert api_keys.main(["new"]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert hash_key(lines["key"].strip()) == lines["hash"].strip()


def test_cli_hash_reads_the_key_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    assert api_keys.main(["hash"]) == 0
    assert capsys.readouterr().out.strip() == hash_key(KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert api_keys.main(["hash"]) == 2


# ---- request body size limits (service/http/limits.py) ----


def _echo_app(max_bytes: int) -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)
    return TestClient(app)


def test_a_body_within_the_limit_reaches_the_route_whole() -> None:
    resp = _echo_app(1024).post("/echo", content=b"x" * 1024)
    assert resp.json() == {"received": 1024}


def test_a_declared_oversize_body_gets_413_json() -> None:
    resp = _echo_app(1024).post("/echo", content=b"x" * 1025)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"y" * 100

    client = _echo_app(1024)
    assert client.post("/echo", content=chunks()).status_code == 413
    small = client.post("/echo", content=iter([b"a" * 500, b"b" * 500]))
    assert small.json() == {"received": 1000}


def test_a_nonsense_content_length_is_a_400() -> None:
    resp = _echo_app(1024).post("/echo", content=b"{}", headers={"Content-Length": "-5"})
    assert resp.status_code == 400


@pytest.mark.slow
def test_unparseable_http_is_uvicorns_plain_text_400_as_the_readme_says(seed_pipeline: Any) -> None:
    """#23: `Content-Length: abc` never reaches the app; the README documents uvicorn's answer."""
    import socket
    from urllib.parse import urlsplit

    with serve(create_app(Settings(), seed_pipeline), ready_path="/healthz") as base:
        url = urlsplit(base)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            request = b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n{}"
            sock.sendall(request)
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: text/plain" in head.lower()
    assert b"Invalid HTTP request received." in body
    assert "Invalid HTTP request received." in (REPO_ROOT / "README.md").read_text()


def test_open_and_widget_paths_match_exactly_or_by_an_explicit_star() -> None:
    policy = AuthPolicy(enabled=True, keys=KeyRing([hash_key(KEY)]), open_paths=["/", "/static/*"])
    scope = {"type": "http", "headers": [], "client": ("10.0.0.9", 1)}
    assert policy.authenticate({**scope, "path": "/"}).kind == "anonymous"
    assert policy.authenticate({**scope, "path": "/static/widget.css"}).kind == "anonymous"
    for closed in ("/v1/ask", "/static", "/metrics"):
        with pytest.raises(UnauthorizedError):
            policy.authenticate({**scope, "path": closed})


# ---- end to end: the real app on real uvicorn, auth and rate limit on ----


@pytest.mark.slow
def test_real_app_auth_widget_tokens_and_rate_limit(
    seed_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_module, "RATE_LIMIT_BURST", 4)
    other = generate_key()
    settings = Settings(
        auth_enabled=True, api_key_hashes=[hash_key(KEY), hash_key(other)], cors_origins=[ORIGIN],
        widget_token_secret="e2e-secret", rate_limit_per_minute=60,
    )  # fmt: skip
    ask = {"question": "How many R&D centers does Huawei have?"}
    with serve(create_app(settings, seed_pipeline), ready_path="/healthz") as base:
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200 and health.headers["x-request-id"]
        denied = httpx.post(f"{base}/v1/ask", json=ask)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "unauthorized"
        assert denied.headers["x-request-id"]  # refusals are traceable too
        assert httpx.get(f"{base}/readyz").status_code in (200, 503)  # open to probes
        for path in ("/metrics", "/openapi.json", "/docs", "/v1/models"):
            assert httpx.get(base + path).status_code == 401, path
        auth = {"Authorization": f"Bearer {KEY}"}
        assert httpx.post(f"{base}/v1/ask", json=ask, headers=auth).status_code == 200

        # The embedding page's backend exchanges its key for a token bound to the page origin.
        assert httpx.get(f"{base}/v1/widget/token", headers={"Origin": ORIGIN}).status_code == 401
        minted = httpx.get(f"{base}/v1/widget/token", params={"origin": ORIGIN}, headers=auth)
        token = minted.json()["token"]
        widget = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
        assert httpx.post(f"{base}/v1/ask", json=ask, headers=widget).status_code == 200
        search = httpx.post(f"{base}/v1/search", json=ask, headers=widget)
        assert search.status_code == 403 and search.json()["error"]["code"] == "forbidden"
        assert httpx.get(f"{base}/metrics", headers=widget).status_code == 403

        codes = [
            httpx.post(f"{base}/v1/search", json=ask, headers=auth).status_code for _ in range(4)
        ]
        assert codes[:2] == [200, 200] and codes[-1] == 429  # burst of 4, 2 used above
        limited = httpx.post(f"{base}/v1/search", json=ask, headers=auth)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        other_auth = {"X-API-Key": other}
        assert httpx.post(f"{base}/v1/search", json=ask, headers=other_auth).status_code == 200
        assert httpx.get(f"{base}/healthz").status_code == 200  # never limited
