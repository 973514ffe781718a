"""Scale-out: a real `chroma run` server holds the data; two stateless service processes answer.

Index through the CLI, answer from both replicas, keep answering when one is killed, and see a
re-index from either replica with no restart.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, SEEDS_DIR, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _env(chroma_url: str, data_dir: Path, corpus: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CITELINE_CHROMA_URL": chroma_url,
        "CITELINE_COLLECTION": "scaleout",
        "CITELINE_DATA_DIR": str(data_dir),  # per process: nothing local is shared
        "CITELINE_CORPUS_DIR": str(corpus),
    }


def _ask(base: str, question: str) -> httpx.Response:
    return httpx.post(f"{base}/v1/ask", json={"question": question}, timeout=60)


@pytest.fixture
def replicas(
    chroma_server: str, tmp_path: Path
) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]], Path]]:
    corpus = Path(shutil.copytree(SEEDS_DIR, tmp_path / "corpus"))
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    for i in range(2):
        port = free_port()
        env = _env(chroma_server, tmp_path / f"replica{i}", corpus)
        cmd = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
        procs.append(subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))  # fmt: skip
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{base} did not start"
            time.sleep(0.3)
    try:
        yield bases, procs, corpus
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def _index(chroma_url: str, data_dir: Path, corpus: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "indexer", str(corpus), "--quiet"],
        env=_env(chroma_url, data_dir, corpus), cwd=REPO_ROOT, check=True, timeout=300,
    )  # fmt: skip


def test_two_replicas_share_one_chroma_server(
    replicas: tuple[list[str], list[subprocess.Popen[bytes]], Path],
    chroma_server: str,
    tmp_path: Path,
) -> None:
    bases, procs, corpus = replicas
    # Before any index: both alive, neither ready, and /v1/ask says so with a JSON 503.
    for base in bases:
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 503
    _index(chroma_server, tmp_path / "indexer", corpus)

    for base in bases:  # both become ready with no restart and answer from the shared data
        resp = _ask(base, "How many R&D centers does Huawei have?")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert "16" in body["answer"]
        assert body["citations"][0]["source"] == "000_036ae5c0f0d48a4b.txt"

    # Kill one replica: a client that fails over keeps getting answers from the other.
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait(timeout=10)
    answered = 0
    for i in range(6):
        for base in (bases[i % 2], bases[(i + 1) % 2]):
            try:
                if _ask(base, "What did BYD negotiate with KG Mobility?").status_code == 200:
                    answered += 1
                    break
            except httpx.TransportError:
                continue
    assert answered == 6

    # A re-index (new file) is visible to the surviving replica without a restart.
    (corpus / "zz_new.txt").write_text(
        "Quokka Logistics opened 7 drone hubs in Perth in 2030.\n", encoding="utf-8"
    )
    _index(chroma_server, tmp_path / "indexer", corpus)
    deadline = time.monotonic() + 30
    while True:
        hits = httpx.post(
            f"{bases[1]}/v1/search", json={"question": "Quokka Logistics drone hubs"}, timeout=60
        ).json()["passages"]
        if hits and hits[0]["source"] == "zz_new.txt":
            break
        assert time.monotonic() < deadline, hits[:1]
        time.sleep(1)
