"""Schemathesis over our own OpenAPI schema, against the real app on real uvicorn (127.0.0.1).

Two properties for every generated request: no 5xx, and every error is a JSON body with an
`error` object. The app runs with auth on (requests carry a valid key) over the seeds with the
fake embedder, so a run is seconds, not minutes. A hand-written list of hostile requests that a
schema-driven generator would not produce (broken JSON, wrong types, NULs, oversize) follows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from indexer.kernel.settings import Settings
from service.answering.extractive import ExtractiveAnswerer
from service.http.app import create_app
from service.http.routes import stream
from service.pipeline import Pipeline
from service.security.api_keys import generate_key, hash_key
from tests.browser import serve
from tests.conftest import SEEDS_DIR

KEY = generate_key()
AUTH = {"Authorization": f"Bearer {KEY}"}

EXAMPLES = 25  # per operation and generation mode

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_url(seed_embedder: Any, seed_store: Any) -> Iterator[str]:
    app_settings = Settings(
        corpus_dir=SEEDS_DIR,
        auth_enabled=True,
        api_key_hashes=[hash_key(KEY)],
        rate_limit_per_minute=0,
    )
    pipeline = Pipeline(app_settings, seed_embedder, seed_store, ExtractiveAnswerer(seed_embedder))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stream, "HEARTBEAT_S", 1.0)
        with serve(create_app(app_settings, pipeline), ready_path="/healthz") as base:
            yield base


def json_error_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx carries `{"error": {...}}` as JSON, whatever the route."""
    if response.status_code < 400:
        return None
    content_type = str(response.headers.get("content-type", [""])[0])
    assert content_type.startswith("application/json"), (response.status_code, content_type)
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    return None


def _fuzz(operation: Any, mode: GenerationMode, base_url: str, seen: dict[str, int]) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Any) -> None:
        seen[label] = seen.get(label, 0) + 1
        case.call_and_validate(base_url=base_url, headers=AUTH, timeout=30,
                               checks=[not_a_server_error, json_error_body])  # fmt: skip

    try:
        run()
    except Unsatisfiable:  # negative mode, and an operation with no input to make invalid
        assert mode is GenerationMode.NEGATIVE


# schemathesis' own pytest integration (`from_fixture`) breaks on pytest 9, so each operation's
# hypothesis strategy is driven here directly; the checks are schemathesis' and ours.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_json_errors_for_any_schema_input(base_url: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=AUTH)
    seen: dict[str, int] = {}
    for result in schema.get_all_operations():
        _fuzz(result.ok(), mode, base_url, seen)
    assert {"POST /v1/ask", "POST /v1/search"} <= set(seen), seen
    print(f"schemathesis {mode.value}: {sum(seen.values())} requests over {len(seen)} operations")


HOSTILE: list[tuple[str, str, dict[str, str], bytes]] = [
    ("POST", "/v1/ask", {"content-type": "application/json"}, b"{"),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b"null"),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b"[]"),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": 42}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": ""}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": "   "}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": "a\\u0000b"}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": "\\ud800"}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": "x", "top_k": -1}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": "x", "top_k": 1e9}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question":"x","sources":[""]}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question":"../../etc/passwd",'
     b'"sources":["../../etc/passwd"]}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b"\xff\xfe\x00garbage"),
    ("POST", "/v1/ask", {"content-type": "text/plain"}, b"what does Haier make?"),
    ("POST", "/v1/ask", {"content-type": "application/json"},
     json.dumps({"question": "q" * 5000}).encode()),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b'{"question": "' + b"[" * 3000
     + b'"}'),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b"[" * 20000 + b"]" * 20000),
    ("POST", "/v1/ask", {"content-type": "application/json"}, b"x" * 70_000),
    ("POST", "/v1/search", {"content-type": "application/json"}, b'{"question": {"$ne": 1}}'),
    ("POST", "/v1/chat/completions", {"content-type": "application/json"}, b'{"model": "x"}'),
    ("POST", "/v1/chat/completions", {"content-type": "application/json"},
     b'{"model": "citeline", "messages": [{"role": "user", "content": [{"type": "image"}]}]}'),
    ("GET", "/v1/ask", {}, b""),
    ("DELETE", "/v1/search", {}, b""),
    ("GET", "/no/such/route", {}, b""),
    ("GET", "/%2e%2e/%2e%2e/etc/passwd", {}, b""),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "headers", "body"), HOSTILE)
def test_hostile_requests_get_json_4xx(
    base_url: str, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    resp = httpx.request(
        method, base_url + path, headers={**AUTH, **headers}, content=body, timeout=30
    )
    assert resp.status_code < 500, resp.text[:300]
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/json")
        assert isinstance(resp.json()["error"], dict)


def test_without_a_key_every_operation_is_a_json_401(base_url: str) -> None:
    for method, path in [("POST", "/v1/ask"), ("POST", "/v1/search"), ("GET", "/v1/models"),
                         ("GET", "/metrics"), ("GET", "/openapi.json")]:  # fmt: skip
        resp = httpx.request(method, base_url + path, json={"question": "x"}, timeout=30)
        assert resp.status_code == 401, (path, resp.status_code)
        assert resp.json()["error"]["code"] == "unauthorized"
    assert httpx.get(base_url + "/healthz", timeout=30).status_code == 200
