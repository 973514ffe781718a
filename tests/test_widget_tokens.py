"""Widget tokens (origin-bound HMAC) and the origin guard, without a browser."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from indexer.kernel.settings import Settings
from service.http.cors import install_cors
from service.http.routes.widget import router as widget_router
from service.security.widget_tokens import (
    WIDGET_TOKEN_TTL_S,
    WidgetTokenError,
    is_widget_token,
    mint_widget_token,
    verify_widget_token,
    widget_verifier,
)

ORIGIN = "https://intranet.example"


def _settings(**kw: object) -> Settings:
    return Settings(widget_token_secret="s3cret-for-tests", **kw)  # type: ignore[arg-type]


def test_token_round_trip_and_binding() -> None:
    s = _settings()
    minted = mint_widget_token(ORIGIN, s, now=1000)
    assert is_widget_token(minted.token)
    assert minted.expires_at == 1000 + WIDGET_TOKEN_TTL_S
    assert verify_widget_token(minted.token, ORIGIN, s, now=1001).origin == ORIGIN
    with pytest.raises(WidgetTokenError, match="another origin"):
        verify_widget_token(minted.token, "https://evil.example", s, now=1001)
    with pytest.raises(WidgetTokenError, match="expired"):
        verify_widget_token(minted.token, ORIGIN, s, now=1000 + WIDGET_TOKEN_TTL_S)


def test_token_tampering_and_foreign_secret_rejected() -> None:
    s = _settings()
    token = mint_widget_token(ORIGIN, s, now=1000).token
    prefix, _body, sig = token.split(".")
    # Re-bind the payload to another origin while keeping the old signature.
    forged_body = mint_widget_token("https://evil.example", s, now=1000).token.split(".")[1]
    with pytest.raises(WidgetTokenError, match="signature"):
        verify_widget_token(f"{prefix}.{forged_body}.{sig}", "https://evil.example", s, now=1001)
    other = Settings(widget_token_secret="another-secret")  # type: ignore[arg-type]
    with pytest.raises(WidgetTokenError, match="signature"):
        verify_widget_token(token, ORIGIN, other, now=1001)
    with pytest.raises(WidgetTokenError, match="not a widget token"):
        verify_widget_token("cl_some_api_key", ORIGIN, s)


def test_verifier_adapter_for_auth_policy() -> None:
    s = _settings()
    verify = widget_verifier(s)
    token = mint_widget_token(ORIGIN, s).token
    assert verify(token, ORIGIN) == ORIGIN
    assert verify(token, "https://evil.example") is None
    assert verify("garbage", ORIGIN) is None


def test_cors_origins_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITELINE_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]


def _app(settings: Settings) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.include_router(widget_router)
    install_cors(app, settings)
    return app


def test_origin_guard_and_token_endpoint() -> None:
    s = _settings(cors_origins=[ORIGIN], auth_enabled=True, widget_anonymous=True)
    with TestClient(_app(s), base_url="http://citeline.test") as client:
        # Allowed cross origin: a token bound to it, with CORS headers.
        ok = client.get("/v1/widget/token", headers={"Origin": ORIGIN})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == ORIGIN
        assert verify_widget_token(ok.json()["token"], ORIGIN, s).origin == ORIGIN
        # Same origin (a GET sends no Origin header): bound to the service's own origin.
        same = client.get("/v1/widget/token")
        assert same.json()["origin"] == "http://citeline.test"
        # Disallowed origin: refused before any route runs, preflight included.
        bad = client.get("/v1/widget/token", headers={"Origin": "https://evil.example"})
        assert bad.status_code == 403
        assert bad.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in bad.headers
        pre = client.options(
            "/v1/chat/completions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert pre.status_code == 403
        # The script itself loads from anywhere (script tags send no Origin).
        js = client.get("/widget.js")
        assert js.status_code == 200 and "customElements.define" in js.text


def test_token_endpoint_without_auth_mints_nothing() -> None:
    with TestClient(_app(_settings()), base_url="http://citeline.test") as client:
        body = client.get("/v1/widget/token").json()
    assert body == {
        "auth_enabled": False,
        "token": None,
        "origin": "http://citeline.test",
        "expires_at": None,
    }


def test_exactly_one_widget_token_verifier_in_production_code() -> None:
    """Honesty: the auth layer's check and any other go through `verify_widget_token`; nothing
    else in service/, indexer/ or evals/ checks a signature or parses a token's claims."""
    from tests.conftest import REPO_ROOT

    sources = {
        p.relative_to(REPO_ROOT).as_posix(): p.read_text(encoding="utf-8")
        for package in ("service", "indexer", "evals")
        for p in (REPO_ROOT / package).rglob("*.py")
    }
    defining = [path for path, text in sources.items() if "def verify_widget_token" in text]
    signing = [path for path, text in sources.items() if "compare_digest(sig" in text]
    assert defining == signing == ["service/security/widget_tokens.py"]
    callers = [path for path, text in sources.items() if "verify_widget_token(" in text]
    assert callers == ["service/security/widget_tokens.py"]  # via widget_verifier only
    assert "widget_verifier(settings)" in sources["service/security/auth.py"]
