"""#16: `citeline eval --url` against a real `citeline serve` with auth on: no key -> every
question is a 401 -> exit 2 with a clear message; `--api-key` or `CITELINE_EVAL_API_KEY` -> runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.security.api_keys import generate_key, hash_key
from tests.conftest import SEEDS_DIR, free_port

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "citeline")
KEY = generate_key()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("eval-auth")
    env = {**os.environ, "CITELINE_DATA_DIR": str(data), "CITELINE_EMBEDDER": "fake",
           "CITELINE_CORPUS_DIR": str(SEEDS_DIR), "CITELINE_LOG_LEVEL": "WARNING"}  # fmt: skip
    env.pop("CITELINE_EVAL_API_KEY", None)
    subprocess.run([CLI, "index", str(SEEDS_DIR), "--quiet"], env=env, check=True, timeout=300)
    port = free_port()
    serve_env = {**env, "CITELINE_AUTH_ENABLED": "1", "CITELINE_API_KEY_HASHES": hash_key(KEY)}
    proc = subprocess.Popen([CLI, "serve", "--port", str(port)], env=serve_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.2)
    yield base, env
    proc.terminate()
    proc.wait(timeout=15)


def _eval(base: str, env: dict[str, str], out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "eval", "--url", base, "--quiet", "--out", str(out), *args],
                          env=env, capture_output=True, text=True, timeout=600)  # fmt: skip


def test_every_question_401_exits_2_and_a_key_makes_it_run(server: tuple, tmp_path: Path) -> None:
    base, env = server
    refused = _eval(base, env, tmp_path / "a")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "every question failed" in refused.stderr and "--api-key" in refused.stderr
    assert KEY not in refused.stderr
    with_flag = _eval(base, env, tmp_path / "b", "--api-key", KEY)
    assert with_flag.returncode == 0, with_flag.stderr
    with_env = _eval(base, {**env, "CITELINE_EVAL_API_KEY": KEY}, tmp_path / "c")
    assert with_env.returncode == 0, with_env.stderr
    assert '"quote_validity": 1.0' in with_env.stdout
