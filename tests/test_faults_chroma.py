"""A real `chroma run` server killed and restarted under load; our service recovers by itself.

The service (real app, real uvicorn, the real Chroma-backed pipeline built from settings) serves
askers in background threads while the test SIGKILLs the Chroma process: requests must turn into
503 `store_unavailable` JSON naming the server, quickly (`chroma_timeout_s`), never a hang and
never another 5xx; once Chroma is back on the same address and data, answers come back without
restarting anything.
"""

from __future__ import annotations

import collections
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer.embedding.factory import build_embedder
from indexer.kernel.settings import Settings
from indexer.sync import sync_corpus
from service.http.app import create_app
from tests.browser import serve
from tests.conftest import REPO_ROOT, SEEDS_DIR, free_port

pytestmark = pytest.mark.slow

CHROMA = REPO_ROOT / ".venv" / "bin" / "chroma"
BODIES = [
    ("/v1/ask", {"question": "How many R&D centers does Huawei have?"}),
    ("/v1/search", {"question": "Haier factories abroad"}),
    ("/v1/ask", {"question": "What does BYD make?"}),
]


class ChromaServer:
    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*args, "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("chroma run did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-data")
    server.start()
    try:
        yield server
    finally:
        server.kill()


class Askers:
    """Background clients asking in a loop; every status and error body is kept."""

    def __init__(self, base: str, clients: int = 3) -> None:
        self.base, self.stop = base, threading.Event()
        self.log: list[tuple[float, int, Any]] = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, i: int) -> None:
        with httpx.Client(base_url=self.base, timeout=20) as client:
            n = i
            while not self.stop.is_set():
                path, body = BODIES[n % len(BODIES)]
                n += 1
                resp = client.post(path, json=body)  # a hang would raise here and end the thread
                body = resp.json()
                if resp.status_code != 200:
                    body["path"] = path
                self.log.append((time.monotonic(), resp.status_code, body))

    def __enter__(self) -> Askers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def since(self, t0: float) -> list[tuple[float, int, Any]]:
        return [row for row in self.log if row[0] >= t0]

    def wait_for(self, status: int, count: int, t0: float, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for _, s, _ in self.since(t0) if s == status) < count:
            assert time.monotonic() < deadline, collections.Counter(s for _, s, _ in self.since(t0))
            assert all(t.is_alive() for t in self.threads), "an asker died (a hang or a crash)"
            time.sleep(0.05)


def test_chroma_killed_under_load_gives_503_then_the_service_recovers(
    chroma: ChromaServer, tmp_path: Path
) -> None:
    settings = Settings(
        corpus_dir=SEEDS_DIR, data_dir=tmp_path / "data", chroma_url=chroma.url,
        chroma_timeout_s=2.0, embedder="fake", answerer="extractive",
    )  # fmt: skip
    report = sync_corpus(settings, SEEDS_DIR, embedder=build_embedder(settings), progress=False)
    assert report.chunks_total > 0
    with serve(create_app(settings), ready_path="/healthz") as base, Askers(base) as askers:
        t0 = time.monotonic()
        askers.wait_for(200, 10, t0)

        chroma.kill()
        t_down = time.monotonic()
        askers.wait_for(503, 10, t_down)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200  # we stay alive

        chroma.start()  # same port, same data
        t_up = time.monotonic()
        askers.wait_for(200, 15, t_up)

    statuses = collections.Counter(s for _, s, _ in askers.log)
    assert set(statuses) <= {200, 503}, statuses  # no 500s, no 502s, nothing else
    for _, status, body in askers.log:
        if status == 503:
            assert body["error"]["code"] in {"store_unavailable", "index_not_ready"}
            # #19: no internal URL, path or errno for clients (they are in the log)
            assert chroma.url not in body["error"]["message"]
            assert "Errno" not in body["error"]["message"]
    # once answers are back they stay back: after the first 200 since the restart, only 200s
    after_up = [s for t, s, _ in askers.log if t >= t_up]
    recovered = after_up[after_up.index(200) :]
    assert set(recovered) == {200} and len(recovered) >= 15, collections.Counter(after_up)
    after_restart = [s for t, s, _ in askers.log if t >= t_up]
    print(f"chroma fault: {dict(statuses)}; after restart {collections.Counter(after_restart)}")
