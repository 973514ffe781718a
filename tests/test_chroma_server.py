"""The store and sync against a real `chroma run` server on 127.0.0.1 (session fixture)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.kernel.errors import EmbeddingMismatchError, IndexLockedError, StoreError
from indexer.kernel.settings import Settings
from indexer.locking import LeaseLock
from indexer.store.chroma import ChromaChunkStore, open_chunk_store
from indexer.store.chroma_client import ChromaConnection, parse_chroma_url
from indexer.sync import sync_corpus
from tests.conftest import CountingEmbedder, embedded_texts, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(chroma_server: str, tmp_path: Path) -> Settings:
    """A collection of its own on the shared server; data_dir must stay unused in server mode."""
    return Settings(
        chroma_url=chroma_server,
        collection=f"t-{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path / "unused",
        chroma_timeout_s=5.0,
    )


def test_sync_and_query_through_the_server(settings: Settings, corpus: Path) -> None:
    embedder = CountingEmbedder()
    report = sync_corpus(settings, corpus, embedder=embedder, progress=False)
    store = open_chunk_store(settings, embedder.name, embedder.dim)
    assert report.added == 4 and embedder.texts == embedded_texts(store.iter_chunks())
    session = store.connection.client()._server._session  # type: ignore[attr-defined]
    assert session.timeout.read == 5.0  # chromadb's own default is no timeout at all
    assert store.raw_count() == store.count() == report.chunks_total
    hits = store.query(embedder.embed_query("Huawei R&D centers"), top_k=3)
    assert len(hits) == 3
    for chunk, _ in hits:
        text = (corpus / chunk.source).read_text(encoding="utf-8")
        assert text[chunk.char_start : chunk.char_end] == chunk.text

    (corpus / "000_036ae5c0f0d48a4b.txt").unlink()
    again = CountingEmbedder()
    report = sync_corpus(settings, corpus, embedder=again, progress=False)
    assert (report.removed, report.unchanged, again.batches, again.warm_ups) == (1, 3, 0, 0)
    assert ChromaChunkStore(settings).raw_count() == report.chunks_total
    assert not settings.data_dir.exists()  # server mode writes nothing locally
    with pytest.raises(EmbeddingMismatchError, match="--rebuild"):
        sync_corpus(settings, corpus, embedder=CountingEmbedder(dim=8), progress=False)


def test_unreachable_server_is_a_store_error_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(chroma_url=url, data_dir=tmp_path, chroma_timeout_s=2.0)
    with pytest.raises(StoreError, match=f"{url} is unreachable"):
        open_chunk_store(settings, "fake:bow-64", 64)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: Chroma's own client would wait forever."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_server_that_never_answers_times_out(silent_server: str, tmp_path: Path) -> None:
    settings = Settings(chroma_url=silent_server, data_dir=tmp_path, chroma_timeout_s=0.5)
    with pytest.raises(StoreError, match="unreachable"):
        ChromaChunkStore(settings).manifest()


def test_url_parsing() -> None:
    assert parse_chroma_url("http://chroma:8000") == ("chroma", 8000, False)
    assert parse_chroma_url("https://db.example.com") == ("db.example.com", 443, True)
    assert parse_chroma_url("localhost:9000") == ("localhost", 9000, False)
    with pytest.raises(StoreError, match="not an http"):
        parse_chroma_url("ftp://x")


def test_lease_lock_refuses_a_second_run_and_expires(settings: Settings, corpus: Path) -> None:
    first = LeaseLock(ChromaConnection(settings), ttl_s=60)
    second = LeaseLock(ChromaConnection(settings), ttl_s=60)
    first.acquire()
    with pytest.raises(IndexLockedError, match="lease held by pid"):
        second.acquire()
    with pytest.raises(IndexLockedError):
        sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    first.release()
    second.acquire()
    second.release()

    crashed = LeaseLock(ChromaConnection(settings), ttl_s=0.2)
    crashed.acquire()  # and never released, as after a kill
    time.sleep(0.3)
    report = sync_corpus(settings, corpus, embedder=CountingEmbedder(), progress=False)
    assert report.added == 4
    assert ChromaConnection(settings).side_record("lock") is None  # the run released its lease


HOLD_LEASE = (
    "import sys, time\n"
    "from indexer.kernel.settings import Settings\n"
    "from indexer.locking import LeaseLock\n"
    "from indexer.store.chroma_client import ChromaConnection\n"
    "LeaseLock(ChromaConnection(Settings()), ttl_s=600).acquire()\n"
    "print('HELD', flush=True)\n"
    "time.sleep(600)\n"
)


def _index(env: dict[str, str], corpus: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).parent / "citeline"
    return subprocess.run([str(cli), "index", str(corpus), "--quiet", *args], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_a_dead_holder_on_this_host_never_blocks_and_break_lock_clears_another(
    settings: Settings, corpus: Path
) -> None:
    """#10: real `citeline index` runs against the real server, after a SIGKILLed lease holder."""
    env = {**os.environ, "CITELINE_CHROMA_URL": settings.chroma_url or "",
           "CITELINE_COLLECTION": settings.collection, "CITELINE_EMBEDDER": "fake",
           "CITELINE_DATA_DIR": str(settings.data_dir),
           "CITELINE_INDEX_LOCK_WAIT_S": "0"}  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LEASE], env=env, stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
    refused = _index(env, corpus)  # alive: refused, with the way out named
    assert refused.returncode == 1 and "--break-lock" in refused.stderr, refused.stderr
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lease = json.loads(ChromaConnection(settings).side_record("lock") or "{}")
    assert lease["pid"] == holder.pid and lease["expires_at"] > time.time() + 500  # still "valid"
    done = _index(env, corpus)  # its pid is gone on this host: taken over at once
    assert done.returncode == 0, done.stderr

    # A run killed on another host: its pid means nothing here, only --break-lock helps.
    other = {"owner": "pid 4242 on build-7 (x)", "host": "build-7", "pid": 4242,
             "expires_at": time.time() + 600}  # fmt: skip
    ChromaConnection(settings).put_side_record("lock", json.dumps(other))
    assert _index(env, corpus).returncode == 1
    broken = _index(env, corpus, "--break-lock")
    assert broken.returncode == 0, broken.stderr
    assert "warning" in broken.stderr and "build-7" in broken.stderr
    assert ChromaConnection(settings).side_record("lock") is None
