"""#15: `/docs` works without internet: every URL the page loads is this server's, and answers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from indexer.kernel.settings import Settings
from service.http.app import create_app
from tests.browser import serve

pytestmark = pytest.mark.slow


def test_docs_reference_only_local_assets_that_load(seed_pipeline: Any) -> None:
    with serve(create_app(Settings(), seed_pipeline), ready_path="/healthz") as base:
        page = httpx.get(f"{base}/docs", timeout=10)
        assert page.status_code == 200 and "swagger" in page.text.lower()
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']""", page.text)
        found = [u for pair in urls for u in pair if u]
        assert {"/openapi.json", "/docs/assets/swagger-ui-bundle.js"} <= set(found), found
        for url in found:
            assert not re.match(r"(https?:)?//", url), f"/docs loads {url} from elsewhere"
            resp = httpx.get(urljoin(base + "/docs", url), timeout=10)
            assert resp.status_code == 200, url
        assert "cdn" not in page.text.lower()
        assert httpx.get(f"{base}/redoc", timeout=10).status_code == 404  # CDN-only: off
