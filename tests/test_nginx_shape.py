"""The shipped proxy shape works (#13): deploy/nginx.conf in front of the real app configured as
compose.yaml configures it. Real nginx when it is installed (`apt-get install nginx-light`);
the config logic is checked either way."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from indexer.kernel.settings import Settings
from service.http.app import create_app
from tests.browser import serve
from tests.conftest import REPO_ROOT, free_port

NGINX_CONF = (REPO_ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text(encoding="utf-8"))
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _compose_settings(**kw: Any) -> Settings:
    env = COMPOSE["services"]["citeline"]["environment"]
    return Settings(
        allowed_hosts=env["CITELINE_ALLOWED_HOSTS"],
        trusted_proxies=[*env["CITELINE_TRUSTED_PROXIES"].split(","), "127.0.0.1"],
        **kw,
    )


def test_the_config_passes_the_browser_host_and_the_client_address() -> None:
    assert "proxy_set_header Host $http_host;" in NGINX_CONF
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX_CONF  # replaced, not appended
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in NGINX_CONF
    env = COMPOSE["services"]["citeline"]["environment"]
    assert "localhost" in env["CITELINE_ALLOWED_HOSTS"].split(",")
    assert env["CITELINE_TRUSTED_PROXIES"]
    assert COMPOSE["services"]["indexer"]["restart"].startswith("on-failure")


@pytest.mark.slow
@pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx-light)")
def test_real_nginx_in_front_of_the_real_app(seed_pipeline: Any, tmp_path: Path) -> None:
    app = create_app(_compose_settings(), seed_pipeline)
    with serve(app, ready_path="/healthz") as base:
        port = free_port()
        conf = NGINX_CONF.replace(
            "server citeline:8000;", f"server {base.removeprefix('http://')};"
        ).replace("listen 80;", f"listen 127.0.0.1:{port};")
        full = tmp_path / "nginx.conf"
        full.write_text(
            f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
            "events {}\n"
            f"http {{ access_log off; client_body_temp_path {tmp_path}/body; "
            f"proxy_temp_path {tmp_path}/proxy; {conf} }}\n",
            encoding="utf-8",
        )
        proc = subprocess.Popen([str(NGINX), "-c", str(full), "-e", str(tmp_path / "e.log")])
        try:
            front = f"http://localhost:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    httpx.get(f"{front}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    assert proc.poll() is None and time.monotonic() < deadline, "nginx failed"
                    time.sleep(0.1)
            ask = {"question": "How many R&D centers does Huawei have?"}
            # What the demo page behind the proxy sends: its own origin.
            resp = httpx.post(f"{front}/v1/ask", json=ask, headers={"Origin": front})
            assert resp.status_code == 200, resp.text
            assert resp.json()["answerable"]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
